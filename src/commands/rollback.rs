//! `shipit rollback`: during a blue/green, linear or canary deployment, stop it with a rollback
//! (StopServiceDeployment) and wait until ECS has put the old revision back; otherwise put the
//! service back on the task definition it ran before the last successful deploy (as shipit
//! recorded it on the service), and wait like deploy. Either way the rollback is planned first
//! (`plan::rollback`): `--dry-run` shows the plan, and the executor applies it.

use std::time::Instant;

use anyhow::bail;
use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use super::deploy::WatchArgs;
use crate::aws::calls::Clients;
use crate::ecs::{self, TAG_PREVIOUS, short_task_definition, tag_value};
use crate::exit::ExitStatus;
use crate::pipeline::watch::watch;
use crate::plan::rollback::RollbackPlan;
use crate::printer::Printer;
use crate::rollout::{Rules, ServiceDeploymentView, Target, Verdict};
use crate::session::Session;

#[derive(Debug, Clone, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub watch: WatchArgs,
    /// Show where the rollback would take the service (and the call it takes), and change
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Roll back to the recorded revision even when it cannot run (an image gone or archived,
    /// the revision deregistered).
    #[arg(long)]
    pub force: bool,
}

/// A revision the rollback passed over, and why it cannot run.
#[derive(Debug, Serialize)]
struct PassedOver {
    task_definition: String,
    problems: Vec<String>,
}

/// How many earlier revisions a rollback checks when the recorded one cannot run.
const OLDER_REVISIONS_CHECKED: usize = 5;

/// `--dry-run`'s answer.
#[derive(Debug, Serialize)]
struct RollbackDryRun<'a> {
    ok: bool,
    dry_run: bool,
    call: &'static str,
    plan: &'a RollbackPlan,
    /// Revisions that cannot run, passed over on the way to `plan`'s.
    passed_over: &'a [PassedOver],
}

#[derive(Debug, Serialize)]
struct RollbackResult {
    ok: bool,
    from: String,
    to: String,
    verdict: Option<Verdict>,
    seconds: f64,
}

pub async fn run(
    rollback: &RollbackArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (mut members, _) = super::load_fleet(global, printer)?;
    if let [member] = members.as_slice() {
        return rollback_one(rollback, global, member.loaded.clone(), printer).await;
    }
    // A fleet goes back in the reverse of its order: later waves first, and a service before
    // those it depends on.
    let steps = crate::fleet::steps(&members);
    let mut ordered: Vec<(usize, crate::config::FleetMember)> =
        steps.into_iter().zip(members.drain(..)).collect();
    ordered.sort_by_key(|(step, _)| std::cmp::Reverse(*step));
    let members: Vec<crate::config::FleetMember> = ordered.into_iter().map(|(_, m)| m).collect();
    super::for_each_member(&members, printer, |loaded, printer| async move {
        rollback_one(rollback, global, loaded, &printer).await
    })
    .await
}

