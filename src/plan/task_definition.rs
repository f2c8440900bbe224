//! The task definition: rendered from the config, read back from the family's latest ACTIVE
//! revision, compared field by field over every container. A revision is reused only when
//! every field shipit renders is equal and it holds nothing shipit does not render (another
//! container, volumes, an entry point, extra log options...): those show in the plan as
//! removals, and a new revision is registered.

use std::collections::BTreeMap;

use serde::Serialize;

use super::process::{ProcessDef, only_init_process};
use super::sidecar_image::SidecarImage;
use super::storage::StorageDef;
use super::{Change, Field, Operation, Resource, diff, json_list};
use crate::config::Names;
use crate::config::model::{CpuArchitecture, DeployConfig};
use crate::ecs_json;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TaskDef {
    pub family: String,
    pub cpu: String,
    pub memory: String,
    pub network_mode: String,
    pub requires_compatibilities: Vec<String>,
    pub execution_role_arn: Option<String>,
    pub task_role_arn: Option<String>,
    pub cpu_architecture: String,
    pub operating_system_family: String,
    pub containers: Vec<ContainerDef>,
    /// Volumes and ephemeral storage (`plan::storage`).
    pub storage: StorageDef,
    /// `task` or None.
    pub pid_mode: Option<String>,
    /// The revision's own tags, without shipit's `managed-by` (read back from
    /// DescribeTaskDefinition's tags, which the revision itself does not carry).
    pub tags: BTreeMap<String, String>,
    /// `task.ecs`: ECS's own fields by their JSON names, as ECS takes them (read back: the
    /// revision's values of the fields the config names).
    pub pass_through: BTreeMap<String, serde_json::Value>,
    /// The registered revision in ECS's JSON (read back only), where `pass_through` is read.
    #[serde(skip)]
    pub raw: serde_json::Value,
    /// Things a registered revision holds that shipit does not render (read back only).
    #[serde(skip)]
    pub unmanaged: Vec<Field>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PortDef {
    pub port: i32,
    /// tcp or udp.
    pub protocol: String,
    pub name: Option<String>,
    pub app_protocol: Option<String>,
}

impl PortDef {
    fn shown(&self) -> String {
        let mut out = self.protocol.clone();
        if let Some(name) = &self.name {
            out = format!("{name} {out}");
        }
        if let Some(app) = &self.app_protocol {
            out.push_str(&format!(" {app}"));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerDef {
    pub name: String,
    pub image: String,
    pub essential: bool,
    pub port: Option<i32>,
    /// The main port's name and application protocol.
    pub port_name: Option<String>,
    pub app_protocol: Option<String>,
    /// Ports after the main one, sorted.
    pub more_ports: Vec<PortDef>,
    /// Sorted by name.
    pub environment: BTreeMap<String, String>,
    /// name -> valueFrom, sorted by name.
    pub secrets: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub health_check: Option<HealthCheckDef>,
    /// `awslogs` (options: group, region, stream prefix, delivery mode) or `awsfirelens`
    /// (options: the FireLens output's, `firelens`).
    pub log_driver: Option<String>,
    pub log_options: BTreeMap<String, String>,
    /// Log options read from secrets: name -> ARN (`firelens.secret_options`).
    pub log_secret_options: BTreeMap<String, String>,
    /// This container is the task's FireLens log router (`log_router`).
    pub log_router: Option<LogRouterDef>,
    /// container -> START, HEALTHY, COMPLETE or SUCCESS.
    pub depends_on: BTreeMap<String, String>,
    /// CPU units reserved (None: ECS's 0, a share of the task's).
    pub cpu: Option<i32>,
    /// Hard memory limit and reservation, MiB.
    pub memory: Option<i32>,
    pub memory_reservation: Option<i32>,
    /// Entry point, user, stop timeout, labels, ulimits... (`plan::process`).
    pub process: ProcessDef,
    /// `ecs` of the container: ECS's own fields, each as the container definition holds it
    /// once merged with what the typed keys write.
    pub pass_through: BTreeMap<String, serde_json::Value>,
    /// The container in ECS's JSON (read back only).
    #[serde(skip)]
    pub raw: serde_json::Value,
    #[serde(skip)]
    pub unmanaged: Vec<Field>,
}

/// ECS's `firelensConfiguration`: the router's type and its options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogRouterDef {
    /// fluentbit or fluentd.
    pub router: String,
    /// `enable-ecs-log-metadata`, `config-file-type`, `config-file-value`, as sent.
    pub options: BTreeMap<String, String>,
}

impl LogRouterDef {
    fn render(config: &crate::config::model::LogRouterConfig) -> LogRouterDef {
        let mut options = BTreeMap::new();
        if let Some(on) = config.ecs_log_metadata {
            options.insert("enable-ecs-log-metadata".to_string(), on.to_string());
        }
        if let Some(path) = &config.config_file {
            // Fargate reads a configuration file from the image only (ECS API reference,
            // FirelensConfiguration: "Tasks hosted on Fargate only support the file
            // configuration file type").
            options.insert("config-file-type".to_string(), "file".to_string());
            options.insert("config-file-value".to_string(), path.clone());
        }
        LogRouterDef {
            router: config.router.ecs_name().to_string(),
            options,
        }
    }

    fn shown(&self) -> String {
        let mut out = self.router.clone();
        for (k, v) in &self.options {
            out.push_str(&format!(", {k}={v}"));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HealthCheckDef {
    pub command: Vec<String>,
    pub interval: i32,
    pub timeout: i32,
    pub retries: i32,
    pub start_period: i32,
}

impl TaskDef {
    /// Gives each sidecar the image its registry pins (`name:tag@sha256:...`) instead of the
    /// one the config writes.
    pub fn use_sidecar_images(&mut self, images: &[SidecarImage]) {
        for image in images {
            if let Some(c) = self
                .containers
                .iter_mut()
                .find(|c| c.name == image.container)
            {
                c.image = image.image.clone();
            }
        }
    }

    /// The task definition for `config`: the app container runs `image` (pinned by digest),
    /// sidecars the image they name. Every container logs to the same group, each under its
    /// own stream (`prefix/container/task-id`).
    pub fn render(config: &DeployConfig, names: &Names, image: &str, region: &str) -> TaskDef {
        let log_options: BTreeMap<String, String> = [
            ("awslogs-group", names.log_group.clone()),
            ("awslogs-region", region.to_string()),
            ("awslogs-stream-prefix", config.logs.stream_prefix.clone()),
        ]
        .into_iter()
        // Written out, never left to the account's default: the plan says which it is.
        .chain(config.logs.delivery_options())
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let containers = config
            .container_specs(&names.container)
            .into_iter()
            .map(|c| ContainerDef {
                process: ProcessDef::render(&c.process()),
                image: c.image.clone().unwrap_or_else(|| image.to_string()),
                name: c.name,
                essential: c.essential,
                port: c.port.map(|p| p as i32),
                port_name: c.port_name.clone(),
                app_protocol: c.app_protocol.map(|a| a.ecs_name().to_string()),
                more_ports: {
                    let mut ports: Vec<PortDef> = c
                        .ports
                        .iter()
                        .map(|p| PortDef {
                            port: p.port as i32,
                            protocol: p.protocol.ecs_name().to_string(),
                            name: p.name.clone(),
                            app_protocol: p.app_protocol.map(|a| a.ecs_name().to_string()),
                        })
                        .collect();
                    ports.sort();
                    ports
                },
                environment: c
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
                secrets: c.secrets,
                command: c.command,
                health_check: c.health_check.as_ref().map(|h| HealthCheckDef {
                    command: h.command.to_ecs(),
                    interval: h.interval as i32,
                    timeout: h.timeout as i32,
                    retries: h.retries as i32,
                    start_period: h.start_period as i32,
                }),
                // Through the task's FireLens router, or straight to CloudWatch Logs.
                log_driver: Some(
                    if c.firelens.is_some() {
                        "awsfirelens"
                    } else {
                        "awslogs"
                    }
                    .to_string(),
                ),
                log_options: match &c.firelens {
                    Some(f) => f.options.clone(),
                    None => log_options.clone(),
                },
                log_secret_options: c
                    .firelens
                    .as_ref()
                    .map(|f| f.secret_options.clone())
                    .unwrap_or_default(),
                log_router: c.log_router.as_ref().map(LogRouterDef::render),
                depends_on: c
                    .depends_on
                    .iter()
                    .map(|(k, v)| (k.clone(), v.ecs_name().to_string()))
                    .collect(),
                cpu: c.cpu.filter(|&cpu| cpu > 0).map(|cpu| cpu as i32),
                memory: c.memory.map(|m| m as i32),
                memory_reservation: c.memory_reservation.map(|m| m as i32),
                pass_through: c.ecs.clone(),
                raw: serde_json::Value::Null,
                unmanaged: Vec::new(),
            })
            .map(ContainerDef::with_effective_pass_through)
            .collect();
        TaskDef {
            storage: StorageDef::render(&config.task),
            family: names.family.clone(),
            cpu: config.task.cpu.to_string(),
            memory: config.task.memory.to_string(),
            network_mode: "awsvpc".to_string(),
            requires_compatibilities: vec!["FARGATE".to_string()],
            execution_role_arn: config.task.execution_role.clone(),
            task_role_arn: config.task.task_role.clone(),
            cpu_architecture: config.task.cpu_architecture.to_string(),
            operating_system_family: config.task.operating_system_family.ecs_name().to_string(),
            pid_mode: config.task.pid_mode.map(|_| "task".to_string()),
            tags: config.task.tags.clone(),
            pass_through: ecs_json::all_as_sent(ecs_json::Target::TaskDefinition, &config.task.ecs),
            raw: serde_json::Value::Null,
            containers,
            unmanaged: Vec::new(),
        }
    }

    /// Reads a registered revision: every container, and whatever it holds that shipit does
    /// not render. ECS leaves defaults out (no runtime platform means LINUX/X86_64) or fills
    /// them in (container cpu 0, hostPort = containerPort): both read as the default.
    pub fn from_ecs(td: &aws_sdk_ecs::types::TaskDefinition) -> TaskDef {
        let platform = td.runtime_platform();
        let mut unmanaged = Vec::new();
        let mut extra = |name: &str, value: String, argument: &'static str| {
            unmanaged.push(Field::new(name, value, argument).unmanaged());
        };
        let (storage, other_volumes) = StorageDef::from_ecs(td);
        for (name, kind) in other_volumes {
            extra(&format!("volumes.{name}"), kind, "volumes");
        }
        if !td.placement_constraints().is_empty() {
            extra(
                "placement_constraints",
                format!("{} constraints", td.placement_constraints().len()),
                "placementConstraints",
            );
        }
        if let Some(proxy) = td.proxy_configuration() {
            extra(
                "proxy_configuration",
                proxy.container_name().to_string(),
                "proxyConfiguration",
            );
        }
        if let Some(mode) = td.ipc_mode().filter(|m| !m.as_str().is_empty()) {
            extra("ipc_mode", mode.as_str().to_string(), "ipcMode");
        }
        if td.enable_fault_injection() == Some(true) {
            extra(
                "enable_fault_injection",
                "true".into(),
                "enableFaultInjection",
            );
        }
        TaskDef {
            storage,
            pass_through: BTreeMap::new(),
            raw: ecs_json::to_json(td),
            // Some endpoints answer "" for unset.
            pid_mode: td
                .pid_mode()
                .map(|m| m.as_str().to_string())
                .filter(|m| !m.is_empty()),
            tags: BTreeMap::new(),
            family: td.family().unwrap_or_default().to_string(),
            cpu: td.cpu().unwrap_or_default().to_string(),
            memory: td.memory().unwrap_or_default().to_string(),
            network_mode: td
                .network_mode()
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
            requires_compatibilities: td
                .requires_compatibilities()
                .iter()
                .map(|c| c.as_str().to_string())
                .collect(),
            // An empty ARN is no role (some endpoints answer "" for unset).
            execution_role_arn: td
                .execution_role_arn()
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            task_role_arn: td
                .task_role_arn()
                .filter(|a| !a.is_empty())
                .map(str::to_string),
            cpu_architecture: platform
                .and_then(|p| p.cpu_architecture())
                .map(|a| a.as_str().to_string())
                .unwrap_or_else(|| CpuArchitecture::X86_64.to_string()),
            operating_system_family: platform
                .and_then(|p| p.operating_system_family())
                .map(|o| o.as_str().to_string())
                .unwrap_or_else(|| "LINUX".to_string()),
            containers: td
                .container_definitions()
                .iter()
                .map(container_from_ecs)
                .collect(),
            unmanaged,
        }
    }

    /// Every field, flat, in a stable order: what the plan compares and shows.
    pub fn fields(&self) -> Vec<Field> {
        let mut out = vec![
            Field::new("cpu", &self.cpu, "cpu"),
            Field::new("memory", &self.memory, "memory"),
            Field::new("network_mode", &self.network_mode, "networkMode"),
            Field::new(
                "requires_compatibilities",
                json_list(&self.requires_compatibilities),
                "requiresCompatibilities",
            ),
            Field::new(
                "platform",
                format!("{}/{}", self.operating_system_family, self.cpu_architecture),
                "runtimePlatform",
            ),
        ];
        if let Some(role) = &self.execution_role_arn {
            out.push(Field::new("execution_role", role, "executionRoleArn"));
        }
        if let Some(role) = &self.task_role_arn {
            out.push(Field::new("task_role", role, "taskRoleArn"));
        }
        if let Some(mode) = &self.pid_mode {
            out.push(Field::new("pid_mode", mode, "pidMode"));
        }
        for (key, value) in &self.pass_through {
            out.push(Field::new(
                format!("ecs.{key}"),
                ecs_json::canonical(value),
                "ecs",
            ));
        }
        for (key, value) in &self.tags {
            out.push(Field::new(format!("tags.{key}"), value, "tags"));
        }
        out.extend(self.storage.fields());
        out.extend(self.unmanaged.iter().cloned());
        for c in &self.containers {
            out.extend(c.fields());
        }
        out
    }

    /// The RegisterTaskDefinition request for this definition (the executor sends it).
    pub fn register_request(
        &self,
    ) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder
    {
        use aws_sdk_ecs::types::{
            Compatibility, CpuArchitecture, NetworkMode, OsFamily, RuntimePlatform,
        };
        let mut request =
            aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder(
            )
            .family(&self.family)
            .cpu(&self.cpu)
            .memory(&self.memory)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .runtime_platform(
                RuntimePlatform::builder()
                    .cpu_architecture(CpuArchitecture::from(self.cpu_architecture.as_str()))
                    .operating_system_family(OsFamily::from(self.operating_system_family.as_str()))
                    .build(),
            )
            .set_container_definitions(Some(
                self.containers.iter().map(ContainerDef::to_ecs).collect(),
            ))
            .tags(crate::ecs::managed_by_shipit());
        if let Some(role) = &self.execution_role_arn {
            request = request.execution_role_arn(role);
        }
        if let Some(role) = &self.task_role_arn {
            request = request.task_role_arn(role);
        }
        if let Some(mode) = &self.pid_mode {
            request = request.pid_mode(aws_sdk_ecs::types::PidMode::from(mode.as_str()));
        }
        if !self.pass_through.is_empty() {
            request = ecs_json::with_task_pass_through(request, &self.pass_through);
        }
        for (key, value) in &self.tags {
            request = request.tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(key)
                    .value(value)
                    .build(),
            );
        }
        self.storage.apply(request)
    }
}

impl ContainerDef {
    fn fields(&self) -> Vec<Field> {
        let p = |field: &str| format!("containers.{}.{field}", self.name);
        const CONTAINERS: &str = "containerDefinitions";
        let mut out = vec![
            Field::new(p("image"), &self.image, CONTAINERS),
            Field::new(p("essential"), self.essential, CONTAINERS),
        ];
        if let Some(port) = self.port {
            out.push(Field::new(p("port"), port, CONTAINERS));
        }
        if let Some(name) = &self.port_name {
            out.push(Field::new(p("port_name"), name, CONTAINERS));
        }
        if let Some(app) = &self.app_protocol {
            out.push(Field::new(p("app_protocol"), app, CONTAINERS));
        }
        for extra in &self.more_ports {
            out.push(Field::new(
                p(&format!("ports.{}/{}", extra.port, extra.protocol)),
                extra.shown(),
                CONTAINERS,
            ));
        }
        for (k, v) in &self.environment {
            out.push(
                Field::new(p(&format!("environment.{k}")), v, CONTAINERS)
                    .secret(crate::redact::is_secret(k, &v.to_string())),
            );
        }
        for (k, v) in &self.secrets {
            out.push(Field::new(p(&format!("secrets.{k}")), v, CONTAINERS));
        }
        if let Some(command) = &self.command {
            out.push(Field::new(p("command"), json_list(command), CONTAINERS));
        }
        if let Some(h) = &self.health_check {
            out.push(Field::new(
                p("health_check.command"),
                json_list(&h.command),
                CONTAINERS,
            ));
            for (name, value) in [
                ("interval", h.interval),
                ("timeout", h.timeout),
                ("retries", h.retries),
                ("start_period", h.start_period),
            ] {
                out.push(Field::new(
                    p(&format!("health_check.{name}")),
                    value,
                    CONTAINERS,
                ));
            }
        }
        if let Some(driver) = &self.log_driver {
            out.push(Field::new(p("log_driver"), driver, CONTAINERS));
        }
        for (k, v) in &self.log_options {
            out.push(Field::new(p(&format!("log_options.{k}")), v, CONTAINERS));
        }
        for (k, v) in &self.log_secret_options {
            out.push(Field::new(
                p(&format!("log_secret_options.{k}")),
                v,
                CONTAINERS,
            ));
        }
        if let Some(router) = &self.log_router {
            out.push(Field::new(p("log_router"), router.shown(), CONTAINERS));
        }
        for (k, v) in &self.depends_on {
            out.push(Field::new(p(&format!("depends_on.{k}")), v, CONTAINERS));
        }
        for (name, value) in [
            ("cpu", self.cpu),
            ("memory", self.memory),
            ("memory_reservation", self.memory_reservation),
        ] {
            if let Some(value) = value {
                out.push(Field::new(p(name), value, CONTAINERS));
            }
        }
        out.extend(self.process.fields(&format!("containers.{}", self.name)));
        for (key, value) in &self.pass_through {
            out.push(Field::new(
                p(&format!("ecs.{key}")),
                ecs_json::canonical(value),
                CONTAINERS,
            ));
        }
        for u in &self.unmanaged {
            out.push(Field {
                name: p(&u.name),
                ..u.clone()
            });
        }
        out
    }

    fn to_ecs(&self) -> aws_sdk_ecs::types::ContainerDefinition {
        use aws_sdk_ecs::types::{
            ApplicationProtocol, ContainerDefinition, HealthCheck, KeyValuePair, LogConfiguration,
            LogDriver, PortMapping, Secret, TransportProtocol,
        };
        let mut container = ContainerDefinition::builder()
            .name(&self.name)
            .image(&self.image)
            .essential(self.essential);
        if let Some(port) = self.port {
            container = container.port_mappings(
                PortMapping::builder()
                    .container_port(port)
                    .protocol(TransportProtocol::Tcp)
                    .set_name(self.port_name.clone())
                    .set_app_protocol(self.app_protocol.as_deref().map(ApplicationProtocol::from))
                    .build(),
            );
        }
        for extra in &self.more_ports {
            container = container.port_mappings(
                PortMapping::builder()
                    .container_port(extra.port)
                    .protocol(TransportProtocol::from(extra.protocol.as_str()))
                    .set_name(extra.name.clone())
                    .set_app_protocol(extra.app_protocol.as_deref().map(ApplicationProtocol::from))
                    .build(),
            );
        }
        if let Some(driver) = &self.log_driver {
            let secret_options: Vec<Secret> = self
                .log_secret_options
                .iter()
                .map(|(name, from)| {
                    Secret::builder()
                        .name(name)
                        .value_from(from)
                        .build()
                        .expect("name and valueFrom are set")
                })
                .collect();
            container = container.log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::from(driver.as_str()))
                    .set_options(Some(self.log_options.clone().into_iter().collect()))
                    .set_secret_options((!secret_options.is_empty()).then_some(secret_options))
                    .build()
                    .expect("log driver is set"),
            );
        }
        if let Some(router) = &self.log_router {
            container = container.firelens_configuration(
                aws_sdk_ecs::types::FirelensConfiguration::builder()
                    .r#type(aws_sdk_ecs::types::FirelensConfigurationType::from(
                        router.router.as_str(),
                    ))
                    .set_options(
                        (!router.options.is_empty())
                            .then(|| router.options.clone().into_iter().collect()),
                    )
                    .build()
                    .expect("the router's type is set"),
            );
        }
        for (name, value) in &self.environment {
            container =
                container.environment(KeyValuePair::builder().name(name).value(value).build());
        }
        for (name, from) in &self.secrets {
            container = container.secrets(
                Secret::builder()
                    .name(name)
                    .value_from(from)
                    .build()
                    .expect("name and valueFrom are set"),
            );
        }
        if let Some(command) = &self.command {
            container = container.set_command(Some(command.clone()));
        }
        for (name, condition) in &self.depends_on {
            container = container.depends_on(
                aws_sdk_ecs::types::ContainerDependency::builder()
                    .container_name(name)
                    .condition(aws_sdk_ecs::types::ContainerCondition::from(
                        condition.as_str(),
                    ))
                    .build()
                    .expect("name and condition are set"),
            );
        }
        if let Some(cpu) = self.cpu {
            container = container.cpu(cpu);
        }
        container = container
            .set_memory(self.memory)
            .set_memory_reservation(self.memory_reservation);
        if let Some(h) = &self.health_check {
            container = container.health_check(
                HealthCheck::builder()
                    .set_command(Some(h.command.clone()))
                    .interval(h.interval)
                    .timeout(h.timeout)
                    .retries(h.retries)
                    .start_period(h.start_period)
                    .build()
                    .expect("command is set"),
            );
        }
        let built = self.process.apply(container).build();
        if self.pass_through.is_empty() {
            return built;
        }
        let mut json = ecs_json::to_json(&built);
        ecs_json::merge(
            &mut json,
            &serde_json::Value::Object(self.pass_through.clone().into_iter().collect()),
        );
        ecs_json::from_json(&json, aws_sdk_ecs::types::ContainerDefinition::deserialize)
            .expect("each pass-through field was read as ECS's type at validate")
    }

    /// The pass-through fields as the container definition will hold them, merged with what
    /// the typed keys write (`init_process` and `linuxParameters` share one object).
    fn with_effective_pass_through(mut self) -> ContainerDef {
        if !self.pass_through.is_empty() {
            let sent = ecs_json::to_json(&self.to_ecs());
            for (key, value) in self.pass_through.iter_mut() {
                if let Some(effective) = sent.get(key) {
                    *value = effective.clone();
                }
            }
        }
        self
    }
}

