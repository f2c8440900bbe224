//! `shipit plan` (and `deploy --dry-run`): every change a deploy would make, read-only.
//! Exits 0 when nothing would change and 3 when something would.

use serde::Serialize;

use super::push::{PushArgs, PushInputs, registry_base};
use crate::calls::Clients;
use crate::cli::GlobalArgs;
use crate::config::model::TagMutability;
use crate::ecr::{self, RepositoryState};
use crate::ecs::{self, short_task_definition};
use crate::exit::ExitStatus;
use crate::image;
use crate::logs::{self, LogGroupChange};
use crate::printer::Printer;
use crate::registry::Repository;
use crate::service::ServiceSettings;
use crate::taskdef::{TaskDef, diff_lines};

#[derive(Debug, Serialize)]
struct Plan {
    ok: bool,
    changes_pending: bool,
    repository: RepositoryState,
    /// The image reference the task definition would pin.
    image: String,
    /// The tag does not name this image yet: deploy would push it.
    push: bool,
    cluster_create: bool,
    log_group: LogGroupChange,
    /// `register` with the diff, or `keep`.
    task_definition: TaskDefinitionPlan,
    service: ServicePlan,
    api_calls: std::collections::BTreeMap<String, u32>,
}

#[derive(Debug, Serialize)]
struct TaskDefinitionPlan {
    register: bool,
    current: Option<String>,
    diff: Vec<String>,
}

#[derive(Debug, Serialize)]
struct ServicePlan {
    create: bool,
    update: bool,
    diff: Vec<String>,
}

pub async fn run(
    args: &PushArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let inputs = PushInputs::resolve(&loaded, args, &global.aws)?;
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let config = &loaded.config;
    let names = &loaded.names;

    let retention = config.logs.retention_days.map(|d| d as i32);
    let (repository, read, cluster_create, log_group) = tokio::join!(
        ecr::ensure_repository(&clients.ecr, &names.repository, &config.repository, true),
        image::read(&inputs.source, &inputs.options),
        ecs::ensure_cluster(&clients.ecs, &names.cluster, true),
        logs::ensure_log_group(&clients.logs, &names.log_group, retention, true),
    );
    let (repository, cluster_create, log_group) = (repository?, cluster_create?, log_group?);
    let read = read?;
    let digest = read.image.digest();

    // Where the image would live, and whether the tag already names it.
    let (proxy_endpoint, credentials) = ecr::registry_login(&clients.ecr).await?;
    let uri = if repository.uri.is_empty() {
        format!(
            "{}/{}",
            proxy_endpoint.trim_start_matches("https://"),
            names.repository
        )
    } else {
        repository.uri.clone()
    };
    let base = registry_base(
        inputs.registry_override.as_deref(),
        aws.endpoint.as_deref(),
        &uri,
        &proxy_endpoint,
    )?;
    let repo = Repository::new(base, &names.repository, Some(credentials))?;
    let host = repo.registry_host();
    let image_ref = format!("{host}/{}@{digest}", names.repository);
    let push = if repository.created {
        true
    } else {
        repo.login().await?;
        match repo.manifest_digest(&inputs.tag).await? {
            Some(existing) if existing == digest => false,
            Some(existing) if config.repository.tag_mutability == TagMutability::Immutable => {
                anyhow::bail!(
                    "deploy would fail: tag `{}` already names image {existing} in the immutable repository {}, and this image is {digest}; push under a new tag",
                    inputs.tag,
                    names.repository
                );
            }
            _ => true,
        }
    };

    let wanted = TaskDef::render(config, names, &image_ref, &aws.region());
    let latest = ecs::describe_task_definition(&clients.ecs, &names.family).await?;
    let current_td = latest.as_ref().and_then(TaskDef::from_ecs);
    let td_plan = match (&latest, &current_td) {
        (Some(td), Some(current)) if *current == wanted => TaskDefinitionPlan {
            register: false,
            current: td.task_definition_arn().map(str::to_string),
            diff: Vec::new(),
        },
        (td, current) => TaskDefinitionPlan {
            register: true,
            current: td
                .as_ref()
                .and_then(|t| t.task_definition_arn())
                .map(str::to_string),
            diff: diff_lines(
                &current.as_ref().map(TaskDef::lines).unwrap_or_default(),
                &wanted.lines(),
            ),
        },
    };

    let settings = ServiceSettings::render(config, names);
    let existing = ecs::describe_service(&clients.ecs, &names.cluster, &names.service).await?;
    let service_plan = match &existing {
        None => ServicePlan {
            create: true,
            update: false,
            diff: settings
                .lines()
                .into_iter()
                .map(|l| format!("+ {l}"))
                .collect(),
        },
        Some(s) => {
            let have =
                ServiceSettings::from_ecs(s, &settings.container_name, settings.container_port);
            let mut diff = diff_lines(&have.lines(), &settings.lines());
            let runs = s.task_definition().unwrap_or_default();
            let target = if td_plan.register {
                None
            } else {
                td_plan.current.clone()
            };
            if target.as_deref() != Some(runs) {
                diff.push(format!(
                    "task definition {} -> {}",
                    short_task_definition(runs),
                    target
                        .as_deref()
                        .map_or("a new revision", short_task_definition)
                ));
            }
            ServicePlan {
                create: false,
                update: !diff.is_empty(),
                diff,
            }
        }
    };

    let changes_pending = repository.created
        || !repository.changed.is_empty()
        || push
        || cluster_create
        || log_group != LogGroupChange::None
        || td_plan.register
        || service_plan.create
        || service_plan.update;
    let plan = Plan {
        ok: true,
        changes_pending,
        repository,
        image: image_ref,
        push,
        cluster_create,
        log_group,
        task_definition: td_plan,
        service: service_plan,
        api_calls: clients.calls.counts(),
    };
    printer.result(&plan, &human(&plan, &loaded.names, &inputs.tag))?;
    Ok(if changes_pending {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    })
}

