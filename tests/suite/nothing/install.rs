//! The GitHub Action's install script (action/install) against a fake release served on
//! loopback: the runner's archive installs and runs, a wrong checksum or a missing attestation
//! (a stand-in `gh` that says yes or no) is refused, a platform without a binary falls back to
//! `cargo install` saying so, and a cached archive is reused without a download, verified and
//! unpacked again (a binary changed in the cache is never run).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

const VERSION: &str = "9.9.9";
const ARCHIVE: &str = "shipit-9.9.9-x86_64-unknown-linux-musl.tar.gz";

/// A release folder: the Linux x86_64 archive (a `shipit` that prints its version) and
/// SHA256SUMS, with the archive's real checksum or `wrong_sum`.
fn release(dir: &Path, wrong_sum: bool) -> PathBuf {
    let release = dir.join("release");
    let staging = dir.join("staging");
    std::fs::create_dir_all(&release).unwrap();
    std::fs::create_dir_all(&staging).unwrap();
    let binary = staging.join("shipit");
    std::fs::write(&binary, format!("#!/bin/sh\necho 'shipit {VERSION}'\n")).unwrap();
    std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
    let status = Command::new("tar")
        .arg("-czf")
        .arg(release.join(ARCHIVE))
        .arg("-C")
        .arg(&staging)
        .arg("shipit")
        .status()
        .unwrap();
    assert!(status.success());
    let sum = if wrong_sum {
        "0".repeat(64)
    } else {
        let out = Command::new("sha256sum")
            .arg(release.join(ARCHIVE))
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    std::fs::write(release.join("SHA256SUMS"), format!("{sum}  {ARCHIVE}\n")).unwrap();
    release
}

/// Python's http.server on a free loopback port, serving `dir`; stopped when dropped.
struct Server {
    child: Child,
    url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            "--bind",
            "127.0.0.1",
            &port.to_string(),
        ])
        .arg("--directory")
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 runs");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "http.server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Server {
        child,
        url: format!("http://127.0.0.1:{port}"),
    }
}

struct Installed {
    code: Option<i32>,
    output: String,
    github_path: String,
}

