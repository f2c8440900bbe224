//! The task definition shipit wants, in one comparable shape: rendered from the config, read
//! back from ECS, compared after normalising (sorted environment, ECS's defaults filled in) so
//! that ordering and defaults never cause a new revision, and shown as a diff by `plan`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::Names;
use crate::config::model::{CpuArchitecture, DeployConfig};

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
    pub container: ContainerDef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContainerDef {
    pub name: String,
    pub image: String,
    pub essential: bool,
    pub port: i32,
    /// Sorted by name.
    pub environment: BTreeMap<String, String>,
    /// name -> valueFrom, sorted by name.
    pub secrets: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub health_check: Option<HealthCheckDef>,
    pub log_group: String,
    pub log_region: String,
    pub log_stream_prefix: String,
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
    /// The task definition for `config`, running `image` (pinned by digest).
    pub fn render(config: &DeployConfig, names: &Names, image: &str, region: &str) -> TaskDef {
        let c = &config.container;
        TaskDef {
            family: names.family.clone(),
            cpu: config.task.cpu.to_string(),
            memory: config.task.memory.to_string(),
            network_mode: "awsvpc".to_string(),
            requires_compatibilities: vec!["FARGATE".to_string()],
            execution_role_arn: config.task.execution_role.clone(),
            task_role_arn: config.task.task_role.clone(),
            cpu_architecture: match config.task.cpu_architecture {
                CpuArchitecture::X86_64 => "X86_64",
                CpuArchitecture::Arm64 => "ARM64",
            }
            .to_string(),
            operating_system_family: "LINUX".to_string(),
            container: ContainerDef {
                name: names.container.clone(),
                image: image.to_string(),
                essential: true,
                port: c.port as i32,
                environment: c
                    .environment
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string()))
                    .collect(),
                secrets: c.secrets.clone(),
                command: c.command.clone(),
                health_check: c.health_check.as_ref().map(|h| HealthCheckDef {
                    command: h.command.to_ecs(),
                    interval: h.interval as i32,
                    timeout: h.timeout as i32,
                    retries: h.retries as i32,
                    start_period: h.start_period as i32,
                }),
                log_group: names.log_group.clone(),
                log_region: region.to_string(),
                log_stream_prefix: config.logs.stream_prefix.clone(),
            },
        }
    }

    /// Reads the fields shipit manages from a registered revision. ECS omits defaults (no
    /// runtime platform means X86_64/LINUX): they are filled in so equal means equal.
    pub fn from_ecs(td: &aws_sdk_ecs::types::TaskDefinition) -> Option<TaskDef> {
        let container = td.container_definitions().first()?;
        let log_options = container
            .log_configuration()
            .and_then(|l| l.options())
            .cloned()
            .unwrap_or_default();
        let platform = td.runtime_platform();
        Some(TaskDef {
            family: td.family()?.to_string(),
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
                .unwrap_or_else(|| "X86_64".to_string()),
            operating_system_family: platform
                .and_then(|p| p.operating_system_family())
                .map(|o| o.as_str().to_string())
                .unwrap_or_else(|| "LINUX".to_string()),
            container: ContainerDef {
                name: container.name().unwrap_or_default().to_string(),
                image: container.image().unwrap_or_default().to_string(),
                essential: container.essential().unwrap_or(true),
                port: container
                    .port_mappings()
                    .first()
                    .and_then(|p| p.container_port())
                    .unwrap_or_default(),
                environment: container
                    .environment()
                    .iter()
                    .filter_map(|kv| Some((kv.name()?.to_string(), kv.value()?.to_string())))
                    .collect(),
                secrets: container
                    .secrets()
                    .iter()
                    .map(|s| (s.name().to_string(), s.value_from().to_string()))
                    .collect(),
                command: (!container.command().is_empty()).then(|| container.command().to_vec()),
                health_check: container.health_check().map(|h| HealthCheckDef {
                    command: h.command().to_vec(),
                    interval: h.interval().unwrap_or(30),
                    timeout: h.timeout().unwrap_or(5),
                    retries: h.retries().unwrap_or(3),
                    start_period: h.start_period().unwrap_or(0),
                }),
                log_group: log_options
                    .get("awslogs-group")
                    .cloned()
                    .unwrap_or_default(),
                log_region: log_options
                    .get("awslogs-region")
                    .cloned()
                    .unwrap_or_default(),
                log_stream_prefix: log_options
                    .get("awslogs-stream-prefix")
                    .cloned()
                    .unwrap_or_default(),
            },
        })
    }

    /// Lines of `key: value`, for diffs people read.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("family: {}", self.family),
            format!("cpu: {}", self.cpu),
            format!("memory: {}", self.memory),
            format!("network_mode: {}", self.network_mode),
            format!(
                "requires_compatibilities: {}",
                self.requires_compatibilities.join(", ")
            ),
            format!(
                "execution_role: {}",
                self.execution_role_arn.as_deref().unwrap_or("-")
            ),
            format!(
                "task_role: {}",
                self.task_role_arn.as_deref().unwrap_or("-")
            ),
            format!(
                "platform: {}/{}",
                self.operating_system_family, self.cpu_architecture
            ),
        ];
        let c = &self.container;
        out.push(format!("container.name: {}", c.name));
        out.push(format!("container.image: {}", c.image));
        out.push(format!("container.port: {}", c.port));
        for (k, v) in &c.environment {
            out.push(format!(
                "container.environment.{k}: {}",
                mask_if_secret(k, v)
            ));
        }
        for (k, v) in &c.secrets {
            out.push(format!("container.secrets.{k}: {v}"));
        }
        if let Some(command) = &c.command {
            out.push(format!("container.command: {}", command.join(" ")));
        }
        if let Some(h) = &c.health_check {
            out.push(format!(
                "container.health_check.command: {}",
                h.command.join(" ")
            ));
            out.push(format!(
                "container.health_check: every {}s, timeout {}s, {} retries, start period {}s",
                h.interval, h.timeout, h.retries, h.start_period
            ));
        }
        out.push(format!(
            "container.logs: awslogs {} ({}, prefix {})",
            c.log_group, c.log_region, c.log_stream_prefix
        ));
        out
    }

    /// The RegisterTaskDefinition request for this definition.
    pub fn register(
        &self,
        client: &aws_sdk_ecs::Client,
    ) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder
    {
        use aws_sdk_ecs::types::{
            Compatibility, ContainerDefinition, CpuArchitecture, HealthCheck, KeyValuePair,
            LogConfiguration, LogDriver, NetworkMode, OsFamily, PortMapping, RuntimePlatform,
            Secret, TransportProtocol,
        };
        let c = &self.container;
        let mut container = ContainerDefinition::builder()
            .name(&c.name)
            .image(&c.image)
            .essential(c.essential)
            .port_mappings(
                PortMapping::builder()
                    .container_port(c.port)
                    .protocol(TransportProtocol::Tcp)
                    .build(),
            )
            .log_configuration(
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", &c.log_group)
                    .options("awslogs-region", &c.log_region)
                    .options("awslogs-stream-prefix", &c.log_stream_prefix)
                    .build()
                    .expect("log driver is set"),
            );
        for (name, value) in &c.environment {
            container =
                container.environment(KeyValuePair::builder().name(name).value(value).build());
        }
        for (name, from) in &c.secrets {
            container = container.secrets(
                Secret::builder()
                    .name(name)
                    .value_from(from)
                    .build()
                    .expect("name and valueFrom are set"),
            );
        }
        if let Some(command) = &c.command {
            container = container.set_command(Some(command.clone()));
        }
        if let Some(h) = &c.health_check {
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
        let mut request = client
            .register_task_definition()
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
            .container_definitions(container.build())
            .tags(crate::ecs::managed_by_shipit());
        if let Some(role) = &self.execution_role_arn {
            request = request.execution_role_arn(role);
        }
        if let Some(role) = &self.task_role_arn {
            request = request.task_role_arn(role);
        }
        request
    }
}

