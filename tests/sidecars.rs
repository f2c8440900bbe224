//! `containers:`: an app and a sidecar in one task, as real containers on the local stack. The
//! app waits for the sidecar to be healthy; status and logs speak per container; a sidecar that
//! crashes is named in the failure report with its exit code and its own last lines.

mod common;

use common::{require_docker, require_stack, run, shipit_on_stack, unique_name};

fn config(name: &str, sidecar_image: &str, sidecar_command: &str) -> String {
    format!(
        "app: {name}
region: us-east-1
image:
  source: docker://{sidecar_image}
  tag: v1
cluster: {name}
service:
  desired_count: 1
  subnets: [subnet-0123456789abcdef0]
task:
  execution_role: arn:aws:iam::000000000000:role/ecsTaskExecutionRole
containers:
  - name: app
    command: [/bin/sh, -c, 'echo app up; exec sleep 3600']
    depends_on: {{ log-router: HEALTHY }}
  - name: log-router
    image: {sidecar_image}
    command: [/bin/sh, -c, '{sidecar_command}']
    memory_reservation: 64
    health_check:
      command: 'true'
      interval: 5
      timeout: 2
      retries: 2
"
    )
}

#[test]
fn an_app_and_its_sidecar_deploy_and_a_crashing_sidecar_is_named() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("sidecar");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    // One local image serves both: the app's is pushed, the sidecar's is referenced.
    let image = pulled.built(common::busybox_image(
        &format!("shipit-sidecar-{name}:v1"),
        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        &[],
    ));
    let write = |command: &str| {
        std::fs::write(
            dir.path().join("deploy.yaml"),
            config(&name, &image, command),
        )
        .unwrap()
    };
    write("echo sidecar up; exec sleep 3600");

    // The plan speaks per container.
    let plan = run(shipit_on_stack(dir.path()).arg("plan"));
    assert_eq!(plan.code, Some(3), "{}", plan.dump());
    for wanted in [
        "+ containers.app.depends_on.log-router: HEALTHY",
        "+ containers.log-router.memory_reservation: 64",
        &format!("+ containers.log-router.image: {image}"),
    ] {
        assert!(plan.stdout.contains(wanted), "{wanted}\n{}", plan.dump());
    }

    let out = run(shipit_on_stack(dir.path()).args(["deploy", "--timeout", "3m"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let clean = run(shipit_on_stack(dir.path()).arg("plan"));
    assert_eq!(
        clean.code,
        Some(0),
        "plan clean after the deploy\n{}",
        clean.dump()
    );

    let status = run(shipit_on_stack(dir.path()).args(["status", "--output", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let running = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["last_status"] == "RUNNING")
        .unwrap_or_else(|| panic!("a running task\n{}", status.dump()));
    let names: Vec<&str> = running["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"app") && names.contains(&"log-router"),
        "{}",
        status.dump()
    );
    // Each container logs to its own stream (the awslogs driver delivers within seconds).
    let wait_for_line = |container: &str, line: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let logs = run(shipit_on_stack(dir.path()).args([
                "logs",
                "--container",
                container,
                "--since",
                "10m",
            ]));
            if logs.stdout.contains(line) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{container}: {}",
                logs.dump()
            );
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
    };
    wait_for_line("app", "app up");
    wait_for_line("log-router", "sidecar up");

    // A sidecar that crashes: the deploy fails, and the report names it with its exit code.
    // (Real ECS reports each container's own exit code, 143/137 for the app it stopped after
    // the sidecar, so the sidecar is the cause and its lines are the report's: see
    // rollout::tests::the_container_that_exited_first_is_named_not_the_one_stopped_after_it.
    // ministack gives every container of the task the same code, so here the report's
    // containers line is what names the sidecar.)
    write("echo cannot reach the log backend; exit 2");
    let out =
        run(shipit_on_stack(dir.path()).args(["deploy", "--timeout", "3m", "--output", "json"]));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let failure = &doc["failure"];
    assert!(
        failure["summary"]
            .as_str()
            .unwrap()
            .contains("exited with code 2"),
        "{}",
        out.dump()
    );
    assert!(
        failure["containers"]
            .as_array()
            .unwrap_or_else(|| panic!("no containers line\n{}", out.dump()))
            .iter()
            .any(|c| c == "log-router exited with code 2"),
        "{}",
        out.dump()
    );
    // The sidecar's own stream holds its last words.
    wait_for_line("log-router", "cannot reach the log backend");
}
