//! The rollout watch against scripted real-ECS sequences: a fake ECS endpoint on loopback
//! answers DescribeServices, ListTasks, DescribeTasks and DescribeServiceDeployments from a
//! script built from how real ECS behaves (a rollback is a new PRIMARY deployment to the last
//! COMPLETED revision; the service-deployment API gives the final status), which the local
//! stack does not model. The watch, the SDK's parsing and the verdict are shipit's own.

use crate::common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use shipit::aws::calls::Clients;
use shipit::config::Names;
use shipit::printer::{OutputFormat, Printer};
use shipit::rollout::{Cause, Rules, Target, Verdict, WaitUntil};

const CLUSTER_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:cluster/prod";
const SD_ARN: &str = "arn:aws:ecs:us-east-1:123456789012:service-deployment/prod/api/Xq7eKQ2n";

fn td(revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:123456789012:task-definition/api:{revision}")
}

/// What ECS answers while one step of the script lasts.
#[derive(Clone)]
struct Step {
    deployments: Vec<Value>,
    stopped_tasks: Vec<Value>,
    /// DescribeServiceDeployments: the deployment, or an error code.
    service_deployment: Result<Value, &'static str>,
}

/// A fake ECS (wiremock on loopback): each DescribeServices moves one step on (staying on the
/// last), the other operations answer from the current step. It counts every operation.
struct FakeEcs {
    url: String,
    calls: Arc<Mutex<BTreeMap<String, u32>>>,
    _server: wiremock::MockServer,
    _runtime: tokio::runtime::Runtime,
}

/// The script's answers, by the operation in each request's X-Amz-Target.
struct Scripted {
    script: Vec<Step>,
    /// The operation that moves the script on (DescribeServices: each starts a poll, and the
    /// poll's other calls answer from the same step).
    advance_on: &'static str,
    polls: Mutex<usize>,
    calls: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl wiremock::Respond for Scripted {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let operation = super::operation(request);
        *self
            .calls
            .lock()
            .unwrap()
            .entry(operation.clone())
            .or_insert(0) += 1;
        let step = {
            let mut polls = self.polls.lock().unwrap();
            if operation == self.advance_on {
                *polls += 1;
            }
            &self.script[polls.saturating_sub(1).min(self.script.len() - 1)]
        };
        let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let (status, answer) = answer(&operation, &body, step);
        wiremock::ResponseTemplate::new(status)
            .set_body_raw(answer.to_string(), "application/x-amz-json-1.1")
    }
}

impl FakeEcs {
    fn start(script: Vec<Step>) -> FakeEcs {
        FakeEcs::advancing_on(script, "DescribeServices")
    }

