//! The GitHub Actions files: action.yml is a composite action whose outputs are exactly the
//! ones `shipit deploy` writes, and whose run steps name their shell (actionlint, run by
//! .ci/run, checks the workflow files).

use std::path::Path;

fn yaml(path: &str) -> serde_json::Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    let node = shipit::config::yaml::parse(&text, path).unwrap_or_else(|d| panic!("{d}"));
    shipit::config::source_map::to_json(&node).0
}

#[test]
fn the_action_is_composite_and_exposes_every_deploy_output() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let outputs: Vec<&String> = action["outputs"].as_object().unwrap().keys().collect();
    assert_eq!(
        outputs,
        vec![
            "image-uri",
            "image-digest",
            "task-definition-arn",
            "service-arn",
            "deployment-id",
            "service-deployment-arn",
            "result"
        ]
    );
    for (name, output) in action["outputs"].as_object().unwrap() {
        assert_eq!(
            output["value"],
            format!("${{{{ steps.shipit.outputs.{name} }}}}"),
            "{name}"
        );
    }
    for step in action["runs"]["steps"].as_array().unwrap() {
        if step.get("run").is_some() {
            assert_eq!(step["shell"], "bash", "{step}");
        }
    }
    let inputs = action["inputs"].as_object().unwrap();
    for name in ["config", "command", "args"] {
        assert!(inputs.contains_key(name), "input {name}");
    }
}

#[test]
fn the_example_workflow_uses_oidc_and_no_stored_keys() {
    let workflow = yaml("examples/github-actions/deploy.yml");
    assert_eq!(workflow["permissions"]["id-token"], "write");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github-actions/deploy.yml"),
    )
    .unwrap();
    assert!(text.contains("role-to-assume"));
    assert!(!text.contains("aws-secret-access-key"));
}

