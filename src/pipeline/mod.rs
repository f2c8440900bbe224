//! The deploy pipeline, one stage per module, each taking the previous stage's output:
//!
//! ```text
//! config ─▶ image (read, checked) ─▶ plan (read AWS, diff) ─▶ apply ─▶ watch ─▶ report
//! ```
//!
//! Commands parse their flags, call these stages and print the one typed result they return.
//! `plan` stops after the plan; `push` applies the repository and pushes; `deploy` runs them
//! all.

pub mod hooks;
pub mod image;
pub mod outcome;
pub mod push;
pub mod report;
pub mod runnable;
pub mod sidecar_images;
pub mod watch;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::aws::calls::Clients;
use crate::ecs;
use crate::exit::ExitStatus;
use crate::plan::{self, Current, ImagePlan, Plan};
use crate::rollout::{Rules, Target, Verdict};
use crate::session::Session;
pub use hooks::HooksOutcome;
use image::{PreparedImage, PushInputs};
pub use outcome::{
    DeployResult, FailureReport, Outcome, RolloutOutcome, ServiceOutcome, TaskDefinitionOutcome,
    Watched,
};
use push::{PushResult, RegistryTarget, RepositoryOutcome};

/// The plan stage's output: the plan, the state it was made from, and the registry.
pub struct Planned {
    pub plan: Plan,
    pub current: Current,
    pub registry: RegistryTarget,
}

/// What a plan covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every resource: `plan` and `deploy`.
    Deploy,
    /// The repository and the image only (`push`): the ECS and log resources are not read, and
    /// their part of the plan means nothing.
    Image,
}

/// `read`'s answer when `wanted`, else `skipped` without sending it.
async fn read_if<T>(
    wanted: bool,
    skipped: T,
    read: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    if wanted { read.await } else { Ok(skipped) }
}

/// The app image the service runs now and how many images of the config's repository were
/// pushed after it (None when it is not in that repository).
async fn running_app_image_rank(
    session: &Session,
    service: &aws_sdk_ecs::types::Service,
    latest: Option<&aws_sdk_ecs::types::TaskDefinition>,
) -> anyhow::Result<Option<(String, usize)>> {
    let clients = &session.clients;
    let names = &session.loaded.names;
    let Some(running) = service.task_definition() else {
        return Ok(None);
    };
    let td = match latest.filter(|td| td.task_definition_arn() == Some(running)) {
        Some(td) => td.clone(),
        None => match ecs::describe_task_definition(&clients.ecs, running).await? {
            Some(td) => td,
            None => return Ok(None),
        },
    };
    let Some(image) = ecs::container_image(&td, &names.container) else {
        return Ok(None);
    };
    let Some(digest) = shipit_oci::registry::reference::ImageReference::parse(image)
        .ok()
        .filter(|r| r.repository == names.repository)
        .and_then(|r| r.digest)
    else {
        return Ok(None);
    };
    Ok(
        crate::ecr::images_pushed_after(&clients.ecr, &names.repository, &digest)
            .await?
            .map(|newer| (image.to_string(), newer)),
    )
}

/// The registry side of a plan: the repository as ECR describes it, the registry logged in, and
/// the image the tag names there now.
pub struct RegistryLookup {
    repository: Option<crate::plan::RepositoryState>,
    /// Who scans the repository's images when the registry does (see `ecr::registry_scanning`).
    registry_scanning: Option<String>,
    registry: RegistryTarget,
    tagged: Option<shipit_oci::image::Digest>,
}

async fn look_up_registry(
    session: &Session,
    inputs: &PushInputs,
) -> anyhow::Result<RegistryLookup> {
    let names = &session.loaded.names;
    let (repository, registry_scanning) = tokio::join!(
        crate::ecr::read_repository(&session.clients.ecr, &names.repository),
        crate::ecr::registry_scanning(&session.clients.ecr, &names.repository)
    );
    let repository = repository?;
    let uri = repository.as_ref().map(|r| r.uri.as_str()).unwrap_or("");
    let registry = RegistryTarget::connect(
        &session.aws,
        &session.clients,
        inputs,
        &names.repository,
        uri,
    )
    .await?;
    let tagged = match &repository {
        Some(_) => registry.repo.manifest_digest(&inputs.tag).await?,
        None => None,
    };
    Ok(RegistryLookup {
        repository,
        registry_scanning,
        registry,
        tagged,
    })
}

