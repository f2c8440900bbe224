//! The plan: what a deploy would change, resource by resource, and the exact AWS call that
//! applies each change. `shipit plan` prints it, `deploy` applies it (`apply`), and nothing
//! else in shipit decides what changes.
//!
//! Each managed resource renders its wanted state and its current state into the same flat
//! list of [`Field`]s (`render`); [`diff`] compares the two lists, so an addition, a change and
//! a removal are found the same way for every resource. A removal is a change like any other:
//! the call that applies it sends the empty value (`loadBalancers: []`, a grace period of 0).
//!
//! Building a plan is pure: [`build`] takes the [`Current`] state read from AWS and the config,
//! and can be tested without the network.

pub mod autoscaling;
pub mod cluster;
pub mod discovery;
pub mod human;
pub mod log_group;
pub mod process;
pub mod repository;
pub mod rollback;
pub mod service;
pub mod sidecar_image;
pub mod storage;
pub mod task_definition;

use std::collections::BTreeSet;

use serde::Serialize;

pub use cluster::ClusterPlan;
pub use log_group::LogGroupPlan;
pub use repository::{RepositoryPlan, RepositoryState};
pub use service::{ServicePlan, ServiceSettings, TaskDefinitionRef};
pub use task_definition::{TaskDef, TaskDefinitionPlan};

use crate::config::LoadedConfig;
use sidecar_image::SidecarImage;

/// The AWS resources shipit manages, in the order a deploy touches them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Resource {
    Repository,
    Image,
    Cluster,
    LogGroup,
    TaskDefinition,
    Service,
    Autoscaling,
}

impl Resource {
    pub fn label(self) -> &'static str {
        match self {
            Resource::Repository => "repository",
            Resource::Image => "image",
            Resource::Cluster => "cluster",
            Resource::LogGroup => "log group",
            Resource::TaskDefinition => "task definition",
            Resource::Service => "service",
            Resource::Autoscaling => "autoscaling",
        }
    }
}

/// A write call that applies changes. `Push` is the registry upload (not an AWS API call).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Operation {
    CreateRepository,
    PutImageTagMutability,
    PutImageScanningConfiguration,
    PutLifecyclePolicy,
    DeleteLifecyclePolicy,
    Push,
    CreateCluster,
    CreateLogGroup,
    PutRetentionPolicy,
    RegisterTaskDefinition,
    CreateService,
    UpdateService,
    /// After the rollout succeeded: the task definitions shipit records for `rollback`.
    TagResource,
    RegisterScalableTarget,
    PutScalingPolicy,
    DeleteScalingPolicy,
    DeregisterScalableTarget,
}

impl Operation {
    /// `SERVICE:Operation`, as the SDK names it (and as `api_calls` in the JSON output counts
    /// it); None for the registry upload.
    pub fn api_name(self) -> Option<&'static str> {
        Some(match self {
            Operation::CreateRepository => "ECR:CreateRepository",
            Operation::PutImageTagMutability => "ECR:PutImageTagMutability",
            Operation::PutImageScanningConfiguration => "ECR:PutImageScanningConfiguration",
            Operation::PutLifecyclePolicy => "ECR:PutLifecyclePolicy",
            Operation::DeleteLifecyclePolicy => "ECR:DeleteLifecyclePolicy",
            Operation::Push => return None,
            Operation::CreateCluster => "ECS:CreateCluster",
            Operation::CreateLogGroup => "CloudWatch Logs:CreateLogGroup",
            Operation::PutRetentionPolicy => "CloudWatch Logs:PutRetentionPolicy",
            Operation::RegisterTaskDefinition => "ECS:RegisterTaskDefinition",
            Operation::CreateService => "ECS:CreateService",
            Operation::UpdateService => "ECS:UpdateService",
            Operation::TagResource => "ECS:TagResource",
            Operation::RegisterScalableTarget => "Application Auto Scaling:RegisterScalableTarget",
            Operation::PutScalingPolicy => "Application Auto Scaling:PutScalingPolicy",
            Operation::DeleteScalingPolicy => "Application Auto Scaling:DeleteScalingPolicy",
            Operation::DeregisterScalableTarget => {
                "Application Auto Scaling:DeregisterScalableTarget"
            }
        })
    }

    /// How people read it: `ECS UpdateService`, `registry upload`.
    pub fn label(self) -> String {
        match self.api_name() {
            Some(name) => name.replacen(':', " ", 1),
            None => "registry upload".to_string(),
        }
    }
}

