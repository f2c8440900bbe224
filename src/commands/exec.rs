//! `shipit exec`: a shell or a command in a running task of the service, through ECS Exec,
//! with no session-manager-plugin: shipit speaks the data channel itself (`crate::exec`).
//!
//! Before connecting it checks what ECS Exec needs (the service's and the task's switch, the
//! platform version, the agent, the task role's `ssmmessages` actions) and stops with each
//! reason and its fix. With a terminal the session is interactive (raw mode: Ctrl-C goes to
//! the remote shell). Without one (CI) the output is streamed as plain text and shipit exits
//! with the command's exit code.

use std::cell::RefCell;
use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::Context;
use aws_sdk_ecs::types::Task;
use base64::Engine;
use clap::Args;
use serde::Serialize;
use tokio::sync::mpsc;

use super::GlobalArgs;
use crate::aws::error::AwsError;
use crate::aws::query_api::{QueryClient, Service as QueryService};
use crate::ecs;
use crate::exec::connection::{self, DataKey, DataKeySource, Input, SessionTarget, Shown};
use crate::exec::exit_marker::{ExitMarker, MarkerFilter};
use crate::exec::readiness::{self, Blocker, RoleCheck};
use crate::exec::terminal::{self, PlainText, RawMode};
use crate::exit::{BadInput, ExitStatus};
use crate::printer::Printer;

/// After Ctrl-C without a terminal: how long the agent has to end the command and close.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// How much of each stream `--output json` keeps (the end of it).
const JSON_KEEP: usize = 1 << 20;

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The task, by id or ARN. Default: the newest running task of the service's current
    /// deployment.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The container. Default: the app's container.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
    /// No terminal even when there is one: output streamed as plain text, the command's exit
    /// code passed on. Implied when standard input or output is not a terminal.
    #[arg(short = 'T', long)]
    pub no_tty: bool,
    /// Send COMMAND to ECS exactly as given instead of through /bin/sh (for images without a
    /// shell); the exit code is then known only when the agent reports it.
    #[arg(long)]
    pub exact: bool,
    /// The command line, run by /bin/sh in the container as ssh runs one. Default: /bin/sh.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Serialize)]
struct ExecReport {
    ok: bool,
    task: String,
    container: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    blockers: Vec<Blocker>,
    #[serde(skip_serializing_if = "Option::is_none")]
    encrypted: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stdout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stderr: Option<String>,
}

/// GenerateDataKey through the signed JSON client.
struct KmsDataKeys {
    query: QueryClient,
}

impl DataKeySource for KmsDataKeys {
    async fn data_key(
        &self,
        key_id: &str,
        encryption_context: &[(&str, &str)],
    ) -> anyhow::Result<DataKey> {
        let context: serde_json::Map<String, serde_json::Value> = encryption_context
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        let body = serde_json::json!({
            "KeyId": key_id,
            "NumberOfBytes": crate::exec::cipher::DATA_KEY_BYTES,
            "EncryptionContext": context,
        });
        let answer = self
            .query
            .json_call(QueryService::Kms, "TrentService.GenerateDataKey", &body)
            .await?;
        let doc: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        if !answer.is_success() {
            let code = doc["__type"].as_str().unwrap_or("error");
            let message = doc["message"]
                .as_str()
                .or(doc["Message"].as_str())
                .unwrap_or("");
            anyhow::bail!(
                "KMS GenerateDataKey on {key_id}: {} (the caller needs kms:GenerateDataKey on the cluster's ECS Exec key)",
                crate::redact::printable(&format!("{code}: {message}"), 300)
            );
        }
        let field = |name: &str| -> anyhow::Result<Vec<u8>> {
            let text = doc[name]
                .as_str()
                .with_context(|| format!("KMS GenerateDataKey answered without {name}"))?;
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .with_context(|| format!("KMS GenerateDataKey's {name} is not base64"))
        };
        Ok(DataKey {
            plaintext: field("Plaintext")?,
            ciphertext: field("CiphertextBlob")?,
        })
    }
}

