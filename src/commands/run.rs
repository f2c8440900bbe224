//! `shipit run -- COMMAND...`: one task of the service's task definition, with COMMAND in place
//! of the container's command (a migration, a shell one-liner), in the service's subnets and
//! security groups. Its log lines stream as they arrive; shipit exits with the container's exit
//! code. A task that never started exits 1 with ECS's reason and what to try; Ctrl-C stops the
//! task (StopTask) and says so.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::ecs::{self, short_task_definition};
use crate::exit::{BadInput, ExitStatus};
use crate::one_off::{self, OneOff};
use crate::plan::service::ServiceSettings;
use crate::printer::Printer;
use crate::session::Session;

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The container to run the command in (default: the app container).
    #[arg(long)]
    pub container: Option<String>,
    /// Give up (and stop the task) after this long: 90s, 10m, 1h.
    #[arg(long, default_value = "1h", value_parser = crate::clock::parse_duration)]
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

pub async fn run(
    args: &RunArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let container = container_of(&loaded, args)?;
    crate::one_off::check_overrides(&container, &args.command)?;
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let (loaded, clients) = (&session.loaded, &session.clients);
    let names = &loaded.names;
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
    let network = ServiceSettings::render(&loaded.config, names, &session.aws.region()).network();
    let job = OneOff {
        cluster: &names.cluster,
        task_definition: &task_definition,
        container: &container,
        command: &args.command,
        network,
        started_by: "shipit-run",
        log_group: &names.log_group,
        stream_prefix: &loaded.config.logs.stream_prefix,
        timeout: args.timeout,
        volumes: crate::plan::storage::run_task_volume_configurations(&loaded.config.task),
    };
    let end = one_off::run(
        clients,
        &job,
        &mut |task_id| {
            printer.info(&format!(
                "running `{}` in task {task_id} ({}, container {container})",
                args.command.join(" "),
                short_task_definition(&task_definition)
            ))
        },
        &mut |line| printer.raw(&format!("{line}\n")),
    )
    .await?;
    let task_id = &end.task_id;
    if end.interrupted {
        printer.warn(&format!("interrupted: stopped task {task_id} (StopTask)"));
    }
    if end.timed_out {
        printer.warn(&format!(
            "timed out after {}s: stopped task {task_id}",
            args.timeout.as_secs()
        ));
        bail!(
            "the task did not finish within {}s; it was stopped",
            args.timeout.as_secs()
        );
    }
    let exit_code = end.exit_code;
    let (cause, fix) = end.never_ran().unzip();
    let result = RunResult {
        ok: end.succeeded(),
        task_arn: end.task_arn.clone(),
        task_definition,
        container,
        command: args.command.clone(),
        exit_code,
        stopped_reason: end.task.stopped_reason.clone(),
        cause: cause.clone(),
        fix: fix.clone(),
        log_lines: end.line_count,
        seconds: started.elapsed().as_secs_f64(),
        interrupted: end.interrupted,
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
    Ok(if end.interrupted {
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

/// The container to run the command in: `--container`, else the service's own; one the task
/// definition does not have is bad input.
fn container_of(loaded: &crate::config::LoadedConfig, args: &RunArgs) -> Result<String, BadInput> {
    let names = &loaded.names;
    let container = args
        .container
        .clone()
        .unwrap_or_else(|| names.container.clone());
    let known: Vec<String> = loaded
        .config
        .container_specs(&names.container)
        .into_iter()
        .map(|c| c.name)
        .collect();
    if !known.contains(&container) {
        return Err(BadInput::new(format!(
            "--container {container}: the task definition's containers are {}",
            known
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(container)
}