    fn advancing_on(script: Vec<Step>, advance_on: &'static str) -> FakeEcs {
        let calls = Arc::new(Mutex::new(BTreeMap::new()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(async {
            let server = wiremock::MockServer::start().await;
            wiremock::Mock::given(wiremock::matchers::method("POST"))
                .respond_with(Scripted {
                    script,
                    advance_on,
                    polls: Mutex::new(0),
                    calls: calls.clone(),
                })
                .mount(&server)
                .await;
            server
        });
        FakeEcs {
            url: server.uri(),
            calls,
            _server: server,
            _runtime: runtime,
        }
    }

    fn count(&self, operation: &str) -> u32 {
        self.calls
            .lock()
            .unwrap()
            .get(operation)
            .copied()
            .unwrap_or(0)
    }
}

fn answer(operation: &str, body: &Value, step: &Step) -> (u16, Value) {
    match operation {
        "DescribeServices" => {
            let running = step
                .deployments
                .iter()
                .map(|d| d["runningCount"].as_i64().unwrap_or(0))
                .sum::<i64>();
            (
                200,
                json!({ "services": [{
                    "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/prod/api",
                    "serviceName": "api",
                    "clusterArn": CLUSTER_ARN,
                    "status": "ACTIVE",
                    "desiredCount": 2,
                    "runningCount": running,
                    "pendingCount": 0,
                    "deployments": step.deployments,
                    "events": [],
                    "currentServiceDeployment": SD_ARN,
                }], "failures": [] }),
            )
        }
        "ListTasks" => {
            let stopped = body["desiredStatus"] == "STOPPED";
            let arns: Vec<Value> = if stopped {
                step.stopped_tasks
                    .iter()
                    .map(|t| t["taskArn"].clone())
                    .collect()
            } else {
                Vec::new()
            };
            (200, json!({ "taskArns": arns }))
        }
        "DescribeTasks" => (200, json!({ "tasks": step.stopped_tasks, "failures": [] })),
        "StopServiceDeployment" => (
            200,
            json!({ "serviceDeploymentArn": body["serviceDeploymentArn"] }),
        ),
        "DescribeServiceDeployments" => match &step.service_deployment {
            Ok(sd) => (200, json!({ "serviceDeployments": [sd], "failures": [] })),
            Err(code) => (
                400,
                json!({ "__type": code, "message": format!("scripted {code}") }),
            ),
        },
        other => (
            400,
            json!({ "__type": "UnknownOperationException", "message": other }),
        ),
    }
}

fn deployment(id: &str, status: &str, revision: u32, running: i32, state: &str) -> Value {
    json!({
        "id": id,
        "status": status,
        "taskDefinition": td(revision),
        "desiredCount": 2,
        "runningCount": running,
        "pendingCount": 0,
        "failedTasks": 0,
        "rolloutState": state,
        "createdAt": 1_700_000_000.0 + f64::from(revision),
    })
}

fn stopped_task(id: &str, revision: u32, deployment: &str, exit_code: i32) -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    json!({
        "taskArn": format!("arn:aws:ecs:us-east-1:123456789012:task/prod/{id}"),
        "taskDefinitionArn": td(revision),
        "startedBy": deployment,
        "lastStatus": "STOPPED",
        "desiredStatus": "STOPPED",
        "stopCode": "EssentialContainerExited",
        "stoppedReason": "Essential container in task exited",
        "stoppedAt": now,
        "createdAt": now - 20.0,
        "containers": [{ "name": "api", "exitCode": exit_code, "lastStatus": "STOPPED" }],
    })
}

fn service_deployment(status: &str, failures: i32) -> Value {
    json!({
        "serviceDeploymentArn": SD_ARN,
        "clusterArn": CLUSTER_ARN,
        "status": status,
        "deploymentCircuitBreaker": { "status": "MONITORING", "failureCount": failures, "threshold": 3 },
    })
}

/// Runs shipit's watch on the fake and returns the verdict.
fn watch(fake: &FakeEcs, target: &Target, rules: Rules) -> Verdict {
    watch_until(fake, target, rules, &WaitUntil::Deployed)
}

/// The watch with `--wait-until`.
fn watch_until(fake: &FakeEcs, target: &Target, rules: Rules, until: &WaitUntil) -> Verdict {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&fake.url)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ecr::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load()
            .await;
        let clients = Clients::new(&sdk);
        let names = Names {
            repository: "api".into(),
            cluster: "prod".into(),
            service: "api".into(),
            family: "api".into(),
            container: "api".into(),
            log_group: "/ecs/api".into(),
        };
        let printer = Printer::new(OutputFormat::Human, 0, 0);
        let end = shipit::pipeline::watch::watch(
            &clients,
            &names,
            target,
            &rules,
            until,
            Duration::from_secs(60),
            0.0,
            &printer,
        )
        .await
        .expect("the watch ends with a verdict");
        assert!(!end.timed_out, "the watch timed out: {:?}", end.verdict);
        end.verdict
    })
}

fn target(revision: u32, last_good: u32) -> Target {
    Target {
        deployment_id: "ecs-svc/3000000000000000003".into(),
        task_definition: td(revision),
        previous_task_definition: Some(td(last_good)),
        service_deployment_arn: Some(SD_ARN.into()),
    }
}