/// Environment values whose names look secret are masked in everything shipit prints.
pub fn mask_if_secret(name: &str, value: &str) -> String {
    let upper = name.to_ascii_uppercase();
    let secret = ["PASSWORD", "PASSWD", "TOKEN", "SECRET", "KEY", "CREDENTIAL"]
        .iter()
        .any(|w| upper.contains(w));
    if secret && !value.is_empty() {
        "******".to_string()
    } else {
        value.to_string()
    }
}

/// A line diff of two renderings: `-` lines only in `old`, `+` lines only in `new`.
pub fn diff_lines(old: &[String], new: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for line in old {
        if !new.contains(line) {
            out.push(format!("- {line}"));
        }
    }
    for line in new {
        if !old.contains(line) {
            out.push(format!("+ {line}"));
        }
    }
    out
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
  health_check: { command: 'wget -q -O /dev/null http://localhost:5000/health || exit 1' }
";
        config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap()
    }

    #[test]
    fn renders_fargate_awsvpc_with_logs_health_check_and_pinned_image() {
        let l = loaded();
        let td = TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1");
        assert_eq!((td.cpu.as_str(), td.memory.as_str()), ("256", "512"));
        assert_eq!(td.network_mode, "awsvpc");
        assert_eq!(td.container.image, "r/demo@sha256:abc");
        assert_eq!(td.container.log_group, "/ecs/demo");
        let hc = td.container.health_check.as_ref().unwrap();
        assert_eq!(hc.command[0], "CMD-SHELL");
        assert_eq!((hc.interval, hc.timeout, hc.retries), (30, 5, 3));
        // Sorted, so YAML order never makes a new revision.
        let keys: Vec<_> = td.container.environment.keys().cloned().collect();
        assert_eq!(keys, vec!["A", "API_TOKEN", "B"]);
    }

    #[test]
    fn diffs_show_only_changes_and_mask_secret_looking_values() {
        let l = loaded();
        let a = TaskDef::render(&l.config, &l.names, "r/demo@sha256:abc", "us-east-1");
        let mut b = a.clone();
        b.container.image = "r/demo@sha256:def".into();
        let diff = diff_lines(&a.lines(), &b.lines());
        assert_eq!(
            diff,
            vec![
                "- container.image: r/demo@sha256:abc".to_string(),
                "+ container.image: r/demo@sha256:def".to_string()
            ]
        );
        assert!(
            a.lines()
                .contains(&"container.environment.API_TOKEN: ******".to_string())
        );
        assert!(diff_lines(&a.lines(), &a.lines()).is_empty());
    }
}
