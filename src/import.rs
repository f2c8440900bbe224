//! `shipit init --from-service`: a deploy.yaml written from a service as it runs. The service
//! and its task definition are read through the same types the plan compares
//! (`ServiceSettings`, `TaskDef`), so what is written is exactly what plan will find equal;
//! every setting those types hold without a key in deploy.yaml (`unmanaged`), and every one
//! this import cannot express, is listed as not carried over, in the file and on stderr.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::exit::BadInput;
use crate::plan::RepositoryState;
use crate::plan::discovery::{self, LogDefaults};
use crate::plan::service::ServiceSettings;
use crate::plan::storage::{self, FARGATE_DEFAULT_STORAGE_GIB, VOLUME_CONFIGURATIONS, VolumeDef};
use crate::plan::task_definition::{ContainerDef, TaskDef};

/// What AWS holds for the service, read by the command.
pub struct Running<'a> {
    pub region: &'a str,
    pub cluster: &'a str,
    pub service: &'a aws_sdk_ecs::types::Service,
    pub task_definition: &'a aws_sdk_ecs::types::TaskDefinition,
    /// DescribeTaskDefinition's tags of that revision.
    pub task_definition_tags: &'a BTreeMap<String, String>,
    /// The app image's ECR repository, when the image is in ECR and the repository exists.
    pub repository: Option<&'a RepositoryState>,
    /// The log group's retention, when the group exists.
    pub log_retention_days: Option<i32>,
    /// The container whose image shipit ships (`--container`), else found (`app_container`).
    pub app_container: &'a str,
}

pub struct Imported {
    /// The config tree, in the order deploy.yaml lists keys.
    pub config: Value,
    /// Settings the service or its revision holds that deploy.yaml cannot carry.
    pub not_carried: Vec<String>,
}

/// The container shipit ships a new image into: the one named, else the only one, else the
/// first essential one whose image is in ECR, else the first essential one.
pub fn app_container(
    td: &aws_sdk_ecs::types::TaskDefinition,
    named: Option<&str>,
) -> Result<String, BadInput> {
    let containers = td.container_definitions();
    let names: Vec<&str> = containers.iter().filter_map(|c| c.name()).collect();
    if let Some(name) = named {
        return if names.contains(&name) {
            Ok(name.to_string())
        } else {
            Err(BadInput::new(format!(
                "the task definition has no container `{name}`; its containers: {}",
                names.join(", ")
            )))
        };
    }
    let essential = || containers.iter().filter(|c| c.essential() != Some(false));
    containers
        .first()
        .filter(|_| containers.len() == 1)
        .or_else(|| essential().find(|c| c.image().is_some_and(|i| ecr_repository(i).is_some())))
        .or_else(|| essential().next())
        .and_then(|c| c.name())
        .map(str::to_string)
        .ok_or_else(|| BadInput::new("the task definition has no essential container"))
}

/// The repository name of an ECR image reference (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`
/// with a tag or digest), or None for another registry.
pub fn ecr_repository(image: &str) -> Option<String> {
    let (host, rest) = image.split_once('/')?;
    let labels: Vec<&str> = host.split('.').collect();
    let is_ecr = labels.len() >= 6
        && labels[1] == "dkr"
        && labels[2] == "ecr"
        && labels[0].len() == 12
        && labels[0].bytes().all(|b| b.is_ascii_digit());
    if !is_ecr {
        return None;
    }
    let name = rest.split('@').next().unwrap_or(rest);
    // A `:` after the last `/` starts the tag.
    let name = match name.rfind(':') {
        Some(colon) if !name[colon..].contains('/') => &name[..colon],
        _ => name,
    };
    Some(name.to_string())
}

