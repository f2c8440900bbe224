//! `shipit continue` against a fake ECS on loopback that pauses as real ECS does (the local
//! stack has no lifecycle hooks): a canary that pauses at two steps, each pause a hook
//! AWAITING_ACTION with its own id. shipit finds the hook itself and sends exactly its ids.

use crate::common;

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::{GOOD_CONFIG, run, shipit};

const SD_ARN: &str =
    "arn:aws:ecs:us-east-1:123456789012:service-deployment/demo-cluster/demo-service/Xq7eKQ2n";

/// The fake's state: how many pauses are left, and every ContinueServiceDeployment body.
#[derive(Default)]
struct Paused {
    pauses_left: usize,
    continued: Vec<Value>,
}

struct FakeEcs {
    state: Arc<Mutex<Paused>>,
}

impl wiremock::Respond for FakeEcs {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let operation = super::operation(request);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut state = self.state.lock().unwrap();
        let answer = match operation.as_str() {
            "DescribeServices" => json!({ "services": [{
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/demo-cluster/demo-service",
                "serviceName": "demo-service", "status": "ACTIVE",
                "currentServiceDeployment": SD_ARN,
                "deployments": [{ "id": "ecs-svc/2", "status": "PRIMARY",
                    "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/demo-task:2" }]
            }], "failures": [] }),
            "DescribeServiceDeployments" => {
                let step = state.continued.len();
                let (status, stage, hooks) = if state.pauses_left > 0 {
                    (
                        "IN_PROGRESS",
                        "PRODUCTION_TRAFFIC_SHIFT",
                        json!([{
                            "hookId": format!("hook-{step}"), "targetType": "PAUSE",
                            "status": "AWAITING_ACTION", "timeoutAction": "ROLLBACK",
                            "expiresAt": 1_780_000_000
                        }]),
                    )
                } else if state
                    .continued
                    .last()
                    .is_some_and(|c| c["action"] == "ROLLBACK")
                {
                    ("ROLLBACK_IN_PROGRESS", "RECONCILE_SERVICE", json!([]))
                } else {
                    ("SUCCESSFUL", "CLEAN_UP", json!([]))
                };
                json!({ "serviceDeployments": [{
                    "serviceDeploymentArn": SD_ARN, "status": status, "lifecycleStage": stage,
                    "lifecycleHookDetails": hooks
                }], "failures": [] })
            }
            "ContinueServiceDeployment" => {
                state.continued.push(body);
                state.pauses_left = state.pauses_left.saturating_sub(1);
                json!({ "serviceDeploymentArn": SD_ARN })
            }
            other => {
                return super::not_faked(other);
            }
        };
        super::answer(answer)
    }
}

/// A fake ECS with `pauses` pauses ahead; returns its URL, its state and what keeps it up.
fn fake(
    pauses: usize,
) -> (
    String,
    Arc<Mutex<Paused>>,
    wiremock::MockServer,
    tokio::runtime::Runtime,
) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let state = Arc::new(Mutex::new(Paused {
        pauses_left: pauses,
        continued: Vec::new(),
    }));
    let server = runtime.block_on(async {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(FakeEcs {
                state: state.clone(),
            })
            .mount(&server)
            .await;
        server
    });
    (server.uri(), state, server, runtime)
}

fn shipit_continue(url: &str, args: &[&str]) -> common::Run {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), GOOD_CONFIG).unwrap();
    run(shipit(dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args(["--endpoint-url", url, "continue", "--output", "json"])
        .args(args))
}

#[test]
fn continue_finds_the_paused_hook_and_goes_on_through_every_step() {
    let (url, state, _server, _runtime) = fake(2);
    let out = shipit_continue(&url, &["--all-steps", "--timeout", "1m"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.dump()));
    assert_eq!(
        doc["stages"],
        json!(["PRODUCTION_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT"])
    );
    assert_eq!(doc["status"], "SUCCESSFUL");
    let continued = state.lock().unwrap().continued.clone();
    assert_eq!(
        continued,
        [
            json!({ "serviceDeploymentArn": SD_ARN, "hookId": "hook-0", "action": "CONTINUE" }),
            json!({ "serviceDeploymentArn": SD_ARN, "hookId": "hook-1", "action": "CONTINUE" }),
        ]
    );
}

#[test]
fn continue_rolls_back_from_a_pause_and_says_when_nothing_is_paused() {
    let (url, state, _server, _runtime) = fake(1);
    let out = shipit_continue(&url, &["--rollback"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(state.lock().unwrap().continued[0]["action"], "ROLLBACK");
    // Nothing paused any more: exit 1, and why.
    let out = shipit_continue(&url, &[]);
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(out.stdout.contains("\"ok\": false"), "{}", out.dump());
    assert_eq!(state.lock().unwrap().continued.len(), 1, "no second call");
}