fn container_from_ecs(c: &aws_sdk_ecs::types::ContainerDefinition) -> ContainerDef {
    let mut unmanaged = Vec::new();
    let mut extra = |name: &str, value: String| {
        unmanaged.push(Field::new(name, value, "containerDefinitions").unmanaged());
    };
    let ports = c.port_mappings();
    let mut more_ports = Vec::new();
    for (i, mapping) in ports.iter().enumerate() {
        let host_differs = mapping
            .host_port()
            .is_some_and(|h| Some(h) != mapping.container_port());
        let protocol = mapping.protocol().map_or("tcp", |p| p.as_str());
        let typed = !host_differs
            && mapping.container_port().is_some()
            && mapping.container_port_range().is_none()
            && (i > 0 || protocol == "tcp");
        if typed && i > 0 {
            more_ports.push(PortDef {
                port: mapping.container_port().unwrap_or_default(),
                protocol: protocol.to_string(),
                name: mapping.name().map(str::to_string),
                app_protocol: mapping.app_protocol().map(|a| a.as_str().to_string()),
            });
        }
        if !typed {
            extra(
                &format!("port_mappings[{i}]"),
                format!(
                    "{}->{}/{}",
                    mapping.host_port().unwrap_or_default(),
                    mapping.container_port().unwrap_or_default(),
                    mapping.protocol().map_or("tcp", |p| p.as_str())
                ),
            );
        }
    }
    // Entry point, user, working directory, read-only root, stop timeout, the init process,
    // docker labels, ulimits, system controls and environment files are read by
    // `ProcessDef::from_ecs`.
    let lists: [(&str, usize); 8] = [
        ("links", c.links().len()),
        ("volumes_from", c.volumes_from().len()),
        ("dns_servers", c.dns_servers().len()),
        ("dns_search_domains", c.dns_search_domains().len()),
        ("extra_hosts", c.extra_hosts().len()),
        ("docker_security_options", c.docker_security_options().len()),
        ("resource_requirements", c.resource_requirements().len()),
        ("credential_specs", c.credential_specs().len()),
    ];
    for (name, len) in lists {
        if len > 0 {
            extra(name, format!("{len} set"));
        }
    }
    let mut extra = |name: &str, value: String| {
        unmanaged.push(Field::new(name, value, "containerDefinitions").unmanaged());
    };
    let options: [(&str, Option<String>); 6] = [
        ("start_timeout", c.start_timeout().map(|t| t.to_string())),
        ("hostname", c.hostname().map(str::to_string)),
        (
            "repository_credentials",
            c.repository_credentials()
                .map(|r| r.credentials_parameter().to_string()),
        ),
        (
            "linux_parameters",
            c.linux_parameters()
                .filter(|l| !only_init_process(l))
                .map(|_| "set".to_string()),
        ),
        (
            "restart_policy",
            c.restart_policy().map(|r| r.enabled().to_string()),
        ),
        (
            "version_consistency",
            c.version_consistency()
                .map(|v| v.as_str().to_string())
                .filter(|v| v != "enabled"),
        ),
    ];
    for (name, value) in options {
        // Some endpoints answer "" for unset.
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            extra(name, value);
        }
    }
    for (name, on) in [
        ("disable_networking", c.disable_networking()),
        ("privileged", c.privileged()),
        ("interactive", c.interactive()),
        ("pseudo_terminal", c.pseudo_terminal()),
    ] {
        if on == Some(true) {
            extra(name, "true".to_string());
        }
    }
    let logs = c.log_configuration();
    ContainerDef {
        name: c.name().unwrap_or_default().to_string(),
        image: c.image().unwrap_or_default().to_string(),
        essential: c.essential().unwrap_or(true),
        port: ports.first().and_then(|p| p.container_port()),
        port_name: ports.first().and_then(|p| p.name()).map(str::to_string),
        app_protocol: ports
            .first()
            .and_then(|p| p.app_protocol())
            .map(|a| a.as_str().to_string()),
        more_ports: {
            more_ports.sort();
            more_ports
        },
        environment: c
            .environment()
            .iter()
            .filter_map(|kv| Some((kv.name()?.to_string(), kv.value()?.to_string())))
            .collect(),
        secrets: c
            .secrets()
            .iter()
            .map(|s| (s.name().to_string(), s.value_from().to_string()))
            .collect(),
        command: (!c.command().is_empty()).then(|| c.command().to_vec()),
        health_check: c.health_check().map(|h| HealthCheckDef {
            command: h.command().to_vec(),
            interval: h.interval().unwrap_or(30),
            timeout: h.timeout().unwrap_or(5),
            retries: h.retries().unwrap_or(3),
            start_period: h.start_period().unwrap_or(0),
        }),
        log_driver: logs.map(|l| l.log_driver().as_str().to_string()),
        log_options: logs
            .and_then(|l| l.options())
            .map(|o| o.clone().into_iter().collect())
            .unwrap_or_default(),
        log_secret_options: logs
            .map(|l| {
                l.secret_options()
                    .iter()
                    .map(|s| (s.name().to_string(), s.value_from().to_string()))
                    .collect()
            })
            .unwrap_or_default(),
        log_router: c.firelens_configuration().map(|f| LogRouterDef {
            router: f.r#type().as_str().to_string(),
            options: f
                .options()
                .map(|o| o.clone().into_iter().collect())
                .unwrap_or_default(),
        }),
        depends_on: c
            .depends_on()
            .iter()
            .map(|d| {
                (
                    d.container_name().to_string(),
                    d.condition().as_str().to_string(),
                )
            })
            .collect(),
        // ECS answers 0 for a container without a reservation.
        cpu: (c.cpu() > 0).then(|| c.cpu()),
        memory: c.memory(),
        memory_reservation: c.memory_reservation(),
        process: ProcessDef::from_ecs(c),
        pass_through: BTreeMap::new(),
        raw: ecs_json::to_json(c),
        unmanaged,
    }
}

