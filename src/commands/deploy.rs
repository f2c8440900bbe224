//! `shipit deploy`: push the image, register the task definition, create or update the
//! service, and watch the rollout until ECS really finished, or failed (then say why). The
//! stages are in `pipeline`; this module parses the flags and prints the result.

use std::time::Duration;

use clap::Args;

use super::GlobalArgs;
use super::push::PushArgs;
use crate::config::Names;
use crate::config::model::Strategy;
use crate::exit::BadInput;
use crate::exit::ExitStatus;
use crate::github::GitHub;
use crate::pipeline::image::Preflight;
use crate::pipeline::{self, DeployOptions, DeployResult, WaitRules};
use crate::plan::human::removal_line;
use crate::printer::Printer;
use crate::rollout::{Rules, WaitUntil, is_traffic_stage};
use crate::session::Session;

#[derive(Debug, Args)]
pub struct DeployArgs {
    #[command(flatten)]
    pub push: PushArgs,
    /// Show what would change and change nothing (the same as `shipit plan`).
    #[arg(long)]
    pub dry_run: bool,
    /// Do not run `hooks.before_deploy` (the result says they were skipped).
    #[arg(long)]
    pub skip_hooks: bool,
    /// Apply removals deploy.yaml does not ask for: settings the running revision or service
    /// holds that deploy.yaml does not name (`shipit plan` lists them). Without it, deploy
    /// stops before any change when there are some.
    #[arg(long)]
    pub allow_removals: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Return as soon as ECS accepted the update, without waiting for the rollout.
    #[arg(long)]
    pub no_wait: bool,
    /// Stop waiting after this long (90s, 10m, 1h) and report what is still pending.
    #[arg(long, default_value = "15m", value_parser = crate::clock::parse_duration)]
    pub timeout: Duration,
    /// Stop waiting when this many new tasks in a row stopped for the same reason.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=100))]
    pub fail_after: u16,
    /// When to return: `deployed` (ECS declared the deployment successful; with early success
    /// while old tasks still drain), `stable` (and the old tasks are gone), or a lifecycle
    /// stage such as `bake-time` or `post-test-traffic-shift` (reached; the deployment goes on).
    #[arg(long, default_value = "deployed", value_name = "WHEN")]
    pub wait_until: WaitUntil,
}

impl WatchArgs {
    /// A stage the service's strategy never goes through is bad input (exit 2), not a wait
    /// that times out.
    pub fn check_stage(&self, strategy: Strategy) -> Result<(), BadInput> {
        match &self.wait_until {
            WaitUntil::Stage(stage) if !strategy.shifts_traffic() && is_traffic_stage(stage) => {
                Err(BadInput::new(format!(
                    "--wait-until {}: a {strategy} deployment shifts no load-balancer traffic, so it never reaches that stage; wait for `deployed`, `stable`, `scale-up` or `bake-time`, or set `service.deployment.strategy`",
                    self.wait_until.shown()
                )))
            }
            _ => Ok(()),
        }
    }
}

pub async fn run(
    args: &DeployArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    args.watch
        .check_stage(loaded.config.service.deployment.strategy)?;
    let inputs = args.push.resolve(&loaded, &global.aws.settings())?;
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let names = &session.loaded.names;
    printer.info(&format!(
        "deploying {} to service {} in cluster {}",
        session.loaded.config.app, names.service, names.cluster
    ));
    // The image is read and checked before anything in AWS changes.
    session.group(Some("read and check the image"));
    let (prepared, registry) =
        pipeline::read_image_and_registry(&session, &inputs, Preflight::Enforce).await?;
    session.group(None);
    session.group(Some("plan"));
    let planned = pipeline::plan(
        &session,
        &inputs,
        &prepared,
        pipeline::Scope::Deploy,
        Some(registry),
    )
    .await?;
    for warning in planned
        .plan
        .sidecar_images
        .iter()
        .filter_map(|i| i.warning())
        .chain(planned.plan.warnings.iter().cloned())
    {
        printer.warn(&warning);
    }
    let changes = planned.plan.changes().count();
    printer.info(&if changes == 0 {
        "plan: no changes".to_string()
    } else {
        format!(
            "plan: {changes} changes ({})",
            planned
                .plan
                .writes()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        )
    });
    let removals = planned.plan.guarded_removals();
    if !removals.is_empty() && !args.allow_removals {
        return Err(BadInput::new(format!(
            "deploy would drop {} setting(s) the running revision or service holds and deploy.yaml does not name; nothing was changed:\n{}to keep a setting, name it in deploy.yaml (where deploy.yaml has a key for it); to drop them, pass --allow-removals",
            removals.len(),
            removals
                .iter()
                .map(|c| format!("  {}\n", removal_line(c)))
                .collect::<String>(),
        ))
        .into());
    }
    session.group(None);
    let options = DeployOptions {
        wait: WaitRules {
            wait: !args.watch.no_wait,
            timeout: args.watch.timeout,
            rules: Rules {
                fail_after_same_stops: args.watch.fail_after as usize,
            },
            until: args.watch.wait_until.clone(),
        },
        skip_hooks: args.skip_hooks,
    };
    let result = pipeline::deploy(&session, &inputs, &prepared, planned, options).await?;
    if let Some(gh) = &session.github {
        report_to_github(gh, &result, names, printer)?;
    }
    printer.result(&result, &result.text(names))?;
    Ok(result.result.exit_status())
}

/// Step outputs, the step summary, and an error annotation when the deploy failed.
fn report_to_github(
    gh: &GitHub,
    result: &DeployResult,
    names: &Names,
    printer: &Printer,
) -> anyhow::Result<()> {
    gh.outputs(&[
        ("image-uri", result.push.image.clone()),
        ("image-digest", result.push.report.digest.to_string()),
        ("task-definition-arn", result.task_definition.arn.clone()),
        ("service-arn", result.service.arn.clone()),
        (
            "deployment-id",
            result.deployment_id.clone().unwrap_or_default(),
        ),
        (
            "service-deployment-arn",
            result.service_deployment_arn.clone().unwrap_or_default(),
        ),
        ("result", result.result.as_str().to_string()),
    ])?;
    gh.summary(&result.markdown(names))?;
    if let Some(failure) = &result.failure {
        printer.workflow_command(&gh.error("shipit deploy failed", &failure.annotation()));
    }
    Ok(())
}
