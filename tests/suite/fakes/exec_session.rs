//! `shipit exec` against a fake ECS and a fake Session Manager agent on loopback, with no
//! session-manager-plugin anywhere. The agent here has its own codec, written from the
//! plugin's message layout (session-manager-plugin `src/message`), not shipit's, and plays
//! the protocol as the plugin's source and tests define it: the token in the opening text
//! message, the handshake, KMS encryption with its challenge, numbered stream messages each
//! acknowledged, and the channel_closed message.

use crate::common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use sha2::Digest;
use tokio_tungstenite::tungstenite::Message;

use crate::common::{GOOD_CONFIG, run, shipit};

const TOKEN: &str = "tok-3xec-secret-value";
const SESSION_ID: &str = "ecs-execute-command-0a1b2c3d";
const TASK_ARN: &str = "arn:aws:ecs:us-east-1:000000000000:task/demo-cluster/0f1e2d3c4b5a";
const KMS_KEY: &str = "arn:aws:kms:us-east-1:000000000000:key/exec-key";
/// The data key the fake KMS hands out (64 bytes: the agent seals with the first half).
const DATA_KEY: [u8; 64] = {
    let mut key = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        key[i] = (i as u8).wrapping_mul(7).wrapping_add(3);
        i += 1;
    }
    key
};

/// How the fake agent behaves.
#[derive(Clone, Copy, Default)]
struct Scenario {
    kms: bool,
    /// Withhold the acknowledgement of shipit's first keystroke message once.
    lose_first_ack: bool,
    /// Drop the connection after the first output, saying nothing.
    hang_up: bool,
    /// ECS Exec off on the service, and the task role without ssmmessages.
    not_ready: bool,
    /// The command runs until interrupted.
    long_running: bool,
}

/// What the fakes saw.
#[derive(Default)]
struct Seen {
    command: Option<String>,
    execute_bodies: Vec<Value>,
    kms_bodies: Vec<Value>,
    open_message: Option<Value>,
    sizes: Vec<(u64, u64)>,
    keys: Vec<u8>,
    /// Sequence numbers of shipit's stream messages, in arrival order (repeats included).
    sequences: Vec<i64>,
    withheld: Option<i64>,
    terminate_flags: usize,
}

type Shared = Arc<Mutex<Seen>>;

// ---- The agent's codec, from the plugin's layout -------------------------------------

fn encode(
    message_type: &str,
    sequence: i64,
    flags: u64,
    payload_type: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = vec![0u8; 120 + payload.len()];
    out[0..4].copy_from_slice(&116u32.to_be_bytes());
    out[4..36].fill(b' ');
    out[4..4 + message_type.len()].copy_from_slice(message_type.as_bytes());
    out[36..40].copy_from_slice(&1u32.to_be_bytes());
    out[40..48].copy_from_slice(&1_700_000_000_000u64.to_be_bytes());
    out[48..56].copy_from_slice(&sequence.to_be_bytes());
    out[56..64].copy_from_slice(&flags.to_be_bytes());
    let id: [u8; 16] = std::array::from_fn(|i| (sequence as u8) ^ (i as u8 * 17));
    out[64..80].copy_from_slice(&id);
    out[80..112].copy_from_slice(&sha2::Sha256::digest(payload));
    out[112..116].copy_from_slice(&payload_type.to_be_bytes());
    out[116..120].copy_from_slice(&(payload.len() as u32).to_be_bytes());
    out[120..].copy_from_slice(payload);
    out
}

struct Decoded {
    message_type: String,
    sequence: i64,
    payload_type: u32,
    message_id: String,
    payload: Vec<u8>,
}

