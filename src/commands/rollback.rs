//! `shipit rollback`: put the service back on the task definition it ran before the last
//! successful deploy (as shipit recorded it on the service), and wait like deploy.

use std::time::Instant;

use anyhow::{Context, bail};
use serde::Serialize;

use super::deploy::WatchArgs;
use crate::aws::error_chain;
use crate::calls::Clients;
use crate::cli::GlobalArgs;
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
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let names = &loaded.names;
    let started = Instant::now();
    let since = crate::pipeline::report::now_epoch_seconds();

    let Some(service) = ecs::describe_service(&clients.ecs, &names.cluster, &names.service).await?
    else {
        bail!(
            "service {} does not exist in cluster {}: there is nothing to roll back",
            names.service,
            names.cluster
        );
    };
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
