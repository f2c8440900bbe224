//! `service.autoscaling`: set, changed and removed, each planned, applied and planned clean
//! again, with the desired count never written while Application Auto Scaling owns it.
//!
//! The local stack has no Application Auto Scaling, so shipit's autoscaling client goes to
//! moto_server (`AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING`, the SDKs' service-specific endpoint
//! variable) while ECS stays on the stack. moto checks that the ECS service exists in its own
//! ECS, so the test creates a stand-in of the same name there. Every request is recorded and
//! checked against botocore's models and the policy `shipit iam-policy` prints.

use crate::common;
use crate::common::config::Config;

use std::path::Path;

use crate::common::{Run, require_docker, require_stack, run, shipit_on_stack, unique_name};

fn config(name: &str, image: &str, autoscaling: &str) -> String {
    let mut config = Config::new(name, &format!("docker://{image}"))
        .top(&format!("cluster: {name}"))
        .service("desired_count: 0")
        .container("command: [/bin/sh, -c, 'exec sleep 3600']");
    if !autoscaling.trim().is_empty() {
        config = config.service(autoscaling.trim());
    }
    config.to_string()
}

/// The same cluster and service in moto's ECS, which its Application Auto Scaling checks.
fn stand_in_service(runtime: &tokio::runtime::Runtime, moto: &str, name: &str) {
    let sdk = runtime.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(moto)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ecs::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load(),
    );
    let ecs = aws_sdk_ecs::Client::new(&sdk);
    runtime.block_on(async {
        ecs.create_cluster()
            .cluster_name(name)
            .send()
            .await
            .unwrap();
        ecs.register_task_definition()
            .family(name)
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image("app")
                    .memory(512)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        ecs.create_service()
            .cluster(name)
            .service_name(name)
            .task_definition(name)
            .desired_count(0)
            .send()
            .await
            .unwrap();
    });
}

