//! `shipit run -- COMMAND...`: one task of the service's task definition, with COMMAND in place
//! of the container's command (a migration, a shell one-liner), in the service's subnets and
//! security groups. Its log lines stream as they arrive; shipit exits with the container's exit
//! code. A task that never started exits 1 with ECS's reason and what to try; Ctrl-C stops the
//! task (StopTask) and says so.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use crate::aws::error_chain;
use crate::calls::Clients;
use crate::cli::GlobalArgs;
use crate::ecs::{self, short_task_definition};
use crate::exit::{BadInput, ExitStatus};
use crate::plan::service::ServiceSettings;
use crate::printer::Printer;
use crate::rollout::{TaskView, classify};
use crate::signals::Interrupt;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The container to run the command in (default: the app container).
    #[arg(long)]
    pub container: Option<String>,
    /// Give up (and stop the task) after this long: 90s, 10m, 1h.
    #[arg(long, default_value = "1h", value_parser = super::deploy::parse_duration)]
    pub timeout: Duration,
    /// The command and its arguments, after `--`.
    #[arg(required = true, last = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Serialize)]
struct RunResult {
    ok: bool,
    task_arn: String,
    task_definition: String,
    container: String,
    command: Vec<String>,
    /// The container's exit code; None when it never ran.
    exit_code: Option<i32>,
    stopped_reason: Option<String>,
    /// Why, and what to try, when the task never ran.
    cause: Option<String>,
    fix: Option<String>,
    log_lines: usize,
    seconds: f64,
    interrupted: bool,
}

/// How often the task and its log stream are read.
const POLL: Duration = Duration::from_secs(1);
/// After the task stopped, how long to keep reading for lines the awslogs driver (which
/// publishes every 5 s) has not delivered yet.
const LATE_LINES: Duration = Duration::from_secs(10);