pub fn import(running: &Running) -> Imported {
    let mut not_carried = Vec::new();
    let service = ServiceSettings::from_ecs(running.service);
    let td = TaskDef::from_ecs(running.task_definition);
    let service_name = running
        .service
        .service_name()
        .unwrap_or_default()
        .to_string();
    let app = running.app_container;
    let app_def = td.containers.iter().find(|c| c.name == app);
    let app_image = app_def.map(|c| c.image.clone()).unwrap_or_default();

    let mut config = Map::new();
    config.insert("app".into(), json!(service_name));
    config.insert("region".into(), json!(running.region));
    config.insert(
        "repository".into(),
        repository(&app_image, running.repository, &mut not_carried),
    );
    let repository_name = ecr_repository(&app_image);
    config.insert(
        "image".into(),
        json!({
            // The image the next deploy ships: the build's, which only the user knows.
            "source": format!(
                "docker://{}:latest",
                repository_name.as_deref().unwrap_or(&service_name)
            ),
        }),
    );
    config.insert("cluster".into(), json!(running.cluster));
    // Where the proxy's logs go when Service Connect names no group of its own: the group
    // the imported config's `logs:` resolves to.
    let log_group = awslogs_container(app_def, &td.containers)
        .and_then(|c| c.log_options.get("awslogs-group").cloned())
        .unwrap_or_else(|| format!("/ecs/{}", td.family));
    let log_defaults = LogDefaults {
        group: &log_group,
        region: running.region,
    };
    config.insert(
        "service".into(),
        service_section(
            &service,
            &service_name,
            app,
            &log_defaults,
            &mut not_carried,
        ),
    );
    let (ebs_volumes, lost) = service
        .ecs_fields
        .get(VOLUME_CONFIGURATIONS)
        .map(storage::ebs_volumes_of)
        .unwrap_or_default();
    not_carried.extend(lost);
    config.insert(
        "task".into(),
        task_section(
            &td,
            running.task_definition_tags,
            &ebs_volumes,
            &mut not_carried,
        ),
    );
    // Volumes configured at launch with no EBS configuration on the service cannot be
    // written; neither can their mount points.
    let unwritten: Vec<String> = td
        .storage
        .volumes
        .iter()
        .filter(|(name, v)| **v == VolumeDef::AtLaunch && !ebs_volumes.contains_key(*name))
        .map(|(name, _)| name.clone())
        .collect();
    let (key, containers) = containers_section(&td, app, &unwritten, &mut not_carried);
    config.insert(key.into(), containers);
    config.insert(
        "logs".into(),
        logs_section(app_def, &td.containers, running, &mut not_carried),
    );
    let task_ecs = carried_as_ecs(
        crate::ecs_json::Target::TaskDefinition,
        &td.raw,
        &td.unmanaged,
        "task definition",
        &mut not_carried,
    );
    if !task_ecs.is_empty()
        && let Some(Value::Object(task)) = config.get_mut("task")
    {
        task.insert("ecs".into(), Value::Object(task_ecs));
    }
    Imported {
        config: Value::Object(config),
        not_carried,
    }
}

fn repository(
    image: &str,
    state: Option<&RepositoryState>,
    not_carried: &mut Vec<String>,
) -> Value {
    let mut out = Map::new();
    let Some(name) = ecr_repository(image) else {
        not_carried.push(format!(
            "the app image `{image}` is not in ECR: deploy pushes to a repository named after the app"
        ));
        return Value::Object(out);
    };
    out.insert("name".into(), json!(name));
    let Some(state) = state else {
        return Value::Object(out);
    };
    match state.tag_mutability.as_str() {
        "IMMUTABLE" | "MUTABLE" => {
            out.insert("tag_mutability".into(), json!(state.tag_mutability));
        }
        "IMMUTABLE_WITH_EXCLUSION" => {
            out.insert("tag_mutability".into(), json!("IMMUTABLE"));
            out.insert("mutable_tags".into(), json!(state.mutable_tags));
        }
        other => not_carried.push(format!("repository tag mutability {other}")),
    }
    out.insert("scan_on_push".into(), json!(state.scan_on_push));
    out.insert("encryption".into(), json!(state.encryption));
    if let Some(key) = &state.kms_key {
        out.insert("kms_key".into(), json!(key));
    }
    if let Some(text) = &state.lifecycle_policy {
        match crate::plan::repository::keep_last_of(text) {
            Some(keep) => {
                out.insert("keep_last".into(), json!(keep));
            }
            // Kept as it is: plan leaves a policy set outside shipit alone.
            None => not_carried.push(
                "the repository's lifecycle policy (left as it is; `keep_last` would replace it)"
                    .into(),
            ),
        }
    }
    Value::Object(out)
}

fn lower(ecs_name: &str) -> String {
    ecs_name.to_ascii_lowercase()
}

fn minutes(m: i32) -> String {
    format!("{m}m")
}