#[test]
fn autoscaling_is_planned_applied_and_never_resets_the_count() {
    if !require_stack() || !require_docker() {
        return;
    }
    let moto = common::start_moto();
    let name = unique_name("scale");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.jsonl");
    let image = pulled.built(common::busybox_image(
        &format!("shipit-scale-{name}:v1"),
        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        &[],
    ));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    stand_in_service(&runtime, &moto.url, &name);
    let shipit = |args: &[&str]| -> Run {
        run(shipit_on_stack(dir.path())
            .env("AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING", &moto.url)
            .env("SHIPIT_RECORD_AWS_CALLS", &calls)
            .args(args))
    };
    let write = |autoscaling: &str| {
        std::fs::write(
            dir.path().join("deploy.yaml"),
            config(&name, &image, autoscaling),
        )
        .unwrap()
    };
    let json = |out: &Run| -> serde_json::Value {
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.dump()))
    };
    let planned_fields = |out: &Run| -> Vec<String> {
        json(out)["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c["operation"].as_str().unwrap(),
                    c["field"].as_str().unwrap()
                )
            })
            .collect()
    };
    let desired_count = || common::describe_service(&name, &name).desired_count();
    let deploy_and_plan_clean = |what: &str| {
        let out = shipit(&["deploy", "--output", "json"]);
        assert_eq!(out.code, Some(0), "{what}: {}", out.dump());
        let plan = shipit(&["plan", "--output", "json"]);
        assert_eq!(
            plan.code,
            Some(0),
            "{what}: plan clean after the deploy\n{}",
            plan.dump()
        );
        out
    };

    // Set: the target and a CPU policy, registered once the service exists.
    write("  autoscaling: { min: 0, max: 3, cpu: 60 }\n");
    let plan = shipit(&["plan", "--output", "json"]);
    let fields = planned_fields(&plan);
    for wanted in [
        "RegisterScalableTarget autoscaling.min",
        "RegisterScalableTarget autoscaling.max",
        "PutScalingPolicy autoscaling.policies.shipit-cpu",
    ] {
        assert!(
            fields.contains(&wanted.to_string()),
            "{wanted}: {}",
            plan.dump()
        );
    }
    assert_eq!(
        json(&plan)["autoscaling"]["desired_count_owner"],
        "autoscaling"
    );
    deploy_and_plan_clean("set");
    // doctor reads the target as the plan does.
    let doctor = shipit(&["doctor", "--output", "json"]);
    let checks = json(&doctor)["checks"].clone();
    let scaling = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "autoscaling")
        .unwrap_or_else(|| panic!("no autoscaling check\n{}", doctor.dump()));
    assert_eq!(scaling["status"], "ok", "{}", doctor.dump());
    assert!(
        scaling["detail"]
            .as_str()
            .unwrap()
            .contains("0-3 tasks, 1 policies"),
        "{}",
        doctor.dump()
    );

    // Application Auto Scaling scales the service out: the count is its, not the config's.
    runtime
        .block_on(
            common::ecs_client(&runtime)
                .update_service()
                .cluster(&name)
                .service(&name)
                .desired_count(1)
                .send(),
        )
        .unwrap();
    let human = shipit(&["plan"]);
    assert!(
        human.stdout.contains(
            "desired count: set by Application Auto Scaling (0-3 tasks); deploy does not write it"
        ),
        "{}",
        human.dump()
    );

    // Changed: a wider range, memory instead of CPU. The count stays where the scaler put it.
    write("  autoscaling: { min: 0, max: 4, memory: 70, scale_in_cooldown: 10m }\n");
    let plan = shipit(&["plan", "--output", "json"]);
    assert_eq!(
        planned_fields(&plan),
        vec![
            "RegisterScalableTarget autoscaling.max",
            "PutScalingPolicy autoscaling.policies.shipit-memory",
            "DeleteScalingPolicy autoscaling.policies.shipit-cpu",
        ],
        "{}",
        plan.dump()
    );
    deploy_and_plan_clean("changed");
    assert_eq!(
        desired_count(),
        1,
        "deploy never writes the count while autoscaling owns it"
    );
    let status = shipit(&["status"]);
    assert!(
        status.stdout.contains(
            "autoscaling: 0-4 tasks (now 1), ECSServiceAverageMemoryUtilization target 70"
        ),
        "{}",
        status.dump()
    );

    // Removed: shipit's target goes, and the count is the config's again.
    write("");
    let plan = shipit(&["plan", "--output", "json"]);
    let fields = planned_fields(&plan);
    assert!(
        fields.contains(&"UpdateService desired_count".to_string())
            && fields.contains(&"DeregisterScalableTarget autoscaling.min".to_string()),
        "{}",
        plan.dump()
    );
    deploy_and_plan_clean("removed");
    assert_eq!(desired_count(), 0);

    // No request ever carried a desired count while autoscaling was on: the only one is the
    // CreateService of the first deploy and the UpdateService after the removal.
    let recorded = std::fs::read_to_string(&calls).unwrap();
    let writes_with_count: Vec<&str> = recorded
        .lines()
        .filter(|l| l.contains("\"desiredCount\""))
        .collect();
    assert_eq!(writes_with_count.len(), 2, "{writes_with_count:#?}");
    assert!(
        writes_with_count[0].contains("CreateService")
            && writes_with_count[1].contains("UpdateService")
    );

    // Every request valid, and allowed by the policy printed for the autoscaling config.
    write("  autoscaling: { min: 0, max: 4, memory: 70 }\n");
    let policy = shipit(&["iam-policy"]);
    assert_eq!(policy.code, Some(0), "{}", policy.dump());
    let policy_path = dir.path().join("policy.json");
    std::fs::write(&policy_path, &policy.stdout).unwrap();
    let checked = common::check_aws_calls(Path::new(&calls), Some(&policy_path));
    assert_eq!(checked.code, Some(0), "{}", checked.dump());
    // The writes are this service's target's only: its registration tags it, and a policy
    // for another service (another tag value) denies them.
    let recorded = std::fs::read_to_string(&calls).unwrap();
    assert!(
        recorded.contains("\"Tags\":{\"shipit:service\":\"service/"),
        "the target is tagged when it is registered"
    );
    let elsewhere = dir.path().join("policy-elsewhere.json");
    std::fs::write(
        &elsewhere,
        policy
            .stdout
            .replace(&format!("\"service/{name}"), "\"service/another-cluster"),
    )
    .unwrap();
    let denied = common::check_aws_calls(Path::new(&calls), Some(&elsewhere));
    assert_eq!(denied.code, Some(1), "{}", denied.dump());
    assert!(
        denied
            .stdout
            .contains("denied: application-autoscaling:PutScalingPolicy"),
        "{}",
        denied.dump()
    );
    for operation in [
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
        "application-autoscaling:DeleteScalingPolicy",
        "application-autoscaling:DeregisterScalableTarget",
        "application-autoscaling:DescribeScalableTargets",
    ] {
        assert!(
            checked.stdout.contains(operation),
            "{operation}: {}",
            checked.dump()
        );
    }
}
