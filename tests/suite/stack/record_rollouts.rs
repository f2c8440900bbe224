//! Records real rollouts on the local stack (ECS tasks as containers) as snapshot sequences in
//! tests/fixtures/rollouts/, which the rollout unit tests replay. Not part of the normal run:
//!
//!     localstack/up && cargo test --test suite stack::record_rollouts -- --ignored --test-threads 1
//!
//! Each recording: a healthy service on revision 1, then a deployment of revision 2 (healthy,
//! exiting with code 1, an image that cannot be pulled, a secret that cannot be read), polled
//! every 500 ms until ECS itself settles it.

use crate::common;
use crate::common::config::Config;

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::{require_docker, require_stack, run, shipit_on_stack, unique_name};
use shipit::rollout::{Rules, Snapshot, Target, evaluate};

fn sdk() -> (tokio::runtime::Runtime, aws_sdk_ecs::Client) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecs = common::ecs_client(&runtime);
    (runtime, ecs)
}

fn build(tag: &str, command: &str) -> String {
    common::busybox_image(
        &format!("shipit-record:{tag}"),
        &format!("RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCMD {command}\n"),
        &[],
    )
}

const HEALTHY: &str = r#"["/bin/busybox", "httpd", "-f", "-p", "5000"]"#;

fn deploy_config(name: &str, image: &str, tag: &str) -> String {
    Config::new(name, &format!("docker://{image}"))
        .tag(tag)
        .top(&format!("cluster: {name}"))
        .service(&format!(
            "name: {name}\ncircuit_breaker: {{ enable: true, rollback: true }}"
        ))
        .task(&format!("family: {name}"))
        .container("name: app")
        .to_string()
}

/// A service on a healthy revision 1; returns its name.
fn healthy_service(dir: &Path) -> String {
    let name = unique_name("rec");
    let image = build("healthy", HEALTHY);
    std::fs::write(dir.join("deploy.yaml"), deploy_config(&name, &image, "v1")).unwrap();
    let out = run(shipit_on_stack(dir).args(["deploy", "--timeout", "2m"]));
    // Pushed: the built image is no longer needed in the engine.
    let _ = std::process::Command::new("docker")
        .args(["rmi", "-f", &image])
        .output();
    assert_eq!(out.code, Some(0), "{}", out.dump());
    name
}

/// Starts a deployment of `taskdef` changes made by `edit` to the current revision, then
/// polls until ECS settles it; writes the recording.
fn record(
    name: &str,
    fixture: &str,
    edit: impl FnOnce(
        aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
        &aws_sdk_ecs::types::ContainerDefinition,
    ) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
) {
    let (runtime, ecs) = sdk();
    let since = shipit::clock::now_epoch_seconds();
    let service = runtime
        .block_on(ecs.describe_services().cluster(name).services(name).send())
        .unwrap();
    let previous = service.services()[0].task_definition().unwrap().to_string();
    let td = runtime
        .block_on(
            ecs.describe_task_definition()
                .task_definition(&previous)
                .send(),
        )
        .unwrap();
    let td = td.task_definition().unwrap();
    let request = ecs
        .register_task_definition()
        .family(td.family().unwrap())
        .cpu(td.cpu().unwrap())
        .memory(td.memory().unwrap())
        .network_mode(td.network_mode().unwrap().clone())
        .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()))
        .execution_role_arn(td.execution_role_arn().unwrap());
    let registered = runtime
        .block_on(edit(request, &td.container_definitions()[0]).send())
        .unwrap();
    let arn = registered
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_string();
    let updated = runtime
        .block_on(
            ecs.update_service()
                .cluster(name)
                .service(name)
                .task_definition(&arn)
                .send(),
        )
        .unwrap();
    let deployment_id = updated
        .service()
        .unwrap()
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .unwrap()
        .id()
        .unwrap()
        .to_string();
    let target = Target {
        deployment_id,
        task_definition: arn,
        previous_task_definition: Some(previous),
        service_deployment_arn: None,
    };
    // ECS's own verdict: no fail-fast while recording.
    let patient = Rules {
        fail_after_same_stops: 1000,
    };
    let mut snapshots: Vec<Snapshot> = Vec::new();
    let started = Instant::now();
    let mut settled_polls = 0;
    while started.elapsed() < Duration::from_secs(90) {
        let mut snapshot = runtime
            .block_on(shipit::ecs::snapshot(&ecs, name, name, since))
            .unwrap();
        with_deployment_ids(&mut snapshot);
        let last_same = snapshots.last() == Some(&snapshot);
        let settled = evaluate(&snapshot, &target, &patient).is_final();
        if !last_same {
            snapshots.push(snapshot);
        }
        // A few more polls after ECS settled, to catch what follows (a rollback completing).
        if settled {
            settled_polls += 1;
            if settled_polls > 4 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/rollouts")
        .join(format!("{fixture}.json"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let doc = serde_json::json!({ "target": target, "snapshots": snapshots });
    std::fs::write(&path, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    eprintln!(
        "recorded {} snapshots in {}",
        snapshots.len(),
        path.display()
    );
}

/// Real ECS starts a service's tasks with `startedBy: ecs-svc/<deployment id>`, which the
/// watch matches tasks to deployments by; the local stack puts the service's name there. The
/// recording says what real ECS would: the id of the deployment of the task's revision (each
/// revision has one deployment in these recordings).
fn with_deployment_ids(snapshot: &mut Snapshot) {
    for task in &mut snapshot.tasks {
        if task.deployment_id.is_none() {
            task.deployment_id = snapshot
                .deployments
                .iter()
                .find(|d| d.task_definition == task.task_definition)
                .map(|d| d.id.clone());
        }
    }
}

fn same_container(
    c: &aws_sdk_ecs::types::ContainerDefinition,
) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    aws_sdk_ecs::types::ContainerDefinition::builder()
        .name(c.name().unwrap())
        .image(c.image().unwrap())
        .essential(true)
        .set_port_mappings(Some(c.port_mappings().to_vec()))
        .set_log_configuration(c.log_configuration().cloned())
}

#[test]
#[ignore = "records fixtures; run by hand"]
fn record_success() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = healthy_service(dir.path());
    record(&name, "success", |r, c| {
        r.container_definitions(
            same_container(c)
                .environment(
                    aws_sdk_ecs::types::KeyValuePair::builder()
                        .name("VERSION")
                        .value("2")
                        .build(),
                )
                .build(),
        )
    });
}

#[test]
#[ignore = "records fixtures; run by hand"]
fn record_exit_code_then_circuit_breaker_rollback() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = healthy_service(dir.path());
    record(&name, "exit-code-rollback", |r, c| {
        r.container_definitions(
            same_container(c)
                .set_command(Some(vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    "echo cannot start; exit 1".into(),
                ]))
                .build(),
        )
    });
}

#[test]
#[ignore = "records fixtures; run by hand"]
fn record_cannot_pull() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = healthy_service(dir.path());
    let missing = format!(
        "{}/{name}@sha256:{}",
        common::endpoint().trim_start_matches("http://"),
        "0".repeat(64)
    );
    record(&name, "cannot-pull", |r, c| {
        r.container_definitions(same_container(c).image(&missing).build())
    });
}

#[test]
#[ignore = "records fixtures; run by hand"]
fn record_secret_cannot_be_read() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = healthy_service(dir.path());
    record(&name, "secret-unreadable", |r, c| {
        r.container_definitions(
            same_container(c)
                .secrets(
                    aws_sdk_ecs::types::Secret::builder()
                        .name("DATABASE_URL")
                        .value_from("arn:aws:ssm:us-east-1:000000000000:parameter/shipit/missing")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
    });
}
