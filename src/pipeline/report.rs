//! The report stage: turns the watch's end into the deploy's outcome (recording a success for
//! `rollback`, rolling back a fail-fast failure when the config asks for it) and gathers the
//! failure report: the cause and its fix, the service's events, the failing container's last
//! log lines.

use super::watch::{WatchEnd, follow_command};
use super::{FailureReport, Outcome, RolloutOutcome};
use crate::aws::calls::Clients;
use crate::config::LoadedConfig;
use crate::ecs::short_task_definition;
use crate::logs;
use crate::plan::ServicePlan;
use crate::plan::rollback::RollbackPlan;
use crate::rollout::{Cause, Snapshot, Target, Verdict};
use crate::session::Session;

/// How long the failure report waits for a stopped task's last log lines to arrive.
const LOG_SETTLE_SECONDS: u64 = 10;

/// How a watched rollout ended, as the result says it.
pub struct Concluded {
    pub result: Outcome,
    pub rollout: RolloutOutcome,
    pub failure: Option<FailureReport>,
}

/// What a deploy writes once its rollout ends: the plan it applied and the service's ARN.
/// `shipit wait` watches without one and writes nothing.
pub struct DeployWrites<'a> {
    pub service: &'a ServicePlan,
    pub service_arn: &'a str,
}

