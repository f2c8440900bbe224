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
    /// With several services: go on deploying the others after one fails (those that
    /// depend on it are still left out).
    #[arg(long)]
    pub keep_going: bool,
    /// With several services: how many deploy at once (default: the config's `concurrency`,
    /// else 4).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=50))]
    pub concurrency: Option<u16>,
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
    let (members, concurrency) = super::load_fleet(global, printer)?;
    for member in &members {
        args.watch
            .check_stage(member.loaded.config.service.deployment.strategy)?;
    }
    if let [member] = members.as_slice() {
        let settings = global.aws.settings();
        let loaded = member.loaded.clone();
        let inputs = args.push.resolve(&loaded, &settings)?;
        let session = Session::open(loaded, &settings, printer).await?;
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
        let result = deploy_one(args, &session, &inputs, &prepared, Some(registry)).await?;
        if let Some(gh) = &session.github {
            report_to_github(gh, &result, names, printer)?;
        }
        printer.result(&result, &result.text(names))?;
        return Ok(result.result.exit_status());
    }
    deploy_fleet(
        args,
        global,
        &members,
        args.concurrency.map_or(concurrency, usize::from),
        printer,
    )
    .await
}

/// Plans, checks the removals, and deploys one service whose image was read (and, in a
/// fleet, pushed) already.
async fn deploy_one(
    args: &DeployArgs,
    session: &Session,
    inputs: &pipeline::image::PushInputs,
    prepared: &pipeline::image::PreparedImage,
    registry: Option<pipeline::RegistryLookup>,
) -> anyhow::Result<DeployResult> {
    let printer = &session.printer;
    session.group(Some("plan"));
    let planned =
        pipeline::plan(session, inputs, prepared, pipeline::Scope::Deploy, registry).await?;
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
    pipeline::deploy(session, inputs, prepared, planned, options).await
}

