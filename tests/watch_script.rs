//! The rollout watch against scripted real-ECS sequences: a fake ECS endpoint on loopback
//! answers DescribeServices, ListTasks, DescribeTasks and DescribeServiceDeployments from a
//! script built from how real ECS behaves (a rollback is a new PRIMARY deployment to the last
//! COMPLETED revision; the service-deployment API gives the final status), which the local
//! stack does not model. The watch, the SDK's parsing and the verdict are shipit's own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use shipit::calls::Clients;
use shipit::config::Names;
use shipit::printer::{OutputFormat, Printer};
use shipit::rollout::{Cause, Rules, Target, Verdict};

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
    /// DescribeServices calls so far: each starts a poll, and the poll's other calls answer
    /// from the same step.
    polls: Mutex<usize>,
    calls: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl wiremock::Respond for Scripted {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let operation = request
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit('.').next())
            .unwrap_or_default()
            .to_string();
        *self
            .calls
            .lock()
            .unwrap()
            .entry(operation.clone())
            .or_insert(0) += 1;
        let step = {
            let mut polls = self.polls.lock().unwrap();
            if operation == "DescribeServices" {
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