/// The release workflow builds every platform action/install downloads, runs each binary,
/// names the archives as the install script expects, and attaches one SHA256SUMS.
#[test]
fn the_release_workflow_builds_what_the_install_script_downloads() {
    let release = yaml(".github/workflows/release.yml");
    assert_eq!(release["on"]["push"]["tags"], serde_json::json!(["v*"]));
    let build = &release["jobs"]["build"];
    let targets: Vec<&str> = build["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        targets,
        vec![
            "x86_64-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "aarch64-apple-darwin",
            "x86_64-apple-darwin",
            "x86_64-pc-windows-msvc",
        ]
    );
    let install =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/install"))
            .unwrap();
    for target in &targets {
        assert!(
            install.contains(&format!("target={target}")),
            "action/install downloads {target}"
        );
    }
    let steps = |job: &serde_json::Value| -> String {
        job["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["run"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let build_runs = steps(build);
    assert!(
        build_runs.contains("--release --locked --target"),
        "{build_runs}"
    );
    assert!(
        build_runs.contains("/release/shipit\" --version"),
        "each binary runs"
    );
    // The names action/install asks for: shipit-VERSION-TARGET.tar.gz, or .zip on Windows.
    assert!(build_runs.contains("dist/shipit-$version-${{ matrix.target }}.tar.gz"));
    assert!(build_runs.contains("shipit-$version-${{ matrix.target }}.zip"));
    assert!(install.contains(r#"archive="shipit-$version-$target.tar.gz""#));
    assert!(install.contains(r#"archive="shipit-$version-$target.zip""#));
    let release_runs = steps(&release["jobs"]["release"]);
    assert!(
        release_runs.contains("sha256sum shipit-* > SHA256SUMS"),
        "{release_runs}"
    );
    assert!(release_runs.contains("gh release create"), "{release_runs}");
}

/// `cargo binstall shipit` fetches the very archives the release attaches and action/install
/// downloads: the package's binstall URL, filled in as binstall does, is the install script's.
#[test]
fn cargo_binstall_fetches_the_release_archives() {
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    let value = |key: &str| -> String {
        manifest
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key} = ")))
            .unwrap_or_else(|| panic!("Cargo.toml has no {key}"))
            .trim_matches('"')
            .to_string()
    };
    let repo = value("repository");
    let version = env!("CARGO_PKG_VERSION");
    let fill = |target: &str, suffix: &str| {
        value("pkg-url")
            .replace("{ repo }", &repo)
            .replace("{ version }", version)
            .replace("{ name }", "shipit")
            .replace("{ target }", target)
            .replace("{ archive-suffix }", suffix)
    };
    // What action/install downloads for the action's own repository.
    let owner_name = repo.trim_start_matches("https://github.com/");
    let expected = |target: &str, suffix: &str| {
        format!(
            "https://github.com/{owner_name}/releases/download/v{version}/shipit-{version}-{target}{suffix}"
        )
    };
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
    ] {
        assert_eq!(fill(target, ".tar.gz"), expected(target, ".tar.gz"));
    }
    assert_eq!(
        fill("x86_64-pc-windows-msvc", ".zip"),
        expected("x86_64-pc-windows-msvc", ".zip")
    );
    assert!(manifest.contains(
        "[package.metadata.binstall.overrides.x86_64-pc-windows-msvc]\npkg-fmt = \"zip\""
    ));
    // The archives hold the binary at their root.
    assert_eq!(value("bin-dir"), "{ bin }{ binary-ext }");
    // The examples use the action from the same repository.
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github-actions/deploy.yml"),
    )
    .unwrap();
    assert!(example.contains(&format!("uses: {owner_name}@")));
}

/// The container image job builds the Dockerfile from the two Linux musl binaries, in the
/// context layout the Dockerfile reads; and the Dockerfile, given that layout, builds an image
/// FROM scratch whose entrypoint is the binary, with CA certificates (checked with the
/// engine: a static busybox stands in for the musl binary, which only the release runners
/// build).
#[test]
fn the_container_image_is_built_from_the_release_binaries() {
    let release = yaml(".github/workflows/release.yml");
    let image = &release["jobs"]["image"];
    assert_eq!(image["needs"], "build");
    let text = image.to_string();
    for wanted in [
        "context/amd64",
        "context/arm64",
        "x86_64-unknown-linux-musl.tar.gz",
        "aarch64-unknown-linux-musl.tar.gz",
        "ca-certificates.crt",
        "linux/amd64,linux/arm64",
        "docker/build-push-action",
        "--version",
    ] {
        assert!(
            text.contains(wanted),
            "the image job lacks {wanted}: {text}"
        );
    }
    let dockerfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("\nFROM scratch\n"));

    let engine = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output();
    if !engine.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var("SHIPIT_ALLOW_SKIP").as_deref() == Ok("1"),
            "no Docker engine answers (SHIPIT_ALLOW_SKIP=1 skips this part)"
        );
        return;
    }
    let context = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(context.path().join("amd64")).unwrap();
    std::fs::copy("/bin/busybox", context.path().join("amd64/shipit"))
        .expect("apt-get install busybox-static");
    std::fs::write(context.path().join("ca-certificates.crt"), "certificates\n").unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("Dockerfile"),
        context.path().join("Dockerfile"),
    )
    .unwrap();
    let tag = format!("shipit-image-test:{}", std::process::id());
    let built = std::process::Command::new("docker")
        .args(["build", "-q", "--build-arg", "TARGETARCH=amd64", "-t", &tag])
        .arg(context.path())
        .output()
        .unwrap();
    let removed = || {
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &tag])
            .output();
    };
    if !built.status.success() {
        removed();
        panic!("{}", String::from_utf8_lossy(&built.stderr));
    }
    let inspect = std::process::Command::new("docker")
        .args([
            "image",
            "inspect",
            "--format",
            "{{json .Config.Entrypoint}} {{.Config.WorkingDir}} {{json .Config.Env}}",
            &tag,
        ])
        .output()
        .unwrap();
    // The binary runs as the entrypoint (busybox, called `shipit`, names itself).
    let ran = std::process::Command::new("docker")
        .args(["run", "--rm", &tag])
        .output()
        .unwrap();
    removed();
    let inspected = String::from_utf8_lossy(&inspect.stdout);
    assert!(
        inspected.starts_with(r#"["/usr/local/bin/shipit"] /work ["#)
            && inspected.contains("SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"),
        "{inspected}"
    );
    assert!(
        String::from_utf8_lossy(&ran.stderr).contains("shipit: applet not found"),
        "{}",
        String::from_utf8_lossy(&ran.stderr)
    );
}