/// Rev 1 completed, rev 2 failed without rollback, rev 3's tasks exit 1: the breaker starts
/// a new PRIMARY back to rev 1 (the last COMPLETED) and the service deployment turns
/// ROLLBACK_IN_PROGRESS. The watch says "rolled back to :1" with the exit code, not
/// "superseded".
#[test]
fn an_ecs_rollback_after_an_earlier_failure_goes_to_the_last_completed_revision() {
    let ours = "ecs-svc/3000000000000000003";
    let two = deployment("ecs-svc/2000000000000000002", "ACTIVE", 2, 0, "FAILED");
    let one = deployment("ecs-svc/1000000000000000001", "ACTIVE", 1, 2, "COMPLETED");
    let mut rollback = deployment(
        "ecs-svc/4000000000000000004",
        "PRIMARY",
        1,
        0,
        "IN_PROGRESS",
    );
    rollback["rolloutStateReason"] = json!(
        "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/1000000000000000001."
    );
    let tasks = vec![
        stopped_task("a1", 3, ours, 1),
        stopped_task("a2", 3, ours, 1),
        stopped_task("a3", 3, ours, 1),
    ];
    let mut rolled = service_deployment("ROLLBACK_IN_PROGRESS", 3);
    rolled["rollback"] =
        json!({ "reason": "ECS deployment circuit breaker: tasks failed to start." });
    let fake = FakeEcs::start(vec![
        Step {
            deployments: vec![
                deployment(ours, "PRIMARY", 3, 0, "IN_PROGRESS"),
                two.clone(),
                one.clone(),
            ],
            stopped_tasks: tasks[..1].to_vec(),
            service_deployment: Ok(service_deployment("IN_PROGRESS", 1)),
        },
        Step {
            deployments: vec![
                rollback,
                deployment(ours, "ACTIVE", 3, 0, "FAILED"),
                two,
                one,
            ],
            stopped_tasks: tasks,
            service_deployment: Ok(rolled),
        },
    ]);
    // ECS decides here (no fail-fast), as when stops carry different reasons.
    let patient = Rules {
        fail_after_same_stops: 100,
    };
    match watch(&fake, &target(3, 1), patient) {
        Verdict::RolledBack {
            to_task_definition,
            ecs_reason,
            cause,
        } => {
            assert_eq!(to_task_definition, td(1));
            assert_eq!(
                cause,
                Some(Cause::ContainerExited {
                    container: "api".into(),
                    exit_code: 1
                })
            );
            assert_eq!(
                ecs_reason.as_deref(),
                Some("ECS deployment circuit breaker: tasks failed to start.")
            );
        }
        other => panic!("expected a rollback to :1, got {other:?}"),
    }
    assert!(fake.count("DescribeServiceDeployments") >= 2);
}

/// SUCCESSFUL ends the watch even where DescribeServices is a poll behind.
#[test]
fn the_service_deployment_api_says_when_it_succeeded() {
    let ours = "ecs-svc/3000000000000000003";
    let fake = FakeEcs::start(vec![
        Step {
            deployments: vec![deployment(ours, "PRIMARY", 3, 1, "IN_PROGRESS")],
            stopped_tasks: vec![],
            service_deployment: Ok(service_deployment("IN_PROGRESS", 0)),
        },
        Step {
            deployments: vec![deployment(ours, "PRIMARY", 3, 2, "IN_PROGRESS")],
            stopped_tasks: vec![],
            service_deployment: Ok(service_deployment("SUCCESSFUL", 0)),
        },
    ]);
    assert!(matches!(
        watch(&fake, &target(3, 1), Rules::default()),
        Verdict::Succeeded { counts } if counts.running == 2
    ));
    assert_eq!(fake.count("DescribeServices"), 2);
}

/// A policy without ecs:DescribeServiceDeployments (or the local stack's empty answer): the
/// watch asks once, then judges from DescribeServices alone.
#[test]
fn a_denied_service_deployment_api_falls_back_to_describe_services() {
    let ours = "ecs-svc/3000000000000000003";
    let in_progress = Step {
        deployments: vec![
            deployment(ours, "PRIMARY", 3, 1, "IN_PROGRESS"),
            deployment("ecs-svc/1000000000000000001", "ACTIVE", 1, 1, "COMPLETED"),
        ],
        stopped_tasks: vec![],
        service_deployment: Err("AccessDeniedException"),
    };
    let fake = FakeEcs::start(vec![
        in_progress.clone(),
        in_progress,
        Step {
            deployments: vec![deployment(ours, "PRIMARY", 3, 2, "COMPLETED")],
            stopped_tasks: vec![],
            service_deployment: Err("AccessDeniedException"),
        },
    ]);
    assert!(matches!(
        watch(&fake, &target(3, 1), Rules::default()),
        Verdict::Succeeded { .. }
    ));
    assert_eq!(fake.count("DescribeServiceDeployments"), 1);
    assert_eq!(fake.count("DescribeServices"), 3);
}