/// One field of a resource, rendered for comparison and for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// `desired_count`, `containers.api.environment.LOG_LEVEL`.
    pub name: String,
    /// The value as people read it (lists as JSON arrays, so `["a b"]` and `["a", "b"]` differ).
    pub value: String,
    /// Never printed: a change shows as `(secret) changed`.
    pub secret: bool,
    /// The API parameter that carries it (`networkConfiguration`).
    pub argument: &'static str,
    /// Read back only: a setting shipit does not render, which no key of deploy.yaml names.
    pub unmanaged: bool,
}

impl Field {
    pub fn new(name: impl Into<String>, value: impl ToString, argument: &'static str) -> Field {
        Field {
            name: name.into(),
            value: value.to_string(),
            secret: false,
            argument,
            unmanaged: false,
        }
    }

    /// A setting the running resource holds that shipit does not render.
    pub fn unmanaged(mut self) -> Field {
        self.unmanaged = true;
        self
    }

    pub fn secret(mut self, secret: bool) -> Field {
        self.secret = secret;
        self
    }
}

/// One difference between what is and what the config wants, and the call that applies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub resource: Resource,
    /// The resource's name (repository, cluster, family, service...).
    pub name: String,
    pub field: String,
    /// None: the field is not set (an addition, or the whole resource is created).
    pub current: Option<String>,
    /// None: the field goes away (sent as its empty value).
    pub wanted: Option<String>,
    /// The values are secret: `current` and `wanted` say `(secret)`.
    pub secret: bool,
    pub operation: Operation,
    /// The parameter of `operation` that carries the change.
    pub argument: &'static str,
    /// A removal deploy makes only with `--allow-removals`: a setting the running revision or
    /// service holds that deploy.yaml does not name (one shipit cannot render, or one on a
    /// revision or service that shipit did not make).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub guarded: bool,
}

impl Change {
    pub fn is_removal(&self) -> bool {
        self.current.is_some() && self.wanted.is_none()
    }
}

/// Marks the removals among `changes` as guarded (see `Change::guarded`).
pub fn guard_removals(changes: &mut [Change]) {
    for change in changes.iter_mut().filter(|c| c.is_removal()) {
        change.guarded = true;
    }
}

/// Compares two renderings of one resource: every field added, changed or removed, in the
/// wanted rendering's order (removals last).
pub fn diff(
    resource: Resource,
    name: &str,
    operation: Operation,
    current: &[Field],
    wanted: &[Field],
) -> Vec<Change> {
    let find = |fields: &[Field], n: &str| fields.iter().position(|f| f.name == n);
    let shown = |f: &Field| {
        if f.secret {
            "(secret)".to_string()
        } else {
            f.value.clone()
        }
    };
    let mut changes = Vec::new();
    for w in wanted {
        let have = find(current, &w.name).map(|i| &current[i]);
        if have.is_some_and(|h| h.value == w.value) {
            continue;
        }
        changes.push(Change {
            resource,
            name: name.to_string(),
            field: w.name.clone(),
            current: have.map(shown),
            wanted: Some(shown(w)),
            secret: w.secret || have.is_some_and(|h| h.secret),
            operation,
            argument: w.argument,
            guarded: false,
        });
    }
    for c in current {
        if find(wanted, &c.name).is_none() {
            changes.push(Change {
                resource,
                name: name.to_string(),
                field: c.name.clone(),
                current: Some(shown(c)),
                wanted: None,
                secret: c.secret,
                operation,
                argument: c.argument,
                guarded: c.unmanaged,
            });
        }
    }
    changes
}

/// A list shown as a JSON array, so that `["sh -c", "x"]` never reads like `["sh", "-c x"]`.
pub fn json_list<S: AsRef<str>>(items: &[S]) -> String {
    serde_json::to_string(&items.iter().map(AsRef::as_ref).collect::<Vec<_>>())
        .expect("strings serialise")
}