fn decode(bytes: &[u8]) -> Decoded {
    assert_eq!(&bytes[0..4], &116u32.to_be_bytes(), "header length");
    let payload = bytes[120..].to_vec();
    assert_eq!(
        u32::from_be_bytes(bytes[116..120].try_into().unwrap()) as usize,
        payload.len()
    );
    assert_eq!(
        &bytes[80..112],
        &sha2::Sha256::digest(&payload)[..],
        "digest"
    );
    // The UUID travels least significant half first.
    let mut id = bytes[72..80].to_vec();
    id.extend_from_slice(&bytes[64..72]);
    let hex = hex::encode(id);
    Decoded {
        message_type: String::from_utf8_lossy(&bytes[4..36]).trim().to_string(),
        sequence: i64::from_be_bytes(bytes[48..56].try_into().unwrap()),
        payload_type: u32::from_be_bytes(bytes[112..116].try_into().unwrap()),
        message_id: format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ),
        payload,
    }
}

fn aead(key: &[u8]) -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap())
}

fn seal(plain: &[u8]) -> Vec<u8> {
    let nonce = [9u8; 12];
    let mut data = plain.to_vec();
    aead(&DATA_KEY[..32])
        .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), &mut data)
        .unwrap();
    let mut out = nonce.to_vec();
    out.extend(data);
    out
}

fn open(sealed: &[u8]) -> Vec<u8> {
    let mut data = sealed[12..].to_vec();
    aead(&DATA_KEY[32..])
        .open_in_place(
            Nonce::try_assume_unique_for_key(&sealed[..12]).unwrap(),
            Aad::empty(),
            &mut data,
        )
        .expect("shipit seals with the second half")
        .to_vec()
}

// ---- The fake agent -------------------------------------------------------------------

struct Agent {
    scenario: Scenario,
    seen: Shared,
    sequence: i64,
    expected: i64,
    line: Vec<u8>,
    started: bool,
}

impl Agent {
    fn stream(&mut self, payload_type: u32, payload: &[u8]) -> Message {
        let sealed = self.scenario.kms && matches!(payload_type, 1 | 11 | 12);
        let payload = if sealed {
            seal(payload)
        } else {
            payload.to_vec()
        };
        let bytes = encode(
            "output_stream_data",
            self.sequence,
            0,
            payload_type,
            &payload,
        );
        self.sequence += 1;
        Message::binary(bytes)
    }

