//! The example API (examples/flask-api): its pytest suite passes against the pinned
//! requirements, and its Dockerfiles keep the promises the README makes for them.

use crate::common;

use std::path::Path;
use std::process::Command;

fn example() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/flask-api"))
}

#[test]
fn the_example_apis_tests_pass() {
    // The virtualenv with the pinned requirements and pytest (installed once, from PyPI).
    let out = Command::new(example().join("test-env")).output().unwrap();
    assert!(
        out.status.success(),
        "test-env: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = common::run(
        Command::new(python)
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "."])
            .current_dir(example()),
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(out.stdout.contains("5 passed"), "{}", out.dump());
}

/// The instructions of a Dockerfile's last stage (after its last FROM), joined lines.
fn final_stage(dockerfile: &str) -> Vec<String> {
    let joined = dockerfile.replace("\\\n", " ");
    let lines: Vec<String> = joined
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    let last_from = lines.iter().rposition(|l| l.starts_with("FROM ")).unwrap();
    lines[last_from..].to_vec()
}

#[test]
fn the_multi_stage_dockerfile_ships_only_the_runtime_as_a_non_root_user() {
    let text = std::fs::read_to_string(example().join("Dockerfile.multi-stage")).unwrap();
    let froms: Vec<&str> = text.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(froms.len(), 2, "a builder and a runtime stage");
    // The same base in both, so compiled packages load in the runtime stage.
    let base = |from: &str| from.split_whitespace().nth(1).unwrap().to_string();
    assert_eq!(base(froms[0]), base(froms[1]));

    let runtime = final_stage(&text);
    let has = |prefix: &str| runtime.iter().find(|l| l.starts_with(prefix)).cloned();
    assert!(
        !runtime.iter().any(|l| l.contains("gcc")),
        "no build tools in the runtime"
    );
    assert!(
        has("COPY --from=builder").is_some(),
        "packages come from the builder"
    );
    let user = has("USER ").expect("a USER in the runtime stage");
    assert!(!user.contains("root") && user != "USER 0", "{user}");
    assert_eq!(has("EXPOSE ").as_deref(), Some("EXPOSE 5000"));
    let health = has("HEALTHCHECK ").expect("a HEALTHCHECK");
    assert!(
        !health.contains("curl"),
        "slim images have no curl: {health}"
    );
    assert!(health.contains("/health"), "{health}");
    let cmd = has("CMD ").unwrap();
    assert!(
        cmd.contains("gunicorn") && cmd.contains("0.0.0.0:5000"),
        "{cmd}"
    );
    assert!(example().join(".dockerignore").exists());

    let single = std::fs::read_to_string(example().join("Dockerfile.single-stage")).unwrap();
    assert_eq!(single.lines().filter(|l| l.starts_with("FROM ")).count(), 1);
}

#[test]
fn the_example_config_checks_health_the_way_the_image_can() {
    // ECS runs the task definition's health check, not the Dockerfile's: the example config
    // must use a program the image has (Python), not curl.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = common::run(common::shipit(root).args([
        "validate",
        "-c",
        "deploy.yaml.example",
        "--output",
        "json",
    ]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let command = doc["config"]["container"]["health_check"]["command"]
        .as_str()
        .unwrap();
    assert!(command.starts_with("python -c"), "{command}");
    assert!(
        command.contains("http://localhost:5000/health"),
        "{command}"
    );
}