async fn rollback_one(
    rollback: &RollbackArgs,
    global: &GlobalArgs,
    loaded: crate::config::LoadedConfig,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let args = &rollback.watch;
    args.check_stage(loaded.config.service.deployment.strategy)?;
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let clients = &session.clients;
    let names = &session.loaded.names;
    let started = Instant::now();
    let since = crate::clock::now_epoch_seconds();

    let Some(service) = ecs::describe_service(&clients.ecs, &names.cluster, &names.service).await?
    else {
        bail!(
            "service {} does not exist in cluster {}: there is nothing to roll back",
            names.service,
            names.cluster
        );
    };
    let shifting = traffic_shift_under_way(clients, &service).await;
    let current = service.task_definition().unwrap_or_default().to_string();
    let plan = match &shifting {
        Some(sd) => RollbackPlan::StopDeployment {
            service_deployment_arn: sd.arn.clone(),
            strategy: sd.strategy.clone().unwrap_or_else(|| "ROLLING".to_string()),
            stage: sd.lifecycle_stage.clone(),
        },
        None => RollbackPlan::to_recorded_revision(
            &names.cluster,
            &names.service,
            &current,
            tag_value(&service, TAG_PREVIOUS).as_deref(),
        )
        .map_err(anyhow::Error::msg)?,
    };
    // A revision to go back to must be able to run: checked before anything changes.
    let mut passed_over = Vec::new();
    let plan = match plan {
        RollbackPlan::Revision {
            cluster,
            service: service_name,
            from,
            to,
        } if !rollback.force => {
            let to = runnable_target(&session, &to, &from, &mut passed_over).await?;
            RollbackPlan::Revision {
                cluster,
                service: service_name,
                from,
                to,
            }
        }
        other => other,
    };
    for skipped in &passed_over {
        printer.warn(&format!(
            "{} cannot run: {}",
            short_task_definition(&skipped.task_definition),
            skipped.problems.join("; ")
        ));
    }
    if rollback.dry_run {
        let shown = RollbackDryRun {
            ok: true,
            dry_run: true,
            call: plan.call(),
            plan: &plan,
            passed_over: &passed_over,
        };
        printer.result(
            &shown,
            &format!(
                "shipit rollback would {} ({}); nothing changed (--dry-run)\n",
                plan.describe(),
                plan.call()
            ),
        )?;
        return Ok(ExitStatus::Success);
    }
    if let Some(sd) = shifting {
        return stop_traffic_shift(clients, &plan, sd, args, printer, started).await;
    }
    let RollbackPlan::Revision { to: previous, .. } = &plan else {
        unreachable!("a rollback without a traffic shift under way goes to a revision")
    };
    let previous = previous.clone();
    printer.info(&format!(
        "rolling back service {}: {} -> {}",
        names.service,
        short_task_definition(&current),
        short_task_definition(&previous)
    ));
    let applied = crate::apply::rollback::apply(clients, &plan).await?;
    let deployment_id = applied
        .deployment_id
        .expect("a rollback to a revision names its deployment");
    let service_deployment_arn = applied.service_deployment_arn;

    let mut result = RollbackResult {
        ok: true,
        from: current.clone(),
        to: previous.clone(),
        verdict: None,
        seconds: 0.0,
    };
    let mut status = ExitStatus::Success;
    if !args.no_wait {
        let target = Target {
            deployment_id,
            task_definition: previous.clone(),
            previous_task_definition: Some(current.clone()),
            service_deployment_arn,
        };
        let rules = Rules {
            fail_after_same_stops: args.fail_after as usize,
        };
        let watched = watch(
            clients,
            names,
            &target,
            &rules,
            &args.wait_until,
            args.timeout,
            since,
            printer,
        )
        .await?;
        if let Verdict::Succeeded { .. } = watched.verdict {
            // The next rollback goes back again: the two swap.
            crate::apply::rollback::record(
                clients,
                service.service_arn().unwrap_or_default(),
                &plan,
            )
            .await?;
        } else {
            status = if watched.interrupted {
                ExitStatus::Interrupted
            } else {
                ExitStatus::Failure
            };
        }
        result.verdict = Some(watched.verdict);
    }
    result.ok = status == ExitStatus::Success;
    result.seconds = started.elapsed().as_secs_f64();
    let human = match (&result.verdict, status) {
        (_, ExitStatus::Success) if args.no_wait => format!(
            "ECS accepted the rollback to {}; it goes on (--no-wait)\n",
            short_task_definition(&previous)
        ),
        (_, ExitStatus::Success) => format!(
            "rolled back service {} to {} ({:.1}s)\n",
            names.service,
            short_task_definition(&previous),
            result.seconds
        ),
        (verdict, _) => format!(
            "the rollback to {} did not finish: {verdict:?}\n",
            short_task_definition(&previous)
        ),
    };
    printer.result(&result, &human)?;
    Ok(status)
}

#[derive(Debug, Serialize)]
struct StoppedDeploymentResult {
    ok: bool,
    /// The service deployment that was stopped.
    service_deployment: String,
    strategy: String,
    /// The service deployment's status at the end: ROLLBACK_SUCCESSFUL when it worked.
    status: String,
    reason: Option<String>,
    seconds: f64,
}

/// The blue/green, linear or canary deployment under way, if there is one: ECS rolls it back
/// itself (traffic goes back to the old revision, which still runs). None when there is no
/// such deployment (then rollback goes to the recorded revision).
async fn traffic_shift_under_way(
    clients: &Clients,
    service: &aws_sdk_ecs::types::Service,
) -> Option<ServiceDeploymentView> {
    let arn = ecs::current_service_deployment(service)?;
    let sd = ecs::service_deployment(&clients.ecs, &arn).await.ok()?;
    let strategy = sd.strategy.as_deref().unwrap_or("ROLLING");
    (strategy != "ROLLING" && matches!(sd.status.as_str(), "PENDING" | "IN_PROGRESS")).then_some(sd)
}

