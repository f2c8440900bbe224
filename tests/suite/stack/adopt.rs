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
        let arn = arn_of(&registered);
        ecs.create_service()
            .cluster(name)
            .service_name(name)
            .task_definition(&arn)
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(one_subnet())
            .send()
            .await
            .unwrap();
        arn
    })
}

fn one_subnet() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-0123456789abcdef0")
                .build()
                .unwrap(),
        )
        .build()
}

fn arn_of(
    registered: &aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionOutput,
) -> String {
    registered
        .task_definition()
        .and_then(|td| td.task_definition_arn())
        .unwrap()
        .to_string()
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

/// A service with the settings real services use, made with the SDK: an ECR repository with
/// its own settings, a log group with a retention, a revision with tags, an ARM64 platform, a
/// volume, awslogs delivery options, a secret-looking environment value and a secret
/// reference, a FireLens log router and a sidecar logging through it, on a service with Fargate
/// Spot, a platform version, ECS Exec, propagated tags, deployment alarms, Service Connect, a
/// Cloud Map registry and an EBS volume per task (made through `endpoint`, the proxy that keeps
/// what the stack does not). Returns the image reference the revision runs.
fn service_with_everything(
    runtime: &tokio::runtime::Runtime,
    name: &str,
    endpoint: &str,
) -> String {
    use aws_sdk_ecs::types::{
        CapacityProviderStrategyItem, DeploymentAlarms, DeploymentCircuitBreaker,
        DeploymentConfiguration, HealthCheck, KeyValuePair, LogConfiguration, LogDriver,
        PortMapping, PropagateTags, RuntimePlatform, Secret, Tag,
    };
    let ecs = aws_sdk_ecs::Client::new(&common::sdk_config_at(runtime, endpoint));
    let ecr = common::ecr_client(runtime);
    let sdk = common::sdk_config(runtime);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    runtime.block_on(async {
        let repository = ecr
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Mutable)
            .image_scanning_configuration(
                aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                    .scan_on_push(false)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let uri = repository
            .repository()
            .and_then(|r| r.repository_uri())
            .unwrap()
            .to_string();
        let group = format!("/ecs/{name}");
        logs.create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        logs.put_retention_policy()
            .log_group_name(&group)
            .retention_in_days(14)
            .send()
            .await
            .unwrap();
        ecs.create_cluster()
            .cluster_name(name)
            .capacity_providers("FARGATE")
            .capacity_providers("FARGATE_SPOT")
            .send()
            .await
            .unwrap();
        let image = format!("{uri}:v0");
        // The app's and the log router's: straight to CloudWatch Logs.
        let awslogs = || {
            LogConfiguration::builder()
                .log_driver(LogDriver::Awslogs)
                .options("awslogs-group", &group)
                .options("awslogs-region", "us-east-1")
                .options("awslogs-stream-prefix", "web")
                .options("mode", "non-blocking")
                .options("max-buffer-size", "25m")
                .build()
                .unwrap()
        };
        let registered = ecs
            .register_task_definition()
            .family(name)
            .cpu("512")
            .memory("1024")
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .execution_role_arn("arn:aws:iam::000000000000:role/ecsTaskExecutionRole")
            .task_role_arn(format!("arn:aws:iam::000000000000:role/{name}-app"))
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(aws_sdk_ecs::types::CpuArchitecture::Arm64)
                    .operating_system_family(aws_sdk_ecs::types::OsFamily::Linux)
                    .build(),
            )
            .volumes(Volume::builder().name("data").build())
            .volumes(Volume::builder().name("scratch").configured_at_launch(true).build())
            .tags(Tag::builder().key("team").value("payments").build())
            .container_definitions(
                ContainerDefinition::builder()
                    .name("web")
                    .image(&image)
                    .essential(true)
                    .port_mappings(
                        PortMapping::builder()
                            .container_port(8080)
                            .name("http")
                            .app_protocol(aws_sdk_ecs::types::ApplicationProtocol::Http)
                            .build(),
                    )
                    .environment(
                        KeyValuePair::builder()
                            .name("APP_ENV")
                            .value("production")
                            .build(),
                    )
                    .environment(
                        KeyValuePair::builder()
                            .name("DB_PASSWORD")
                            .value("hunter2-not-for-files")
                            .build(),
                    )
                    .secrets(
                        Secret::builder()
                            .name("API_KEY")
                            .value_from(
                                "arn:aws:secretsmanager:us-east-1:000000000000:secret:api-key-AbCdEf",
                            )
                            .build()
                            .unwrap(),
                    )
                    .command("serve")
                    .user("1000")
                    .stop_timeout(60)
                    // No typed key: carried as `ecs:`.
                    .start_timeout(45)
                    .linux_parameters(
                        aws_sdk_ecs::types::LinuxParameters::builder()
                            .capabilities(
                                aws_sdk_ecs::types::KernelCapabilities::builder()
                                    .add("SYS_PTRACE")
                                    .build(),
                            )
                            .build(),
                    )
                    .mount_points(
                        MountPoint::builder()
                            .source_volume("data")
                            .container_path("/data")
                            .build(),
                    )
                    .mount_points(
                        MountPoint::builder()
                            .source_volume("scratch")
                            .container_path("/scratch")
                            .build(),
                    )
                    .health_check(
                        HealthCheck::builder()
                            .command("CMD-SHELL")
                            .command("wget -q -O /dev/null http://localhost:8080/health || exit 1")
                            .interval(30)
                            .timeout(5)
                            .retries(3)
                            .start_period(10)
                            .build()
                            .unwrap(),
                    )
                    .log_configuration(awslogs())
                    .build(),
            )
            // The FireLens router logs to CloudWatch as the app does.
            .container_definitions(
                ContainerDefinition::builder()
                    .name("log-router")
                    .image("public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4")
                    .essential(true)
                    .firelens_configuration(
                        aws_sdk_ecs::types::FirelensConfiguration::builder()
                            .r#type(aws_sdk_ecs::types::FirelensConfigurationType::Fluentbit)
                            .options("enable-ecs-log-metadata", "false")
                            .options("config-file-type", "file")
                            .options("config-file-value", "/fluent-bit/etc/extra.conf")
                            .build()
                            .unwrap(),
                    )
                    .log_configuration(awslogs())
                    .build(),
            )
            // A sidecar whose logs go through the router.
            .container_definitions(
                ContainerDefinition::builder()
                    .name("metrics")
                    .image("public.ecr.aws/docker/library/busybox:1.36")
                    .essential(false)
                    .depends_on(
                        aws_sdk_ecs::types::ContainerDependency::builder()
                            .container_name("log-router")
                            .condition(aws_sdk_ecs::types::ContainerCondition::Start)
                            .build()
                            .unwrap(),
                    )
                    .log_configuration(
                        LogConfiguration::builder()
                            .log_driver(LogDriver::Awsfirelens)
                            .options("Name", "cloudwatch_logs")
                            .options("region", "us-east-1")
                            .options("log_group_name", format!("/metrics/{name}"))
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let arn = arn_of(&registered);
        ecs.create_service()
            .cluster(name)
            .service_name(name)
            .task_definition(&arn)
            .desired_count(0)
            .capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE_SPOT")
                    .weight(1)
                    .build()
                    .unwrap(),
            )
            .platform_version("1.4.0")
            .enable_execute_command(true)
            .service_connect_configuration(
                aws_sdk_ecs::types::ServiceConnectConfiguration::builder()
                    .enabled(true)
                    .namespace("internal")
                    .services(
                        aws_sdk_ecs::types::ServiceConnectService::builder()
                            .port_name("http")
                            .discovery_name("web")
                            .client_aliases(
                                aws_sdk_ecs::types::ServiceConnectClientAlias::builder()
                                    .port(80)
                                    .dns_name("web.internal")
                                    .build()
                                    .unwrap(),
                            )
                            .build()
                            .unwrap(),
                    )
                    .log_configuration(
                        LogConfiguration::builder()
                            .log_driver(LogDriver::Awslogs)
                            .options("awslogs-group", format!("/ecs/{name}"))
                            .options("awslogs-region", "us-east-1")
                            .options("awslogs-stream-prefix", "service-connect")
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .volume_configurations(
                aws_sdk_ecs::types::ServiceVolumeConfiguration::builder()
                    .name("scratch")
                    .managed_ebs_volume(
                        aws_sdk_ecs::types::ServiceManagedEbsVolumeConfiguration::builder()
                            .role_arn("arn:aws:iam::000000000000:role/ecsInfrastructureRole")
                            .size_in_gib(30)
                            .volume_type("gp3")
                            .filesystem_type(aws_sdk_ecs::types::TaskFilesystemType::Ext4)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .service_registries(
                aws_sdk_ecs::types::ServiceRegistry::builder()
                    .registry_arn(
                        "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-0123456789abcdef",
                    )
                    .build(),
            )
            .propagate_tags(PropagateTags::Service)
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .minimum_healthy_percent(50)
                    .maximum_percent(200)
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .alarms(
                        DeploymentAlarms::builder()
                            .alarm_names("errors-5xx")
                            .enable(true)
                            .rollback(true)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .network_configuration(one_subnet())
            .send()
            .await
            .unwrap();
        image
    })
}

/// `shipit init --from-service`: the config it writes plans only the new image (a new
/// revision and the service moving to it) and deploys with every setting kept, without
/// `--allow-removals`; the secret-looking value never reaches the file.
#[test]
fn init_from_service_takes_a_service_over_with_nothing_lost() {
    if !require_stack() {
        return;
    }
    let name = unique_name("import");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let echo = common::deployment_echo::DeploymentEcho::start(common::endpoint_addr());
    service_with_everything(&runtime, &name, &echo.url);
    let dir = tempfile::tempdir().unwrap();
    let imported = run(shipit_on_stack(dir.path())
        .env("AWS_ENDPOINT_URL", &echo.url)
        .args(["init", "--from-service", &format!("{name}/{name}")]));
    assert_eq!(imported.code, Some(0), "{}", imported.dump());
    let path = dir.path().join("deploy.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains("hunter2"), "{text}");
    for line in [
        "  tag_mutability: MUTABLE\n",
        "  scan_on_push: false\n",
        "  capacity_provider_strategy:\n    - provider: FARGATE_SPOT\n      weight: 1\n",
        "  platform_version: \"1.4.0\"\n",
        "  propagate_tags: service\n",
        "  alarms:\n    names:\n      - errors-5xx\n",
        "  cpu_architecture: ARM64\n",
        "  tags:\n    team: payments\n",
        "    DB_PASSWORD: \"${DB_PASSWORD}\"\n",
        "  retention_days: 14\n",
        "  stream_prefix: web\n",
        "  service_connect:\n    namespace: internal\n    services:\n      - port_name: http\n        discovery_name: web\n        alias:\n          port: 80\n          dns_name: web.internal\n    logs: {}\n",
        "  service_registry:\n    arn: arn:aws:servicediscovery:us-east-1:000000000000:service/srv-0123456789abcdef\n",
        "    scratch:\n      ebs:\n        role: arn:aws:iam::000000000000:role/ecsInfrastructureRole\n        size: 30\n        type: gp3\n        filesystem: ext4\n",
        "    log_router:\n      type: fluentbit\n      config_file: /fluent-bit/etc/extra.conf\n      ecs_log_metadata: false\n",
        "    firelens:\n      options:\n        Name: cloudwatch_logs\n",
        "    ecs:\n      startTimeout: 45\n      linuxParameters:\n        capabilities:\n          add:\n            - SYS_PTRACE\n",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }
    assert!(
        imported.stdout.contains("DB_PASSWORD") && imported.stdout.contains("looks secret"),
        "{}",
        imported.dump()
    );

    // A new image: plan lists the revision's image and the service moving to it.
    // A shell and wget for the health check the service has (deploy's preflight looks).
    let tars = vec![fs_layer(&[
        TarEntry::File("bin/busybox", 0o755, b"\x7fELF not really"),
        TarEntry::Symlink("bin/sh", "busybox"),
        TarEntry::Symlink("usr/bin/wget", "/bin/busybox"),
        TarEntry::File("app/marker", 0o644, b"v1"),
    ])];
    oci_layout_of_tars(&dir.path().join("layout"), &tars, "v1", &name);
    let text = text.replace(
        &format!("  source: docker://{name}:latest\n"),
        &format!(
            "  source: oci:{}\n  tag: v1\n",
            dir.path().join("layout").display()
        ),
    );
    std::fs::write(&path, &text).unwrap();
    let shipit = || {
        let mut command = shipit_on_stack(dir.path());
        command
            .env("DB_PASSWORD", "hunter2-not-for-files")
            .env("AWS_ENDPOINT_URL", &echo.url);
        command
    };
    let plan = run(shipit().args(["plan", "--output", "json"]));
    assert_eq!(plan.code, Some(3), "{}", plan.dump());
    let doc: serde_json::Value =
        serde_json::from_str(&plan.stdout).unwrap_or_else(|e| panic!("{e}: {}", plan.dump()));
    let changed: Vec<(String, String)> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["resource"].as_str().unwrap_or_default().to_string(),
                c["field"].as_str().unwrap_or_default().to_string(),
            )
        })
        .filter(|(resource, _)| resource != "image")
        .collect();
    let record = format!("tags.{}", shipit::ecs::TAG_CURRENT);
    let expected: Vec<(String, String)> = [
        ("task-definition", "containers.web.image"),
        ("service", "task_definition"),
        ("service", record.as_str()),
    ]
    .iter()
    .map(|(r, f)| (r.to_string(), f.to_string()))
    .collect();
    assert_eq!(changed, expected, "{}", plan.dump());
    assert_eq!(doc["removals"], serde_json::json!([]), "{}", plan.dump());

    // Deployed without --allow-removals; the service keeps what it had.
    let deployed = run(shipit().args(["deploy", "--no-wait"]));
    assert_eq!(deployed.code, Some(0), "{}", deployed.dump());
    let service = common::describe_service(&name, &name);
    assert_eq!(service.platform_version(), Some("1.4.0"));
    assert_eq!(service.service_registries().len(), 1);
    assert!(service.enable_execute_command());
    assert_eq!(
        service.capacity_provider_strategy()[0].capacity_provider(),
        "FARGATE_SPOT"
    );
    let ecs = common::ecs_client(&runtime);
    let td = runtime
        .block_on(
            ecs.describe_task_definition()
                .task_definition(&name)
                .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
                .send(),
        )
        .unwrap();
    let web = &td.task_definition().unwrap().container_definitions()[0];
    assert_eq!(web.user(), Some("1000"));
    assert_eq!(web.start_timeout(), Some(45));
    assert_eq!(
        web.linux_parameters()
            .and_then(|l| l.capabilities())
            .map(|c| c.add().to_vec()),
        Some(vec!["SYS_PTRACE".to_string()])
    );
    assert_eq!(web.secrets()[0].name(), "API_KEY");
    assert!(
        web.environment()
            .iter()
            .any(|e| e.name() == Some("DB_PASSWORD") && e.value() == Some("hunter2-not-for-files"))
    );
    assert!(td.tags().iter().any(|t| t.key() == Some("team")));
    // The EBS volume, the log router and the routed sidecar are on the new revision, and the
    // service was never sent Service Connect or its volumes again (nothing changed there).
    let revision = td.task_definition().unwrap();
    assert!(
        revision
            .volumes()
            .iter()
            .any(|v| v.name() == Some("scratch") && v.configured_at_launch() == Some(true))
    );
    let container = |wanted: &str| {
        revision
            .container_definitions()
            .iter()
            .find(|c| c.name() == Some(wanted))
            .unwrap_or_else(|| panic!("no container {wanted}"))
            .clone()
    };
    let router = container("log-router");
    let firelens = router.firelens_configuration().unwrap();
    assert_eq!(
        firelens.options().unwrap()["config-file-value"],
        "/fluent-bit/etc/extra.conf"
    );
    let metrics = container("metrics");
    let routed = metrics.log_configuration().unwrap();
    assert_eq!(routed.log_driver().as_str(), "awsfirelens");
    assert_eq!(routed.options().unwrap()["Name"], "cloudwatch_logs");
    let connect = echo
        .last_sent(&name, "serviceConnectConfiguration")
        .unwrap();
    assert_eq!(connect["enabled"], true, "{connect}");
    assert_eq!(connect["services"][0]["discoveryName"], "web");
    let volumes = echo.last_sent(&name, "volumeConfigurations").unwrap();
    assert_eq!(volumes[0]["managedEBSVolume"]["sizeInGiB"], 30, "{volumes}");
    // After the deploy, nothing is left to change but the record, which follows a watched
    // rollout (this deploy did not wait).
    let after = run(shipit().args(["plan", "--output", "json"]));
    let doc: serde_json::Value =
        serde_json::from_str(&after.stdout).unwrap_or_else(|e| panic!("{e}: {}", after.dump()));
    let left: Vec<&str> = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["resource"] != "image")
        .filter_map(|c| c["field"].as_str())
        .collect();
    assert_eq!(left, [record.as_str()], "{}", after.dump());
}