pub async fn run(
    args: &ExecArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let session = super::open_session(global, printer).await?;
    let names = &session.loaded.names;
    let client = &session.clients.ecs;
    let container = args
        .container
        .clone()
        .unwrap_or_else(|| names.container.clone());
    let service = ecs::describe_service(client, &names.cluster, &names.service)
        .await?
        .with_context(|| {
            format!(
                "cluster {} has no active service {}: run `shipit deploy` first",
                names.cluster, names.service
            )
        })?;
    let task = pick_task(client, &names.cluster, &service, args.task.as_deref()).await?;
    let task_arn = task.task_arn().unwrap_or_default().to_string();
    let task_id = readiness::task_id(&task_arn).to_string();

    let mut blockers = Vec::new();
    blockers.extend(readiness::check_service(&service, &names.service));
    blockers.extend(readiness::check_task(&task, &container));
    let role = task_role(client, &task).await?;
    match &role {
        None => blockers.push(readiness::no_task_role()),
        Some(role_arn) => {
            let query = QueryClient::new(&session.aws.sdk)?;
            let check = readiness::check_task_role(&query, role_arn).await;
            if let RoleCheck::Unknown { why } = &check {
                printer.warn(&format!(
                    "could not check the task role's ssmmessages permissions ({why}); connecting anyway"
                ));
            }
            blockers.extend(readiness::role_blocker(role_arn, &check));
        }
    }
    if !blockers.is_empty() {
        let mut human = format!("cannot exec into task {task_id}:\n");
        for blocker in &blockers {
            human.push_str(&format!(
                "  - {}\n    fix: {}\n",
                blocker.problem, blocker.fix
            ));
        }
        printer.result(
            &ExecReport {
                ok: false,
                task: task_arn,
                container,
                exit_code: None,
                blockers,
                encrypted: None,
                stdout: None,
                stderr: None,
            },
            &human,
        )?;
        return Ok(ExitStatus::Failure);
    }

    let interactive = !args.no_tty
        && !printer.is_json()
        && std::io::stdin().is_terminal()
        && std::io::stdout().is_terminal();
    let marker = ExitMarker::new();
    let command_line = if args.command.is_empty() {
        "/bin/sh".to_string()
    } else {
        args.command.join(" ")
    };
    let ecs_command = if args.exact {
        command_line.clone()
    } else {
        marker.wrap(&command_line)
    };
    let answer = crate::apply::tasks::execute_command(
        &session.clients,
        &names.cluster,
        &task_arn,
        &container,
        &ecs_command,
    )
    .await?;
    let remote = answer
        .session()
        .context("ECS ExecuteCommand answered without a session")?;
    let cluster_name = answer
        .cluster_arn()
        .and_then(|arn| arn.rsplit('/').next())
        .unwrap_or(&names.cluster);
    let runtime_id = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container.as_str()))
        .and_then(|c| c.runtime_id())
        .unwrap_or_default();
    let target = SessionTarget {
        stream_url: remote.stream_url().unwrap_or_default().to_string(),
        token: remote.token_value().unwrap_or_default().to_string(),
        session_id: remote.session_id().unwrap_or_default().to_string(),
        target_id: format!("ecs:{cluster_name}_{task_id}_{runtime_id}"),
    };
    if !interactive {
        printer.info(&format!(
            "exec in task {task_id}, container {container}: {}",
            crate::redact::printable(&command_line, 200)
        ));
    }

    let keys = KmsDataKeys {
        query: QueryClient::new(&session.aws.sdk)?,
    };
    let output = RefCell::new(Output {
        interactive,
        json: printer.is_json(),
        marker: (!args.exact).then(|| marker.filter()),
        plain_stdout: PlainText::default(),
        plain_stderr: PlainText::default(),
        kept_stdout: Vec::new(),
        kept_stderr: Vec::new(),
    });
    let (sender, receiver) = mpsc::channel(64);
    let raw_mode = if interactive {
        Some(RawMode::enter().context("putting the terminal in raw mode")?)
    } else {
        None
    };
    spawn_input(interactive, sender.clone());
    let mut interrupt = crate::signals::Interrupt::listen()?;
    let mut stopping: Option<tokio::time::Instant> = None;
    let ended = {
        let running = connection::run(
            &target,
            session.aws.endpoint.is_some(),
            &keys,
            receiver,
            |shown| output.borrow_mut().show(shown),
        );
        tokio::pin!(running);
        loop {
            tokio::select! {
                ended = &mut running => break Some(ended),
                _ = interrupt.recv() => {
                    if stopping.is_some() {
                        break None;
                    }
                    // Without a terminal, Ctrl-C reaches shipit, not the command: pass it on,
                    // then ask the agent to end the session.
                    crate::signals::cleaning_up();
                    let _ = sender.send(Input::Keys(vec![0x03])).await;
                    let _ = sender.send(Input::Terminate).await;
                    stopping = Some(tokio::time::Instant::now() + STOP_GRACE);
                }
                _ = tokio::time::sleep_until(stopping.unwrap_or_else(tokio::time::Instant::now)), if stopping.is_some() => break None,
            }
        }
    };
    drop(raw_mode);
    let mut output = output.into_inner();
    output.finish();
    let Some(ended) = ended else {
        eprintln!("interrupted; the session in task {task_id} was asked to end");
        return Ok(ExitStatus::Interrupted);
    };
    let ended = ended?;
    if let Some(words) = &ended.closing
        && !printer.is_json()
    {
        printer.info(&crate::redact::printable(words, 500));
    }
    let exit_code = ended
        .exit_code
        .or_else(|| output.marker.as_ref().and_then(|m| m.exit_code()));
    let status = match exit_code {
        Some(0) => ExitStatus::Success,
        Some(code) => ExitStatus::Code(match (code & 0xff) as u8 {
            0 => 1,
            code => code,
        }),
        None if interactive => ExitStatus::Success,
        None => {
            printer.warn("the session ended without the command's exit code");
            ExitStatus::Failure
        }
    };
    if printer.is_json() {
        printer.result(
            &ExecReport {
                ok: status == ExitStatus::Success,
                task: task_arn,
                container,
                exit_code,
                blockers: Vec::new(),
                encrypted: Some(ended.encrypted),
                stdout: Some(String::from_utf8_lossy(&output.kept_stdout).into_owned()),
                stderr: Some(String::from_utf8_lossy(&output.kept_stderr).into_owned()),
            },
            "",
        )?;
    }
    if stopping.is_some() {
        return Ok(ExitStatus::Interrupted);
    }
    Ok(status)
}

