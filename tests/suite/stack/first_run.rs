//! The newcomer's first run (examples/first-run) on the local stack, both ways it builds its
//! image: with the Docker engine, and daemonless (an OCI layout written by Python). Each run
//! must end with the service deployed, healthy, and its log lines shown: the example API's
//! (then its /health must answer 200 in a task) where the engine holds its base image, else
//! the stand-in's.

use crate::common;

use std::path::Path;
use std::process::Command;

use crate::common::{require_docker, require_stack, unique_name};

fn first_run(builder: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let app = unique_name(&format!("first-{builder}"));
    let dir = tempfile::tempdir().unwrap();
    let out = common::run(
        Command::new(root.join("examples/first-run"))
            // The binary under test; building another would recompile with other features.
            .env("SHIPIT_BIN", env!("CARGO_BIN_EXE_shipit"))
            .env("AWS_ENDPOINT_URL", common::endpoint())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("SHIPIT_FIRST_RUN_BUILDER", builder)
            // Tests never pull from the internet: the example API is built only when the
            // engine already holds its base image.
            .env("SHIPIT_FIRST_RUN_OFFLINE", "1")
            .env("SHIPIT_FIRST_RUN_APP", &app)
            .env("SHIPIT_FIRST_RUN_CLUSTER", format!("{app}-cluster"))
            .env("SHIPIT_FIRST_RUN_DIR", dir.path()),
    );
    let pulled = common::PulledImages::of(&app);
    pulled.built(format!("{app}:first-run"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let all = format!("{}{}", out.stdout, out.stderr);
    for step in [
        "== 4/6 shipit deploy",
        "== 5/6 shipit status",
        "== 6/6 shipit logs",
    ] {
        assert!(all.contains(step), "{step}: {}", out.dump());
    }
    assert!(all.contains("deployed "), "{}", out.dump());
    assert!(all.contains("HEALTHY"), "{}", out.dump());
    if all.contains("not the example API: ") {
        assert!(
            all.contains(&format!("{app} stand-in listening on port 5000")),
            "the stand-in's first log line: {}",
            out.dump()
        );
    } else {
        // The real example API (the engine had python:3.11-slim): gunicorn's lines, and its
        // /health answering 200 inside a running task container.
        assert!(all.contains("gunicorn"), "{}", out.dump());
        let status = health_in_a_task(&app);
        assert_eq!(status.as_deref(), Some("200"), "{}", out.dump());
    }
    scale_to_zero(&app).unwrap();
}

/// What GET /health answers inside one of the app's running task containers.
fn health_in_a_task(app: &str) -> Option<String> {
    let listed = Command::new("docker")
        .args([
            "ps",
            "--filter",
            "label=ministack=ecs",
            "--format",
            "{{.ID}} {{.Image}}",
        ])
        .output()
        .ok()?;
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let container = listed
        .lines()
        .find(|l| l.contains(&format!("/{app}@")) || l.contains(&format!("/{app}:")))?
        .split_whitespace()
        .next()?
        .to_string();
    let out = Command::new("docker")
        .args([
            "exec",
            &container,
            "python",
            "-c",
            "import urllib.request; print(urllib.request.urlopen('http://localhost:5000/health', timeout=5).status)",
        ])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Stops the run's tasks (its containers would otherwise run on for the rest of the tests).
fn scale_to_zero(app: &str) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecs = common::ecs_client(&runtime);
    runtime
        .block_on(
            ecs.update_service()
                .cluster(format!("{app}-cluster"))
                .service(format!("{app}-service"))
                .desired_count(0)
                .send(),
        )
        .map(|_| ())
        .map_err(|e| format!("{e:?}"))
}

#[test]
fn the_first_run_deploys_an_image_built_by_the_docker_engine() {
    if !require_stack() || !require_docker() {
        return;
    }
    first_run("docker");
}

#[test]
fn the_first_run_deploys_an_image_built_with_no_daemon() {
    if !require_stack() {
        return;
    }
    first_run("oci");
}
