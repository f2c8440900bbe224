//! `shipit deploy`: push the image, register the task definition, create or update the
//! service, and watch the rollout until ECS really finished, or failed (then say why). The
//! stages are in `pipeline`; this module parses the flags and prints the result.

use std::time::Duration;

use clap::Args;

use super::GlobalArgs;
use super::push::PushArgs;
use crate::config::Names;
use crate::config::model::Strategy;
use crate::ecs::short_task_definition;
use crate::exit::BadInput;
use crate::exit::ExitStatus;
use crate::github::GitHub;
use crate::pipeline::image::Preflight;
use crate::pipeline::{self, DeployOptions, DeployResult, Outcome, WaitRules};
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
    if args.dry_run {
        return super::plan::run(&args.push, global, printer).await;
    }
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
        report_to_github(gh, &result, names)?;
    }
    printer.result(&result, &human(&result, names))?;
    Ok(result.result.exit_status())
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
        ("result", result.result.as_str().to_string()),
    ])?;
    let mut md = format!(
        "## shipit deploy: {}\n\n| | |\n|---|---|\n| service | `{}` in cluster `{}` |\n| image | `{}` |\n| task definition | `{}`{} |\n",
        result.result.as_str(),
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
    if !result.changes.is_empty() {
        md.push_str("\n### Changes\n\n```diff\n");
        for change in &result.changes {
            md.push_str(&format!(
                "{} {}: {}\n",
                change.resource.label(),
                change.name,
                crate::plan::human::change_line(change)
            ));
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
        if !failure.containers.is_empty() {
            md.push_str(&format!(
                "\n**Containers:** {}\n",
                failure.containers.join(", ")
            ));
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

fn human(result: &DeployResult, names: &Names) -> String {
    let td = short_task_definition(&result.task_definition.arn);
    let mut out = String::new();
    match result.result {
        Outcome::Unchanged => out.push_str(&format!(
            "nothing to deploy: service {} already runs {td} with these settings\n",
            names.service
        )),
        Outcome::Accepted => out.push_str(&format!(
            "ECS accepted {td} for service {}; the rollout goes on (--no-wait)\n",
            names.service
        )),
        Outcome::Deployed => out.push_str(&format!(
            "deployed {} to service {} in cluster {}: {td} is running ({:.1}s)\n",
            result.push.tagged_image, names.service, names.cluster, result.seconds
        )),
        Outcome::StageReached => {
            let stage = match result.rollout.as_ref().map(|r| &r.verdict) {
                Some(crate::rollout::Verdict::StageReached { stage, .. }) => stage.as_str(),
                _ => "?",
            };
            out.push_str(&format!(
                "the deployment of {td} to service {} reached stage {stage} ({:.1}s); it goes on in ECS: follow it with `shipit status --watch`\n",
                names.service, result.seconds
            ))
        }
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
        if !f.containers.is_empty() {
            out.push_str(&format!("  containers: {}\n", f.containers.join(", ")));
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
