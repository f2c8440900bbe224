//! `shipit rollback`: during a blue/green, linear or canary deployment, stop it with a rollback
//! (StopServiceDeployment) and wait until ECS has put the old revision back; otherwise put the
//! service back on the task definition it ran before the last successful deploy (as shipit
//! recorded it on the service), and wait like deploy.

use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use super::GlobalArgs;
use super::deploy::WatchArgs;
use crate::aws::calls::Clients;
use crate::aws::error_chain;
use crate::ecs::{self, TAG_PREVIOUS, short_task_definition, tag_value};
use crate::exit::ExitStatus;
use crate::pipeline::watch::watch;
use crate::printer::Printer;
use crate::rollout::{Rules, Target, Verdict};

#[derive(Debug, Serialize)]
struct RollbackResult {
    ok: bool,
    from: String,
    to: String,
    verdict: Option<Verdict>,
    seconds: f64,
}

pub async fn run(
    args: &WatchArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    args.check_stage(loaded.config.service.deployment.strategy)?;
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let names = &loaded.names;
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
    if let Some(status) = stop_traffic_shift(&clients, &service, args, printer, started).await? {
        return Ok(status);
    }
    let current = service.task_definition().unwrap_or_default().to_string();
    let Some(previous) = tag_value(&service, TAG_PREVIOUS) else {
        bail!(
            "shipit has no record of what service {} ran before its last deploy (the `{TAG_PREVIOUS}` tag); roll back by deploying an earlier image: shipit deploy --tag OLD_TAG",
            names.service
        );
    };
    if previous == current {
        bail!(
            "service {} already runs {}, the task definition from before the last deploy",
            names.service,
            short_task_definition(&current)
        );
    }
    printer.info(&format!(
        "rolling back service {}: {} -> {}",
        names.service,
        short_task_definition(&current),
        short_task_definition(&previous)
    ));
    let out = clients
        .ecs
        .update_service()
        .cluster(&names.cluster)
        .service(&names.service)
        .task_definition(&previous)
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("ECS UpdateService failed: {}", error_chain(&e)))?;
    let deployment_id = out
        .service()
        .and_then(ecs::primary_deployment_id)
        .context("UpdateService answered without a PRIMARY deployment")?;
    let service_deployment_arn = out.service().and_then(ecs::current_service_deployment);

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
            &clients,
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
            ecs::record_deploy(
                &clients.ecs,
                service.service_arn().unwrap_or_default(),
                &previous,
                Some(&current),
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

/// A blue/green, linear or canary deployment under way is rolled back by ECS itself
/// (StopServiceDeployment, stop type ROLLBACK): traffic goes back to the old revision, which
/// still runs. Returns None when there is no such deployment (then rollback works as after a
/// finished deploy).
async fn stop_traffic_shift(
    clients: &Clients,
    service: &aws_sdk_ecs::types::Service,
    args: &WatchArgs,
    printer: &Printer,
    started: Instant,
) -> anyhow::Result<Option<ExitStatus>> {
    let Some(arn) = ecs::current_service_deployment(service) else {
        return Ok(None);
    };
    let Ok(sd) = ecs::service_deployment(&clients.ecs, &arn).await else {
        return Ok(None);
    };
    let strategy = sd.strategy.clone().unwrap_or_else(|| "ROLLING".to_string());
    if strategy == "ROLLING" || !matches!(sd.status.as_str(), "PENDING" | "IN_PROGRESS") {
        return Ok(None);
    }
    printer.info(&format!(
        "stopping the {} deployment under way (stage {}) and rolling it back",
        strategy.to_ascii_lowercase(),
        sd.lifecycle_stage.as_deref().unwrap_or("?")
    ));
    ecs::stop_service_deployment(&clients.ecs, &arn).await?;
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
    Ok(Some(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    }))
}

/// Polls the service deployment until its rollback ended or the timeout passed, printing each
/// stage and status as it changes.
async fn wait_for_rollback(
    clients: &Clients,
    arn: &str,
    mut last: crate::rollout::ServiceDeploymentView,
    timeout: std::time::Duration,
    printer: &Printer,
) -> anyhow::Result<crate::rollout::ServiceDeploymentView> {
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
