//! `shipit deploy`: push the image, register the task definition, create or update the
//! service, and watch the rollout until ECS really finished, or failed (then say why).

use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;
use serde::Serialize;

use super::push::{
    Preflight, PushArgs, PushInputs, PushResult, image_size_in_ecr, prepare_image, push_stage,
};
use crate::aws::error_chain;
use crate::calls::Clients;
use crate::cli::GlobalArgs;
use crate::config::{LoadedConfig, Names};
use crate::ecs::{self, short_task_definition};
use crate::exit::ExitStatus;
use crate::github::GitHub;
use crate::logs::{self, LogGroupChange};
use crate::printer::Printer;
use crate::rollout::{self, Cause, Rules, Snapshot, Target, Verdict};
use crate::service::ServiceSettings;
use crate::signals::Interrupt;
use crate::taskdef::{TaskDef, diff_lines};

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub push: PushArgs,
    /// Show what would change and change nothing (the same as `shipit plan`).
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Return as soon as ECS accepted the update, without waiting for the rollout.
    #[arg(long)]
    pub no_wait: bool,
    /// Stop waiting after this long (90s, 10m, 1h) and report what is still pending.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Stop waiting when this many new tasks in a row stopped for the same reason.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub fail_after: u16,
}

/// `90s`, `10m`, `1h`, `1h30m`, or plain seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration: write 90s, 10m or 1h");
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().map_err(|_| bad())?;
        number.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            _ => return Err(bad()),
        };
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[derive(Debug, Serialize)]
pub struct TaskDefinitionOutcome {
    pub arn: String,
    /// A new revision was registered (the config or the image changed).
    pub registered: bool,
    /// The image the family's latest revision ran before this one was registered.
    #[serde(skip)]
    pub previous_image: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ServiceOutcome {
    pub arn: String,
    pub created: bool,
    pub updated: bool,
    /// What changed, as `- old` / `+ new` lines.
    pub changes: Vec<String>,
    /// The task definition the service ran before this deploy.
    pub previous_task_definition: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct FailureReport {
    pub summary: String,
    pub cause: Option<Cause>,
    pub fix: Option<String>,
    /// The service runs this task definition again (ECS's circuit breaker or shipit rolled back).
    pub rolled_back_to: Option<String>,
    pub events: Vec<String>,
    pub task: Option<String>,
    pub log_lines: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RolloutOutcome {
    #[serde(flatten)]
    pub verdict: Verdict,
    pub seconds: f64,
    pub timed_out: bool,
    pub interrupted: bool,
}

#[derive(Debug, Serialize)]
pub struct DeployResult {
    pub ok: bool,
    /// deployed, unchanged, accepted (--no-wait), failed, rolled-back, superseded, timed-out,
    /// interrupted.
    pub result: &'static str,
    pub push: PushResult,
    pub cluster_created: bool,
    pub log_group: LogGroupChange,
    pub task_definition: TaskDefinitionOutcome,
    pub service: ServiceOutcome,
    pub deployment_id: Option<String>,
    pub rollout: Option<RolloutOutcome>,
    pub failure: Option<FailureReport>,
    pub seconds: f64,
    pub api_calls: BTreeMap<String, u32>,
}

pub fn now_epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub async fn run(
    args: &DeployArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    if args.dry_run {
        return super::plan::run(&args.push, global, printer).await;
    }
    let loaded = super::load_config(global, printer)?;
    let inputs = PushInputs::resolve(&loaded, &args.push, &global.aws)?;
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let config = &loaded.config;
    let names = &loaded.names;
    let started = Instant::now();
    let since = now_epoch_seconds();

    printer.info(&format!(
        "deploying {} to service {} in cluster {}",
        config.app, names.service, names.cluster
    ));
    let github = GitHub::detect();
    let group = |title: &str| {
        if let Some(gh) = &github {
            gh.group(title);
        }
    };
    let end_group = || {
        if let Some(gh) = &github {
            gh.end_group();
        }
    };
    // The image is read and checked before anything in AWS changes.
    group("read and check the image");
    let prepared = prepare_image(&loaded, &inputs, &args.push, Preflight::Enforce, printer).await?;
    end_group();
    // The push does not depend on the cluster or the log group: all three at once.
    group("push the image; cluster and log group");
    let retention = config.logs.retention_days.map(|d| d as i32);
    let (pushed, cluster_created, log_group) = tokio::try_join!(
        push_stage(
            &loaded, &inputs, &prepared, &aws, &clients, &args.push, printer
        ),
        ecs::ensure_cluster(&clients.ecs, &names.cluster, false),
        logs::ensure_log_group(&clients.logs, &names.log_group, retention, false),
    )?;
    if cluster_created {
        printer.info(&format!("created cluster {}", names.cluster));
    }
    if log_group != LogGroupChange::None {
        printer.info(&format!(
            "log group {}: {}",
            names.log_group,
            describe_log_change(&log_group)
        ));
    }

    end_group();
    group("task definition and service");
    let task_definition =
        ensure_task_definition(&clients, &loaded, &pushed.image, &aws.region()).await?;
    if task_definition.registered {
        printer.info(&format!(
            "registered task definition {}",
            short_task_definition(&task_definition.arn)
        ));
    }
    let (service, deployment_id) = ensure_service(&clients, &loaded, &task_definition.arn).await?;
    end_group();
    let mut pushed = pushed;
    if let Some(previous) = &task_definition.previous_image
        && previous != &pushed.image
    {
        pushed.size_report.deployed_bytes = image_size_in_ecr(&clients, &loaded, previous).await;
    }
    printer.info(&format!("image {}", pushed.size_report.summary()));

    let mut result = DeployResult {
        ok: true,
        result: "deployed",
        push: pushed,
        cluster_created,
        log_group,
        task_definition,
        service,
        deployment_id: deployment_id.clone(),
        rollout: None,
        failure: None,
        seconds: 0.0,
        api_calls: BTreeMap::new(),
    };

    let status = match deployment_id {
        None => {
            result.result = "unchanged";
            ExitStatus::Success
        }
        Some(_) if args.watch.no_wait => {
            result.result = "accepted";
            printer.info(&format!(
                "ECS accepted the update (not waiting: --no-wait); follow it with {}",
                follow_command(names)
            ));
            ExitStatus::Success
        }
        Some(deployment_id) => {
            for change in &result.service.changes {
                printer.info(&format!("  {change}"));
            }
            let target = Target {
                deployment_id,
                task_definition: result.task_definition.arn.clone(),
                previous_task_definition: result.service.previous_task_definition.clone(),
            };
            let rules = Rules {
                fail_after_same_stops: args.watch.fail_after as usize,
            };
            group("rollout");
            let watched = watch(
                &clients,
                names,
                &target,
                &rules,
                &args.watch,
                since,
                printer,
            )
            .await?;
            end_group();
            conclude(&clients, &loaded, &target, &mut result, watched, printer).await?
        }
    };
    result.seconds = started.elapsed().as_secs_f64();
    result.api_calls = clients.calls.counts();
    if let Some(gh) = &github {
        report_to_github(gh, &result, names)?;
    }
    printer.result(&result, &human(&result, names))?;
    Ok(status)
}

/// Step outputs, the step summary, and an error annotation when the deploy failed.
fn report_to_github(gh: &GitHub, result: &DeployResult, names: &Names) -> anyhow::Result<()> {
    gh.outputs(&[
        ("image-uri", result.push.image.clone()),
        ("image-digest", result.push.report.digest.to_string()),
        ("task-definition-arn", result.task_definition.arn.clone()),
        ("service-arn", result.service.arn.clone()),
        (
            "deployment-id",
            result.deployment_id.clone().unwrap_or_default(),
        ),
        ("result", result.result.to_string()),
    ])?;
    let mut md = format!(
        "## shipit deploy: {}\n\n| | |\n|---|---|\n| service | `{}` in cluster `{}` |\n| image | `{}` |\n| task definition | `{}`{} |\n",
        result.result,
        names.service,
        names.cluster,
        result.push.tagged_image,
        short_task_definition(&result.task_definition.arn),
        if result.task_definition.registered {
            " (new revision)"
        } else {
            ""
        }
    );
    if let Some(rollout) = &result.rollout {
        md.push_str(&format!("| rollout | {:.1} s |\n", rollout.seconds));
    }
    if !result.service.changes.is_empty() {
        md.push_str("\n### Changes\n\n```diff\n");
        for change in &result.service.changes {
            md.push_str(change);
            md.push('\n');
        }
        md.push_str("```\n");
    }
    if let Some(failure) = &result.failure {
        md.push_str(&format!("\n### Failure\n\n{}\n", failure.summary));
        if let Some(fix) = &failure.fix {
            md.push_str(&format!("\n**Fix:** {fix}\n"));
        }
        if !failure.events.is_empty() {
            md.push_str("\n**Service events**\n\n");
            for e in &failure.events {
                md.push_str(&format!("- {e}\n"));
            }
        }
        if !failure.log_lines.is_empty() {
            md.push_str(&format!(
                "\n**Last log lines of task {}**\n\n```\n",
                failure.task.as_deref().unwrap_or("?")
            ));
            for line in &failure.log_lines {
                md.push_str(line);
                md.push('\n');
            }
            md.push_str("```\n");
        }
        let mut message = failure.summary.clone();
        if let Some(fix) = &failure.fix {
            message.push_str(&format!("\nfix: {fix}"));
        }
        gh.error("shipit deploy failed", &message);
    }
    gh.summary(&md)?;
    Ok(())
}

/// How to follow the service once shipit stops watching.
fn follow_command(names: &Names) -> String {
    format!(
        "`shipit status --watch` (or `aws ecs describe-services --cluster {} --services {}`)",
        names.cluster, names.service
    )
}

fn describe_log_change(change: &LogGroupChange) -> String {
    match change {
        LogGroupChange::None => "unchanged".to_string(),
        LogGroupChange::Create {
            retention_days: Some(days),
        } => format!("created (events kept {days} days)"),
        LogGroupChange::Create {
            retention_days: None,
        } => "created".to_string(),
        LogGroupChange::Retention { from, to } => format!(
            "retention {} -> {to} days",
            from.map_or("forever".to_string(), |d| d.to_string())
        ),
    }
}

/// Registers a new revision only when it differs from the family's latest ACTIVE one.
pub async fn ensure_task_definition(
    clients: &Clients,
    loaded: &LoadedConfig,
    image: &str,
    region: &str,
) -> anyhow::Result<TaskDefinitionOutcome> {
    let wanted = TaskDef::render(&loaded.config, &loaded.names, image, region);
    let latest = ecs::describe_task_definition(&clients.ecs, &loaded.names.family).await?;
    if let Some(td) = &latest
        && TaskDef::from_ecs(td).as_ref() == Some(&wanted)
    {
        return Ok(TaskDefinitionOutcome {
            arn: td.task_definition_arn().unwrap_or_default().to_string(),
            registered: false,
            previous_image: None,
        });
    }
    let previous_image = latest
        .as_ref()
        .and_then(|td| ecs::container_image(td, &loaded.names.container))
        .map(str::to_string);
    let out =
        wanted.register(&clients.ecs).send().await.map_err(|e| {
            anyhow::anyhow!("ECS RegisterTaskDefinition failed: {}", error_chain(&e))
        })?;
    let arn = out
        .task_definition()
        .and_then(|td| td.task_definition_arn())
        .context("RegisterTaskDefinition answered without an ARN")?;
    Ok(TaskDefinitionOutcome {
        arn: arn.to_string(),
        registered: true,
        previous_image,
    })
}

/// Creates the service, or updates it when something differs. Returns the outcome and the
/// deployment to watch (None when nothing changed).
async fn ensure_service(
    clients: &Clients,
    loaded: &LoadedConfig,
    task_definition: &str,
) -> anyhow::Result<(ServiceOutcome, Option<String>)> {
    let names = &loaded.names;
    let wanted = ServiceSettings::render(&loaded.config, names);
    let existing = ecs::describe_service(&clients.ecs, &names.cluster, &names.service).await?;
    let primary = |service: Option<&aws_sdk_ecs::types::Service>| {
        service.and_then(ecs::primary_deployment_id)
    };
    let Some(current) = existing else {
        let lbs = wanted.load_balancers();
        let out = clients
            .ecs
            .create_service()
            .cluster(&names.cluster)
            .service_name(&names.service)
            .task_definition(task_definition)
            .desired_count(wanted.desired_count)
            .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
            .network_configuration(wanted.network())
            .deployment_configuration(wanted.deployment_configuration())
            .set_health_check_grace_period_seconds(wanted.health_check_grace_period)
            .set_load_balancers((!lbs.is_empty()).then_some(lbs))
            .tags(ecs::managed_by_shipit())
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "ECS CreateService `{}` failed: {}",
                    names.service,
                    error_chain(&e)
                )
            })?;
        let service = out.service();
        let outcome = ServiceOutcome {
            arn: service
                .and_then(|s| s.service_arn())
                .unwrap_or_default()
                .to_string(),
            created: true,
            updated: false,
            changes: wanted
                .lines()
                .into_iter()
                .map(|l| format!("+ {l}"))
                .collect(),
            previous_task_definition: None,
        };
        return Ok((outcome, primary(service)));
    };