/// The named task, or the newest running task of the service's PRIMARY deployment (of any
/// deployment when that one has none yet).
async fn pick_task(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &aws_sdk_ecs::types::Service,
    named: Option<&str>,
) -> anyhow::Result<Task> {
    let arns = match named {
        Some(task) => vec![task.to_string()],
        None => client
            .list_tasks()
            .cluster(cluster)
            .service_name(service.service_name().unwrap_or_default())
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ECS", "ListTasks", &e))?
            .task_arns()
            .iter()
            .take(100)
            .cloned()
            .collect(),
    };
    if arns.is_empty() {
        anyhow::bail!(
            "service {} has no running task to exec into (`shipit status` says why)",
            service.service_name().unwrap_or_default()
        );
    }
    let described = client
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "DescribeTasks", &e))?;
    if let Some(task) = named {
        return described.tasks().first().cloned().ok_or_else(|| {
            BadInput::new(format!(
                "--task {}: cluster {cluster} has no such task",
                crate::redact::printable(task, 100)
            ))
            .into()
        });
    }
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.task_definition());
    let mut running: Vec<&Task> = described
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .collect();
    running.sort_by_key(|t| {
        (
            t.task_definition_arn() == primary,
            t.started_at().map(|s| s.secs()),
        )
    });
    running
        .last()
        .map(|t| (*t).clone())
        .or_else(|| described.tasks().first().cloned())
        .context("DescribeTasks returned no task")
}

