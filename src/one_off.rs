//! One-off tasks: run one task of a task definition with another command (a migration, a shell
//! one-liner) in the service's network, follow its log stream as it runs, and report how it
//! ended. `shipit run` and deploy's before-deploy hooks both use it.

use std::time::{Duration, Instant};

use anyhow::Context;

pub use crate::apply::tasks::{ONE_OFF_TAG, OneOff};
use crate::aws::calls::Clients;
use crate::aws::error::AwsError;
use crate::aws::error_chain;
use crate::ecs;
use crate::rollout::{TaskView, classify};
use crate::signals::Interrupt;

/// How often the task and its log stream are read.
const POLL: Duration = Duration::from_secs(1);
/// After the task stopped, how long to keep reading for lines the awslogs driver (which
/// publishes every 5 s) has not delivered yet.
const LATE_LINES: Duration = Duration::from_secs(10);
/// The last lines kept for a failure report.
const KEPT_LINES: usize = 20;
/// After shipit sent StopTask, how long at most to wait for the task to stop and its last
/// lines: a task ECS never reports STOPPED must not keep the command running. After Ctrl-C,
/// briefly; after the timeout, long enough for the late lines of a task that did stop.
const AFTER_INTERRUPT: Duration = Duration::from_secs(6);
const AFTER_TIMEOUT: Duration = Duration::from_secs(30);

/// How a one-off task ended.
#[derive(Debug)]
pub struct OneOffEnd {
    pub task_arn: String,
    pub task_id: String,
    /// The container's exit code; None when it never ran the command (or was stopped first).
    pub exit_code: Option<i32>,
    pub task: TaskView,
    /// The last lines of its output.
    pub last_lines: Vec<String>,
    pub line_count: usize,
    pub interrupted: bool,
    pub timed_out: bool,
    pub seconds: f64,
}

impl OneOffEnd {
    pub fn succeeded(&self) -> bool {
        self.exit_code == Some(0) && !self.interrupted && !self.timed_out
    }

    /// Why it failed, in one line, and what to try (None when it ran and exited).
    pub fn never_ran(&self) -> Option<(String, String)> {
        if self.exit_code.is_some() || self.timed_out || self.interrupted {
            return None;
        }
        let cause = classify(&self.task);
        Some((cause.describe(), cause.fix().to_string()))
    }
}

/// Refuses a command whose overrides ECS would refuse, before anything starts.
pub fn check_overrides(container: &str, command: &[String]) -> Result<(), crate::exit::BadInput> {
    use crate::config::validate::{MAX_OVERRIDES_CHARS, overrides_chars};
    let size = overrides_chars(container, command);
    if size > MAX_OVERRIDES_CHARS {
        return Err(crate::exit::BadInput::new(format!(
            "the command makes RunTask overrides of {size} characters, and ECS takes at most {MAX_OVERRIDES_CHARS}: put the long part in a script in the image, and run the script"
        )));
    }
    Ok(())
}

/// Starts the task, calls `on_line` with each line of its output as it arrives, and returns
/// when it stopped (and its late lines are in), when the timeout passed (the task is stopped),
/// or on Ctrl-C (the task is stopped). `on_start` is told the task id once it runs.
pub async fn run(
    clients: &Clients,
    job: &OneOff<'_>,
    on_start: &mut dyn FnMut(&str),
    on_line: &mut dyn FnMut(&str) -> std::io::Result<()>,
) -> anyhow::Result<OneOffEnd> {
    check_overrides(job.container, job.command)?;
    let started = Instant::now();
    let task_arn = crate::apply::tasks::start(clients, job).await?;
    let task_id = task_arn.rsplit('/').next().unwrap_or(&task_arn).to_string();
    on_start(&task_id);

    let stream = crate::logs::stream_name(job.stream_prefix, job.container, &task_id);
    let mut follower = StreamFollower::new(job.log_group, &stream);
    let mut interrupt = Interrupt::listen()?;
    let mut interrupted = false;
    let mut stop_sent_at: Option<Instant> = None;
    let mut timed_out = false;
    let mut stopped_at: Option<Instant> = None;
    let mut last: Option<TaskView> = None;
    let mut last_lines: Vec<String> = Vec::new();
    loop {
        for line in follower.read(clients).await {
            on_line(&line)?;
            last_lines.push(line);
            if last_lines.len() > KEPT_LINES {
                last_lines.remove(0);
            }
        }
        let patience = if interrupted {
            AFTER_INTERRUPT
        } else {
            AFTER_TIMEOUT
        };
        if stop_sent_at.is_some_and(|at| at.elapsed() >= patience) {
            break;
        }
        if let Some(at) = stopped_at {
            // Stopped: read on until the late lines are in (or a few seconds with none).
            if at.elapsed() >= LATE_LINES || (follower.lines > 0 && at.elapsed() >= 2 * POLL) {
                break;
            }
        } else {
            let view = describe(clients, job.cluster, &task_arn).await?;
            if view.last_status == "STOPPED" {
                stopped_at = Some(Instant::now());
            }
            last = Some(view);
            if stopped_at.is_none() && !timed_out && started.elapsed() >= job.timeout {
                timed_out = true;
                stop_sent_at = Some(Instant::now());
                crate::apply::tasks::stop(clients, job.cluster, &task_arn, "timed out (shipit)")
                    .await?;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = interrupt.recv(), if !interrupted && stopped_at.is_none() => {
                interrupted = true;
                stop_sent_at = Some(Instant::now());
                // Stopping the task and reading its last lines takes longer than the grace a
                // signal gives a command; every call in it has its own deadline.
                crate::signals::cleaning_up();
                crate::apply::tasks::stop(clients, job.cluster, &task_arn, "interrupted (shipit)").await?;
            }
        }
    }
    let task = last.context("the task was never described")?;
    let exit_code = task
        .containers
        .iter()
        .find(|c| c.name == job.container)
        .and_then(|c| c.exit_code);
    Ok(OneOffEnd {
        task_arn,
        task_id,
        // A task stopped by shipit reports the code of the kill, not of the command.
        exit_code: exit_code.filter(|_| !timed_out && !interrupted),
        task,
        last_lines,
        line_count: follower.lines,
        interrupted,
        timed_out,
        seconds: started.elapsed().as_secs_f64(),
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
        .map_err(|e| AwsError::from_sdk("ECS", "DescribeTasks", &e))?;
    let task = out
        .tasks()
        .first()
        .with_context(|| format!("task {task_arn} is gone from cluster {cluster}"))?;
    Ok(ecs::task_view(task))
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