/// Turns the watch's outcome into the result. With `writes` (a deploy): records a success for
/// rollback, finishes a strategy switch, and rolls back a fail-fast failure when the config
/// asks for rollback. Always: gathers the failure report.
pub async fn conclude(
    session: &Session,
    writes: Option<DeployWrites<'_>>,
    target: &Target,
    watched: WatchEnd,
    wait: bool,
) -> anyhow::Result<Concluded> {
    let mut outcome;
    let printer = &session.printer;
    let clients = &session.clients;
    let loaded = &session.loaded;
    let names = &loaded.names;
    let WatchEnd {
        verdict,
        last,
        seconds,
        timed_out,
        interrupted,
        polls,
        ..
    } = watched;
    let mut failure = None;
    match &verdict {
        Verdict::Succeeded { .. } => {
            let Some(DeployWrites {
                service,
                service_arn,
            }) = writes
            else {
                return Ok(Concluded {
                    result: Outcome::Deployed,
                    rollout: RolloutOutcome {
                        verdict,
                        seconds,
                        polls,
                        timed_out,
                        interrupted,
                    },
                    failure: None,
                });
            };
            // A switch from rolling finishes after its rollout: the strategy alone.
            let switched = if service.switches_strategy_after_rollout() {
                crate::apply::switch_strategy(clients, service)
                    .await
                    .map(|()| {
                        printer.info(&format!(
                            "  the deployment strategy is now {}: the next deploy uses it",
                            service.wanted.deployment.strategy
                        ));
                    })
            } else {
                Ok(())
            };
            match switched {
                Ok(()) => {
                    outcome = Outcome::Deployed;
                    if let Err(err) =
                        crate::apply::record(clients, service, service_arn, &target.task_definition)
                            .await
                    {
                        printer.info(&format!(
                            "warning: could not record the deploy for rollback: {err:#}"
                        ));
                    }
                }
                Err(err) => {
                    outcome = Outcome::Failed;
                    failure = Some(FailureReport::without_evidence(
                        format!(
                            "the rollout succeeded, but switching the deployment strategy did not: {err:#}"
                        ),
                        Some("run `shipit deploy` again: it switches the strategy alone, with no new rollout".into()),
                    ));
                }
            }
        }
        // Not recorded for rollback: the deployment may still roll back after the stage.
        Verdict::StageReached { .. } => outcome = Outcome::StageReached,
        _ if interrupted => {
            outcome = Outcome::Interrupted;
            failure = Some(FailureReport::without_evidence(
                format!(
                    "stopped watching; the deployment goes on in ECS: follow it with {}",
                    follow_command(names)
                ),
                None,
            ));
        }
        Verdict::InProgress { .. } if !wait => {
            outcome = Outcome::Accepted;
            printer.info(&format!(
                "the deployment of {} is still under way (not waiting: --no-wait); follow it with {}",
                short_task_definition(&target.task_definition),
                follow_command(names)
            ));
        }
        Verdict::InProgress { counts } => {
            outcome = Outcome::TimedOut;
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
            outcome = Outcome::Failed;
            let mut rolled_back_to = None;
            let mut not_rolled_back = None;
            // shipit stopped waiting before ECS's own breaker: a deploy rolls back as the
            // config asks (`shipit wait` changes nothing).
            let rollback = loaded.config.service.circuit_breaker.rollback && writes.is_some();
            if ecs_reason.is_none()
                && rollback
                && let Some(previous) = target
                    .previous_task_definition
                    .as_deref()
                    .filter(|p| *p != target.task_definition)
            {
                let strategy = loaded.config.service.deployment.strategy;
                let plan = match &target.service_deployment_arn {
                    // Blue/green, linear, canary: ECS moves the traffic back itself, to the
                    // old revision that still runs; a new UpdateService would start another
                    // traffic-shifting deployment.
                    Some(arn) if strategy.shifts_traffic() => RollbackPlan::StopDeployment {
                        service_deployment_arn: arn.clone(),
                        strategy: strategy.to_string().to_ascii_uppercase(),
                        stage: None,
                    },
                    _ => RollbackPlan::Revision {
                        cluster: names.cluster.clone(),
                        service: names.service.clone(),
                        from: target.task_definition.clone(),
                        to: previous.to_string(),
                    },
                };
                // A revision to go back to must be able to run (its images still in ECR and
                // not archived, the revision ACTIVE); else the service stays where it is and
                // the report says why. ECS's own rollback needs no revision of ours.
                let cannot_run = match &plan {
                    RollbackPlan::Revision { to, .. } => {
                        super::runnable::problems(clients, &names.repository, to).await?
                    }
                    RollbackPlan::StopDeployment { .. } => Vec::new(),
                };
                if cannot_run.is_empty() {
                    crate::apply::rollback::apply(clients, &plan)
                        .await
                        .map_err(|e| e.context("rolling back failed"))?;
                    rolled_back_to = Some(previous.to_string());
                    outcome = Outcome::RolledBack;
                } else {
                    not_rolled_back = Some(format!(
                        "; not rolled back, since {} cannot run: {}",
                        short_task_definition(previous),
                        cannot_run.join("; ")
                    ));
                }
            }
            let mut summary = format!("deploy failed: {}", cause.describe());
            if let Some(reason) = ecs_reason {
                summary.push_str(&format!(" ({reason})"));
            }
            if let Some(why) = not_rolled_back {
                summary.push_str(&why);
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
            outcome = Outcome::RolledBack;
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
            outcome = Outcome::Superseded;
            failure = Some(FailureReport::without_evidence(
                format!(
                    "another deployment (of {}) superseded this one before it finished",
                    short_task_definition(by_task_definition)
                ),
                Some(format!(
                    "someone else deployed the service meanwhile; see what runs now with {}",
                    follow_command(names)
                )),
            ));
        }
    }
    Ok(Concluded {
        result: outcome,
        rollout: RolloutOutcome {
            verdict,
            seconds,
            polls,
            timed_out,
            interrupted,
        },
        failure,
    })
}

/// The failure report: the cause and its fix, the new service events, and the last log lines
/// of a failing container.
pub async fn report(
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
    // The container that failed (a sidecar, maybe), else the app's.
    let container = match &cause {
        Some(Cause::ContainerExited { container, .. } | Cause::OutOfMemory { container }) => {
            container.as_str()
        }
        _ => names.container.as_str(),
    };
    let log_lines = match &task {
        Some(task_id) => {
            let stream = logs::stream_name(&loaded.config.logs.stream_prefix, container, task_id);
            // The awslogs driver publishes every 5 s: a task that just stopped may have lines
            // still on their way. Read again for up to 10 s while there are none.
            let mut waited = 0;
            loop {
                match logs::last_lines(&clients.logs, &names.log_group, &stream, 20).await {
                    Ok(lines) if lines.is_empty() && waited < LOG_SETTLE_SECONDS => {
                        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                        waited += 2;
                    }
                    Ok(lines) => break lines,
                    Err(err) => break vec![format!("(could not read the logs: {err:#})")],
                }
            }
        }
        None => Vec::new(),
    };
    // A task with sidecars: how each of its containers ended.
    let containers = task
        .as_ref()
        .and_then(|id| last?.tasks.iter().find(|t| t.id() == id))
        .filter(|t| t.containers.len() > 1)
        .map(|t| {
            t.containers
                .iter()
                .map(|c| match c.exit_code {
                    Some(code) => format!("{} exited with code {code}", c.name),
                    None => format!("{} did not exit", c.name),
                })
                .collect()
        })
        .unwrap_or_default();
    FailureReport {
        summary,
        fix: cause.as_ref().map(|c| c.fix().to_string()),
        cause,
        rolled_back_to,
        events,
        task,
        containers,
        log_lines,
    }
}