/// Whether a plan field (`containers.web.linux_parameters`, `proxy_configuration`) is one a
/// config's `ecs:` can write.
pub fn written_by_pass_through(field: &str) -> bool {
    let (target, local) = match field.strip_prefix("containers.") {
        Some(rest) => match rest.split_once('.') {
            Some((_, local)) => (ecs_json::Target::Container, local),
            None => return false,
        },
        None => (ecs_json::Target::TaskDefinition, field),
    };
    let base = local.split(['[', '.']).next().unwrap_or_default();
    ecs_json::is_pass_through_field(target, &ecs_json::camel_case(base))
}

/// Takes the read-back values of the pass-through fields `wanted` names from `raw`, and drops
/// the unmanaged fields they stand for (a field named in `ecs:` is compared there instead).
fn read_pass_through(
    raw: &serde_json::Value,
    wanted: &BTreeMap<String, serde_json::Value>,
    pass_through: &mut BTreeMap<String, serde_json::Value>,
    unmanaged: &mut Vec<Field>,
) {
    for key in wanted.keys() {
        if let Some(value) = raw.get(key).filter(|v| !v.is_null()) {
            pass_through.insert(key.clone(), value.clone());
        }
        let name = ecs_json::snake_case(key);
        unmanaged.retain(|u| u.name != name && !u.name.starts_with(&format!("{name}[")));
    }
}