    let have = ServiceSettings::from_ecs(&current, &wanted.container_name, wanted.container_port);
    let previous = current.task_definition().map(str::to_string);
    let mut changes = diff_lines(&have.lines(), &wanted.lines());
    let new_task_definition = previous.as_deref() != Some(task_definition);
    if new_task_definition {
        changes.push(format!(
            "task definition {} -> {}",
            previous.as_deref().map_or("none", short_task_definition),
            short_task_definition(task_definition)
        ));
    }
    let arn = current.service_arn().unwrap_or_default().to_string();
    if changes.is_empty() {
        return Ok((
            ServiceOutcome {
                arn,
                created: false,
                updated: false,
                changes,
                previous_task_definition: previous,
            },
            None,
        ));
    }
    let lbs = wanted.load_balancers();
    let out = clients
        .ecs
        .update_service()
        .cluster(&names.cluster)
        .service(&names.service)
        .task_definition(task_definition)
        .desired_count(wanted.desired_count)
        .network_configuration(wanted.network())
        .deployment_configuration(wanted.deployment_configuration())
        .set_health_check_grace_period_seconds(wanted.health_check_grace_period)
        .set_load_balancers((!lbs.is_empty()).then_some(lbs))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "ECS UpdateService `{}` failed: {}",
                names.service,
                error_chain(&e)
            )
        })?;
    Ok((
        ServiceOutcome {
            arn,
            created: false,
            updated: true,
            changes,
            previous_task_definition: previous,
        },
        primary(out.service()),
    ))
}