/// The image the deploy ships: pushed under its tag unless the tag already names it.
#[derive(Debug, Clone, Serialize)]
pub struct ImagePlan {
    pub tag: String,
    /// `REGISTRY/REPOSITORY@sha256:...`: what the task definition pins.
    pub reference: String,
    pub digest: String,
    /// The digest the tag names now, if any.
    pub tagged: Option<String>,
    pub changes: Vec<Change>,
}

impl ImagePlan {
    pub fn new(repository: &str, reference: String, digest: String, tag: String) -> ImagePlan {
        ImagePlan::with_tagged(repository, reference, digest, tag, None)
    }

    pub fn with_tagged(
        repository: &str,
        reference: String,
        digest: String,
        tag: String,
        tagged: Option<String>,
    ) -> ImagePlan {
        let changes = diff(
            Resource::Image,
            repository,
            Operation::Push,
            &tagged
                .iter()
                .map(|d| Field::new(format!("tag {tag}"), d, "manifest"))
                .collect::<Vec<_>>(),
            &[Field::new(format!("tag {tag}"), &digest, "manifest")],
        );
        ImagePlan {
            tag,
            reference,
            digest,
            tagged,
            changes,
        }
    }
}

/// What AWS holds now, read once before the plan is made.
#[derive(Debug, Clone, Default)]
pub struct Current {
    pub repository: Option<RepositoryState>,
    /// The registry's scanning rule that scans this repository on push, when one does.
    pub registry_scanning: Option<String>,
    pub cluster_active: bool,
    /// The active cluster's capacity providers, when they were read.
    pub cluster_capacity_providers: Option<Vec<String>>,
    pub log_group: Option<log_group::LogGroupState>,
    /// The family's latest ACTIVE revision.
    pub task_definition: Option<aws_sdk_ecs::types::TaskDefinition>,
    /// shipit registered that revision (its `managed-by` tag): what it holds came from a config.
    pub task_definition_by_shipit: bool,
    /// That revision's tags.
    pub task_definition_tags: std::collections::BTreeMap<String, String>,
    pub service: Option<aws_sdk_ecs::types::Service>,
    /// The service's scalable target with shipit's policies, when one is registered.
    pub autoscaling: Option<autoscaling::ScalingSettings>,
    /// Each sidecar's image as its registry pins it now (see `pipeline::sidecar_images`).
    pub sidecar_images: Vec<SidecarImage>,
    /// The image the service runs now (where `shipit rollback` would return after this
    /// deploy) and how many images of the repository were pushed after it; read only with
    /// `repository.keep_last`.
    pub rollback_image: Option<(String, usize)>,
}

impl Plan {
    /// The removals deploy makes only with `--allow-removals` (see `Change::guarded`).
    pub fn guarded_removals(&self) -> Vec<&Change> {
        self.changes().filter(|c| c.guarded).collect()
    }
}

/// Every change a deploy makes, per resource, in the order it makes them.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub repository: RepositoryPlan,
    pub image: ImagePlan,
    pub cluster: ClusterPlan,
    pub log_group: LogGroupPlan,
    pub task_definition: TaskDefinitionPlan,
    pub service: ServicePlan,
    pub autoscaling: autoscaling::AutoscalingPlan,
    /// The before-deploy hooks this deploy runs: all of them when it moves the service to
    /// another task definition (or creates it), none otherwise.
    pub hooks: Vec<PlannedHook>,
    /// How each sidecar's image was pinned.
    pub sidecar_images: Vec<SidecarImage>,
    /// What the plan cannot change but should be known before deploying.
    pub warnings: Vec<String>,
}

/// A before-deploy hook: a one-off task of the new revision, run before the service update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedHook {
    pub command: Vec<String>,
    pub container: String,
    pub timeout_seconds: u64,
}

impl PlannedHook {
    pub fn shown(&self) -> String {
        format!(
            "run `{}` in container {} (timeout {}s)",
            self.command.join(" "),
            self.container,
            self.timeout_seconds
        )
    }
}