/// A stand-in for GitHub's CLI in `work/gh-bin`: `gh attestation verify` records its
/// arguments in `work/gh.log` and succeeds when `attested`.
fn fake_gh(work: &Path, attested: bool) -> PathBuf {
    let bin = work.join("gh-bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::write(
        bin.join("gh"),
        format!(
            "#!/bin/bash\necho \"$@\" >> {}\n{}\n",
            work.join("gh.log").display(),
            if attested {
                "exit 0"
            } else {
                "echo 'no attestations found' >&2; exit 1"
            }
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("gh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// Runs action/install as the action does, with the runner's variables.
fn install(work: &Path, os: &str, arch: &str, url: &str, extra_path: Option<&Path>) -> Installed {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install");
    let github_path = work.join("github_path");
    let mut path = std::env::var("PATH").unwrap();
    if let Some(extra) = extra_path {
        path = format!("{}:{path}", extra.display());
    }
    if work.join("gh-bin").exists() {
        path = format!("{}:{path}", work.join("gh-bin").display());
    }
    let out = Command::new("bash")
        .arg(script)
        .env("PATH", path)
        .env("SHIPIT_VERSION", format!("v{VERSION}"))
        .env("ACTION_REF", "v9.9.9")
        .env("ACTION_REPOSITORY", "example/shipit")
        .env("ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("SHIPIT_RELEASE_URL", url)
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TOOL_CACHE", work.join("tool-cache"))
        .env("GITHUB_PATH", &github_path)
        .output()
        .unwrap();
    Installed {
        code: out.status.code(),
        output: String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr),
        github_path: std::fs::read_to_string(&github_path).unwrap_or_default(),
    }
}

#[test]
fn the_runners_archive_installs_and_runs_then_comes_from_the_cache() {
    let work = tempfile::tempdir().unwrap();
    let server = serve(&release(work.path(), false));
    fake_gh(work.path(), true);
    let first = install(work.path(), "Linux", "X64", &server.url, None);
    assert_eq!(first.code, Some(0), "{}", first.output);
    // The provenance policy pinned in the action: this repository's release workflow, the tag.
    let asked = std::fs::read_to_string(work.path().join("gh.log")).unwrap();
    assert!(
        asked.starts_with("attestation verify ")
            && asked.contains(&format!("{ARCHIVE} --repo example/shipit --signer-workflow example/shipit/.github/workflows/release.yml --source-ref refs/tags/v9.9.9")),
        "{asked}"
    );
    assert!(
        first
            .output
            .contains("shipit 9.9.9 (x86_64-unknown-linux-musl): installed from the release"),
        "{}",
        first.output
    );
    assert!(
        first.output.contains("checksum and attestation verified"),
        "{}",
        first.output
    );
    assert!(
        first.output.ends_with("shipit 9.9.9\n"),
        "it runs: {}",
        first.output
    );
    let bin = first.github_path.trim().to_string();
    assert!(
        bin.ends_with("shipit/9.9.9/x86_64-unknown-linux-musl/bin"),
        "{bin}"
    );

    // The release is gone: the cached archive is used, with no download, verified again and
    // unpacked afresh, so a binary changed in the cache is replaced, not run.
    drop(server);
    std::fs::write(Path::new(&bin).join("shipit"), "#!/bin/sh\necho tampered\n").unwrap();
    let again = install(work.path(), "Linux", "X64", "http://127.0.0.1:9", None);
    assert_eq!(again.code, Some(0), "{}", again.output);
    assert!(
        again
            .output
            .contains("from the tool cache, attestation verified"),
        "{}",
        again.output
    );
    assert!(again.output.ends_with("shipit 9.9.9\n"), "{}", again.output);

    // An archive in the cache that no longer has its attestation is refused.
    fake_gh(work.path(), false);
    let refused = install(work.path(), "Linux", "X64", "http://127.0.0.1:9", None);
    assert_eq!(refused.code, Some(1), "{}", refused.output);
    assert!(
        refused.output.contains("refusing to install it"),
        "{}",
        refused.output
    );
}

#[test]
fn an_archive_without_the_release_workflows_attestation_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let server = serve(&release(work.path(), false));
    fake_gh(work.path(), false);
    let out = install(work.path(), "Linux", "X64", &server.url, None);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains(&format!(
            "{ARCHIVE} has no attestation from example/shipit's release workflow at tag v9.9.9: refusing to install it"
        )),
        "{}",
        out.output
    );
    assert_eq!(out.github_path, "", "nothing put on the PATH");
}

#[test]
fn a_wrong_checksum_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let server = serve(&release(work.path(), true));
    let out = install(work.path(), "Linux", "X64", &server.url, None);
    assert_eq!(out.code, Some(1), "{}", out.output);
    assert!(
        out.output.contains(&format!(
            "the checksum of {ARCHIVE} does not match SHA256SUMS (expected {}",
            "0".repeat(64)
        )),
        "{}",
        out.output
    );
    assert!(
        out.output.contains("refusing to install it"),
        "{}",
        out.output
    );
    assert_eq!(out.github_path, "", "nothing put on the PATH");
}

#[test]
fn a_platform_without_a_binary_falls_back_to_cargo_saying_so() {
    let work = tempfile::tempdir().unwrap();
    let server = serve(&release(work.path(), false));
    // A stand-in cargo: records its arguments and "installs" into --root.
    let bin = work.path().join("fake-bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = work.path().join("cargo.log");
    std::fs::write(
        bin.join("cargo"),
        format!(
            "#!/bin/bash\necho \"$@\" > {}\nwhile [ $# -gt 0 ]; do [ \"$1\" = --root ] && root=$2; shift; done\nmkdir -p \"$root/bin\"\nprintf '#!/bin/sh\\necho shipit built here\\n' > \"$root/bin/shipit\"\nchmod +x \"$root/bin/shipit\"\n",
            log.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(bin.join("cargo"), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A runner shipit has no build for.
    let out = install(work.path(), "Linux", "ARM", &server.url, Some(&bin));
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert!(
        out.output
            .contains("no prebuilt binary for Linux/ARM; building it from the action's source with cargo install"),
        "{}",
        out.output
    );
    assert!(
        out.output.ends_with("shipit built here\n"),
        "{}",
        out.output
    );
    let args = std::fs::read_to_string(&log).unwrap();
    assert!(
        args.starts_with(&format!(
            "install --locked --path {} --root ",
            env!("CARGO_MANIFEST_DIR")
        )),
        "{args}"
    );
    // A release without this platform's archive (macOS here): the same fallback, named.
    let out = install(work.path(), "macOS", "ARM64", &server.url, Some(&bin));
    assert_eq!(out.code, Some(0), "{}", out.output);
    assert!(
        out.output.contains(
            "no prebuilt binary shipit-9.9.9-aarch64-apple-darwin.tar.gz in release 9.9.9"
        ),
        "{}",
        out.output
    );
}