pub struct Watched {
    pub verdict: Verdict,
    pub last: Option<Snapshot>,
    pub seconds: f64,
    pub timed_out: bool,
    pub interrupted: bool,
}

/// Polls ECS until the verdict is final, the timeout passes or the user interrupts. Polls
/// every second at first, then every two: a finished rollout is noticed within 2 s.
pub async fn watch(
    clients: &Clients,
    names: &Names,
    target: &Target,
    rules: &Rules,
    args: &WatchArgs,
    since: f64,
    printer: &Printer,
) -> anyhow::Result<Watched> {
    let started = Instant::now();
    let mut last: Option<Snapshot> = None;
    let mut polls = 0u32;
    let mut interrupt = Interrupt::listen()?;
    printer.info(&format!(
        "waiting for the rollout of {} (timeout {}s)",
        short_task_definition(&target.task_definition),
        args.timeout.as_secs()
    ));
    loop {
        let snapshot = ecs::snapshot(&clients.ecs, &names.cluster, &names.service, since).await?;
        for line in rollout::changes(last.as_ref(), &snapshot, target) {
            printer.info(&format!("  {line}"));
        }
        let verdict = rollout::evaluate(&snapshot, target, rules);
        last = Some(snapshot);
        let seconds = started.elapsed().as_secs_f64();
        if verdict.is_final() {
            return Ok(Watched {
                verdict,
                last,
                seconds,
                timed_out: false,
                interrupted: false,
            });
        }
        if started.elapsed() >= args.timeout {
            return Ok(Watched {
                verdict,
                last,
                seconds,
                timed_out: true,
                interrupted: false,
            });
        }
        polls += 1;
        let pause = if polls < 30 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(2)
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = interrupt.recv() => {
                return Ok(Watched { verdict, last, seconds, timed_out: false, interrupted: true });
            }
        }
    }
}