impl Plan {
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.repository
            .changes
            .iter()
            .chain(&self.image.changes)
            .chain(&self.cluster.changes)
            .chain(&self.log_group.changes)
            .chain(&self.task_definition.changes)
            .chain(&self.service.changes)
            .chain(&self.autoscaling.changes)
    }

    pub fn is_empty(&self) -> bool {
        self.changes().next().is_none()
    }

    /// The AWS write calls applying the plan makes (`ECS:UpdateService`...), each once.
    pub fn writes(&self) -> BTreeSet<&'static str> {
        let mut writes: BTreeSet<&'static str> = self
            .changes()
            .filter_map(|c| c.operation.api_name())
            .collect();
        if !self.hooks.is_empty() {
            writes.insert("ECS:RunTask");
        }
        writes
    }
}

/// The plan for `loaded`, given what AWS holds now and the image to ship.
pub fn build(
    loaded: &LoadedConfig,
    current: &Current,
    image: ImagePlan,
    region: &str,
) -> anyhow::Result<Plan> {
    let names = &loaded.names;
    let config = &loaded.config;
    let repository = RepositoryPlan::new(
        &names.repository,
        &config.repository,
        current.repository.as_ref(),
        current.registry_scanning.as_deref(),
    )?;
    let cluster = ClusterPlan::new(&names.cluster, current.cluster_active);
    if let Some(associated) = &current.cluster_capacity_providers {
        cluster::check_capacity_providers(&names.cluster, associated, config)?;
    }
    let log_group = LogGroupPlan::new(
        &names.log_group,
        config.logs.retention_days.map(|d| d as i32),
        current.log_group.as_ref(),
    );
    let mut wanted_td = TaskDef::render(config, names, &image.reference, region);
    wanted_td.use_sidecar_images(&current.sidecar_images);
    let mut task_definition = TaskDefinitionPlan::new(
        wanted_td,
        current.task_definition.as_ref(),
        &current.task_definition_tags,
    );
    // A revision made elsewhere: deploy.yaml does not name what it would drop.
    if !current.task_definition_by_shipit {
        guard_removals(&mut task_definition.changes);
    } else {
        // On shipit's own revision, a field `ecs:` can write came from a config's `ecs:`: a
        // config that drops it removes it like any key.
        for change in task_definition.changes.iter_mut() {
            if change.guarded && task_definition::written_by_pass_through(&change.field) {
                change.guarded = false;
            }
        }
    }
    let target = match &task_definition.current_arn {
        Some(arn) if !task_definition.registers() => TaskDefinitionRef::Existing(arn.clone()),
        _ => TaskDefinitionRef::NewRevision,
    };
    let autoscaling = autoscaling::AutoscalingPlan::new(
        autoscaling::resource_id(&names.cluster, &names.service),
        autoscaling::ScalingSettings::render(config),
        current.autoscaling.clone(),
    );
    let mut settings = ServiceSettings::render(config, names, region);
    if let Some(range) = &config.service.autoscaling {
        // A new service starts within the range; after that the count is not shipit's.
        settings.desired_count = settings
            .desired_count
            .clamp(range.min as i32, range.max.max(range.min) as i32);
    }
    let mut service = ServicePlan::new(
        settings,
        names,
        target,
        current.service.as_ref(),
        autoscaling.owns_desired_count(),
    );
    // A service shipit neither created nor deployed: the same.
    if current
        .service
        .as_ref()
        .is_some_and(|s| !service::made_by_shipit(s))
    {
        guard_removals(&mut service.changes);
    }
    let hooks = if service.create || service.updates("taskDefinition") {
        config
            .hooks
            .before_deploy
            .iter()
            .map(|h| PlannedHook {
                command: h.run.clone(),
                container: h
                    .container
                    .clone()
                    .unwrap_or_else(|| names.container.clone()),
                timeout_seconds: h.timeout_seconds(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Plan {
        repository,
        image,
        cluster,
        log_group,
        task_definition,
        service,
        autoscaling,
        hooks,
        sidecar_images: current.sidecar_images.clone(),
        warnings: rollback_image_warning(
            config.repository.keep_last,
            current.rollback_image.as_ref(),
        )
        .into_iter()
        .collect(),
    })
}

#[cfg(test)]
mod rollback_image_tests {
    /// keep_last 5: an image with 3 newer keeps its place after one more push (4 newer);
    /// with 4 newer it would have 5 newer and be expired: warned, naming keep_last.
    #[test]
    fn keep_last_that_would_expire_the_rollback_image_is_warned() {
        let image = |newer| ("r/app@sha256:aa".to_string(), newer);
        assert_eq!(
            super::rollback_image_warning(Some(5), Some(&image(3))),
            None
        );
        let warned = super::rollback_image_warning(Some(5), Some(&image(4))).unwrap();
        assert!(
            warned.contains("keep_last (5)") && warned.contains("5 newer"),
            "{warned}"
        );
        assert_eq!(super::rollback_image_warning(None, Some(&image(40))), None);
    }
}

/// `repository.keep_last` N keeps the N newest images: after this deploy's push, the image the
/// service runs now (where `shipit rollback` would return) must still be one of them.
pub fn rollback_image_warning(
    keep_last: Option<i64>,
    rollback_image: Option<&(String, usize)>,
) -> Option<String> {
    let keep = keep_last?;
    let (image, newer) = rollback_image?;
    let newer_after_push = *newer as i64 + 1;
    (newer_after_push >= keep).then(|| {
        format!(
            "after this deploy, repository.keep_last ({keep}) expires the image the service runs now ({image}, with {newer_after_push} newer), which `shipit rollback` would return to: raise keep_last to keep a way back"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, value: &str) -> Field {
        Field::new(name, value, "arg")
    }

    #[test]
    fn diff_finds_additions_changes_and_removals() {
        let current = [f("a", "1"), f("b", "2"), f("gone", "x")];
        let wanted = [f("a", "1"), f("b", "3"), f("new", "y")];
        let changes = diff(
            Resource::Service,
            "s",
            Operation::UpdateService,
            &current,
            &wanted,
        );
        let summary: Vec<_> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.current.as_deref(), c.wanted.as_deref()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("b", Some("2"), Some("3")),
                ("new", None, Some("y")),
                ("gone", Some("x"), None),
            ]
        );
        assert!(
            diff(
                Resource::Service,
                "s",
                Operation::UpdateService,
                &wanted,
                &wanted
            )
            .is_empty()
        );
    }

    #[test]
    fn secret_values_never_show_but_their_change_does() {
        let current = [f("API_TOKEN", "old").secret(true)];
        let wanted = [f("API_TOKEN", "new").secret(true)];
        let changes = diff(
            Resource::TaskDefinition,
            "t",
            Operation::RegisterTaskDefinition,
            &current,
            &wanted,
        );
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].current.as_deref(), Some("(secret)"));
        assert_eq!(changes[0].wanted.as_deref(), Some("(secret)"));
        assert!(changes[0].secret);
    }

    #[test]
    fn lists_show_as_arrays_so_argument_boundaries_are_visible() {
        assert_ne!(json_list(&["sh -c", "x"]), json_list(&["sh", "-c x"]));
        assert_eq!(json_list(&["a", "b c"]), r#"["a","b c"]"#);
    }

    #[test]
    fn a_tag_that_already_names_the_image_is_no_push() {
        let same = ImagePlan::with_tagged(
            "r",
            "h/r@sha256:a".into(),
            "sha256:a".into(),
            "v1".into(),
            Some("sha256:a".into()),
        );
        assert!(same.changes.is_empty());
        let new = ImagePlan::new("r", "h/r@sha256:a".into(), "sha256:a".into(), "v1".into());
        assert_eq!(new.changes.len(), 1);
        assert_eq!(new.changes[0].operation, Operation::Push);
    }
}

#[cfg(test)]
mod snapshot_tests {
    //! The plan as people read it, for a service whose config dropped settings, a revision with
    //! things shipit does not render, and a new image. ARNs, digests and account ids are
    //! scrubbed so the snapshot says what matters.

    use super::*;
    use crate::config;

    /// Digests become `[digest-N]` in order of appearance (so a change still shows), account
    /// ids `[account]`.
    fn scrub(text: &str) -> String {
        let digest = regex::Regex::new(r"sha256:[0-9a-f]{64}").unwrap();
        let account = regex::Regex::new(r":\d{12}:").unwrap();
        let mut seen: Vec<String> = Vec::new();
        let text = digest.replace_all(text, |m: &regex::Captures| {
            let d = m[0].to_string();
            let n = seen.iter().position(|s| *s == d).unwrap_or_else(|| {
                seen.push(d);
                seen.len() - 1
            });
            format!("[digest-{}]", n + 1)
        });
        account.replace_all(&text, ":[account]:").into_owned()
    }

    #[test]
    fn plan_of_dropped_settings_unrendered_fields_and_a_new_image() {
        let text = "\
app: web
image: { source: 'docker://web:1', tag: v2 }
service: { subnets: [subnet-0123456789abcdef0] }
task: { execution_role: 'arn:aws:iam::123456789012:role/exec' }
container:
  environment: { API_TOKEN: new, LOG_LEVEL: info }
  command: [/bin/sh, -c, 'exec gunicorn app:app']
";
        let loaded = config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        let old_image = format!("h/web@sha256:{}", "1".repeat(64));
        let new_image = format!("h/web@sha256:{}", "2".repeat(64));
        // What runs now: the same config but the old image, an old token, a sidecar, a grace
        // period and a target group the config no longer names.
        let mut running = TaskDef::render(&loaded.config, &loaded.names, &old_image, "us-east-1");
        running.containers[0]
            .environment
            .insert("API_TOKEN".into(), "old".into());
        let td_arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3";
        let mut td = task_definition::registered(&running);
        td.task_definition_arn = Some(td_arn.to_string());
        td.container_definitions.get_or_insert_default().push(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("log-router")
                .image("fluent-bit:3")
                .build(),
        );
        let mut settings = ServiceSettings::render(&loaded.config, &loaded.names, "us-east-1");
        settings.health_check_grace_period = 60;
        settings.load_balancers = vec![service::LoadBalancerDef {
            target_group_arn:
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef"
                    .into(),
            container_name: "web".into(),
            container_port: 5000,
            traffic_shift: None,
        }];
        let svc = aws_sdk_ecs::types::Service::builder()
            .service_arn("arn:aws:ecs:us-east-1:123456789012:service/default/web")
            .task_definition(td_arn)
            .desired_count(settings.desired_count)
            .network_configuration(settings.network())
            .deployment_configuration(
                settings.deployment_configuration(service::Dropped::default()),
            )
            .health_check_grace_period_seconds(60)
            .set_load_balancers(Some(settings.load_balancers()))
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(crate::ecs::TAG_CURRENT)
                    .value(td_arn)
                    .build(),
            )
            .build();
        let current = Current {
            task_definition_by_shipit: true,
            task_definition_tags: Default::default(),
            cluster_capacity_providers: None,
            rollback_image: None,
            autoscaling: None,
            sidecar_images: Vec::new(),
            registry_scanning: None,
            repository: Some(RepositoryState {
                uri: "h/web".into(),
                arn: "arn:aws:ecr:us-east-1:123456789012:repository/web".into(),
                tag_mutability: "IMMUTABLE".into(),
                mutable_tags: Vec::new(),
                scan_on_push: true,
                encryption: "AES256".into(),
                kms_key: None,
                lifecycle_policy: None,
            }),
            cluster_active: true,
            log_group: Some(log_group::LogGroupState {
                retention_days: None,
            }),
            task_definition: Some(td),
            service: Some(svc),
        };
        let image = ImagePlan::new(
            "web",
            new_image,
            format!("sha256:{}", "2".repeat(64)),
            "v2".into(),
        );
        let plan = build(&loaded, &current, image, "us-east-1").unwrap();
        insta::assert_snapshot!(scrub(&human::render(&plan)));
        insta::assert_snapshot!(
            "writes",
            plan.writes().into_iter().collect::<Vec<_>>().join("\n")
        );
    }

    /// Removals deploy makes only when told: a setting shipit does not render, always; and
    /// on a revision or service shipit did not make, any setting deploy.yaml does not name.
    #[test]
    fn removals_of_what_deploy_yaml_does_not_name_are_guarded() {
        let text = "\
app: web
image: { source: 'docker://web:1', tag: v1 }
service: { subnets: [subnet-0123456789abcdef0] }
task: { execution_role: 'arn:aws:iam::123456789012:role/exec' }
";
        let loaded = config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        let image = format!("h/web@sha256:{}", "1".repeat(64));
        let running = TaskDef::render(&loaded.config, &loaded.names, &image, "us-east-1");
        let mut td = task_definition::registered(&running);
        td.task_definition_arn =
            Some("arn:aws:ecs:us-east-1:123456789012:task-definition/web:3".into());
        // A hostname (no key of deploy.yaml renders one) and a sidecar the config does not name.
        let containers = td.container_definitions.get_or_insert_default();
        containers[0].hostname = Some("web-1".into());
        containers.push(
            aws_sdk_ecs::types::ContainerDefinition::builder()
                .name("log-router")
                .image("fluent-bit:3")
                .build(),
        );
        // The plan against a revision (and a service) made by shipit or elsewhere.
        let plan_against = |td: &aws_sdk_ecs::types::TaskDefinition,
                            service: Option<aws_sdk_ecs::types::Service>,
                            by_shipit: bool| {
            let current = Current {
                task_definition_by_shipit: by_shipit,
                task_definition_tags: Default::default(),
                cluster_capacity_providers: None,
                rollback_image: None,
                autoscaling: None,
                sidecar_images: Vec::new(),
                registry_scanning: None,
                repository: None,
                cluster_active: true,
                log_group: None,
                task_definition: Some(td.clone()),
                service,
            };
            let image_plan = ImagePlan::new(
                "web",
                image.clone(),
                format!("sha256:{}", "1".repeat(64)),
                "v1".into(),
            );
            build(&loaded, &current, image_plan, "us-east-1").unwrap()
        };
        let plan_with = |by_shipit: bool| plan_against(&td, None, by_shipit);
        let guarded = |plan: &Plan| -> Vec<String> {
            plan.guarded_removals()
                .iter()
                .map(|c| c.field.clone())
                .collect()
        };
        // shipit's own revision: only the hostname, which no key of deploy.yaml names.
        let ours = plan_with(true);
        assert_eq!(guarded(&ours), ["containers.web.hostname"]);
        assert!(
            ours.task_definition
                .changes
                .iter()
                .any(|c| c.field == "containers.log-router.image" && !c.guarded)
        );
        // A revision made elsewhere: the sidecar's settings too.
        let theirs = plan_with(false);
        let fields = guarded(&theirs);
        assert!(
            fields.contains(&"containers.web.hostname".to_string()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"containers.log-router.image".to_string()),
            "{fields:?}"
        );
        let shown = human::render(&theirs);
        assert!(
            shown.contains("removals that deploy.yaml does not ask for"),
            "{shown}"
        );
        // A service made elsewhere with Service Connect, a Cloud Map registry and an EBS
        // volume (on a revision that declares it): a config silent on them removes each, and
        // each removal is guarded.
        let mut with_ebs = td.clone();
        with_ebs.volumes.get_or_insert_default().push(
            aws_sdk_ecs::types::Volume::builder()
                .name("scratch")
                .configured_at_launch(true)
                .build(),
        );
        let service = crate::ecs_json::from_json(
            &serde_json::json!({
                "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/default/web",
                "serviceName": "web",
                "taskDefinition": "arn:aws:ecs:us-east-1:123456789012:task-definition/web:3",
                "desiredCount": 2,
                "serviceRegistries": [{ "registryArn": "arn:aws:servicediscovery:us-east-1:123456789012:service/srv-0123456789abcdef" }],
                "deployments": [{
                    "status": "PRIMARY",
                    "serviceConnectConfiguration": { "enabled": true, "namespace": "internal" },
                    "volumeConfigurations": [{ "name": "scratch", "managedEBSVolume": {
                        "roleArn": "arn:aws:iam::123456789012:role/ebs", "sizeInGiB": 20 } }]
                }]
            }),
            aws_sdk_ecs::types::Service::deserialize,
        )
        .unwrap();
        let adopted = plan_against(&with_ebs, Some(service), false);
        let fields = guarded(&adopted);
        for field in [
            "service_connect",
            "service_registry",
            "ebs_volumes",
            "volumes.scratch",
        ] {
            assert!(fields.contains(&field.to_string()), "{field}: {fields:?}");
        }
        assert!(
            shown.contains("  task definition web: - containers.web.hostname: web-1 (ECS RegisterTaskDefinition)"),
            "{shown}"
        );
    }
}
