//! The newcomer's first run (examples/first-run) on the local stack, both ways it builds its
//! image: with the Docker engine, and daemonless (an OCI layout written by Python). Each run
//! must end with the service deployed, healthy, and its log lines shown.

mod common;

use std::path::Path;
use std::process::Command;

use common::{require_docker, require_stack, unique_name};

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
            .env("SHIPIT_FIRST_RUN_APP", &app)
            .env("SHIPIT_FIRST_RUN_CLUSTER", format!("{app}-cluster"))
            .env("SHIPIT_FIRST_RUN_DIR", dir.path()),
    );
    let cleanup = scale_to_zero(&app);
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
    assert!(
        all.contains(&format!("{app} stand-in listening on port 5000")),
        "the tasks' first log line: {}",
        out.dump()
    );
    cleanup.unwrap();
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