/// Upload parts sent while layers are compressed, unless `--chunk-size` says otherwise: few
/// requests per layer, and little left to send when the compression ends.
const EARLY_UPLOAD_PART: u64 = 16 * 1024 * 1024;

/// Reads and checks the image (`deploy`, `push`) while the registry is looked up, so the
/// registry's round trips are not waited for after the read. Where the repository exists and
/// the tag may take a new image, each layer compressed during the read is uploaded as it is
/// compressed; the push completes those uploads after the plan (nothing is visible in the
/// registry before that).
pub async fn read_image_and_registry(
    session: &Session,
    inputs: &PushInputs,
    preflight: image::Preflight,
) -> anyhow::Result<(PreparedImage, RegistryLookup)> {
    let uploads = shipit_oci::registry::early_upload::EarlyUploads::new(
        inputs
            .chunk_size_mib
            .map_or(EARLY_UPLOAD_PART, |mib| mib * 1024 * 1024),
        inputs.parallel,
    );
    let mut reading = inputs.clone();
    reading.options.watcher = Some(shipit_oci::image::compress::Watcher(uploads.clone()));
    let mutable_tag = !session
        .loaded
        .config
        .repository
        .tag_is_immutable(&inputs.tag);
    let lookup = async {
        let found = look_up_registry(session, inputs).await;
        match &found {
            Ok(found) if found.repository.is_some() && (found.tagged.is_none() || mutable_tag) => {
                uploads.start(found.registry.repo.clone())
            }
            _ => uploads.off(),
        }
        found
    };
    // An image that cannot be read or is refused ends the command at once, as before any
    // lookup: its error is the one shown, and the lookup is dropped.
    let (mut prepared, found) = tokio::try_join!(
        image::prepare_image(&session.loaded, &reading, preflight, &session.printer),
        async { Ok(lookup.await) }
    )?;
    prepared.early_uploads = Some(uploads);
    Ok((prepared, found?))
}

/// The read stage's output: what AWS and the registry hold for every resource the config names.
pub struct Read {
    pub current: Current,
    pub registry: RegistryTarget,
    /// The image the tag names in the repository now.
    pub tagged: Option<shipit_oci::image::Digest>,
}

/// The read stage: every read a plan needs, at once where they do not depend on each other.
/// The registry side is looked up here unless `looked_up` brings it. An immutable tag that
/// names another image than `digest` is refused here, before anything changes.
pub async fn read(
    session: &Session,
    inputs: &PushInputs,
    digest: &shipit_oci::image::Digest,
    scope: Scope,
    looked_up: Option<RegistryLookup>,
) -> anyhow::Result<Read> {
    let names = &session.loaded.names;
    let clients = &session.clients;
    // Futures run only when awaited: outside the deploy scope these reads are never sent.
    let whole = scope == Scope::Deploy;
    // Application Auto Scaling: who owns the task count. Unreadable (denied; the local stack
    // has no such service) counts as no target, unless the config asks for autoscaling.
    let read_autoscaling = async {
        if !whole {
            return Ok(None);
        }
        let id = plan::autoscaling::resource_id(&names.cluster, &names.service);
        match crate::autoscaling::read(&clients.autoscaling, &id).await {
            Ok(found) => Ok(found),
            Err(err) if session.loaded.config.service.autoscaling.is_some() => Err(err),
            Err(err) => {
                tracing::debug!("no autoscaling read: {err:#}");
                Ok(None)
            }
        }
    };
    let registry_lookup = async {
        match looked_up {
            Some(found) => Ok(found),
            None => look_up_registry(session, inputs).await,
        }
    };
    // Skipped: an active cluster whose providers were not read.
    let (lookup, cluster, log_group, latest, service, autoscaling) = tokio::try_join!(
        registry_lookup,
        read_if(whole, Some(None), async {
            Ok(
                ecs::active_cluster_capacity_providers(&clients.ecs, &names.cluster)
                    .await?
                    .map(Some),
            )
        }),
        read_if(
            whole,
            None,
            crate::logs::find_log_group(&clients.logs, &names.log_group)
        ),
        read_if(
            whole,
            None,
            ecs::latest_revision(&clients.ecs, &names.family)
        ),
        read_if(
            whole,
            None,
            ecs::describe_service(&clients.ecs, &names.cluster, &names.service)
        ),
        read_autoscaling,
    )?;
    let RegistryLookup {
        repository,
        registry_scanning,
        registry,
        tagged,
    } = lookup;
    // An immutable tag on another image: refuse now, before anything changes.
    if let Some(existing) = &tagged
        && existing != digest
        && session
            .loaded
            .config
            .repository
            .tag_is_immutable(&inputs.tag)
    {
        return Err(shipit_oci::registry::RegistryError::TagConflict {
            repository: names.repository.clone(),
            tag: inputs.tag.clone(),
            existing: existing.clone(),
            new: digest.clone(),
        }
        .into());
    }
    let sidecar_images = if whole {
        let running: Vec<(String, String)> = latest
            .iter()
            .map(|(td, _)| td)
            .flat_map(|td| td.container_definitions())
            .map(|c| {
                let name = c.name().unwrap_or_default().to_string();
                (name, c.image().unwrap_or_default().to_string())
            })
            .collect();
        let lookup = sidecar_images::RegistryLookup {
            ecr: clients.ecr.clone(),
            region: session.aws.region(),
        };
        sidecar_images::pin(&session.loaded.config, &names.container, &running, &lookup).await
    } else {
        Vec::new()
    };
    // With keep_last, where the image the service runs now stands in the repository: after
    // this deploy it is the way back for `shipit rollback`.
    let rollback_image = match (&session.loaded.config.repository.keep_last, &service, whole) {
        (Some(_), Some(service), true) => {
            running_app_image_rank(session, service, latest.as_ref().map(|(td, _)| td)).await?
        }
        _ => None,
    };
    let current = Current {
        rollback_image,
        autoscaling,
        sidecar_images,
        repository,
        registry_scanning,
        cluster_active: cluster.is_some(),
        cluster_capacity_providers: cluster.flatten(),
        log_group: log_group.map(|g| plan::log_group::LogGroupState {
            retention_days: g.retention_in_days(),
        }),
        task_definition_by_shipit: latest
            .as_ref()
            .is_some_and(|(_, tags)| ecs::registered_by_shipit(tags)),
        task_definition_tags: latest
            .as_ref()
            .map(|(_, tags)| tags.clone())
            .unwrap_or_default(),
        task_definition: latest.map(|(td, _)| td),
        service,
    };
    Ok(Read {
        current,
        registry,
        tagged,
    })
}

