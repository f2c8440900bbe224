//! `shipit wait [DEPLOYMENT]`: deploy's rollout watch, verdicts and exit codes for a deployment
//! started elsewhere (another CI job, `deploy --no-wait`, the console): the service's current
//! one, or the one named by its service-deployment ARN or deployment id. It changes nothing:
//! no record for rollback and no fail-fast rollback, which stay the deploy's.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use super::deploy::WatchArgs;
use crate::ecs::{self, TAG_CURRENT, TAG_PREVIOUS, short_task_definition, tag_value};
use crate::exit::{BadInput, ExitStatus};
use crate::pipeline::report::{self, Concluded};
use crate::pipeline::{FailureReport, Outcome, RolloutOutcome, watch};
use crate::printer::Printer;
use crate::rollout::{DeploymentView, Rules, Target};
use crate::session::Session;

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// The deployment: a service deployment's ARN (deploy's `service_deployment_arn`), or a
    /// deployment id (`ecs-svc/...`, deploy's `deployment_id`). Default: the service's
    /// current (PRIMARY) deployment.
    pub deployment: Option<String>,
    /// `--no-wait`: one look, and the deployment's state as it is now.
    #[command(flatten)]
    pub watch: WatchArgs,
}

#[derive(Serialize)]
struct Waited {
    ok: bool,
    result: Outcome,
    cluster: String,
    service: String,
    deployment_id: String,
    service_deployment_arn: Option<String>,
    task_definition: String,
    rollout: RolloutOutcome,
    failure: Option<FailureReport>,
    seconds: f64,
}

/// The deployment to watch, among the service's, as `named` picks it.
fn pick<'a>(
    deployments: &'a [DeploymentView],
    named: Option<&str>,
) -> Result<&'a DeploymentView, BadInput> {
    let primary = || deployments.iter().find(|d| d.status == "PRIMARY");
    let found = match named {
        // A service deployment is the service's move to its PRIMARY deployment's revision.
        None => primary(),
        Some(arn) if arn.starts_with("arn:") => primary(),
        Some(id) => deployments.iter().find(|d| d.id == id),
    };
    found.ok_or_else(|| match named {
        Some(id) if !id.starts_with("arn:") => BadInput::new(format!(
            "the service has no deployment {id}; it has: {}",
            deployments
                .iter()
                .map(|d| format!("{} ({})", d.id, d.status))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        _ => BadInput::new("the service has no PRIMARY deployment to wait for"),
    })
}

pub async fn run(
    args: &WaitArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let loaded = super::load_config(global, printer)?;
    args.watch
        .check_stage(loaded.config.service.deployment.strategy)?;
    if let Some(named) = args.deployment.as_deref().filter(|n| n.starts_with("arn:")) {
        super::service_deployment_arn(named)?;
    }
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let names = &session.loaded.names;
    let service = ecs::describe_service(&session.clients.ecs, &names.cluster, &names.service)
        .await?
        .ok_or_else(|| {
            BadInput::new(format!(
                "cluster {} has no active service {}: nothing to wait for",
                names.cluster, names.service
            ))
        })?;
    let deployments = ecs::deployments_of(&service);
    let deployment = pick(&deployments, args.deployment.as_deref())?;
    let service_deployment_arn = match args.deployment.as_deref() {
        Some(arn) if arn.starts_with("arn:") => Some(arn.to_string()),
        Some(_) => None,
        None => ecs::current_service_deployment(&service),
    };
    // Where ECS would roll back to: the last good revision before this one.
    let recorded = tag_value(&service, TAG_CURRENT)
        .filter(|current| *current != deployment.task_definition)
        .or_else(|| tag_value(&service, TAG_PREVIOUS));
    let target = Target {
        deployment_id: deployment.id.clone(),
        task_definition: deployment.task_definition.clone(),
        previous_task_definition: crate::rollout::last_good(
            &deployments,
            recorded.as_deref(),
            None,
            &deployment.task_definition,
        ),
        service_deployment_arn: service_deployment_arn.clone(),
    };
    printer.info(&format!(
        "waiting for deployment {} of {} to service {} in cluster {}",
        deployment.id,
        short_task_definition(&deployment.task_definition),
        names.service,
        names.cluster
    ));
    let since = deployment
        .created_at
        .unwrap_or_else(crate::clock::now_epoch_seconds);
    let rules = Rules {
        fail_after_same_stops: args.watch.fail_after as usize,
    };
    let timeout = if args.watch.no_wait {
        Duration::ZERO
    } else {
        args.watch.timeout
    };
    let watched = watch::watch(
        &session.clients,
        names,
        &target,
        &rules,
        &args.watch.wait_until,
        timeout,
        since,
        printer,
    )
    .await?;
    let Concluded {
        result,
        rollout,
        failure,
    } = report::conclude(&session, None, &target, watched, !args.watch.no_wait).await?;
    let td = short_task_definition(&target.task_definition).to_string();
    let mut human = match result {
        Outcome::Deployed => format!(
            "deployment {} of {td} to service {} succeeded ({:.1}s)\n",
            target.deployment_id,
            names.service,
            started.elapsed().as_secs_f64()
        ),
        Outcome::StageReached => format!(
            "deployment {} of {td} reached the stage it was waited for; it goes on in ECS\n",
            target.deployment_id
        ),
        _ => String::new(),
    };
    if let Some(f) = &failure {
        human.push_str(&f.text());
    }
    let waited = Waited {
        ok: result.exit_status() == ExitStatus::Success,
        result,
        cluster: names.cluster.clone(),
        service: names.service.clone(),
        deployment_id: target.deployment_id.clone(),
        service_deployment_arn,
        task_definition: target.task_definition.clone(),
        rollout,
        failure,
        seconds: started.elapsed().as_secs_f64(),
    };
    printer.result(&waited, &human)?;
    Ok(result.exit_status())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployment(id: &str, status: &str) -> DeploymentView {
        serde_json::from_value(serde_json::json!({
            "id": id, "status": status, "task_definition": format!("td:{id}"),
            "desired": 1, "running": 1, "pending": 0, "failed_tasks": 0
        }))
        .unwrap()
    }

    #[test]
    fn the_deployment_is_the_primary_one_unless_named() {
        let all = [
            deployment("ecs-svc/1", "ACTIVE"),
            deployment("ecs-svc/2", "PRIMARY"),
        ];
        assert_eq!(pick(&all, None).unwrap().id, "ecs-svc/2");
        assert_eq!(pick(&all, Some("ecs-svc/1")).unwrap().id, "ecs-svc/1");
        assert_eq!(
            pick(
                &all,
                Some("arn:aws:ecs:us-east-1:1:service-deployment/c/s/x")
            )
            .unwrap()
            .id,
            "ecs-svc/2"
        );
        let err = pick(&all, Some("ecs-svc/9")).unwrap_err();
        assert!(
            err.message.contains("ecs-svc/1 (ACTIVE)"),
            "{}",
            err.message
        );
    }
}