/// A fleet: each distinct image read and pushed once per registry (region and repository),
/// then the services deployed in the fleet's order, each line led by its service's name, and
/// one report with a row per service.
async fn deploy_fleet(
    args: &DeployArgs,
    global: &GlobalArgs,
    members: &[crate::config::FleetMember],
    concurrency: usize,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let started = std::time::Instant::now();
    let settings = global.aws.settings();
    printer.info(&format!(
        "deploying {} service(s): {} (at most {concurrency} at once)",
        members.len(),
        members
            .iter()
            .map(crate::fleet::label)
            .collect::<Vec<_>>()
            .join(", ")
    ));
    // One read and one push per image and registry, before any service changes.
    let mut inputs = Vec::new();
    for member in members {
        inputs.push(args.push.resolve(&member.loaded, &settings)?);
    }
    let key = |i: usize| {
        let m = &members[i];
        (
            m.region.clone(),
            m.loaded.names.repository.clone(),
            format!("{:?}", inputs[i].source),
            inputs[i].tag.clone(),
        )
    };
    // The image of a member, whatever its region.
    let image_of = |i: usize| {
        let k = key(i);
        (k.1, k.2, k.3)
    };
    // Each image read, with the first member of its region that needs it.
    let mut images: Vec<(usize, std::sync::Arc<pipeline::image::PreparedImage>)> = Vec::new();
    // Each push: its member, the image's digest, and the regions ECR replicates it to.
    let mut pushed: Vec<(usize, String, Vec<String>)> = Vec::new();
    let mut order: Vec<usize> = (0..members.len()).collect();
    order.sort_by_key(|i| members[*i].wave);
    for i in order {
        if images.iter().any(|(first, _)| key(*first) == key(i)) {
            continue;
        }
        let printer = printer.with_prefix(&crate::fleet::label(&members[i]));
        let mut session = Session::open(members[i].loaded.clone(), &settings, &printer).await?;
        session.github = None;
        let region = session.aws.region();
        let repository = members[i].loaded.names.repository.clone();
        // Pushed already to a region whose registry replicates it here: wait for the replica.
        let replica = pushed
            .iter()
            .find(|(first, _, to)| image_of(*first) == image_of(i) && to.contains(&region));
        if let Some((first, digest, _)) = replica {
            wait_for_replica(&session, &repository, digest, args.watch.timeout).await?;
            let image = images
                .iter()
                .find(|(member, _)| member == first)
                .expect("pushed images were read")
                .1
                .clone();
            images.push((i, image));
            continue;
        }
        let (prepared, registry) =
            pipeline::read_image_and_registry(&session, &inputs[i], Preflight::Enforce).await?;
        let planned = pipeline::plan(
            &session,
            &inputs[i],
            &prepared,
            pipeline::Scope::Image,
            Some(registry),
        )
        .await?;
        let result = pipeline::push(&session, &inputs[i], &prepared, &planned).await?;
        printer.info(&format!(
            "{} {}",
            if result.report.unchanged {
                "already there:"
            } else {
                "pushed"
            },
            result.image
        ));
        let several_regions = members
            .iter()
            .any(|m| m.region.is_some() && m.region != members[i].region);
        let replicated = if several_regions {
            crate::ecr::replicated_to(&session.clients.ecr, &repository).await
        } else {
            Vec::new()
        };
        pushed.push((i, result.report.digest.to_string(), replicated));
        images.push((i, std::sync::Arc::new(prepared)));
    }
    let turns = crate::fleet::run_in_order(members, concurrency, args.keep_going, |i| {
        let printer = printer.with_prefix(&crate::fleet::label(&members[i]));
        let settings = settings.clone();
        let prepared: &pipeline::image::PreparedImage = &images
            .iter()
            .find(|(first, _)| key(*first) == key(i))
            .expect("read above")
            .1;
        let inputs = &inputs[i];
        async move {
            let deployed = async {
                let mut session =
                    Session::open(members[i].loaded.clone(), &settings, &printer).await?;
                session.github = None;
                session.clients.share_for_fleet();
                deploy_one(args, &session, inputs, prepared, None).await
            }
            .await;
            match deployed {
                Ok(result) => {
                    let ok = result.ok;
                    (Ok(result), ok)
                }
                Err(err) => {
                    printer.warn(&format!("{err:#}"));
                    (Err(format!("{err:#}")), false)
                }
            }
        }
    })
    .await;
    let report =
        crate::fleet::report::FleetReport::new(members, turns, started.elapsed().as_secs_f64());
    if let Some(gh) = crate::github::GitHub::detect() {
        gh.summary(&format!("## shipit deploy\n\n```\n{}```\n", report.text()))?;
        gh.outputs(&[(
            "result",
            if report.ok { "deployed" } else { "failed" }.to_string(),
        )])?;
    }
    printer.result(&report, &report.text())?;
    Ok(if report.ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
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

/// How often a fleet looks for an image ECR is replicating.
const REPLICA_POLL: Duration = Duration::from_secs(2);

/// Waits (at most `timeout`) until ECR's replication brought the image `digest` into this
/// session's region, instead of pushing it a second time.
async fn wait_for_replica(
    session: &Session,
    repository: &str,
    digest: &str,
    timeout: Duration,
) -> anyhow::Result<()> {
    let region = session.aws.region();
    session.printer.info(&format!(
        "the registry replicates {repository}@{digest} to {region}: waiting for the replica instead of pushing it again"
    ));
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if crate::ecr::has_image(&session.clients.ecr, repository, digest).await? {
            session
                .printer
                .info(&format!("the replica arrived in {region}"));
            return Ok(());
        }
        if std::time::Instant::now() >= deadline {
            anyhow::bail!(
                "ECR did not replicate {repository}@{digest} to {region} within {}s: check the registry's replication rule (aws ecr describe-registry), or push it there with `shipit push --service NAME --region {region}`",
                timeout.as_secs()
            );
        }
        tokio::time::sleep(REPLICA_POLL).await;
    }
}