/// A service deployment of a traffic-shifting strategy at `stage`, with the new revision's
/// share of production traffic.
fn shifting(status: &str, stage: &str, production: f64) -> Value {
    let mut sd = service_deployment(status, 0);
    sd["lifecycleStage"] = json!(stage);
    sd["deploymentConfiguration"] = json!({ "strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5 });
    sd["targetServiceRevision"] = json!({
        "arn": "arn:aws:ecs:us-east-1:123456789012:service-revision/prod/api/3",
        "requestedTaskCount": 2, "runningTaskCount": 2, "pendingTaskCount": 0,
        "requestedProductionTrafficWeight": production,
        "requestedTestTrafficWeight": 100.0,
    });
    sd
}

/// The stages of a blue/green deployment in the order AWS documents, each for one poll; the
/// old revision keeps its tasks until CLEAN_UP.
fn blue_green_script(end: &str) -> Vec<Step> {
    let ours = "ecs-svc/3000000000000000003";
    let stages = [
        ("PRE_SCALE_UP", 0, 0.0),
        ("SCALE_UP", 1, 0.0),
        ("POST_SCALE_UP", 2, 0.0),
        ("TEST_TRAFFIC_SHIFT", 2, 0.0),
        ("POST_TEST_TRAFFIC_SHIFT", 2, 0.0),
        ("PRODUCTION_TRAFFIC_SHIFT", 2, 100.0),
        ("POST_PRODUCTION_TRAFFIC_SHIFT", 2, 100.0),
        ("BAKE_TIME", 2, 100.0),
        ("CLEAN_UP", 2, 100.0),
    ];
    let mut script: Vec<Step> = stages
        .iter()
        .map(|(stage, running, production)| Step {
            deployments: vec![
                deployment(ours, "PRIMARY", 3, *running, "IN_PROGRESS"),
                deployment("ecs-svc/1000000000000000001", "ACTIVE", 1, 2, "COMPLETED"),
            ],
            stopped_tasks: vec![],
            service_deployment: Ok(shifting("IN_PROGRESS", stage, *production)),
        })
        .collect();
    script.push(Step {
        deployments: vec![deployment(ours, "PRIMARY", 3, 2, "COMPLETED")],
        stopped_tasks: vec![],
        service_deployment: Ok(shifting(end, "CLEAN_UP", 100.0)),
    });
    script
}

/// A step where the new revision (3) and the last completed one (1) both run 2 tasks, and
/// the service deployment answers `sd`.
fn both_revisions_running(sd: Value) -> Step {
    Step {
        deployments: vec![
            deployment(
                "ecs-svc/3000000000000000003",
                "PRIMARY",
                3,
                2,
                "IN_PROGRESS",
            ),
            deployment("ecs-svc/1000000000000000001", "ACTIVE", 1, 2, "COMPLETED"),
        ],
        stopped_tasks: vec![],
        service_deployment: Ok(sd),
    }
}

/// Blue/green through every stage: success only at SUCCESSFUL, after the last stage.
#[test]
fn a_blue_green_deployment_succeeds_after_its_last_stage() {
    let fake = FakeEcs::start(blue_green_script("SUCCESSFUL"));
    assert!(matches!(
        watch(&fake, &target(3, 1), Rules::default()),
        Verdict::Succeeded { counts } if counts.running == 2
    ));
    assert_eq!(fake.count("DescribeServices"), 10);
    assert_eq!(fake.count("DescribeServiceDeployments"), 10);
}

/// `--wait-until bake-time` returns at BAKE_TIME, three polls before the end.
#[test]
fn waiting_for_a_stage_returns_when_it_is_reached() {
    let fake = FakeEcs::start(blue_green_script("SUCCESSFUL"));
    let until = WaitUntil::parse("bake-time").unwrap();
    assert!(matches!(
        watch_until(&fake, &target(3, 1), Rules::default(), &until),
        Verdict::StageReached { stage, counts } if stage == "BAKE_TIME" && counts.running == 2
    ));
    assert_eq!(fake.count("DescribeServices"), 8);
}

/// A CloudWatch alarm rolls the deployment back during the bake time: a failure, even for a
/// watch waiting for the bake-time stage it had not yet seen.
#[test]
fn a_rollback_during_the_bake_time_is_a_failure() {
    let mut script = blue_green_script("SUCCESSFUL");
    script.truncate(6); // up to PRODUCTION_TRAFFIC_SHIFT
    let mut rolled = shifting("ROLLBACK_IN_PROGRESS", "BAKE_TIME", 0.0);
    rolled["rollback"] = json!({ "reason": "CloudWatch alarm api-5xx is in ALARM" });
    script.push(both_revisions_running(rolled));
    let fake = FakeEcs::start(script);
    let until = WaitUntil::parse("clean-up").unwrap();
    match watch_until(&fake, &target(3, 1), Rules::default(), &until) {
        Verdict::RolledBack {
            to_task_definition,
            ecs_reason,
            ..
        } => {
            assert_eq!(to_task_definition, td(1));
            assert_eq!(
                ecs_reason.as_deref(),
                Some("CloudWatch alarm api-5xx is in ALARM")
            );
        }
        other => panic!("expected a rollback, got {other:?}"),
    }
}

/// A Lambda hook answers FAILED after the test traffic shift: ECS rolls back, and the hook is
/// the cause the watch names.
#[test]
fn a_failed_lifecycle_hook_rolls_back_and_is_named() {
    let mut script = blue_green_script("SUCCESSFUL");
    script.truncate(5); // up to POST_TEST_TRAFFIC_SHIFT
    let mut failed = shifting("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", 0.0);
    failed["lifecycleHookDetails"] = json!([{
        "hookId": "h-1",
        "targetType": "AWS_LAMBDA",
        "targetArn": "arn:aws:lambda:us-east-1:123456789012:function:smoke-test",
        "status": "FAILED",
        "timeoutAction": "ROLLBACK",
    }]);
    failed["rollback"] = json!({ "reason": "Lifecycle hook failed" });
    script.push(both_revisions_running(failed));
    let fake = FakeEcs::start(script);
    match watch(&fake, &target(3, 1), Rules::default()) {
        Verdict::RolledBack {
            cause:
                Some(Cause::LifecycleHookFailed {
                    hook,
                    stage,
                    status,
                }),
            ..
        } => {
            assert_eq!(hook, "hook smoke-test");
            assert_eq!(stage, "POST_TEST_TRAFFIC_SHIFT");
            assert_eq!(status, "FAILED");
        }
        other => panic!("expected a rollback caused by the hook, got {other:?}"),
    }
}

/// Rolling with early success: ECS says SUCCESSFUL while the old tasks drain. `deployed`
/// returns at once; `stable` waits until the old deployment has no task left.
#[test]
fn early_success_returns_before_the_old_tasks_are_gone_unless_stable_is_asked() {
    let ours = "ecs-svc/3000000000000000003";
    let old = |running: i32| {
        deployment(
            "ecs-svc/1000000000000000001",
            "ACTIVE",
            1,
            running,
            "COMPLETED",
        )
    };
    let script = || {
        vec![
            Step {
                deployments: vec![deployment(ours, "PRIMARY", 3, 1, "IN_PROGRESS"), old(2)],
                stopped_tasks: vec![],
                service_deployment: Ok(service_deployment("IN_PROGRESS", 0)),
            },
            Step {
                deployments: vec![deployment(ours, "PRIMARY", 3, 2, "IN_PROGRESS"), old(2)],
                stopped_tasks: vec![],
                service_deployment: Ok(service_deployment("SUCCESSFUL", 0)),
            },
            Step {
                deployments: vec![deployment(ours, "PRIMARY", 3, 2, "COMPLETED"), old(1)],
                stopped_tasks: vec![],
                service_deployment: Ok(service_deployment("SUCCESSFUL", 0)),
            },
            Step {
                deployments: vec![deployment(ours, "PRIMARY", 3, 2, "COMPLETED")],
                stopped_tasks: vec![],
                service_deployment: Ok(service_deployment("SUCCESSFUL", 0)),
            },
        ]
    };
    let deployed = FakeEcs::start(script());
    assert!(matches!(
        watch(&deployed, &target(3, 1), Rules::default()),
        Verdict::Succeeded { .. }
    ));
    assert_eq!(deployed.count("DescribeServices"), 2);
    let stable = FakeEcs::start(script());
    assert!(matches!(
        watch_until(&stable, &target(3, 1), Rules::default(), &WaitUntil::Stable),
        Verdict::Succeeded { .. }
    ));
    assert_eq!(stable.count("DescribeServices"), 4);
}

/// `shipit rollback` during a canary deployment: ECS's own rollback (StopServiceDeployment,
/// ROLLBACK), followed until the service deployment is ROLLBACK_SUCCESSFUL; no UpdateService.
#[test]
fn rollback_during_a_canary_deployment_stops_it_and_waits_for_the_rollback() {
    let ours = "ecs-svc/3000000000000000003";
    let step = |status: &str, stage: &str, production: f64| {
        let mut sd = shifting(status, stage, production);
        sd["deploymentConfiguration"] = json!({ "strategy": "CANARY", "bakeTimeInMinutes": 10 });
        Step {
            deployments: vec![
                deployment(ours, "PRIMARY", 3, 2, "IN_PROGRESS"),
                deployment("ecs-svc/1000000000000000001", "ACTIVE", 1, 2, "COMPLETED"),
            ],
            stopped_tasks: vec![],
            service_deployment: Ok(sd),
        }
    };
    let fake = FakeEcs::advancing_on(
        vec![
            step("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 5.0),
            step("ROLLBACK_IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", 0.0),
            step("ROLLBACK_SUCCESSFUL", "CLEAN_UP", 0.0),
        ],
        "DescribeServiceDeployments",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.yaml"),
        "app: api\ncluster: prod\nimage: { source: 'docker://api:1', tag: v1 }\nservice:\n  name: api\n  subnets: [subnet-0123456789abcdef0]\ntask: { execution_role: 'arn:aws:iam::123456789012:role/exec' }\n",
    )
    .unwrap();
    let out = common::run(
        common::shipit(dir.path())
            .args(["rollback", "--output", "json"])
            .env("AWS_ENDPOINT_URL", &fake.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test"),
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let result: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(result["status"], "ROLLBACK_SUCCESSFUL", "{}", out.dump());
    assert_eq!(result["strategy"], "CANARY");
    assert!(
        out.stderr
            .contains("stopping the canary deployment under way (stage PRODUCTION_TRAFFIC_SHIFT)"),
        "{}",
        out.dump()
    );
    assert_eq!(fake.count("StopServiceDeployment"), 1);
    assert_eq!(fake.count("UpdateService"), 0);
}

/// A pause before the production shift that nobody continues: two polls AWAITING_ACTION (a
/// watch waiting for a later stage keeps going), then the hook TIMED_OUT and ECS rolls back.
/// The verdict is the rollback, caused by the pause's timeout.
#[test]
fn a_pause_that_times_out_rolls_back_and_is_named() {
    let mut script = blue_green_script("SUCCESSFUL");
    script.truncate(5); // up to POST_TEST_TRAFFIC_SHIFT
    let mut paused = shifting("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", 0.0);
    paused["lifecycleHookDetails"] = json!([{
        "hookId": "h-pause", "targetType": "PAUSE", "status": "AWAITING_ACTION",
        "timeoutAction": "ROLLBACK", "expiresAt": 1_780_000_000,
    }]);
    script.push(both_revisions_running(paused.clone()));
    script.push(both_revisions_running(paused));
    let mut timed_out = shifting("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", 0.0);
    timed_out["lifecycleHookDetails"] = json!([{
        "hookId": "h-pause", "targetType": "PAUSE", "status": "TIMED_OUT",
        "timeoutAction": "ROLLBACK",
    }]);
    script.push(both_revisions_running(timed_out));
    let fake = FakeEcs::start(script);
    let until = WaitUntil::parse("bake-time").unwrap();
    match watch_until(&fake, &target(3, 1), Rules::default(), &until) {
        Verdict::RolledBack {
            cause: Some(cause @ Cause::LifecycleHookFailed { .. }),
            ..
        } => {
            assert!(
                cause
                    .describe()
                    .contains("timed out at stage POST_TEST_TRAFFIC_SHIFT"),
                "{}",
                cause.describe()
            );
            assert!(cause.fix().contains("`shipit continue`"));
        }
        other => panic!("expected a rollback caused by the pause, got {other:?}"),
    }
    assert_eq!(
        fake.count("DescribeServices"),
        8,
        "it watched through the pause"
    );
}