fn service_section(
    s: &ServiceSettings,
    name: &str,
    app: &str,
    logs: &LogDefaults,
    not_carried: &mut Vec<String>,
) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    out.insert("desired_count".into(), json!(s.desired_count));
    out.insert("subnets".into(), json!(s.subnets));
    if !s.security_groups.is_empty() {
        out.insert("security_groups".into(), json!(s.security_groups));
    }
    out.insert("assign_public_ip".into(), json!(s.assign_public_ip));
    out.insert("min_healthy_percent".into(), json!(s.min_healthy_percent));
    out.insert("max_percent".into(), json!(s.max_percent));
    if s.deployment.takes_circuit_breaker() {
        out.insert(
            "circuit_breaker".into(),
            json!({ "enable": s.circuit_breaker, "rollback": s.rollback }),
        );
    }
    if s.health_check_grace_period > 0 {
        out.insert(
            "health_check_grace_period".into(),
            json!(s.health_check_grace_period),
        );
    }
    if s.execute_command {
        out.insert("enable_execute_command".into(), json!(true));
    }
    if let Some(version) = &s.platform_version {
        out.insert("platform_version".into(), json!(version));
    }
    if s.propagate_tags != "NONE" {
        out.insert("propagate_tags".into(), json!(lower(&s.propagate_tags)));
    }
    if s.ecs_managed_tags {
        out.insert("ecs_managed_tags".into(), json!(true));
    }
    if s.az_rebalancing == Some(false) {
        out.insert("availability_zone_rebalancing".into(), json!(false));
    }
    if let Some((names, rollback)) = &s.deployment.alarms {
        out.insert(
            "alarms".into(),
            json!({ "names": names, "rollback": rollback }),
        );
    }
    if !s.capacity_providers.is_empty() {
        let items: Vec<Value> = s
            .capacity_providers
            .iter()
            .map(|(provider, base, weight)| {
                let mut item = Map::new();
                item.insert("provider".into(), json!(provider));
                if *base > 0 {
                    item.insert("base".into(), json!(base));
                }
                item.insert("weight".into(), json!(weight));
                Value::Object(item)
            })
            .collect();
        out.insert("capacity_provider_strategy".into(), Value::Array(items));
    }
    let mut extras = Vec::new();
    for (i, lb) in s.load_balancers.iter().enumerate() {
        if i > 0 && lb.traffic_shift.is_none() {
            let mut extra = Map::new();
            extra.insert("target_group_arn".into(), json!(lb.target_group_arn));
            if lb.container_name != app {
                extra.insert("container".into(), json!(lb.container_name));
            }
            extra.insert("container_port".into(), json!(lb.container_port));
            extras.push(Value::Object(extra));
            continue;
        }
        if i > 0 || lb.container_name != app {
            not_carried.push(format!(
                "load balancer {} -> {}:{} (the first target group is the app container's; more are extra_target_groups, without traffic shifting)",
                lb.target_group_arn, lb.container_name, lb.container_port
            ));
            continue;
        }
        let mut entry = Map::new();
        entry.insert("target_group_arn".into(), json!(lb.target_group_arn));
        entry.insert("container_port".into(), json!(lb.container_port));
        if let Some(t) = &lb.traffic_shift {
            entry.insert(
                "alternate_target_group_arn".into(),
                json!(t.alternate_target_group_arn),
            );
            entry.insert(
                "production_listener_rule".into(),
                json!(t.production_listener_rule),
            );
            if let Some(rule) = &t.test_listener_rule {
                entry.insert("test_listener_rule".into(), json!(rule));
            }
            entry.insert("role".into(), json!(t.role_arn));
        }
        out.insert("load_balancer".into(), Value::Object(entry));
    }
    if !extras.is_empty() {
        out.insert("extra_target_groups".into(), Value::Array(extras));
    }
    if let Some(value) = s.ecs_fields.get(discovery::SERVICE_CONNECT) {
        let (connect, lost) = discovery::service_connect_config(value, logs);
        not_carried.extend(lost);
        out.insert("service_connect".into(), typed(&connect));
    }
    if let Some((registry, lost)) = s
        .ecs_fields
        .get(discovery::SERVICE_REGISTRIES)
        .and_then(|v| discovery::service_registry_config(v, app))
    {
        not_carried.extend(lost);
        out.insert("service_registry".into(), typed(&registry));
    }
    // Fields of typed keys are carried above (EBS volumes under `task.volumes`).
    let carried: Map<String, Value> = s
        .ecs_fields
        .iter()
        .filter(|(key, _)| {
            crate::ecs_json::SERVICE_FIELDS_SET_ONLY_BY_USERS.contains(&key.as_str())
                && crate::ecs_json::SERVICE_PASS_THROUGH_FIELDS.contains(&key.as_str())
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !carried.is_empty() {
        out.insert("ecs".into(), Value::Object(carried));
    }
    let d = &s.deployment;
    let mut deployment = Map::new();
    if d.strategy != "ROLLING" {
        deployment.insert("strategy".into(), json!(lower(&d.strategy)));
    }
    if let Some(m) = d.bake_time_minutes {
        deployment.insert("bake_time".into(), json!(minutes(m)));
    }
    if let Some((tenths, m)) = d.canary {
        deployment.insert(
            "canary".into(),
            json!({ "percent": f64::from(tenths) / 10.0, "bake_time": minutes(m) }),
        );
    }
    if let Some((tenths, m)) = d.linear {
        deployment.insert(
            "linear".into(),
            json!({ "step_percent": f64::from(tenths) / 10.0, "step_bake_time": minutes(m) }),
        );
    }
    let hooks: Vec<Value> = d
        .lifecycle_hooks
        .iter()
        .map(|h| {
            let mut hook = Map::new();
            hook.insert(
                "stages".into(),
                json!(h.stages.iter().map(|s| lower(s)).collect::<Vec<_>>()),
            );
            match &h.target_arn {
                Some(arn) if h.target_type != "PAUSE" => {
                    hook.insert("lambda".into(), json!(arn));
                }
                _ => {
                    hook.insert("pause".into(), json!(true));
                }
            }
            if let Some(role) = &h.role_arn {
                hook.insert("role".into(), json!(role));
            }
            hook.insert("timeout".into(), json!(minutes(h.timeout_minutes)));
            hook.insert("on_timeout".into(), json!(lower(&h.on_timeout)));
            Value::Object(hook)
        })
        .collect();
    if !hooks.is_empty() {
        deployment.insert("lifecycle_hooks".into(), Value::Array(hooks));
    }
    if let Some((percent, cleanup)) = &d.early_success {
        deployment.insert(
            "early_success".into(),
            json!({ "healthy_percent": percent, "cleanup": lower(cleanup) }),
        );
    }
    if !deployment.is_empty() {
        out.insert("deployment".into(), Value::Object(deployment));
    }
    Value::Object(out)
}

/// A typed key's value as the config tree writes it (its serde names, defaults left out).
fn typed<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn task_section(
    td: &TaskDef,
    tags: &BTreeMap<String, String>,
    ebs_volumes: &BTreeMap<String, crate::config::model::VolumeConfig>,
    not_carried: &mut Vec<String>,
) -> Value {
    let mut out = Map::new();
    out.insert("family".into(), json!(td.family));
    out.insert("cpu".into(), json!(number(&td.cpu)));
    out.insert("memory".into(), json!(number(&td.memory)));
    if let Some(role) = &td.execution_role_arn {
        out.insert("execution_role".into(), json!(role));
    }
    if let Some(role) = &td.task_role_arn {
        out.insert("task_role".into(), json!(role));
    }
    out.insert("cpu_architecture".into(), json!(td.cpu_architecture));
    if td.operating_system_family != "LINUX" {
        out.insert(
            "operating_system_family".into(),
            json!(lower(&td.operating_system_family)),
        );
    }
    if td.pid_mode.is_some() {
        out.insert("pid_mode".into(), json!("task"));
    }
    if let Some(gib) = td
        .storage
        .ephemeral_gib
        .filter(|g| *g > FARGATE_DEFAULT_STORAGE_GIB)
    {
        out.insert("ephemeral_storage".into(), json!(gib));
    }
    let mut volumes = Map::new();
    for (name, volume) in &td.storage.volumes {
        let value = match volume {
            VolumeDef::Task => json!({}),
            VolumeDef::AtLaunch => match ebs_volumes.get(name) {
                Some(volume) => typed(volume),
                None => {
                    not_carried.push(format!(
                        "volume {name} is configured at launch, and the service configures no EBS volume for it"
                    ));
                    continue;
                }
            },
            VolumeDef::Efs {
                file_system_id,
                root_directory,
                access_point,
                transit_encryption,
                iam,
            } => {
                let mut efs = Map::new();
                efs.insert("file_system_id".into(), json!(file_system_id));
                if let Some(dir) = root_directory {
                    efs.insert("root_directory".into(), json!(dir));
                }
                if let Some(ap) = access_point {
                    efs.insert("access_point".into(), json!(ap));
                }
                efs.insert("transit_encryption".into(), json!(transit_encryption));
                if *iam {
                    efs.insert("iam".into(), json!(true));
                }
                json!({ "efs": efs })
            }
        };
        volumes.insert(name.clone(), value);
    }
    if !volumes.is_empty() {
        out.insert("volumes".into(), Value::Object(volumes));
    }
    let own: Map<String, Value> = tags
        .iter()
        .filter(|(key, _)| !crate::ecs::is_shipit_tag(key))
        .filter(|(key, _)| {
            let reserved = key.to_ascii_lowercase().starts_with("aws:");
            if reserved {
                not_carried.push(format!("task definition tag {key} (AWS's own)"));
            }
            !reserved
        })
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    if !own.is_empty() {
        out.insert("tags".into(), Value::Object(own));
    }
    Value::Object(out)
}

/// The settings no typed key holds (`unmanaged`), as pass-through fields in ECS's JSON names
/// taken from what ECS answered (`raw`); one a typed key owns (a second port mapping, a Docker
/// volume) is listed as not carried over.
fn carried_as_ecs(
    target: crate::ecs_json::Target,
    raw: &Value,
    unmanaged: &[crate::plan::Field],
    whose: &str,
    not_carried: &mut Vec<String>,
) -> Map<String, Value> {
    let mut ecs = Map::new();
    for field in unmanaged {
        let base = field.name.split(['[', '.']).next().unwrap_or_default();
        let key = crate::ecs_json::camel_case(base);
        if ecs.contains_key(&key) {
            continue;
        }
        match raw.get(&key).filter(|v| !v.is_null()) {
            Some(value) if crate::ecs_json::check(target, &key, value).is_ok() => {
                ecs.insert(key, value.clone());
            }
            _ => not_carried.push(format!("{whose}: {} ({})", field.name, field.value)),
        }
    }
    ecs
}

/// `"256"` as 256 (ECS gives task sizes as strings).
fn number(text: &str) -> Value {
    text.parse::<i64>()
        .map_or_else(|_| json!(text), |n| json!(n))
}

/// `container:` for one container with a port and no per-container size, else `containers:`.
fn containers_section(
    td: &TaskDef,
    app: &str,
    unwritten_volumes: &[String],
    not_carried: &mut Vec<String>,
) -> (&'static str, Value) {
    let single = td.containers.len() == 1
        && td.containers.iter().all(|c| {
            c.port.is_some()
                && c.cpu.is_none()
                && c.memory.is_none()
                && c.memory_reservation.is_none()
                && c.depends_on.is_empty()
                && c.essential
        });
    let entries: Vec<Value> = td
        .containers
        .iter()
        .map(|c| container(c, c.name == app, single, unwritten_volumes, not_carried))
        .collect();
    if single {
        ("container", entries.into_iter().next().unwrap_or_default())
    } else {
        ("containers", Value::Array(entries))
    }
}

fn container(
    c: &ContainerDef,
    is_app: bool,
    single: bool,
    unwritten_volumes: &[String],
    not_carried: &mut Vec<String>,
) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(c.name));
    if !is_app {
        out.insert("image".into(), json!(c.image));
    }
    if !single && !c.essential {
        out.insert("essential".into(), json!(false));
    }
    if let Some(port) = c.port {
        out.insert("port".into(), json!(port));
    }
    if let Some(name) = &c.port_name {
        out.insert("port_name".into(), json!(name));
    }
    if let Some(app) = &c.app_protocol {
        out.insert("app_protocol".into(), json!(app));
    }
    if !c.more_ports.is_empty() {
        let ports: Vec<Value> = c
            .more_ports
            .iter()
            .map(|p| {
                let mut port = Map::new();
                port.insert("port".into(), json!(p.port));
                if let Some(name) = &p.name {
                    port.insert("name".into(), json!(name));
                }
                if p.protocol != "tcp" {
                    port.insert("protocol".into(), json!(p.protocol));
                }
                if let Some(app) = &p.app_protocol {
                    port.insert("app_protocol".into(), json!(app));
                }
                Value::Object(port)
            })
            .collect();
        out.insert("ports".into(), Value::Array(ports));
    }
    if !c.environment.is_empty() {
        // A value that looks like a credential never reaches the file: it is written as a
        // reference to a variable of the same name, which deploy reads from its environment.
        let environment: Map<String, Value> = c
            .environment
            .iter()
            .map(|(name, value)| {
                let secret = crate::redact::is_secret_name(name)
                    || crate::redact::is_secret_value(value);
                if secret {
                    not_carried.push(format!(
                        "container {}: the value of {name}, which looks secret: written as ${{{name}}} (set it where deploy runs, or move it to `secrets:`)",
                        c.name
                    ));
                    (name.clone(), crate::config::emit::variable(name))
                } else {
                    (name.clone(), json!(value))
                }
            })
            .collect();
        out.insert("environment".into(), Value::Object(environment));
    }
    if !c.secrets.is_empty() {
        out.insert("secrets".into(), json!(c.secrets));
    }
    if let Some(command) = &c.command {
        out.insert("command".into(), json!(command));
    }
    let p = &c.process;
    if let Some(entry) = &p.entry_point {
        out.insert("entry_point".into(), json!(entry));
    }
    if let Some(dir) = &p.working_directory {
        out.insert("working_directory".into(), json!(dir));
    }
    if let Some(user) = &p.user {
        out.insert("user".into(), json!(user));
    }
    if p.readonly_root_filesystem {
        out.insert("readonly_root_filesystem".into(), json!(true));
    }
    if let Some(seconds) = p.stop_timeout {
        out.insert("stop_timeout".into(), json!(seconds));
    }
    if p.init_process {
        out.insert("init_process".into(), json!(true));
    }
    if !p.docker_labels.is_empty() {
        out.insert("docker_labels".into(), json!(p.docker_labels));
    }
    if !p.ulimits.is_empty() {
        let limits: Map<String, Value> = p
            .ulimits
            .iter()
            .map(|(name, (soft, hard))| (name.clone(), json!({ "soft": soft, "hard": hard })))
            .collect();
        out.insert("ulimits".into(), Value::Object(limits));
    }
    if !p.system_controls.is_empty() {
        out.insert("system_controls".into(), json!(p.system_controls));
    }
    if !p.environment_files.is_empty() {
        out.insert("environment_files".into(), json!(p.environment_files));
    }
    if !p.mount_points.is_empty() {
        let mounts: Vec<Value> = p
            .mount_points
            .iter()
            .filter(|(path, (volume, _))| {
                let unwritten = unwritten_volumes.contains(volume);
                if unwritten {
                    not_carried.push(format!(
                        "container {}: its mount of volume {volume} at {path}",
                        c.name
                    ));
                }
                !unwritten
            })
            .map(|(path, (volume, read_only))| {
                let mut mount = Map::new();
                mount.insert("volume".into(), json!(volume));
                mount.insert("path".into(), json!(path));
                if *read_only {
                    mount.insert("read_only".into(), json!(true));
                }
                Value::Object(mount)
            })
            .collect();
        if !mounts.is_empty() {
            out.insert("mount_points".into(), Value::Array(mounts));
        }
    }
    if let Some(h) = &c.health_check {
        let command = match h.command.as_slice() {
            [shell, line] if shell == "CMD-SHELL" => json!(line),
            parts => json!(parts),
        };
        out.insert(
            "health_check".into(),
            json!({
                "command": command,
                "interval": h.interval,
                "timeout": h.timeout,
                "retries": h.retries,
                "start_period": h.start_period,
            }),
        );
    }
    if !c.depends_on.is_empty() {
        out.insert("depends_on".into(), json!(c.depends_on));
    }
    if let Some(cpu) = c.cpu {
        out.insert("cpu".into(), json!(cpu));
    }
    if let Some(memory) = c.memory {
        out.insert("memory".into(), json!(memory));
    }
    if let Some(reservation) = c.memory_reservation {
        out.insert("memory_reservation".into(), json!(reservation));
    }
    match c.log_driver.as_deref() {
        Some("awsfirelens") => {
            let firelens = crate::config::model::FirelensConfig {
                options: c.log_options.clone(),
                secret_options: c.log_secret_options.clone(),
            };
            out.insert("firelens".into(), typed(&firelens));
        }
        Some("awslogs") => {}
        other => not_carried.push(format!(
            "container {}: logging through {} (deploy writes awslogs, or FireLens with `firelens`)",
            c.name,
            other.unwrap_or("no driver")
        )),
    }
    if let Some(router) = &c.log_router {
        let mut r = Map::new();
        r.insert("type".into(), json!(router.router));
        for (key, value) in &router.options {
            match key.as_str() {
                "enable-ecs-log-metadata" => {
                    r.insert("ecs_log_metadata".into(), json!(value == "true"));
                }
                "config-file-value" => {
                    r.insert("config_file".into(), json!(value));
                }
                "config-file-type" if value == "file" => {}
                _ => not_carried.push(format!(
                    "container {}: log router option {key}: {value}",
                    c.name
                )),
            }
        }
        if is_app {
            not_carried.push(format!(
                "container {}: the log router is the app container (deploy.yaml takes it on a sidecar)",
                c.name
            ));
        } else {
            out.insert("log_router".into(), Value::Object(r));
        }
    }
    let ecs = carried_as_ecs(
        crate::ecs_json::Target::Container,
        &c.raw,
        &c.unmanaged,
        &format!("container {}", c.name),
        not_carried,
    );
    if !ecs.is_empty() {
        out.insert("ecs".into(), Value::Object(ecs));
    }
    Value::Object(out)
}