/// Reads what AWS holds (the read stage) and plans the changes that ship `image`.
pub async fn plan(
    session: &Session,
    inputs: &PushInputs,
    image: &PreparedImage,
    scope: Scope,
    looked_up: Option<RegistryLookup>,
) -> anyhow::Result<Planned> {
    let names = &session.loaded.names;
    let digest = image.read.image.digest();
    let Read {
        current,
        registry,
        tagged,
    } = read(session, inputs, &digest, scope, looked_up).await?;
    let image_plan = ImagePlan::with_tagged(
        &names.repository,
        registry.pinned(&digest),
        digest.to_string(),
        inputs.tag.clone(),
        tagged.map(|d| d.to_string()),
    );
    let plan = plan::build(&session.loaded, &current, image_plan, &session.aws.region())?;
    Ok(Planned {
        plan,
        current,
        registry,
    })
}

/// Applies the repository's planned changes and pushes the image (`shipit push`, and the first
/// half of `deploy`).
pub async fn push(
    session: &Session,
    inputs: &PushInputs,
    image: &PreparedImage,
    planned: &Planned,
) -> anyhow::Result<PushResult> {
    let printer = &session.printer;
    let repository = &planned.plan.repository;
    let (uri, arn) = crate::apply::repository::apply(&session.clients.ecr, repository).await?;
    if repository.create {
        printer.info(&format!("created repository {uri}"));
    }
    if !repository.create {
        for change in &repository.changes {
            printer.info(&format!(
                "repository {}: {}",
                repository.name,
                plan::human::change_line(change)
            ));
        }
    }
    let outcome = RepositoryOutcome {
        name: repository.name.clone(),
        uri,
        arn,
        created: repository.create,
        changes: repository.changes.clone(),
    };
    push::push_stage(
        &session.loaded,
        inputs,
        image,
        &planned.registry,
        outcome,
        printer,
    )
    .await
}

/// How to wait.
#[derive(Debug, Clone)]
pub struct WaitRules {
    pub wait: bool,
    pub timeout: Duration,
    pub rules: Rules,
    pub until: crate::rollout::WaitUntil,
}

/// How `deploy` goes about it, as its flags say.
#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub wait: WaitRules,
    /// Go on without running the before-deploy hooks (`--skip-hooks`).
    pub skip_hooks: bool,
}

