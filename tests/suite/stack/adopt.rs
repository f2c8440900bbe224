//! Taking over a service made elsewhere: what its revision or service holds and deploy.yaml
//! does not name is listed by `plan` as a removal, and `deploy` drops it only when told
//! (`--allow-removals`); without it, deploy stops before its first write.

use aws_sdk_ecs::types::{
    AwsVpcConfiguration, ContainerDefinition, LaunchType, MountPoint, NetworkConfiguration, Ulimit,
    UlimitName, Volume,
};

use crate::common;
use crate::common::config::Config;
use crate::common::images::{TarEntry, fs_layer, oci_layout_of_tars};
use crate::common::{require_stack, run, shipit_on_stack, unique_name};

/// A cluster, a revision and a service made with the SDK, as the console or Terraform would:
/// an entry point, a ulimit, a stop timeout, a user, docker labels, a read-only root file
/// system, a volume and its mount point, none of which deploy.yaml names.
fn service_made_elsewhere(runtime: &tokio::runtime::Runtime, name: &str) -> String {
    let ecs = common::ecs_client(runtime);
    runtime.block_on(async {
        ecs.create_cluster()
            .cluster_name(name)
            .send()
            .await
            .unwrap();
        let registered = ecs
            .register_task_definition()
            .family(name)
            .cpu("256")
            .memory("512")
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .execution_role_arn("arn:aws:iam::000000000000:role/ecsTaskExecutionRole")
            .volumes(Volume::builder().name("data").build())
            .container_definitions(
                ContainerDefinition::builder()
                    .name("legacy")
                    .image("public.ecr.aws/docker/library/busybox:1")
                    .essential(true)
                    .entry_point("/bin/sh")
                    .user("1000")
                    .stop_timeout(90)
                    .readonly_root_filesystem(true)
                    .docker_labels("team", "payments")
                    .ulimits(
                        Ulimit::builder()
                            .name(UlimitName::Nofile)
                            .soft_limit(65536)
                            .hard_limit(65536)
                            .build()
                            .unwrap(),
                    )
                    .mount_points(
                        MountPoint::builder()
                            .source_volume("data")
                            .container_path("/data")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let arn = registered
            .task_definition()
            .and_then(|td| td.task_definition_arn())
            .unwrap()
            .to_string();
        ecs.create_service()
            .cluster(name)
            .service_name(name)
            .task_definition(&arn)
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets("subnet-0123456789abcdef0")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        arn
    })
}

fn revisions(runtime: &tokio::runtime::Runtime, family: &str) -> usize {
    let ecs = common::ecs_client(runtime);
    runtime
        .block_on(ecs.list_task_definitions().family_prefix(family).send())
        .unwrap()
        .task_definition_arns()
        .len()
}

#[test]
fn settings_a_config_does_not_name_are_dropped_only_when_allowed() {
    if !require_stack() {
        return;
    }
    let name = unique_name("adopt");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let made = service_made_elsewhere(&runtime, &name);
    let dir = tempfile::tempdir().unwrap();
    let tars = vec![fs_layer(&[TarEntry::File("app/marker", 0o644, b"v2")])];
    oci_layout_of_tars(&dir.path().join("layout"), &tars, "v1", &name);
    // Written by hand for that service: its names, a new image, nothing else.
    let config = Config::new(
        &name,
        &format!("oci:{}", dir.path().join("layout").display()),
    )
    .top(&format!("cluster: {name}"))
    .service(&format!("name: {name}\ndesired_count: 0"))
    .task(&format!("family: {name}"))
    .container("name: legacy");
    std::fs::write(dir.path().join("deploy.yaml"), config.to_string()).unwrap();

    // plan: the removals under their own heading, and in the JSON.
    let plan = run(shipit_on_stack(dir.path()).arg("plan"));
    assert_eq!(plan.code, Some(3), "{}", plan.dump());
    assert!(
        plan.stdout
            .contains("removals that deploy.yaml does not ask for"),
        "{}",
        plan.dump()
    );
    for field in [
        "- volumes.data: task storage",
        "- containers.legacy.mount_points./data: data",
        "- containers.legacy.entry_point: [\"/bin/sh\"]",
        "- containers.legacy.ulimits.nofile: 65536/65536",
        "- containers.legacy.stop_timeout: 90",
        "- containers.legacy.user: 1000",
        "- containers.legacy.readonly_root_filesystem: true",
        "- containers.legacy.docker_labels.team: payments",
    ] {
        assert!(plan.stdout.contains(field), "{field}: {}", plan.dump());
    }
    let removals = |dir: &std::path::Path| -> Vec<String> {
        let json = run(shipit_on_stack(dir).args(["plan", "--output", "json"]));
        let doc: serde_json::Value =
            serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {}", json.dump()));
        let list = doc["removals"].as_array().unwrap();
        assert!(list.iter().all(|c| c["guarded"] == true), "{doc}");
        list.iter()
            .map(|c| c["field"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(removals(dir.path()).len(), 8);

    // deploy: refused before any write (exit 2), naming what it would drop.
    let refused = run(shipit_on_stack(dir.path()).args(["deploy", "--no-wait"]));
    assert_eq!(refused.code, Some(2), "{}", refused.dump());
    assert!(
        refused.stderr.contains("deploy would drop")
            && refused
                .stderr
                .contains("containers.legacy.mount_points./data")
            && refused.stderr.contains("--allow-removals"),
        "{}",
        refused.dump()
    );
    assert_eq!(revisions(&runtime, &name), 1, "no revision was registered");
    assert_eq!(
        common::describe_service(&name, &name).task_definition(),
        Some(made.as_str()),
        "the service was not updated"
    );

    // --allow-removals: deployed without them; the next plan guards nothing (the revision is
    // shipit's now).
    let allowed =
        run(shipit_on_stack(dir.path()).args(["deploy", "--no-wait", "--allow-removals"]));
    assert_eq!(allowed.code, Some(0), "{}", allowed.dump());
    assert_eq!(revisions(&runtime, &name), 2, "{}", allowed.dump());
    assert_eq!(removals(dir.path()), Vec::<String>::new());

    // Every setting named in deploy.yaml: nothing to drop, deployed without the flag, and the
    // new revision holds them all.
    let config = config
        .task("volumes: { data: {} }")
        .container("mount_points: [{ volume: data, path: /data }]")
        .container("entry_point: [/bin/sh]\nuser: '1000'\nstop_timeout: 90")
        .container("readonly_root_filesystem: true\ndocker_labels: { team: payments }")
        .container("ulimits: { nofile: { soft: 65536, hard: 65536 } }");
    std::fs::write(dir.path().join("deploy.yaml"), config.to_string()).unwrap();
    assert_eq!(removals(dir.path()), Vec::<String>::new());
    let named = run(shipit_on_stack(dir.path()).args(["deploy", "--no-wait"]));
    assert_eq!(named.code, Some(0), "{}", named.dump());
    assert_eq!(revisions(&runtime, &name), 3, "{}", named.dump());
    let ecs = common::ecs_client(&runtime);
    let described = runtime
        .block_on(ecs.describe_task_definition().task_definition(&name).send())
        .unwrap();
    let td = described.task_definition().unwrap();
    assert_eq!(td.volumes()[0].name(), Some("data"));
    let legacy = &td.container_definitions()[0];
    assert_eq!(legacy.mount_points()[0].container_path(), Some("/data"));
    assert_eq!(legacy.entry_point(), ["/bin/sh"]);
    assert_eq!(legacy.user(), Some("1000"));
    assert_eq!(legacy.stop_timeout(), Some(90));
    assert_eq!(legacy.readonly_root_filesystem(), Some(true));
    assert_eq!(
        legacy
            .docker_labels()
            .and_then(|l| l.get("team"))
            .map(String::as_str),
        Some("payments")
    );
    assert_eq!(legacy.ulimits()[0].soft_limit(), 65536);
    // And a plan with nothing left to change in the task definition.
    let clean = run(shipit_on_stack(dir.path()).args(["plan", "--output", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&clean.stdout).unwrap();
    assert!(
        doc["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["resource"] != "task-definition"),
        "{}",
        clean.dump()
    );
}
