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