/// Applies the plan (after the image was read, checked and planned), then watches: the
/// deployment this run started, or, when nothing needed changing, the deployment ECS already
/// runs for this task definition, so that a re-run tells the truth about the service.
pub async fn deploy(
    session: &Session,
    inputs: &PushInputs,
    image: &PreparedImage,
    planned: Planned,
    options: DeployOptions,
) -> anyhow::Result<DeployResult> {
    let DeployOptions { wait, skip_hooks } = options;
    let printer = &session.printer;
    let group = |title: Option<&str>| session.group(title);
    let started = Instant::now();
    let since = crate::clock::now_epoch_seconds();
    let clients = &session.clients;
    let names = &session.loaded.names;
    let plan = &planned.plan;

    // The push does not depend on the cluster or the log group: all three at once.
    group(Some("push the image; cluster and log group"));
    let (mut pushed, (), ()) = tokio::try_join!(
        self::push(session, inputs, image, &planned),
        crate::apply::cluster(clients, &plan.cluster),
        crate::apply::log_group(clients, &plan.log_group),
    )?;
    if plan.cluster.create {
        printer.info(&format!("created cluster {}", names.cluster));
    }
    for change in &plan.log_group.changes {
        printer.info(&format!(
            "log group {}: {}",
            names.log_group,
            plan::human::change_line(change)
        ));
    }
    group(None);

    group(Some("task definition and service"));
    let (td_arn, registered) =
        crate::apply::task_definition(clients, &plan.task_definition).await?;
    if registered {
        printer.info(&format!(
            "registered task definition {}",
            ecs::short_task_definition(&td_arn)
        ));
    }
    // The image size against what the service ran before.
    if let Some(previous) = planned
        .current
        .task_definition
        .as_ref()
        .and_then(|td| ecs::container_image(td, &names.container))
        && previous != pushed.image
    {
        pushed.size_report.deployed_bytes =
            image::image_size_in_ecr(clients, &session.loaded, previous).await;
    }

    let previous_td = plan.service.current_task_definition.clone();
    let mut result = DeployResult {
        ok: true,
        result: Outcome::Deployed,
        changes: plan.changes().cloned().collect(),
        push: pushed,
        cluster_created: plan.cluster.create,
        log_group: plan.log_group.clone(),
        task_definition: TaskDefinitionOutcome {
            arn: td_arn.clone(),
            registered,
        },
        service: ServiceOutcome {
            arn: plan.service.arn.clone().unwrap_or_default(),
            created: false,
            updated: false,
            previous_task_definition: previous_td.clone(),
        },
        hooks: HooksOutcome {
            skipped: skip_hooks && !plan.hooks.is_empty(),
            ran: Vec::new(),
        },
        deployment_id: None,
        service_deployment_arn: None,
        watched: None,
        rollout: None,
        failure: None,
        seconds: 0.0,
        api_calls: BTreeMap::new(),
    };

    // Before-deploy hooks: one-off tasks of the new revision. The service is updated only
    // once each of them exited 0.
    if result.hooks.skipped {
        printer.info(&format!(
            "skipping {} before-deploy hook(s) (--skip-hooks)",
            plan.hooks.len()
        ));
    } else if !plan.hooks.is_empty() {
        group(None);
        let stopped = hooks::run_all(session, plan, &td_arn, &mut result).await?;
        if stopped {
            return Ok(finish(result, clients, started));
        }
        group(Some("service"));
    }

    let applied = crate::apply::service(clients, &plan.service, &td_arn).await?;
    for change in plan
        .service
        .changes
        .iter()
        .filter(|c| c.operation != plan::Operation::TagResource && !plan.service.create)
    {
        printer.info(&format!("  {}", plan::human::change_line(change)));
    }
    // The scalable target needs the service; its policies need the target.
    if !plan.autoscaling.changes.is_empty() {
        crate::apply::autoscaling::apply(&clients.autoscaling, &plan.autoscaling).await?;
        for change in &plan.autoscaling.changes {
            printer.info(&format!(
                "  autoscaling: {}",
                plan::human::change_line(change)
            ));
        }
    }
    group(None);
    printer.info(&format!("image {}", result.push.size_report.summary()));
    result.service.arn = applied.arn.clone();
    result.service.created = plan.service.create;
    result.service.updated = plan.service.writes_service() && !plan.service.create;
    result.deployment_id = applied.deployment_id.clone();

    // The deployment to judge: ours, or the one ECS already runs for this task definition.
    let current_service = planned.current.service.as_ref();
    let (deployment, watched, since) = match applied.deployment_id {
        Some(id) => (Some(id), Watched::Started, since),
        None => {
            let existing = planned.current.service.as_ref().and_then(|s| {
                s.deployments()
                    .iter()
                    .find(|d| d.status() == Some("PRIMARY") && d.task_definition() == Some(&td_arn))
            });
            let created = existing
                .and_then(|d| d.created_at())
                .map_or(since, |t| t.as_secs_f64().min(since));
            (
                existing.and_then(|d| d.id()).map(str::to_string),
                Watched::Existing,
                created,
            )
        }
    };
    let Some(deployment_id) = deployment else {
        result.result = Outcome::Unchanged;
        return Ok(finish(result, clients, started));
    };
    result.deployment_id = Some(deployment_id.clone());
    result.watched = Some(watched);
    // Where a rollback goes: the last revision known to be good, as the service was before
    // this deploy; never the revision being deployed, never one that failed.
    let previous = crate::rollout::last_good(
        &current_service.map(ecs::deployments_of).unwrap_or_default(),
        plan.service.recorded_task_definition.as_deref(),
        previous_td.as_deref(),
        &td_arn,
    );
    // The service deployment to follow: the one our update started, or on a re-run the
    // service's current one when the deployment being watched is that service's PRIMARY.
    let service_deployment_arn = match watched {
        Watched::Started => applied.service_deployment_arn.clone(),
        Watched::Existing => current_service.and_then(ecs::current_service_deployment),
    };
    result.service_deployment_arn = service_deployment_arn.clone();
    let target = Target {
        deployment_id,
        task_definition: td_arn.clone(),
        previous_task_definition: previous,
        service_deployment_arn,
    };
    // A re-run whose deployment ECS already completed on every task: the service as the plan
    // read it says so, and there is nothing to watch.
    if watched == Watched::Existing
        && let Some(service) = &planned.current.service
    {
        let snapshot = crate::rollout::Snapshot {
            desired: service.desired_count(),
            running: service.running_count(),
            pending: service.pending_count(),
            deployments: ecs::deployments_of(service),
            tasks: Vec::new(),
            events: Vec::new(),
            service_deployment: None,
        };
        if let Verdict::Succeeded { .. } =
            crate::rollout::evaluate_until(&snapshot, &target, &wait.rules, &wait.until)
        {
            result.result = Outcome::Unchanged;
            crate::apply::record(clients, &plan.service, &result.service.arn, &td_arn).await?;
            return Ok(finish(result, clients, started));
        }
    }
    if !wait.wait && watched == Watched::Started {
        result.result = Outcome::Accepted;
        return Ok(finish(result, clients, started));
    }
    let timeout = if wait.wait {
        wait.timeout
    } else {
        // One look at a deployment already under way: enough to tell a failed one.
        Duration::ZERO
    };
    group(Some("rollout"));
    let outcome = watch::watch(
        clients,
        names,
        &target,
        &wait.rules,
        &wait.until,
        timeout,
        since,
        printer,
    )
    .await?;
    group(None);
    let first_look_succeeded = outcome.polls == 1;
    let concluded = report::conclude(
        session,
        Some(report::DeployWrites {
            service: &plan.service,
            service_arn: &result.service.arn,
        }),
        &target,
        outcome,
        wait.wait,
    )
    .await?;
    result.result = concluded.result;
    result.rollout = Some(concluded.rollout);
    result.failure = concluded.failure;
    if result.result == Outcome::Deployed && watched == Watched::Existing && first_look_succeeded {
        result.result = Outcome::Unchanged;
    }
    Ok(finish(result, clients, started))
}

fn finish(mut result: DeployResult, clients: &Clients, started: Instant) -> DeployResult {
    result.ok = result.result.exit_status() == ExitStatus::Success;
    result.seconds = started.elapsed().as_secs_f64();
    result.api_calls = clients.calls.counts();
    result
}

#[cfg(test)]
mod tests {
    use super::Outcome;

    /// `as_str` (GitHub's `result` output) and the JSON `result` spell every outcome alike.
    #[test]
    fn outcome_names_agree_with_their_json() {
        for outcome in [
            Outcome::Deployed,
            Outcome::StageReached,
            Outcome::HookFailed,
            Outcome::Unchanged,
            Outcome::Accepted,
            Outcome::Failed,
            Outcome::RolledBack,
            Outcome::Superseded,
            Outcome::TimedOut,
            Outcome::Interrupted,
        ] {
            assert_eq!(
                serde_json::to_value(outcome).unwrap(),
                serde_json::json!(outcome.as_str())
            );
        }
    }
}