/// Turns the watch's outcome into the result: records a success for rollback, rolls back a
/// fail-fast failure when the config asks for rollback, and gathers the failure report.
async fn conclude(
    clients: &Clients,
    loaded: &LoadedConfig,
    target: &Target,
    result: &mut DeployResult,
    watched: Watched,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let names = &loaded.names;
    let Watched {
        verdict,
        last,
        seconds,
        timed_out,
        interrupted,
    } = watched;
    let mut status = ExitStatus::Failure;
    let mut failure = None;
    match &verdict {
        Verdict::Succeeded { .. } => {
            status = ExitStatus::Success;
            result.result = "deployed";
            // Rollback returns to what ran before this deploy.
            let previous = target
                .previous_task_definition
                .as_deref()
                .filter(|p| *p != target.task_definition);
            if let Err(err) = ecs::record_deploy(
                &clients.ecs,
                &result.service.arn,
                &target.task_definition,
                previous,
            )
            .await
            {
                printer.info(&format!(
                    "warning: could not record the deploy for rollback: {err:#}"
                ));
            }
        }
        _ if interrupted => {
            status = ExitStatus::Interrupted;
            result.result = "interrupted";
            failure = Some(FailureReport {
                summary: format!(
                    "stopped watching; the deployment goes on in ECS: follow it with {}",
                    follow_command(names)
                ),
                cause: None,
                fix: None,
                rolled_back_to: None,
                events: Vec::new(),
                task: None,
                log_lines: Vec::new(),
            });
        }
        Verdict::InProgress { counts } => {
            result.result = "timed-out";
            let cause = (counts.pending > 0 && counts.running < counts.desired)
                .then_some(Cause::StuckPending);
            failure = Some(
                report(
                    clients,
                    loaded,
                    last.as_ref(),
                    format!(
                        "timed out after {:.0}s with {}/{} tasks running, {} pending; the deployment goes on in ECS",
                        seconds, counts.running, counts.desired, counts.pending
                    ),
                    cause,
                    Vec::new(),
                    None,
                )
                .await,
            );
        }
        Verdict::Failed {
            cause,
            ecs_reason,
            tasks,
        } => {
            result.result = "failed";
            let mut rolled_back_to = None;
            // shipit stopped waiting before ECS's own breaker: roll back as the config asks.
            let rollback = loaded.config.service.circuit_breaker.rollback;
            if ecs_reason.is_none()
                && rollback
                && let Some(previous) = target
                    .previous_task_definition
                    .as_deref()
                    .filter(|p| *p != target.task_definition)
            {
                clients
                    .ecs
                    .update_service()
                    .cluster(&names.cluster)
                    .service(&names.service)
                    .task_definition(previous)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "rolling back failed: ECS UpdateService: {}",
                            error_chain(&e)
                        )
                    })?;
                rolled_back_to = Some(previous.to_string());
                result.result = "rolled-back";
            }
            let mut summary = format!("deploy failed: {}", cause.describe());
            if let Some(reason) = ecs_reason {
                summary.push_str(&format!(" ({reason})"));
            }
            failure = Some(
                report(
                    clients,
                    loaded,
                    last.as_ref(),
                    summary,
                    Some(cause.clone()),
                    tasks.clone(),
                    rolled_back_to,
                )
                .await,
            );
        }
        Verdict::RolledBack {
            to_task_definition,
            ecs_reason,
            cause,
        } => {
            result.result = "rolled-back";
            let summary = format!(
                "deploy failed{}; ECS rolled the service back to {}{}",
                cause
                    .as_ref()
                    .map(|c| format!(": {}", c.describe()))
                    .unwrap_or_default(),
                short_task_definition(to_task_definition),
                ecs_reason
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default()
            );
            failure = Some(
                report(
                    clients,
                    loaded,
                    last.as_ref(),
                    summary,
                    cause.clone(),
                    Vec::new(),
                    Some(to_task_definition.clone()),
                )
                .await,
            );
        }
        Verdict::Superseded { by_task_definition } => {
            result.result = "superseded";
            failure = Some(FailureReport {
                summary: format!(
                    "another deployment (of {}) superseded this one before it finished",
                    short_task_definition(by_task_definition)
                ),
                cause: None,
                fix: Some(format!(
                    "someone else deployed the service meanwhile; see what runs now with {}",
                    follow_command(names)
                )),
                rolled_back_to: None,
                events: Vec::new(),
                task: None,
                log_lines: Vec::new(),
            });
        }
    }
    result.ok = status == ExitStatus::Success;
    result.rollout = Some(RolloutOutcome {
        verdict,
        seconds,
        timed_out,
        interrupted,
    });
    result.failure = failure;
    Ok(status)
}