pub async fn run(
    args: &RunArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let names = &loaded.names;
    let container = args
        .container
        .clone()
        .unwrap_or_else(|| names.container.clone());
    if container != names.container {
        return Err(BadInput::new(format!(
            "--container {container}: the task definition has one container, `{}`",
            names.container
        ))
        .into());
    }
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let started = Instant::now();

    let Some(service) = ecs::describe_service(&clients.ecs, &names.cluster, &names.service).await?
    else {
        bail!(
            "service {} does not exist in cluster {}: `shipit deploy` first; the one-off task runs the service's task definition",
            names.service,
            names.cluster
        );
    };
    let task_definition = service
        .task_definition()
        .context("DescribeServices gave the service no task definition")?
        .to_string();
    let network = ServiceSettings::render(&loaded.config, names).network();
    let out = clients
        .ecs
        .run_task()
        .cluster(&names.cluster)
        .task_definition(&task_definition)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(network)
        .started_by("shipit-run")
        .overrides(
            aws_sdk_ecs::types::TaskOverride::builder()
                .container_overrides(
                    aws_sdk_ecs::types::ContainerOverride::builder()
                        .name(&container)
                        .set_command(Some(args.command.clone()))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("ECS RunTask failed: {}", error_chain(&e)))?;
    let Some(task) = out.tasks().first() else {
        let why = out
            .failures()
            .first()
            .map(|f| {
                format!(
                    "{} {}",
                    f.reason().unwrap_or_default(),
                    f.detail().unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "no reason given".to_string());
        bail!("ECS did not start the task: {}", why.trim());
    };
    let task_arn = task.task_arn().unwrap_or_default().to_string();
    let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
    printer.info(&format!(
        "running `{}` in task {task_id} ({}, container {container})",
        args.command.join(" "),
        short_task_definition(&task_definition)
    ));

    let stream = crate::logs::stream_name(&loaded.config.logs.stream_prefix, &container, &task_id);
    let mut follower = StreamFollower::new(&names.log_group, &stream);
    let mut interrupt = Interrupt::listen()?;
    let mut interrupted = false;
    let mut stopped_at: Option<Instant> = None;
    let mut last: Option<TaskView> = None;
    loop {
        for line in follower.read(&clients).await {
            printer.raw(&format!("{line}\n"))?;
        }
        if let Some(at) = stopped_at {
            // Stopped: read on until the late lines are in (or a few seconds with none).
            if at.elapsed() >= LATE_LINES || (follower.lines > 0 && at.elapsed() >= 2 * POLL) {
                break;
            }
        } else {
            let view = describe(&clients, &names.cluster, &task_arn).await?;
            if view.last_status == "STOPPED" {
                stopped_at = Some(Instant::now());
            }
            last = Some(view);
            if started.elapsed() >= args.timeout {
                printer.warn(&format!(
                    "timed out after {}s: stopping task {task_id}",
                    args.timeout.as_secs()
                ));
                stop(
                    &clients,
                    &names.cluster,
                    &task_arn,
                    "timed out (shipit run)",
                )
                .await?;
                bail!(
                    "the task did not finish within {}s; it was stopped",
                    args.timeout.as_secs()
                );
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = interrupt.recv(), if !interrupted && stopped_at.is_none() => {
                interrupted = true;
                stop(&clients, &names.cluster, &task_arn, "interrupted (shipit run)").await?;
                printer.warn(&format!("interrupted: stopped task {task_id} (StopTask)"));
            }
        }
    }

    let task = last.context("the task was never described")?;
    let exit_code = task
        .containers
        .iter()
        .find(|c| c.name == container)
        .and_then(|c| c.exit_code);
    let (cause, fix) = match exit_code {
        Some(_) => (None, None),
        None => {
            let cause = classify(&task);
            (Some(cause.describe()), Some(cause.fix().to_string()))
        }
    };
    let result = RunResult {
        ok: exit_code == Some(0) && !interrupted,
        task_arn: task_arn.clone(),
        task_definition,
        container,
        command: args.command.clone(),
        exit_code,
        stopped_reason: task.stopped_reason.clone(),
        cause: cause.clone(),
        fix: fix.clone(),
        log_lines: follower.lines,
        seconds: started.elapsed().as_secs_f64(),
        interrupted,
    };
    let human = match (exit_code, &cause) {
        (Some(code), _) => format!("task {task_id} exited with code {code}\n"),
        (None, Some(cause)) => format!(
            "task {task_id} never ran the command: {cause}\n  fix: {}\n",
            fix.as_deref().unwrap_or_default()
        ),
        (None, None) => format!("task {task_id} stopped\n"),
    };
    if printer.is_json() {
        printer.result(&result, "")?;
    } else {
        // Beside the task's own output on stdout, the verdict goes to stderr.
        if exit_code == Some(0) {
            printer.success(human.trim_end());
        } else {
            printer.warn(human.trim_end());
        }
    }
    Ok(if interrupted {
        ExitStatus::Interrupted
    } else {
        match exit_code {
            Some(0) => ExitStatus::Success,
            // Exit codes are 0-255 on Linux; anything else ECS reports is a failure.
            Some(code) => ExitStatus::Code(u8::try_from(code).unwrap_or(1).max(1)),
            None => ExitStatus::Failure,
        }
    })
}

async fn describe(clients: &Clients, cluster: &str, task_arn: &str) -> anyhow::Result<TaskView> {
    let out = clients
        .ecs
        .describe_tasks()
        .cluster(cluster)
        .tasks(task_arn)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("ECS DescribeTasks failed: {}", error_chain(&e)))?;
    let task = out
        .tasks()
        .first()
        .with_context(|| format!("task {task_arn} is gone from cluster {cluster}"))?;
    Ok(ecs::task_view(task))
}

async fn stop(
    clients: &Clients,
    cluster: &str,
    task_arn: &str,
    reason: &str,
) -> anyhow::Result<()> {
    clients
        .ecs
        .stop_task()
        .cluster(cluster)
        .task(task_arn)
        .reason(reason)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("ECS StopTask failed: {}", error_chain(&e)))?;
    Ok(())
}

/// Reads one log stream forward (GetLogEvents with the forward token): every line once, in
/// order. The stream appears only once the container logged something.
struct StreamFollower<'a> {
    group: &'a str,
    stream: &'a str,
    token: Option<String>,
    lines: usize,
}

impl<'a> StreamFollower<'a> {
    fn new(group: &'a str, stream: &'a str) -> Self {
        StreamFollower {
            group,
            stream,
            token: None,
            lines: 0,
        }
    }

    /// The lines that arrived since the last read (none while the stream does not exist; a
    /// failed read is tried again at the next poll).
    async fn read(&mut self, clients: &Clients) -> Vec<String> {
        let mut lines = Vec::new();
        loop {
            let answer = clients
                .logs
                .get_log_events()
                .log_group_name(self.group)
                .log_stream_name(self.stream)
                .start_from_head(true)
                .set_next_token(self.token.clone())
                .send()
                .await;
            let out = match answer {
                Ok(out) => out,
                Err(err) => {
                    tracing::debug!("GetLogEvents: {}", error_chain(&err));
                    return lines;
                }
            };
            let page: Vec<String> = out
                .events()
                .iter()
                .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
                .collect();
            let next = out.next_forward_token().map(str::to_string);
            let same = next == self.token;
            self.token = next.or(self.token.take());
            self.lines += page.len();
            let empty = page.is_empty();
            lines.extend(page);
            // The forward token stays the same once the end is reached.
            if same || empty {
                return lines;
            }
        }
    }
}
