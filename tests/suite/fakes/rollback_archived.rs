//! `shipit rollback` never goes back to a revision whose image is archived: ECR's archive
//! storage class (ImageStatus ARCHIVED) fails every pull until the image is restored, which
//! the local stack does not model. Against a fake ECS and ECR on loopback: the recorded
//! revision's image is archived, so rollback takes the newest earlier revision that can run,
//! saying why; when every candidate is archived, it stops with the restore command.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use crate::common::{GOOD_CONFIG, run, shipit};

const ACCOUNT: &str = "000000000000";

fn td_arn(revision: u32) -> String {
    format!("arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/demo-task:{revision}")
}

fn digest(revision: u32) -> String {
    format!("sha256:{}", format!("{revision}").repeat(64))
}

struct FakeAws {
    /// Revisions whose image is archived.
    archived: Vec<u32>,
    writes: Arc<Mutex<Vec<String>>>,
}

impl wiremock::Respond for FakeAws {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let operation = super::operation(request);
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let answer = match operation.as_str() {
            "DescribeServices" => json!({ "services": [{
                "serviceArn": format!("arn:aws:ecs:us-east-1:{ACCOUNT}:service/demo-cluster/demo-service"),
                "serviceName": "demo-service", "status": "ACTIVE",
                "taskDefinition": td_arn(3),
                "deployments": [{ "id": "ecs-svc/3", "status": "PRIMARY", "taskDefinition": td_arn(3) }],
                "tags": [{ "key": "shipit:previous-task-definition", "value": td_arn(2) }]
            }], "failures": [] }),
            "DescribeTaskDefinition" => {
                let wanted = body["taskDefinition"].as_str().unwrap_or_default();
                let revision: u32 = wanted.rsplit(':').next().unwrap().parse().unwrap();
                json!({ "taskDefinition": {
                    "taskDefinitionArn": td_arn(revision), "family": "demo-task",
                    "revision": revision, "status": "ACTIVE",
                    "containerDefinitions": [{ "name": "demo-api",
                        "image": format!("{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/demo-api@{}", digest(revision)) }]
                }, "tags": [] })
            }
            "ListTaskDefinitions" => {
                json!({ "taskDefinitionArns": [td_arn(3), td_arn(2), td_arn(1)] })
            }
            "DescribeImages" => {
                let wanted = body["imageIds"][0]["imageDigest"]
                    .as_str()
                    .unwrap_or_default();
                let revision = (1..=3).find(|r| digest(*r) == wanted).unwrap_or(0);
                let status = if self.archived.contains(&revision) {
                    "ARCHIVED"
                } else {
                    "ACTIVE"
                };
                json!({ "imageDetails": [{
                    "repositoryName": "demo-api", "imageDigest": wanted, "imageStatus": status
                }] })
            }
            other => {
                self.writes.lock().unwrap().push(other.to_string());
                return super::not_faked(other);
            }
        };
        super::answer(answer)
    }
}

fn rollback(archived: Vec<u32>) -> (crate::common::Run, Vec<String>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let writes = Arc::new(Mutex::new(Vec::new()));
    let server = runtime.block_on(async {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(FakeAws {
                archived,
                writes: writes.clone(),
            })
            .mount(&server)
            .await;
        server
    });
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), GOOD_CONFIG).unwrap();
    let out = run(shipit(dir.path())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args([
            "--endpoint-url",
            &server.uri(),
            "rollback",
            "--dry-run",
            "--output",
            "json",
        ]));
    let unfaked = writes.lock().unwrap().clone();
    (out, unfaked)
}

#[test]
fn rollback_passes_over_a_revision_whose_image_is_archived() {
    let (out, unfaked) = rollback(vec![2]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.dump()));
    assert_eq!(doc["plan"]["to"], td_arn(1), "{doc}");
    let why = doc["passed_over"][0]["problems"][0]
        .as_str()
        .unwrap_or_default();
    assert_eq!(doc["passed_over"][0]["task_definition"], td_arn(2));
    assert!(why.contains("is archived: restore it first"), "{why}");
    assert!(
        why.contains("update-image-storage-class") && why.contains(&digest(2)),
        "the restore command, for that image: {why}"
    );
    assert!(unfaked.is_empty(), "only reads: {unfaked:?}");
}

#[test]
fn rollback_stops_when_every_revision_is_archived() {
    let (out, unfaked) = rollback(vec![1, 2]);
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        out.stdout.contains("is archived") || out.stderr.contains("is archived"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("--force") || out.stdout.contains("--force"),
        "{}",
        out.dump()
    );
    assert!(unfaked.is_empty(), "nothing changed: {unfaked:?}");
}