/// Applies a planned StopServiceDeployment and follows the rollback ECS makes.
/// The recorded revision when it can run, else the newest earlier ACTIVE revision that can;
/// none: an error naming what each one lacks, and the fix.
async fn runnable_target(
    session: &Session,
    recorded: &str,
    running: &str,
    passed_over: &mut Vec<PassedOver>,
) -> anyhow::Result<String> {
    use crate::pipeline::runnable;
    let clients = &session.clients;
    let repository = &session.loaded.names.repository;
    let problems = runnable::problems(clients, repository, recorded).await?;
    if problems.is_empty() {
        return Ok(recorded.to_string());
    }
    passed_over.push(PassedOver {
        task_definition: recorded.to_string(),
        problems,
    });
    let family = &session.loaded.names.family;
    let older = match runnable::revision_of(recorded) {
        Some(n) => {
            runnable::older_revisions(&clients.ecs, family, n, OLDER_REVISIONS_CHECKED).await?
        }
        None => Vec::new(),
    };
    for candidate in older.iter().filter(|c| c.as_str() != running) {
        let problems = runnable::problems(clients, repository, candidate).await?;
        if problems.is_empty() {
            session.printer.info(&format!(
                "rolling back to {} instead: the newest earlier revision that can run",
                short_task_definition(candidate)
            ));
            return Ok(candidate.clone());
        }
        passed_over.push(PassedOver {
            task_definition: candidate.clone(),
            problems,
        });
    }
    let listed: String = passed_over
        .iter()
        .map(|p| {
            format!(
                "\n  {}: {}",
                short_task_definition(&p.task_definition),
                p.problems.join("; ")
            )
        })
        .collect();
    bail!(
        "no earlier revision can run, so nothing was changed:{listed}\nfix what is named (restore or push the image again), roll forward with `shipit deploy`, or pass --force to roll back anyway"
    )
}

async fn stop_traffic_shift(
    clients: &Clients,
    plan: &RollbackPlan,
    sd: ServiceDeploymentView,
    args: &WatchArgs,
    printer: &Printer,
    started: Instant,
) -> anyhow::Result<ExitStatus> {
    let arn = sd.arn.clone();
    let strategy = sd.strategy.clone().unwrap_or_else(|| "ROLLING".to_string());
    printer.info(&format!(
        "stopping the {} deployment under way (stage {}) and rolling it back",
        strategy.to_ascii_lowercase(),
        sd.lifecycle_stage.as_deref().unwrap_or("?")
    ));
    crate::apply::rollback::apply(clients, plan).await?;
    let mut last = sd;
    if !args.no_wait {
        last = wait_for_rollback(clients, &arn, last, args.timeout, printer).await?;
    }
    let ok = args.no_wait || last.status == "ROLLBACK_SUCCESSFUL";
    let result = StoppedDeploymentResult {
        ok,
        service_deployment: arn,
        strategy,
        status: last.status.clone(),
        reason: last.rollback_reason.clone().or(last.status_reason.clone()),
        seconds: started.elapsed().as_secs_f64(),
    };
    let human = if args.no_wait {
        "ECS accepted the rollback; it goes on (--no-wait)\n".to_string()
    } else if ok {
        format!(
            "rolled back: production traffic is on the old revision again ({:.1}s)\n",
            result.seconds
        )
    } else {
        format!(
            "the rollback did not finish: the service deployment is {}{}\n",
            last.status,
            result
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        )
    };
    printer.result(&result, &human)?;
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Polls the service deployment until its rollback ended or the timeout passed, printing each
/// stage and status as it changes.
async fn wait_for_rollback(
    clients: &Clients,
    arn: &str,
    mut last: ServiceDeploymentView,
    timeout: std::time::Duration,
    printer: &Printer,
) -> anyhow::Result<ServiceDeploymentView> {
    let started = Instant::now();
    let mut interrupt = crate::signals::Interrupt::listen()?;
    loop {
        match ecs::service_deployment(&clients.ecs, arn).await {
            Ok(now) => {
                if (&now.status, &now.lifecycle_stage) != (&last.status, &last.lifecycle_stage) {
                    printer.info(&format!(
                        "  service deployment: {}{}",
                        now.status,
                        now.lifecycle_stage
                            .as_deref()
                            .map(|s| format!(", stage {s}"))
                            .unwrap_or_default()
                    ));
                }
                last = now;
            }
            Err(ecs::ServiceDeploymentUnread::Transient(why)) => {
                tracing::debug!("DescribeServiceDeployments failed this poll: {why}");
            }
            Err(ecs::ServiceDeploymentUnread::Unavailable(why)) => {
                bail!("cannot follow the rollback: DescribeServiceDeployments: {why}")
            }
        }
        if matches!(
            last.status.as_str(),
            "ROLLBACK_SUCCESSFUL" | "ROLLBACK_FAILED" | "STOPPED" | "SUCCESSFUL"
        ) || started.elapsed() >= timeout
        {
            return Ok(last);
        }
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(2)) => {}
            _ = interrupt.recv() => return Ok(last),
        }
    }
}