/// The failure report: the cause and its fix, the new service events, and the last log lines
/// of a failing container.
async fn report(
    clients: &Clients,
    loaded: &LoadedConfig,
    last: Option<&Snapshot>,
    summary: String,
    cause: Option<Cause>,
    failed_tasks: Vec<String>,
    rolled_back_to: Option<String>,
) -> FailureReport {
    let names = &loaded.names;
    let events: Vec<String> = last
        .map(|s| {
            s.events
                .iter()
                .take(10)
                .map(|e| e.message.clone())
                .collect()
        })
        .unwrap_or_default();
    // The task to read logs from: one that failed for the cause, else the newest stopped one.
    let task = failed_tasks.first().cloned().or_else(|| {
        last.and_then(|s| {
            s.tasks
                .iter()
                .filter(|t| t.last_status == "STOPPED")
                .max_by(|a, b| {
                    a.stopped_at
                        .unwrap_or_default()
                        .total_cmp(&b.stopped_at.unwrap_or_default())
                })
                .map(|t| t.id().to_string())
        })
    });
    let log_lines = match &task {
        Some(task_id) => {
            let stream =
                logs::stream_name(&loaded.config.logs.stream_prefix, &names.container, task_id);
            logs::last_lines(&clients.logs, &names.log_group, &stream, 20)
                .await
                .unwrap_or_else(|err| vec![format!("(could not read the logs: {err:#})")])
        }
        None => Vec::new(),
    };
    FailureReport {
        summary,
        fix: cause.as_ref().map(|c| c.fix().to_string()),
        cause,
        rolled_back_to,
        events,
        task,
        log_lines,
    }
}

