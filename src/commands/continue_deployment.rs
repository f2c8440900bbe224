//! `shipit continue`: continues the service's paused deployment (ECS's
//! ContinueServiceDeployment), finding the paused hook and its ids itself; `--all-steps` goes
//! on through every pause of a linear or canary deployment, which pauses at each step;
//! `--rollback` rolls it back from the pause instead.

use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::ecs::{self, ServiceDeploymentUnread};
use crate::exit::{BadInput, ExitStatus};
use crate::printer::Printer;
use crate::rollout::ServiceDeploymentView;
use crate::session::Session;

/// How often `--all-steps` looks for the next pause.
const POLL: Duration = Duration::from_secs(5);

/// Service deployment statuses after which nothing pauses any more.
const ENDED: [&str; 5] = [
    "SUCCESSFUL",
    "STOPPED",
    "ROLLBACK_SUCCESSFUL",
    "ROLLBACK_FAILED",
    "ROLLBACK_IN_PROGRESS",
];

#[derive(Debug, Args)]
pub struct ContinueArgs {
    /// The service deployment (its ARN, as deploy's `service_deployment_arn`). Default: the
    /// service's current one.
    pub service_deployment: Option<String>,
    /// Go on through every pause until the deployment ends (linear and canary pause at each
    /// step), waiting for each.
    #[arg(long, conflicts_with = "rollback")]
    pub all_steps: bool,
    /// Roll the deployment back from the pause instead of going on.
    #[arg(long)]
    pub rollback: bool,
    /// With --all-steps: stop waiting for the next pause after this long (90s, 10m, 1h).
    #[arg(long, default_value = "1h", value_parser = crate::clock::parse_duration)]
    pub timeout: Duration,
}

#[derive(Serialize)]
struct Continued {
    ok: bool,
    service_deployment_arn: String,
    action: &'static str,
    /// The stages whose pause was acted on, in order.
    stages: Vec<String>,
    /// The service deployment's status when shipit stopped.
    status: String,
}

async fn read(session: &Session, arn: &str) -> anyhow::Result<ServiceDeploymentView> {
    ecs::service_deployment(&session.clients.ecs, arn)
        .await
        .map_err(|unread| match unread {
            ServiceDeploymentUnread::Unavailable(why) | ServiceDeploymentUnread::Transient(why) => {
                anyhow::anyhow!("cannot read service deployment {arn}: {why}")
            }
        })
}

pub async fn run(
    args: &ContinueArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let names = &session.loaded.names;
    let arn = match &args.service_deployment {
        Some(named) => super::service_deployment_arn(named)?,
        None => {
            let service =
                ecs::describe_service(&session.clients.ecs, &names.cluster, &names.service)
                    .await?
                    .ok_or_else(|| {
                        BadInput::new(format!(
                            "cluster {} has no active service {}",
                            names.cluster, names.service
                        ))
                    })?;
            ecs::current_service_deployment(&service).ok_or_else(|| {
                BadInput::new(format!(
                    "service {} names no service deployment under way: nothing to continue",
                    names.service
                ))
            })?
        }
    };
    let started = Instant::now();
    let action = if args.rollback {
        "ROLLBACK"
    } else {
        "CONTINUE"
    };
    let mut stages = Vec::new();
    let mut sd = read(&session, &arn).await?;
    loop {
        let paused = sd
            .hooks
            .iter()
            .find(|h| h.is_paused())
            .and_then(|h| h.hook_id.clone());
        if let Some(hook_id) = paused {
            let stage = sd.lifecycle_stage.clone().unwrap_or_default();
            crate::apply::service::continue_deployment(
                &session.clients,
                &arn,
                &hook_id,
                args.rollback,
            )
            .await?;
            printer.info(&format!(
                "{} the pause at stage {stage}",
                if args.rollback {
                    "rolled back from"
                } else {
                    "continued"
                }
            ));
            stages.push(stage);
            if !args.all_steps {
                break;
            }
        } else if stages.is_empty() {
            let human = format!(
                "nothing is paused: the service deployment is {}{}\n",
                sd.status,
                sd.lifecycle_stage
                    .as_deref()
                    .map(|s| format!(" at stage {s}"))
                    .unwrap_or_default()
            );
            printer.result(
                &Continued {
                    ok: false,
                    service_deployment_arn: arn.clone(),
                    action,
                    stages,
                    status: sd.status.clone(),
                },
                &human,
            )?;
            return Ok(ExitStatus::Failure);
        }
        if ENDED.contains(&sd.status.as_str()) {
            break;
        }
        if started.elapsed() >= args.timeout {
            printer.warn(&format!(
                "stopped waiting for the next pause after {}s; the deployment goes on in ECS",
                args.timeout.as_secs()
            ));
            break;
        }
        tokio::time::sleep(POLL).await;
        sd = read(&session, &arn).await?;
    }
    let human = format!(
        "{} {} pause(s) of {arn}; the service deployment is {}\n",
        if args.rollback {
            "rolled back at"
        } else {
            "continued"
        },
        stages.len(),
        sd.status
    );
    printer.result(
        &Continued {
            ok: true,
            service_deployment_arn: arn,
            action,
            stages,
            status: sd.status,
        },
        &human,
    )?;
    Ok(ExitStatus::Success)
}