fn human(plan: &Plan, names: &crate::config::Names, tag: &str) -> String {
    let mut out = String::new();
    let line = |out: &mut String, text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    if plan.repository.created {
        line(
            &mut out,
            format!("repository {}: would be created", names.repository),
        );
    }
    for change in &plan.repository.changed {
        line(
            &mut out,
            format!("repository {}: would change {change}", names.repository),
        );
    }
    if plan.push {
        line(
            &mut out,
            format!("image: would push {} as tag {tag}", plan.image),
        );
    }
    if plan.cluster_create {
        line(
            &mut out,
            format!("cluster {}: would be created", names.cluster),
        );
    }
    match &plan.log_group {
        LogGroupChange::None => {}
        LogGroupChange::Create { .. } => line(
            &mut out,
            format!("log group {}: would be created", names.log_group),
        ),
        LogGroupChange::Retention { from, to } => line(
            &mut out,
            format!(
                "log group {}: retention would change {} -> {to} days",
                names.log_group,
                from.map_or("forever".to_string(), |d| d.to_string())
            ),
        ),
    }
    if plan.task_definition.register {
        line(
            &mut out,
            format!(
                "task definition {}: would register a new revision",
                names.family
            ),
        );
        for d in &plan.task_definition.diff {
            line(&mut out, format!("  {d}"));
        }
    }
    if plan.service.create {
        line(
            &mut out,
            format!("service {}: would be created", names.service),
        );
    } else if plan.service.update {
        line(
            &mut out,
            format!("service {}: would be updated", names.service),
        );
    }
    for d in &plan.service.diff {
        line(&mut out, format!("  {d}"));
    }
    if !plan.changes_pending {
        line(
            &mut out,
            format!(
                "no changes: service {} already runs this image with these settings",
                names.service
            ),
        );
    }
    out
}