fn human(result: &DeployResult, names: &Names) -> String {
    let td = short_task_definition(&result.task_definition.arn);
    let mut out = String::new();
    match result.result {
        "unchanged" => out.push_str(&format!(
            "nothing to deploy: service {} already runs {td} with these settings\n",
            names.service
        )),
        "accepted" => out.push_str(&format!(
            "ECS accepted {td} for service {}; the rollout goes on (--no-wait)\n",
            names.service
        )),
        "deployed" => out.push_str(&format!(
            "deployed {} to service {} in cluster {}: {td} is running ({:.1}s)\n",
            result.push.tagged_image, names.service, names.cluster, result.seconds
        )),
        _ => {}
    }
    if let Some(f) = &result.failure {
        out.push_str(&format!("{}\n", f.summary));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("  fix: {fix}\n"));
        }
        if let Some(back) = &f.rolled_back_to {
            out.push_str(&format!(
                "  the service is back on {}\n",
                short_task_definition(back)
            ));
        }
        if !f.events.is_empty() {
            out.push_str("  service events:\n");
            for e in &f.events {
                out.push_str(&format!("    {e}\n"));
            }
        }
        if let Some(task) = &f.task {
            if f.log_lines.is_empty() {
                out.push_str(&format!("  task {task} wrote no log lines\n"));
            } else {
                out.push_str(&format!("  last log lines of task {task}:\n"));
                for line in &f.log_lines {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