    fn marker(&self) -> String {
        let command = self
            .seen
            .lock()
            .unwrap()
            .command
            .clone()
            .unwrap_or_default();
        let at = command
            .find("__shipit_exit_")
            .expect("a marker in the command");
        command[at..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    }

    fn interactive(&self) -> bool {
        self.seen
            .lock()
            .unwrap()
            .command
            .as_deref()
            .is_some_and(|c| c.contains("(\n/bin/sh\n)"))
    }

    fn closed(&self) -> Message {
        let body = json!({
            "MessageId": "m", "CreatedDate": "2026-12-06T00:00:00Z", "DestinationId": "d",
            "SessionId": SESSION_ID, "MessageType": "channel_closed", "SchemaVersion": 1,
            "Output": ""
        });
        Message::binary(encode(
            "channel_closed",
            0,
            0,
            1,
            body.to_string().as_bytes(),
        ))
    }

    /// The agent's answer to one message from shipit.
    fn answer(&mut self, bytes: &[u8]) -> (Vec<Message>, bool) {
        let message = decode(bytes);
        if message.message_type != "input_stream_data" {
            return (Vec::new(), false);
        }
        let mut out = Vec::new();
        {
            let mut seen = self.seen.lock().unwrap();
            seen.sequences.push(message.sequence);
            let first_keys = message.payload_type == 1 && seen.withheld.is_none();
            if self.scenario.lose_first_ack && first_keys {
                // Lost on the way: shipit must send it again, same number.
                seen.withheld = Some(message.sequence);
                return (Vec::new(), false);
            }
        }
        let ack = json!({
            "AcknowledgedMessageType": "input_stream_data",
            "AcknowledgedMessageId": message.message_id,
            "AcknowledgedMessageSequenceNumber": message.sequence,
            "IsSequentialMessage": true,
        });
        out.push(Message::binary(encode(
            "acknowledge",
            0,
            3,
            0,
            ack.to_string().as_bytes(),
        )));
        if message.sequence != self.expected {
            return (out, false); // a repeat: acknowledged again, not acted on twice
        }
        self.expected += 1;
        let mut close = false;
        match message.payload_type {
            6 => {
                let response: Value = serde_json::from_slice(&message.payload).unwrap();
                assert!(
                    response["ClientVersion"]
                        .as_str()
                        .is_some_and(|v| !v.is_empty())
                );
                if self.scenario.kms {
                    let key =
                        &response["ProcessedClientActions"][1]["ActionResult"]["KMSCipherTextKey"];
                    assert_eq!(
                        key,
                        &json!(BASE64.encode(b"wrapped-data-key")),
                        "{response}"
                    );
                    let challenge = json!({ "Challenge": BASE64.encode(seal(b"the challenge")) });
                    out.push(self.stream(8, challenge.to_string().as_bytes()));
                } else {
                    out.extend(self.ready());
                }
            }
            9 => {
                let answer: Value = serde_json::from_slice(&message.payload).unwrap();
                let sealed = BASE64
                    .decode(answer["Challenge"].as_str().unwrap())
                    .unwrap();
                assert_eq!(open(&sealed), b"the challenge");
                out.extend(self.ready());
            }
            3 => {
                let size: Value = serde_json::from_slice(&message.payload).unwrap();
                self.seen.lock().unwrap().sizes.push((
                    size["cols"].as_u64().unwrap(),
                    size["rows"].as_u64().unwrap(),
                ));
                let started = self.start_command();
                close = started.len() > 1 && !self.scenario.hang_up && !self.scenario.long_running;
                out.extend(started);
            }
            10 => {
                self.seen.lock().unwrap().terminate_flags += 1;
                out.push(self.closed());
                close = true;
            }
            1 => {
                let keys = if self.scenario.kms {
                    open(&message.payload)
                } else {
                    message.payload
                };
                self.seen.lock().unwrap().keys.extend(&keys);
                for key in keys {
                    match key {
                        0x03 => {
                            self.line.clear();
                            out.push(self.stream(1, b"^C\r\n$ "));
                        }
                        b'\r' => {
                            let line = String::from_utf8_lossy(&self.line).to_string();
                            self.line.clear();
                            if let Some(code) = line.strip_prefix("exit ") {
                                let marker = format!("\r\n{}:{}\r\n", self.marker(), code.trim());
                                out.push(self.stream(1, marker.as_bytes()));
                                out.push(self.closed());
                                close = true;
                            } else {
                                out.push(self.stream(
                                    1,
                                    format!("\r\nsh: {line}: not found\r\n$ ").as_bytes(),
                                ));
                            }
                        }
                        other => {
                            self.line.push(other);
                            out.push(self.stream(1, &[other]));
                        }
                    }
                }
            }
            _ => {}
        }
        (out, close)
    }

    /// Handshake complete, then the command's start.
    fn ready(&mut self) -> Vec<Message> {
        let complete = json!({ "HandshakeTimeToComplete": 1_000_000, "CustomerMessage": "" });
        let mut out = vec![self.stream(7, complete.to_string().as_bytes())];
        if self.interactive() {
            out.push(self.stream(1, b"$ "));
        }
        out
    }

    /// The command, once its terminal has a size (the agent's pty needs one).
    fn start_command(&mut self) -> Vec<Message> {
        let mut out = Vec::new();
        if self.started || self.interactive() {
            return out;
        }
        self.started = true;
        out.push(self.stream(1, b"hello from the task\r\n"));
        if self.scenario.hang_up || self.scenario.long_running {
            return out;
        }
        out.push(self.stream(1, b"\x1b[31mred\x1b[0m \x1b]0;title\x07line\r\n"));
        out.push(self.stream(11, b"a warning\n"));
        let marker = format!("{}:3\r\n", self.marker());
        out.push(self.stream(1, marker.as_bytes()));
        out.push(self.closed());
        out
    }
}

async fn serve_agent(stream: tokio::net::TcpStream, scenario: Scenario, seen: Shared) {
    let Ok(mut socket) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    // The opening text message carries the token.
    let Some(Ok(Message::Text(open))) = socket.next().await else {
        return;
    };
    let open: Value = serde_json::from_str(&open).unwrap();
    seen.lock().unwrap().open_message = Some(open.clone());
    if open["TokenValue"] != TOKEN {
        return;
    }
    let mut agent = Agent {
        scenario,
        seen: seen.clone(),
        sequence: 0,
        expected: 0,
        line: Vec::new(),
        started: false,
    };
    let mut actions = vec![json!({ "ActionType": "SessionType",
        "ActionParameters": { "SessionType": "InteractiveCommands", "Properties": {} } })];
    if scenario.kms {
        actions.push(
            json!({ "ActionType": "KMSEncryption", "ActionParameters": { "KMSKeyId": KMS_KEY } }),
        );
    }
    let request = json!({ "AgentVersion": "3.3.1802.0", "RequestedClientActions": actions });
    let first = agent.stream(5, request.to_string().as_bytes());
    socket.send(first).await.unwrap();
    while let Some(Ok(message)) = socket.next().await {
        let Message::Binary(bytes) = message else {
            continue;
        };
        let (answers, close) = agent.answer(&bytes);
        let hang_up = scenario.hang_up && agent.started;
        for answer in answers {
            let _ = socket.send(answer).await;
        }
        if hang_up {
            // Gone without a word: no channel_closed, no close frame.
            return;
        }
        if close {
            let _ = socket.close(None).await;
            return;
        }
    }
}

// ---- The fake ECS, IAM and KMS --------------------------------------------------------

struct FakeAws {
    scenario: Scenario,
    agent_url: String,
    seen: Shared,
}

impl wiremock::Respond for FakeAws {
    fn respond(&self, request: &wiremock::Request) -> wiremock::ResponseTemplate {
        let operation = super::operation(request);
        if operation.is_empty() {
            // IAM's Query protocol: the policy simulator.
            let form: std::collections::HashMap<String, String> =
                url::form_urlencoded::parse(&request.body)
                    .into_owned()
                    .collect();
            assert_eq!(form["Action"], "SimulatePrincipalPolicy");
            let decision = if self.scenario.not_ready {
                "implicitDeny"
            } else {
                "allowed"
            };
            let members: String = (1..=4)
                .map(|i| format!("<member><EvalActionName>{}</EvalActionName><EvalDecision>{}</EvalDecision></member>",
                    form[&format!("ActionNames.member.{i}")],
                    if i == 1 { "allowed" } else { decision }))
                .collect();
            return wiremock::ResponseTemplate::new(200).set_body_string(format!(
                "<SimulatePrincipalPolicyResponse><SimulatePrincipalPolicyResult><EvaluationResults>{members}</EvaluationResults></SimulatePrincipalPolicyResult></SimulatePrincipalPolicyResponse>"
            ));
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let mut seen = self.seen.lock().unwrap();
        let answer = match operation.as_str() {
            "DescribeServices" => json!({ "services": [{
                "serviceArn": "arn:aws:ecs:us-east-1:000000000000:service/demo-cluster/demo-service",
                "serviceName": "demo-service", "status": "ACTIVE",
                "enableExecuteCommand": !self.scenario.not_ready,
                "deployments": [{ "id": "ecs-svc/2", "status": "PRIMARY",
                    "taskDefinition": "arn:aws:ecs:us-east-1:000000000000:task-definition/demo-task:2" }]
            }], "failures": [] }),
            "ListTasks" => json!({ "taskArns": [TASK_ARN] }),
            "DescribeTasks" => json!({ "tasks": [{
                "taskArn": TASK_ARN, "lastStatus": "RUNNING", "enableExecuteCommand": true,
                "platformVersion": "1.4.0", "platformFamily": "Linux",
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/demo-task:2",
                "containers": [{ "name": "demo-api", "runtimeId": "0f1e2d3c4b5a-1234",
                    "managedAgents": [{ "name": "ExecuteCommandAgent", "lastStatus": "RUNNING" }] }]
            }], "failures": [] }),
            "DescribeTaskDefinition" => json!({ "taskDefinition": {
                "taskDefinitionArn": "arn:aws:ecs:us-east-1:000000000000:task-definition/demo-task:2",
                "family": "demo-task", "revision": 2, "status": "ACTIVE",
                "taskRoleArn": "arn:aws:iam::000000000000:role/demo-task-role",
                "containerDefinitions": [{ "name": "demo-api", "image": "x" }]
            }, "tags": [] }),
            "ExecuteCommand" => {
                seen.command = body["command"].as_str().map(str::to_string);
                seen.execute_bodies.push(body.clone());
                json!({
                    "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/demo-cluster",
                    "containerArn": "arn:aws:ecs:us-east-1:000000000000:container/c",
                    "containerName": "demo-api", "interactive": true, "taskArn": TASK_ARN,
                    "session": {
                        "sessionId": SESSION_ID,
                        "streamUrl": format!("{}/v1/data-channel/{SESSION_ID}?role=publish_subscribe&cell-number=AAE", self.agent_url),
                        "tokenValue": TOKEN
                    }
                })
            }
            "GenerateDataKey" => {
                seen.kms_bodies.push(body.clone());
                json!({
                    "KeyId": KMS_KEY,
                    "Plaintext": BASE64.encode(DATA_KEY),
                    "CiphertextBlob": BASE64.encode(b"wrapped-data-key")
                })
            }
            other => {
                return super::not_faked(other);
            }
        };
        super::answer(answer)
    }
}

struct Fakes {
    aws_url: String,
    seen: Shared,
    _agent: common::loopback::LoopbackServer,
    _aws: wiremock::MockServer,
    _runtime: tokio::runtime::Runtime,
}

fn fakes(scenario: Scenario) -> Fakes {
    let seen: Shared = Arc::default();
    let agent_seen = seen.clone();
    let agent = common::loopback::LoopbackServer::start(move |stream| {
        serve_agent(stream, scenario, agent_seen.clone())
    });
    let agent_url = agent.url.replace("http://", "ws://");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let aws = runtime.block_on(async {
        let server = wiremock::MockServer::start().await;
        wiremock::Mock::given(wiremock::matchers::method("POST"))
            .respond_with(FakeAws {
                scenario,
                agent_url,
                seen: seen.clone(),
            })
            .mount(&server)
            .await;
        server
    });
    Fakes {
        aws_url: aws.uri(),
        seen,
        _agent: agent,
        _aws: aws,
        _runtime: runtime,
    }
}

fn exec_command(fakes: &Fakes, dir: &std::path::Path) -> std::process::Command {
    std::fs::write(dir.join("deploy.yaml"), GOOD_CONFIG).unwrap();
    let mut cmd = shipit(dir);
    cmd.env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args(["--endpoint-url", &fakes.aws_url, "exec"]);
    cmd
}

#[test]
fn exec_streams_a_command_over_an_encrypted_channel_and_passes_its_exit_code_on() {
    let fakes = fakes(Scenario {
        kms: true,
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let calls = dir.path().join("calls.jsonl");
    let out = run(exec_command(&fakes, dir.path())
        .env("SHIPIT_RECORD_AWS_CALLS", &calls)
        .args(["--", "echo hi; exit 3"]));
    assert_eq!(out.code, Some(3), "{}", out.dump());
    // Plain text for a log: no escape sequences, no \r, no marker line.
    assert_eq!(
        out.stdout,
        "hello from the task\nred line\n",
        "{}",
        out.dump()
    );
    assert!(out.stderr.contains("a warning"), "{}", out.dump());
    assert!(!out.stdout.contains("__shipit_exit") && !out.stderr.contains("__shipit_exit"));
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "the token is never shown"
    );

    let seen = fakes.seen.lock().unwrap();
    let open = seen.open_message.as_ref().unwrap();
    assert_eq!(open["MessageSchemaVersion"], "1.0");
    assert_eq!(open["TokenValue"], TOKEN);
    let execute = &seen.execute_bodies[0];
    assert_eq!(execute["interactive"], true);
    assert_eq!(execute["task"], TASK_ARN);
    assert_eq!(execute["container"], "demo-api");
    assert!(
        execute["command"]
            .as_str()
            .unwrap()
            .starts_with("/bin/sh -c '(\necho hi; exit 3\n)\n"),
        "{execute}"
    );
    // The data key is bound to this session and target, as the agent will check.
    assert_eq!(
        seen.kms_bodies[0],
        json!({
            "KeyId": KMS_KEY, "NumberOfBytes": 64,
            "EncryptionContext": {
                "aws:ssm:SessionId": SESSION_ID,
                "aws:ssm:TargetId": "ecs:demo-cluster_0f1e2d3c4b5a_0f1e2d3c4b5a-1234"
            }
        })
    );
    assert_eq!(
        seen.sizes[0],
        (200, 50),
        "a terminal size even without a terminal"
    );
    drop(seen);

    // ExecuteCommand's request, against botocore's model and the policy iam-policy prints.
    std::fs::write(
        dir.path().join("exec.yaml"),
        format!("{GOOD_CONFIG}  task_role: arn:aws:iam::000000000000:role/demo-task-role\n")
            .replace(
                "    - subnet-0123456789abcdef0\n",
                "    - subnet-0123456789abcdef0\n  enable_execute_command: true\n",
            )
            .replace("123456789012", "000000000000"),
    )
    .unwrap();
    let policy = run(shipit(dir.path()).args(["-c", "exec.yaml", "iam-policy"]));
    assert_eq!(policy.code, Some(0), "{}", policy.dump());
    let policy_path = dir.path().join("policy.json");
    std::fs::write(&policy_path, &policy.stdout).unwrap();
    let recorded = std::fs::read_to_string(&calls).unwrap();
    assert!(recorded.contains("\"ExecuteCommand\""), "{recorded}");
    let checked = common::check_aws_calls(&calls, Some(&policy_path));
    assert_eq!(checked.code, Some(0), "{}", checked.dump());
}

#[test]
fn exec_says_why_it_cannot_connect_and_changes_nothing() {
    let fakes = fakes(Scenario {
        not_ready: true,
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = run(exec_command(&fakes, dir.path()).args(["--output", "json"]));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    let doc: Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.dump()));
    assert_eq!(doc["ok"], false);
    let problems: Vec<&str> = doc["blockers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["problem"].as_str().unwrap())
        .collect();
    assert_eq!(problems.len(), 2, "{doc}");
    assert!(
        problems[0].contains("ECS Exec is off for service demo-service"),
        "{doc}"
    );
    assert!(
        problems[1].contains("ssmmessages:CreateDataChannel, ssmmessages:OpenControlChannel, ssmmessages:OpenDataChannel"),
        "{doc}"
    );
    assert!(
        doc["blockers"][0]["fix"]
            .as_str()
            .unwrap()
            .contains("enable_execute_command: true")
    );
    assert!(
        fakes.seen.lock().unwrap().execute_bodies.is_empty(),
        "no session was started"
    );
}

#[test]
fn exec_reports_a_channel_that_closed_before_the_command_ended() {
    let fakes = fakes(Scenario {
        hang_up: true,
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = run(exec_command(&fakes, dir.path()).args(["--", "sleep 60"]));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(out.stdout.contains("hello from the task"), "{}", out.dump());
    assert!(
        out.stderr
            .contains("the data channel closed before the session ended"),
        "{}",
        out.dump()
    );
}

/// A pseudo-terminal for shipit: the test holds the master side.
struct Pty {
    master: std::fs::File,
    slave: std::fs::File,
}

fn pty(cols: u16, rows: u16) -> Pty {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    resize(&slave, cols, rows);
    Pty {
        master: std::fs::File::from(master),
        slave,
    }
}

fn resize(fd: &std::fs::File, cols: u16, rows: u16) {
    rustix::termios::tcsetwinsize(
        fd,
        rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .unwrap();
}

#[test]
fn exec_gives_an_interactive_shell_with_resize_ctrl_c_resends_and_the_exit_code() {
    let fakes = fakes(Scenario {
        lose_first_ack: true,
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let terminal = pty(132, 43);
    let mut child = exec_command(&fakes, dir.path())
        .stdin(terminal.slave.try_clone().unwrap())
        .stdout(terminal.slave.try_clone().unwrap())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let screen = Arc::new(Mutex::new(Vec::new()));
    {
        let screen = screen.clone();
        let mut master = terminal.master.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n) = master.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                screen.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
    }
    let wait_for = |what: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if String::from_utf8_lossy(&screen.lock().unwrap()).contains(what) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "no `{what}` on the terminal: {:?}",
            String::from_utf8_lossy(&screen.lock().unwrap())
        );
    };
    let mut keys = terminal.master.try_clone().unwrap();
    wait_for("$ ");
    // The terminal is raw now: Ctrl-C is a byte for the remote shell, not a signal here.
    keys.write_all(b"ls").unwrap();
    wait_for("ls");
    keys.write_all(&[0x03]).unwrap();
    wait_for("^C");
    resize(&terminal.slave, 100, 30);
    std::process::Command::new("kill")
        .args(["-WINCH", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fakes.seen.lock().unwrap().sizes.contains(&(100, 30)) {
        assert!(
            Instant::now() < deadline,
            "the new size never reached the agent"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    keys.write_all(b"exit 5\r").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "shipit exec did not end: {:?} {:?}",
            String::from_utf8_lossy(&screen.lock().unwrap()),
            fakes.seen.lock().unwrap().keys
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(5), "{stderr}");
    let shown = String::from_utf8_lossy(&screen.lock().unwrap()).to_string();
    assert!(!shown.contains("__shipit_exit"), "{shown:?}");

    let seen = fakes.seen.lock().unwrap();
    assert_eq!(seen.sizes.first(), Some(&(132, 43)), "{:?}", seen.sizes);
    assert_eq!(seen.keys, b"ls\x03exit 5\r");
    let withheld = seen.withheld.expect("an acknowledgement was lost");
    assert_eq!(
        seen.sequences.iter().filter(|s| **s == withheld).count(),
        2,
        "the message without an acknowledgement was sent again, under the same number: {:?}",
        seen.sequences
    );
    assert!(seen.command.as_deref().unwrap().contains("(\n/bin/sh\n)"));
    // The terminal is back as it was: canonical mode with echo.
    let restored = rustix::termios::tcgetattr(&terminal.slave).unwrap();
    assert!(
        restored
            .local_modes
            .contains(rustix::termios::LocalModes::ICANON)
    );
    assert!(
        restored
            .local_modes
            .contains(rustix::termios::LocalModes::ECHO)
    );
}

#[test]
fn ctrl_c_without_a_terminal_interrupts_the_command_and_ends_the_session() {
    let fakes = fakes(Scenario {
        long_running: true,
        ..Scenario::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut child = exec_command(&fakes, dir.path())
        .args(["--", "tail -f /var/log/app.log"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = common::OutputReader::new(child.stdout.take().unwrap());
    let shown = stdout.read_until("hello from the task", Duration::from_secs(20));
    assert!(shown.contains("hello from the task"), "{shown}");
    let (status, stderr) = common::interrupt(child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    let seen = fakes.seen.lock().unwrap();
    assert_eq!(seen.keys, b"\x03", "Ctrl-C passed on to the command");
    assert_eq!(seen.terminate_flags, 1, "and the session asked to end");
}
