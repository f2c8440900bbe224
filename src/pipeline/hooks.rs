//! The before-deploy hooks stage: each hook of the plan runs as a one-off task of the new
//! revision (in the service's subnets and security groups), its output streamed as progress.
//! The first that does not exit 0 stops the deploy before the service is touched, with its
//! output in the failure report.

use serde::Serialize;

use super::{DeployResult, FailureReport, Outcome};
use crate::ecs::short_task_definition;
use crate::one_off::{self, OneOff};
use crate::plan::{Plan, PlannedHook};
use crate::session::Session;

#[derive(Debug, Default, Serialize)]
pub struct HooksOutcome {
    /// `--skip-hooks` skipped hooks that would have run.
    pub skipped: bool,
    pub ran: Vec<HookRun>,
}

#[derive(Debug, Serialize)]
pub struct HookRun {
    pub command: Vec<String>,
    pub container: String,
    pub task: String,
    /// None when the command never ran, or was stopped (timeout, Ctrl-C).
    pub exit_code: Option<i32>,
    pub ok: bool,
    pub seconds: f64,
}

/// Runs the plan's hooks in order. Returns true when one failed (or was interrupted): then
/// `result` says so and carries the failure report, and the deploy stops there.
pub async fn run_all(
    session: &Session,
    plan: &Plan,
    task_definition: &str,
    result: &mut DeployResult,
) -> anyhow::Result<bool> {
    let printer = &session.printer;
    let group = |title: Option<&str>| session.group(title);
    let loaded = &session.loaded;
    let names = &loaded.names;
    for hook in &plan.hooks {
        let shown = hook.command.join(" ");
        group(Some(&format!("before-deploy hook: {shown}")));
        let job = OneOff {
            cluster: &names.cluster,
            task_definition,
            container: &hook.container,
            command: &hook.command,
            network: plan.service.wanted.network(),
            started_by: "shipit-hook",
            log_group: &names.log_group,
            stream_prefix: &loaded.config.logs.stream_prefix,
            timeout: std::time::Duration::from_secs(hook.timeout_seconds),
            volumes: crate::plan::storage::run_task_volume_configurations(&loaded.config.task),
        };
        let end = one_off::run(
            &session.clients,
            &job,
            &mut |task_id| {
                printer.info(&format!(
                    "before-deploy hook: running `{shown}` in task {task_id} ({})",
                    short_task_definition(task_definition)
                ))
            },
            &mut |line| {
                printer.info(&format!("  | {line}"));
                Ok(())
            },
        )
        .await?;
        group(None);
        result.hooks.ran.push(HookRun {
            command: hook.command.clone(),
            container: hook.container.clone(),
            task: end.task_id.clone(),
            exit_code: end.exit_code,
            ok: end.succeeded(),
            seconds: end.seconds,
        });
        if end.succeeded() {
            printer.info(&format!(
                "before-deploy hook `{shown}` exited 0 ({:.1}s)",
                end.seconds
            ));
            continue;
        }
        result.result = if end.interrupted {
            Outcome::Interrupted
        } else {
            Outcome::HookFailed
        };
        result.failure = Some(failure(
            hook,
            &end,
            result.service.previous_task_definition.as_deref(),
        ));
        return Ok(true);
    }
    Ok(false)
}

/// The report of a hook that did not exit 0: what happened, that the service is untouched,
/// and the hook's last lines.
fn failure(hook: &PlannedHook, end: &one_off::OneOffEnd, running: Option<&str>) -> FailureReport {
    let shown = hook.command.join(" ");
    let untouched = match running {
        Some(td) => format!(
            "the service was not updated: it still runs {}",
            short_task_definition(td)
        ),
        None => "the service was not created".to_string(),
    };
    let (what, fix) = if end.interrupted {
        (
            format!(
                "interrupted during before-deploy hook `{shown}`: task {} was stopped",
                end.task_id
            ),
            "run the deploy again: the hook runs again before the service is updated".to_string(),
        )
    } else if end.timed_out {
        (
            format!(
                "before-deploy hook `{shown}` did not finish within {}s; task {} was stopped",
                hook.timeout_seconds, end.task_id
            ),
            "raise the hook's `timeout`, or find what it waits for in its output below".to_string(),
        )
    } else if let Some(code) = end.exit_code {
        (
            format!("before-deploy hook `{shown}` exited with code {code}"),
            "its output is below: fix what it reports and deploy again, or deploy with --skip-hooks to go on without it".to_string(),
        )
    } else {
        let (cause, fix) = end
            .never_ran()
            .unwrap_or_else(|| ("it stopped".to_string(), String::new()));
        (
            format!("before-deploy hook `{shown}` never ran: {cause}"),
            fix,
        )
    };
    FailureReport {
        summary: format!("deploy stopped: {what}; {untouched}"),
        cause: None,
        fix: Some(fix),
        rolled_back_to: None,
        events: Vec::new(),
        task: Some(end.task_id.clone()),
        containers: Vec::new(),
        log_lines: end.last_lines.clone(),
    }
}