/// Register a new revision, or reuse the family's latest: the fields that differ say why.
#[derive(Debug, Clone, Serialize)]
pub struct TaskDefinitionPlan {
    pub family: String,
    /// The family's latest ACTIVE revision, if any.
    pub current_arn: Option<String>,
    #[serde(skip)]
    pub wanted: TaskDef,
    pub changes: Vec<Change>,
}

impl TaskDefinitionPlan {
    /// `latest_tags`: the latest revision's tags, as DescribeTaskDefinition gives them.
    pub fn new(
        wanted: TaskDef,
        latest: Option<&aws_sdk_ecs::types::TaskDefinition>,
        latest_tags: &BTreeMap<String, String>,
    ) -> TaskDefinitionPlan {
        let current = latest.map(|td| {
            let mut current = TaskDef {
                tags: latest_tags
                    .iter()
                    .filter(|(key, _)| !crate::ecs::is_shipit_tag(key))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                ..TaskDef::from_ecs(td)
            };
            read_pass_through(
                &current.raw,
                &wanted.pass_through,
                &mut current.pass_through,
                &mut current.unmanaged,
            );
            for container in current.containers.iter_mut() {
                if let Some(w) = wanted.containers.iter().find(|w| w.name == container.name) {
                    read_pass_through(
                        &container.raw,
                        &w.pass_through,
                        &mut container.pass_through,
                        &mut container.unmanaged,
                    );
                }
            }
            current
        });
        let changes = diff(
            Resource::TaskDefinition,
            &wanted.family,
            Operation::RegisterTaskDefinition,
            &current.as_ref().map(TaskDef::fields).unwrap_or_default(),
            &wanted.fields(),
        );
        TaskDefinitionPlan {
            family: wanted.family.clone(),
            current_arn: latest
                .and_then(|td| td.task_definition_arn())
                .map(str::to_string),
            wanted,
            changes,
        }
    }