/// The container whose awslogs options become `logs:`: the app's, or (its logs going through
/// FireLens) the first that logs to CloudWatch itself, such as the log router.
fn awslogs_container<'a>(
    app: Option<&'a ContainerDef>,
    containers: &'a [ContainerDef],
) -> Option<&'a ContainerDef> {
    let awslogs = |c: &&ContainerDef| c.log_driver.as_deref() == Some("awslogs");
    app.filter(awslogs)
        .or_else(|| containers.iter().find(awslogs))
}

/// The app container's awslogs options as `logs:`; shipit writes the same options into every
/// container, so a container logging elsewhere is listed as not carried over.
fn logs_section(
    app: Option<&ContainerDef>,
    running_containers: &[ContainerDef],
    running: &Running,
    not_carried: &mut Vec<String>,
) -> Value {
    let mut out = Map::new();
    let Some(logging) = awslogs_container(app, running_containers) else {
        if app.is_some_and(|c| c.log_driver.as_deref() != Some("awsfirelens")) {
            not_carried.push(
                "the app container's logging (not the awslogs driver; deploy writes awslogs)"
                    .into(),
            );
        }
        return Value::Object(out);
    };
    let options = &logging.log_options;
    if let Some(group) = options.get("awslogs-group") {
        out.insert("group".into(), json!(group));
    }
    if let Some(days) = running.log_retention_days {
        out.insert("retention_days".into(), json!(days));
    }
    if let Some(prefix) = options.get("awslogs-stream-prefix") {
        out.insert("stream_prefix".into(), json!(prefix));
    }
    if let Some(mode) = options.get("mode") {
        out.insert("mode".into(), json!(mode));
    }
    if let Some(size) = options.get("max-buffer-size") {
        out.insert("max_buffer_size".into(), json!(size));
    }
    if !options.contains_key("mode") {
        not_carried.push(
            "the awslogs delivery mode is the account's default here: deploy writes it out (non-blocking with a 25m buffer, or set logs.mode)".into(),
        );
    }
    if !options.contains_key("awslogs-stream-prefix") {
        not_carried
            .push("no awslogs stream prefix: deploy writes `ecs` (logs.stream_prefix)".into());
    }
    const WRITTEN: [&str; 5] = [
        "awslogs-group",
        "awslogs-region",
        "awslogs-stream-prefix",
        "mode",
        "max-buffer-size",
    ];
    for (key, value) in options {
        if !WRITTEN.contains(&key.as_str()) {
            not_carried.push(format!("log option {key}: {value}"));
        }
    }
    if let Some(region) = options
        .get("awslogs-region")
        .filter(|r| *r != running.region)
    {
        not_carried.push(format!(
            "logs in {region}: deploy writes them to the service's region, {}",
            running.region
        ));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ecr_image_names_its_repository() {
        for (image, repository) in [
            (
                "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/api:v3",
                Some("team/api"),
            ),
            (
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/api@sha256:abc",
                Some("api"),
            ),
            ("public.ecr.aws/docker/library/busybox:1", None),
            ("nginx:1.27", None),
        ] {
            assert_eq!(ecr_repository(image).as_deref(), repository, "{image}");
        }
    }
}
