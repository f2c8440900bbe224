//! `dev/prerequisites`, the one list of what the suite needs (dev/test and .ci/run call it), run
//! in a clean environment: a PATH of a few shell tools and a folder standing for `/`, so that
//! nothing of this machine's is found. It names each missing thing with the way to get it on
//! Debian and on macOS, and installs through apt-get (a stand-in here that records the call).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A PATH folder with only what the script itself runs.
fn bare_path(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in [
        "bash", "uname", "grep", "cat", "id", "true", "chmod", "mkdir",
    ] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} on this machine"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    bin
}

fn executable(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn prerequisites(bin: &Path, root: &Path, os: &str, args: &[&str]) -> (Option<i32>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("dev/prerequisites");
    let out = Command::new(bin.join("bash"))
        .arg(script)
        .args(args)
        .env_clear()
        .env("PATH", bin)
        .env("SHIPIT_PREREQ_ROOT", root)
        .env("SHIPIT_PREREQ_OS", os)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn each_missing_tool_is_named_with_how_to_get_it() {
    let dir = tempfile::tempdir().unwrap();
    let bin = bare_path(dir.path());
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();

    let (code, out) = prerequisites(&bin, &root, "debian", &["--check"]);
    assert_eq!(code, Some(1), "{out}");
    for line in [
        "missing 8:",
        "  cargo: the Rust toolchain from https://rustup.rs",
        "  docker: apt-get install docker.io",
        "  curl: apt-get install curl",
        "  skopeo: apt-get install skopeo",
        "  htpasswd: apt-get install apache2-utils",
        "  docker-registry: apt-get install docker-registry",
        "  static busybox: apt-get install busybox-static",
        "  python3 with venv: apt-get install python3-venv",
    ] {
        assert!(out.contains(line), "wanted {line:?} in\n{out}");
    }

    let (code, out) = prerequisites(&bin, &root, "macos", &["--check"]);
    assert_eq!(code, Some(1), "{out}");
    for line in [
        "  skopeo: brew install skopeo",
        "  htpasswd: brew install httpd",
        "  docker: Docker Desktop (brew install --cask docker)",
        "  docker-registry: no Homebrew formula: run the suite in a Debian or Ubuntu container",
    ] {
        assert!(out.contains(line), "wanted {line:?} in\n{out}");
    }
}

#[test]
fn on_debian_it_installs_the_missing_packages_then_checks_again() {
    let dir = tempfile::tempdir().unwrap();
    let bin = bare_path(dir.path());
    let root = dir.path().join("root");
    let log = dir.path().join("apt.log");
    // What a developer brings: Rust and Docker.
    for tool in ["cargo", "docker"] {
        executable(&bin.join(tool), "#!/bin/bash\nexit 0\n");
    }
    // apt-get, recording its calls and "installing" what the packages give.
    executable(
        &bin.join("apt-get"),
        &format!(
            "#!/bin/bash\necho \"$*\" >> {log}\nif [ \"$1\" = install ]; then\n  for t in curl skopeo htpasswd python3; do printf '#!/bin/bash\\nexit 0\\n' > {bin}/$t; chmod +x {bin}/$t; done\n  mkdir -p {root}/usr/bin {root}/bin\n  printf '#!/bin/bash\\n' > {root}/usr/bin/docker-registry; chmod +x {root}/usr/bin/docker-registry\n  printf '#!/bin/bash\\n' > {root}/bin/busybox; chmod +x {root}/bin/busybox\nfi\n",
            log = log.display(),
            bin = bin.display(),
            root = root.display()
        ),
    );
    // Not root: the script asks sudo, which here just runs the command.
    executable(
        &bin.join("sudo"),
        "#!/bin/bash\n[ \"$1\" = -n ] && shift\nexec \"$@\"\n",
    );

    let (code, out) = prerequisites(&bin, &root, "debian", &[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("prerequisites: all there"), "{out}");
    let calls = std::fs::read_to_string(&log).unwrap();
    assert!(calls.starts_with("update -qq\n"), "{calls}");
    assert!(
        calls.contains(
            "install -y -qq curl skopeo apache2-utils docker-registry busybox-static python3-venv"
        ),
        "{calls}"
    );
    // Everything there now: nothing more to do.
    let (code, out) = prerequisites(&bin, &root, "debian", &["--check"]);
    assert_eq!((code, out.trim()), (Some(0), "prerequisites: all there"));
}