    pub fn registers(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// What ECS answers for a registration of `td` (for tests): its request, plus the defaults
/// ECS fills in.
#[cfg(test)]
pub(crate) fn registered(td: &TaskDef) -> aws_sdk_ecs::types::TaskDefinition {
    let input = td.register_request().build().unwrap();
    let containers = input
        .container_definitions()
        .iter()
        .map(|c| {
            let mut c = c.clone();
            // ECS fills in container cpu 0 and hostPort = containerPort.
            c.cpu = 0;
            c.port_mappings = Some(
                c.port_mappings()
                    .iter()
                    .map(|p| {
                        let mut p = p.clone();
                        p.host_port = p.container_port;
                        p
                    })
                    .collect(),
            );
            c
        })
        .collect();
    aws_sdk_ecs::types::TaskDefinition::builder()
        .family(td.family.clone())
        .task_definition_arn("arn:aws:ecs:us-east-1:1:task-definition/demo:1")
        .cpu(td.cpu.clone())
        .memory(td.memory.clone())
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .set_execution_role_arn(td.execution_role_arn.clone())
        .set_runtime_platform(input.runtime_platform().cloned())
        .set_pid_mode(input.pid_mode().cloned())
        .set_enable_fault_injection(input.enable_fault_injection())
        .set_placement_constraints(Some(
            input
                .placement_constraints()
                .iter()
                .map(|c| {
                    aws_sdk_ecs::types::TaskDefinitionPlacementConstraint::builder()
                        .set_type(c.r#type().cloned())
                        .set_expression(c.expression().map(str::to_string))
                        .build()
                })
                .collect(),
        ))
        .set_container_definitions(Some(containers))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn loaded() -> config::LoadedConfig {
        let text = "\
app: demo
image: { source: 'docker://demo:1', tag: v1 }
service: { subnets: [subnet-0123456789abcdef0] }
task: { execution_role: 'arn:aws:iam::123456789012:role/exec' }
container:
  environment: { B: '2', A: '1', API_TOKEN: xyz }
  command: [sh, -c, 'exec app']
  health_check: { command: 'wget -q -O /dev/null http://localhost:5000/health || exit 1' }
";
        config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap()
    }

    fn wanted() -> TaskDef {
        let l = loaded();
        TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1")
    }

    #[test]
    fn a_registered_revision_of_the_same_config_is_reused() {
        let td = wanted();
        let plan = TaskDefinitionPlan::new(td.clone(), Some(&registered(&td)), &BTreeMap::new());
        assert_eq!(plan.changes, Vec::new());
        // An endpoint that answers "" for unset modes still reuses the revision.
        let mut blank = registered(&td);
        blank.pid_mode = Some(aws_sdk_ecs::types::PidMode::from(""));
        blank.ipc_mode = Some(aws_sdk_ecs::types::IpcMode::from(""));
        assert_eq!(
            TaskDefinitionPlan::new(td.clone(), Some(&blank), &BTreeMap::new()).changes,
            Vec::new()
        );
        // Sorted, so YAML order never makes a new revision.
        let keys: Vec<_> = td.containers[0].environment.keys().cloned().collect();
        assert_eq!(keys, vec!["A", "API_TOKEN", "B"]);
    }

    /// Tags, the process namespace and the operating system: registered, read back (the tags
    /// from DescribeTaskDefinition's own list, where shipit's `managed-by` is not the
    /// config's) and compared; a changed tag or a dropped mode makes a new revision.
    #[test]
    fn tags_pid_mode_and_os_family_plan_like_every_field() {
        let text = "\
app: demo
image: { source: 'docker://demo:1', tag: v1 }
service: { subnets: [subnet-0123456789abcdef0] }
task:
  execution_role: 'arn:aws:iam::123456789012:role/exec'
  cpu: 1024
  memory: 2048
  pid_mode: task
  tags: { team: payments, cost-center: '42' }
";
        let l = config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        let td = TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1");
        let request = td.register_request().build().unwrap();
        let sent: BTreeMap<_, _> = request
            .tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
            .collect();
        assert_eq!(
            sent,
            BTreeMap::from([
                ("cost-center", "42"),
                ("managed-by", "shipit"),
                ("team", "payments")
            ])
        );
        assert_eq!(request.pid_mode().map(|m| m.as_str()), Some("task"));
        let answered: BTreeMap<String, String> = sent
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let registered = registered(&td);
        assert_eq!(
            TaskDefinitionPlan::new(td.clone(), Some(&registered), &answered).changes,
            Vec::new()
        );
        let retagged = BTreeMap::from([
            ("team".to_string(), "search".to_string()),
            ("owner".to_string(), "ops".to_string()),
        ]);
        let changes = TaskDefinitionPlan::new(td.clone(), Some(&registered), &retagged).changes;
        let shown: Vec<_> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.current.as_deref(), c.wanted.as_deref()))
            .collect();
        assert_eq!(
            shown,
            [
                ("tags.cost-center", None, Some("42")),
                ("tags.team", Some("search"), Some("payments")),
                ("tags.owner", Some("ops"), None),
            ]
        );
        // Without pid_mode in the config, the registered one is a removal.
        let plain = TaskDef {
            pid_mode: None,
            ..td.clone()
        };
        let changes = TaskDefinitionPlan::new(plain, Some(&registered), &answered).changes;
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].field, "pid_mode");
        assert!(changes[0].is_removal());
        // Windows: the runtime platform says so.
        let windows = text.replace(
            "  pid_mode: task\n",
            "  operating_system_family: windows_server_2022_core\n",
        );
        let l = config::load_bytes(windows.as_bytes(), "d.yaml", &|_| None).unwrap();
        let td = TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1");
        let platform = td
            .fields()
            .into_iter()
            .find(|f| f.name == "platform")
            .unwrap();
        assert_eq!(platform.value, "WINDOWS_SERVER_2022_CORE/X86_64");
    }

    /// Several ports with names and application protocols (Service Connect's): sent in order,
    /// read back whatever order ECS lists the extra ones in, and compared port by port.
    #[test]
    fn several_named_ports_round_trip() {
        let text = "\
app: demo
image: { source: 'docker://demo:1', tag: v1 }
service: { subnets: [subnet-0123456789abcdef0] }
task: { execution_role: 'arn:aws:iam::123456789012:role/exec' }
container:
  port: 8080
  port_name: web
  app_protocol: http
  ports:
    - { port: 9090, name: metrics }
    - { port: 8125, protocol: udp }
";
        let l = config::load_bytes(text.as_bytes(), "d.yaml", &|_| None)
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let td = TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1");
        let request = td.register_request().build().unwrap();
        let mappings = request.container_definitions()[0].port_mappings();
        assert_eq!(mappings.len(), 3);
        assert_eq!(mappings[0].name(), Some("web"));
        assert_eq!(mappings[0].app_protocol().map(|a| a.as_str()), Some("http"));
        let none = BTreeMap::new();
        assert_eq!(
            TaskDefinitionPlan::new(td.clone(), Some(&registered(&td)), &none).changes,
            Vec::new()
        );
        let fields: Vec<String> = td.fields().into_iter().map(|f| f.name).collect();
        assert!(
            fields.contains(&"containers.demo.ports.9090/tcp".to_string()),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"containers.demo.ports.8125/udp".to_string()),
            "{fields:?}"
        );
    }

    /// `ecs:` on the task and a container: sent merged with the typed keys (`init_process`
    /// and `linuxParameters` are one object), read back from the revision and compared there;
    /// a field named in `ecs:` is no longer an unmanaged removal, and one dropped is again.
    /// FireLens: the router's `firelensConfiguration` and a routed container's awsfirelens
    /// driver (options and secret options) are sent, read back equal, and a changed option
    /// or a dropped router plans exactly that.
    #[test]
    fn firelens_router_and_routed_logs_are_sent_and_read_back() {
        let routed = "    firelens:\n      options: { Name: cloudwatch_logs, region: us-east-1, log_group_name: /demo/app }\n      secret_options: { apikey: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:key-AbCdEf' }\n";
        let text = |router: &str| {
            format!(
                "\
app: demo
image: {{ source: 'docker://demo:1', tag: v1 }}
service: {{ subnets: [subnet-0123456789abcdef0] }}
task: {{ execution_role: 'arn:aws:iam::123456789012:role/exec' }}
containers:
  - name: api
    port: 8080
    depends_on: {{ log-router: START }}
{}  - name: log-router
    image: 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4'
{router}",
                if router.is_empty() { "" } else { routed }
            )
        };
        let render = |router: &str| {
            let l = config::load_bytes(text(router).as_bytes(), "d.yaml", &|_| None)
                .unwrap_or_else(|e| panic!("{}", e.render()));
            TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1")
        };
        let router = "    log_router: { type: fluentbit, config_file: /fluent-bit/etc/extra.conf, ecs_log_metadata: false }\n";
        let td = render(router);
        let request = td.register_request().build().unwrap();
        let sent = |name: &str| {
            request
                .container_definitions()
                .iter()
                .find(|c| c.name() == Some(name))
                .unwrap()
                .clone()
        };
        let api = sent("api");
        let logs = api.log_configuration().unwrap();
        assert_eq!(logs.log_driver().as_str(), "awsfirelens");
        assert_eq!(logs.options().unwrap()["Name"], "cloudwatch_logs");
        assert_eq!(logs.secret_options()[0].name(), "apikey");
        let router_sent = sent("log-router");
        let firelens = router_sent.firelens_configuration().unwrap();
        assert_eq!(firelens.r#type().as_str(), "fluentbit");
        let options = firelens.options().unwrap();
        assert_eq!(options["config-file-type"], "file");
        assert_eq!(options["enable-ecs-log-metadata"], "false");
        // The router itself logs to CloudWatch Logs.
        assert_eq!(
            router_sent
                .log_configuration()
                .unwrap()
                .log_driver()
                .as_str(),
            "awslogs"
        );
        let registered = registered(&td);
        let none = BTreeMap::new();
        assert_eq!(
            TaskDefinitionPlan::new(td.clone(), Some(&registered), &none).changes,
            Vec::new()
        );
        let changed = render(&router.replace("ecs_log_metadata: false", "ecs_log_metadata: true"));
        let changes = TaskDefinitionPlan::new(changed, Some(&registered), &none).changes;
        let shown: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(shown, ["containers.log-router.log_router"]);
        let dropped = render("");
        let changes = TaskDefinitionPlan::new(dropped, Some(&registered), &none).changes;
        let shown: Vec<_> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.is_removal()))
            .collect();
        let mut shown = shown;
        shown.sort();
        assert_eq!(
            shown,
            [
                ("containers.api.log_driver", false),
                ("containers.api.log_options.Name", true),
                ("containers.api.log_options.awslogs-group", false),
                ("containers.api.log_options.awslogs-region", false),
                ("containers.api.log_options.awslogs-stream-prefix", false),
                ("containers.api.log_options.log_group_name", true),
                ("containers.api.log_options.max-buffer-size", false),
                ("containers.api.log_options.mode", false),
                ("containers.api.log_options.region", true),
                ("containers.api.log_secret_options.apikey", true),
                ("containers.log-router.log_router", true),
            ]
        );
    }

    #[test]
    fn pass_through_fields_are_sent_read_back_and_compared() {
        let text = |ecs: &str| {
            format!(
                "\
app: demo
image: {{ source: 'docker://demo:1', tag: v1 }}
service: {{ subnets: [subnet-0123456789abcdef0] }}
task:
  execution_role: 'arn:aws:iam::123456789012:role/exec'
  ecs: {{ enableFaultInjection: true }}
container:
  init_process: true
{ecs}"
            )
        };
        let render = |ecs: &str| {
            let l = config::load_bytes(text(ecs).as_bytes(), "d.yaml", &|_| None)
                .unwrap_or_else(|e| panic!("{}", e.render()));
            TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1")
        };
        let ecs = "  ecs:\n    startTimeout: 60\n    linuxParameters: { capabilities: { add: [SYS_PTRACE] } }\n";
        let td = render(ecs);
        let request = td.register_request().build().unwrap();
        assert_eq!(request.enable_fault_injection(), Some(true));
        let sent = &request.container_definitions()[0];
        assert_eq!(sent.start_timeout(), Some(60));
        let linux = sent.linux_parameters().unwrap();
        assert_eq!(linux.init_process_enabled(), Some(true));
        assert_eq!(linux.capabilities().unwrap().add(), ["SYS_PTRACE"]);
        let registered = registered(&td);
        let none = BTreeMap::new();
        assert_eq!(
            TaskDefinitionPlan::new(td.clone(), Some(&registered), &none).changes,
            Vec::new()
        );
        let changed = render(&ecs.replace("startTimeout: 60", "startTimeout: 90"));
        let changes = TaskDefinitionPlan::new(changed, Some(&registered), &none).changes;
        let shown: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(shown, ["containers.demo.ecs.startTimeout"]);
        let dropped = render("");
        let changes = TaskDefinitionPlan::new(dropped, Some(&registered), &none).changes;
        let mut shown: Vec<_> = changes
            .iter()
            .map(|c| (c.field.as_str(), c.is_removal()))
            .collect();
        shown.sort();
        assert_eq!(
            shown,
            [
                ("containers.demo.linux_parameters", true),
                ("containers.demo.start_timeout", true)
            ]
        );
    }

    /// An app and a sidecar: the sidecar keeps its image, dependencies and reservations
    /// round-trip through ECS's types, and the registered revision is reused.
    #[test]
    fn sidecars_render_and_plan_clean_once_registered() {
        let text = "\
app: demo
image: { source: 'docker://demo:1', tag: v1 }
service: { subnets: [subnet-0123456789abcdef0] }
task: { execution_role: 'arn:aws:iam::123456789012:role/exec' }
containers:
  - name: log-router
    image: public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4
    memory_reservation: 64
    cpu: 0
    health_check: { command: 'true' }
  - name: api
    port: 8080
    depends_on: { log-router: HEALTHY }
";
        let l = config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        assert_eq!(l.names.container, "api");
        assert_eq!(
            l.config.container.port, 8080,
            "`container` stands for the app"
        );
        let td = TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1");
        let (app, sidecar) = (&td.containers[0], &td.containers[1]);
        assert_eq!(
            (app.name.as_str(), app.image.as_str()),
            ("api", "r/demo@sha256:abc")
        );
        assert_eq!(
            app.depends_on.get("log-router").map(String::as_str),
            Some("HEALTHY")
        );
        assert_eq!(
            sidecar.image,
            "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4"
        );
        assert_eq!(
            (sidecar.cpu, sidecar.memory_reservation, sidecar.port),
            (None, Some(64), None)
        );
        let plan = TaskDefinitionPlan::new(td.clone(), Some(&registered(&td)), &BTreeMap::new());
        assert_eq!(plan.changes, Vec::new());
    }

    #[test]
    fn every_container_and_unrendered_field_is_compared() {
        let td = wanted();
        let mut current = registered(&td);
        let sidecar = aws_sdk_ecs::types::ContainerDefinition::builder()
            .name("log-router")
            .image("fluent-bit:3")
            .build();
        current
            .container_definitions
            .as_mut()
            .unwrap()
            .push(sidecar);
        current.container_definitions.as_mut().unwrap()[0].entry_point = Some(vec!["/init".into()]);
        current.volumes = Some(vec![
            aws_sdk_ecs::types::Volume::builder().name("data").build(),
        ]);
        let plan = TaskDefinitionPlan::new(td, Some(&current), &BTreeMap::new());
        let fields: Vec<_> = plan.changes.iter().map(|c| c.field.as_str()).collect();
        assert!(fields.contains(&"volumes.data"), "{fields:?}");
        assert!(
            fields.contains(&"containers.demo.entry_point"),
            "{fields:?}"
        );
        assert!(
            fields.contains(&"containers.log-router.image"),
            "{fields:?}"
        );
        assert!(
            plan.changes.iter().all(|c| c.wanted.is_none()),
            "all removals"
        );
    }

    #[test]
    fn secrets_show_a_line_and_commands_show_as_arrays() {
        let td = wanted();
        let mut current = registered(&td);
        let c = &mut current.container_definitions.as_mut().unwrap()[0];
        for kv in c.environment.as_mut().unwrap() {
            if kv.name() == Some("API_TOKEN") {
                kv.value = Some("old".into());
            }
        }
        c.command = Some(vec!["sh".into(), "-c exec".into(), "app".into()]);
        let plan = TaskDefinitionPlan::new(td, Some(&current), &BTreeMap::new());
        let token = plan
            .changes
            .iter()
            .find(|c| c.field == "containers.demo.environment.API_TOKEN")
            .expect("a visible line for the secret");
        assert!(token.secret);
        assert_eq!(token.wanted.as_deref(), Some("(secret)"));
        let command = plan
            .changes
            .iter()
            .find(|c| c.field == "containers.demo.command")
            .unwrap();
        assert_eq!(
            command.current.as_deref(),
            Some(r#"["sh","-c exec","app"]"#)
        );
        assert_eq!(command.wanted.as_deref(), Some(r#"["sh","-c","exec app"]"#));
    }

    #[test]
    fn renders_fargate_awsvpc_with_logs_health_check_and_pinned_image() {
        let td = wanted();
        assert_eq!((td.cpu.as_str(), td.memory.as_str()), ("256", "512"));
        let c = &td.containers[0];
        assert_eq!(c.image, "r/demo@sha256:abc");
        assert_eq!(c.log_options["awslogs-group"], "/ecs/demo");
        let hc = c.health_check.as_ref().unwrap();
        assert_eq!(hc.command[0], "CMD-SHELL");
        assert_eq!((hc.interval, hc.timeout, hc.retries), (30, 5, 3));
        // The delivery mode is written out, never left to the account's default.
        assert_eq!(c.log_options["mode"], "non-blocking");
        assert_eq!(c.log_options["max-buffer-size"], "25m");
    }

    #[test]
    fn blocking_log_delivery_has_no_buffer() {
        let mut l = loaded();
        l.config.logs.mode = crate::config::model::LogMode::Blocking;
        let td = TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1");
        let options = &td.containers[0].log_options;
        assert_eq!(options["mode"], "blocking");
        assert!(!options.contains_key("max-buffer-size"));
        assert!(l.config.logs.delivery_note().contains("no line is dropped"));
    }
}