/// The role the task runs with: its override, else its task definition's.
async fn task_role(client: &aws_sdk_ecs::Client, task: &Task) -> anyhow::Result<Option<String>> {
    if let Some(role) = task.overrides().and_then(|o| o.task_role_arn()) {
        return Ok(Some(role.to_string()));
    }
    let Some(arn) = task.task_definition_arn() else {
        return Ok(None);
    };
    Ok(ecs::describe_task_definition(client, arn)
        .await?
        .and_then(|td| td.task_role_arn().map(str::to_string)))
}

/// Standard input (raw, with a terminal), the terminal's size and its changes, as the
/// session's input. Without a terminal only the size goes (the agent's pty needs one).
fn spawn_input(interactive: bool, sender: mpsc::Sender<Input>) {
    let (cols, rows) = terminal::size().unwrap_or(terminal::DEFAULT_SIZE);
    let _ = sender.try_send(Input::Resize { cols, rows });
    if !interactive {
        return;
    }
    let keys = sender.clone();
    // A plain thread: a blocking read of the terminal must not hold up the runtime's end.
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin().lock();
        let mut buffer = [0u8; 1024];
        loop {
            match std::io::Read::read(&mut stdin, &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if keys
                        .blocking_send(Input::Keys(buffer[..n].to_vec()))
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
    });
    tokio::spawn(async move {
        let Ok(mut resized) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::window_change())
        else {
            return;
        };
        while resized.recv().await.is_some() {
            if let Some((cols, rows)) = terminal::size()
                && sender.send(Input::Resize { cols, rows }).await.is_err()
            {
                break;
            }
        }
    });
}

/// Where the command's output goes: the terminal as it is (interactive), plain text lines
/// (a log), or kept for the JSON report; the exit marker's line taken out first.
struct Output {
    interactive: bool,
    json: bool,
    marker: Option<MarkerFilter>,
    plain_stdout: PlainText,
    plain_stderr: PlainText,
    kept_stdout: Vec<u8>,
    kept_stderr: Vec<u8>,
}

impl Output {
    fn show(&mut self, shown: Shown) {
        match shown {
            Shown::Stdout(bytes) => {
                let bytes = match &mut self.marker {
                    Some(marker) => marker.feed(&bytes),
                    None => bytes,
                };
                self.stdout(&bytes);
            }
            Shown::Stderr(bytes) => {
                if self.interactive {
                    write_all(&mut std::io::stderr(), &bytes);
                } else {
                    let plain = self.plain_stderr.filter(&bytes);
                    if self.json {
                        keep(&mut self.kept_stderr, &plain);
                    } else {
                        write_all(&mut std::io::stderr(), &plain);
                    }
                }
            }
            Shown::Notice(line) => {
                let line = crate::redact::printable(&line, 500);
                if self.interactive {
                    write_all(&mut std::io::stderr(), format!("{line}\r\n").as_bytes());
                } else if !self.json {
                    eprintln!("{line}");
                }
            }
        }
    }

    fn stdout(&mut self, bytes: &[u8]) {
        if self.interactive {
            write_all(&mut std::io::stdout(), bytes);
            return;
        }
        let plain = self.plain_stdout.filter(bytes);
        if self.json {
            keep(&mut self.kept_stdout, &plain);
        } else {
            write_all(&mut std::io::stdout(), &plain);
        }
    }

    fn finish(&mut self) {
        let rest = self.marker.as_mut().map(|m| m.finish()).unwrap_or_default();
        self.stdout(&rest);
    }
}

fn write_all(out: &mut impl Write, bytes: &[u8]) {
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// Keeps the last `JSON_KEEP` bytes.
fn keep(kept: &mut Vec<u8>, bytes: &[u8]) {
    kept.extend_from_slice(bytes);
    if kept.len() > JSON_KEEP {
        kept.drain(..kept.len() - JSON_KEEP);
    }
}
