//! How a container's process runs: entry point, working directory, user, a read-only root file
//! system, the stop timeout, an init process, docker labels, ulimits, the volumes it mounts,
//! its kernel parameters (system controls) and environment files. Rendered from the
//! config, read back from a revision, compared field by field, and set on the
//! RegisterTaskDefinition request, for the app container and every sidecar alike.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Field, json_list};
use crate::config::model::ProcessConfig;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ProcessDef {
    pub entry_point: Option<Vec<String>>,
    pub working_directory: Option<String>,
    pub user: Option<String>,
    pub readonly_root_filesystem: bool,
    /// Seconds between SIGTERM and SIGKILL.
    pub stop_timeout: Option<i32>,
    /// linuxParameters.initProcessEnabled.
    pub init_process: bool,
    pub docker_labels: BTreeMap<String, String>,
    /// name -> (soft, hard).
    pub ulimits: BTreeMap<String, (i32, i32)>,
    /// container path -> (volume, read only).
    pub mount_points: BTreeMap<String, (String, bool)>,
    /// namespace -> value.
    pub system_controls: BTreeMap<String, String>,
    /// S3 object ARNs, in order (a later file's variable wins).
    pub environment_files: Vec<String>,
}

impl ProcessDef {
    pub fn render(config: &ProcessConfig) -> ProcessDef {
        ProcessDef {
            entry_point: config.entry_point.clone(),
            working_directory: config.working_directory.clone(),
            user: config.user.clone(),
            readonly_root_filesystem: config.readonly_root_filesystem,
            stop_timeout: config.stop_timeout.map(|s| s as i32),
            init_process: config.init_process,
            docker_labels: config.docker_labels.clone(),
            ulimits: config
                .ulimits
                .iter()
                .map(|(name, limit)| (name.clone(), (limit.soft as i32, limit.hard as i32)))
                .collect(),
            mount_points: config
                .mount_points
                .iter()
                .map(|m| (m.path.clone(), (m.volume.clone(), m.read_only)))
                .collect(),
            system_controls: config.system_controls.clone(),
            environment_files: config.environment_files.clone(),
        }
    }

    /// What a revision's container holds of these. `linux_parameters` counts only when it
    /// holds the init process alone (anything else in it is not shipit's to render).
    pub fn from_ecs(c: &aws_sdk_ecs::types::ContainerDefinition) -> ProcessDef {
        // Some endpoints answer "" for unset.
        let text = |v: Option<&str>| v.filter(|v| !v.is_empty()).map(str::to_string);
        ProcessDef {
            entry_point: (!c.entry_point().is_empty()).then(|| c.entry_point().to_vec()),
            working_directory: text(c.working_directory()),
            user: text(c.user()),
            readonly_root_filesystem: c.readonly_root_filesystem() == Some(true),
            stop_timeout: c.stop_timeout(),
            // Read whatever else linuxParameters holds (that is `ecs:`'s, or unmanaged).
            init_process: c.linux_parameters().and_then(|l| l.init_process_enabled()) == Some(true),
            docker_labels: c
                .docker_labels()
                .map(|l| l.clone().into_iter().collect())
                .unwrap_or_default(),
            ulimits: c
                .ulimits()
                .iter()
                .map(|u| {
                    (
                        u.name().as_str().to_string(),
                        (u.soft_limit(), u.hard_limit()),
                    )
                })
                .collect(),
            mount_points: c
                .mount_points()
                .iter()
                .map(|m| {
                    (
                        m.container_path().unwrap_or_default().to_string(),
                        (
                            m.source_volume().unwrap_or_default().to_string(),
                            m.read_only() == Some(true),
                        ),
                    )
                })
                .collect(),
            system_controls: c
                .system_controls()
                .iter()
                .filter_map(|sc| Some((sc.namespace()?.to_string(), sc.value()?.to_string())))
                .collect(),
            environment_files: c
                .environment_files()
                .iter()
                .map(|f| f.value().to_string())
                .collect(),
        }
    }

    /// The fields, named under `prefix` (`containers.api`).
    pub fn fields(&self, prefix: &str) -> Vec<Field> {
        const CONTAINERS: &str = "containerDefinitions";
        let p = |field: &str| format!("{prefix}.{field}");
        let mut out = Vec::new();
        if let Some(entry_point) = &self.entry_point {
            out.push(Field::new(
                p("entry_point"),
                json_list(entry_point),
                CONTAINERS,
            ));
        }
        if let Some(dir) = &self.working_directory {
            out.push(Field::new(p("working_directory"), dir, CONTAINERS));
        }
        if let Some(user) = &self.user {
            out.push(Field::new(p("user"), user, CONTAINERS));
        }
        if self.readonly_root_filesystem {
            out.push(Field::new(p("readonly_root_filesystem"), true, CONTAINERS));
        }
        if let Some(seconds) = self.stop_timeout {
            out.push(Field::new(p("stop_timeout"), seconds, CONTAINERS));
        }
        if self.init_process {
            out.push(Field::new(p("init_process"), true, CONTAINERS));
        }
        for (k, v) in &self.docker_labels {
            out.push(Field::new(p(&format!("docker_labels.{k}")), v, CONTAINERS));
        }
        for (name, (soft, hard)) in &self.ulimits {
            out.push(Field::new(
                p(&format!("ulimits.{name}")),
                format!("{soft}/{hard}"),
                CONTAINERS,
            ));
        }
        for (namespace, value) in &self.system_controls {
            out.push(Field::new(
                p(&format!("system_controls.{namespace}")),
                value,
                CONTAINERS,
            ));
        }
        if !self.environment_files.is_empty() {
            out.push(Field::new(
                p("environment_files"),
                json_list(&self.environment_files),
                CONTAINERS,
            ));
        }
        for (path, (volume, read_only)) in &self.mount_points {
            out.push(Field::new(
                p(&format!("mount_points.{path}")),
                if *read_only {
                    format!("{volume} (read only)")
                } else {
                    volume.clone()
                },
                CONTAINERS,
            ));
        }
        out
    }

    /// Sets these on a container definition being built.
    pub fn apply(
        &self,
        mut container: aws_sdk_ecs::types::builders::ContainerDefinitionBuilder,
    ) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
        use aws_sdk_ecs::types::{LinuxParameters, MountPoint, Ulimit, UlimitName};
        container = container
            .set_entry_point(self.entry_point.clone())
            .set_working_directory(self.working_directory.clone())
            .set_user(self.user.clone())
            .set_stop_timeout(self.stop_timeout);
        if self.readonly_root_filesystem {
            container = container.readonly_root_filesystem(true);
        }
        if self.init_process {
            container = container.linux_parameters(
                LinuxParameters::builder()
                    .init_process_enabled(true)
                    .build(),
            );
        }
        if !self.docker_labels.is_empty() {
            container =
                container.set_docker_labels(Some(self.docker_labels.clone().into_iter().collect()));
        }
        for (name, (soft, hard)) in &self.ulimits {
            container = container.ulimits(
                Ulimit::builder()
                    .name(UlimitName::from(name.as_str()))
                    .soft_limit(*soft)
                    .hard_limit(*hard)
                    .build()
                    .expect("name and limits are set"),
            );
        }
        for (namespace, value) in &self.system_controls {
            container = container.system_controls(
                aws_sdk_ecs::types::SystemControl::builder()
                    .namespace(namespace)
                    .value(value)
                    .build(),
            );
        }
        for arn in &self.environment_files {
            container = container.environment_files(
                aws_sdk_ecs::types::EnvironmentFile::builder()
                    .value(arn)
                    .r#type(aws_sdk_ecs::types::EnvironmentFileType::S3)
                    .build()
                    .expect("value and type are set"),
            );
        }
        for (path, (volume, read_only)) in &self.mount_points {
            container = container.mount_points(
                MountPoint::builder()
                    .source_volume(volume)
                    .container_path(path)
                    .read_only(*read_only)
                    .build(),
            );
        }
        container
    }
}

/// Linux parameters that say nothing but "run an init process".
pub fn only_init_process(l: &aws_sdk_ecs::types::LinuxParameters) -> bool {
    l.capabilities().is_none()
        && l.devices().is_empty()
        && l.shared_memory_size().is_none()
        && l.tmpfs().is_empty()
        && l.max_swap().is_none()
        && l.swappiness().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_rendered_is_read_back_the_same() {
        let def = ProcessDef {
            entry_point: Some(vec!["/bin/sh".into(), "-c".into()]),
            working_directory: Some("/srv".into()),
            user: Some("1000:1000".into()),
            readonly_root_filesystem: true,
            stop_timeout: Some(90),
            init_process: true,
            docker_labels: [("team".to_string(), "payments".to_string())].into(),
            ulimits: [("nofile".to_string(), (65536, 65536))].into(),
            mount_points: [("/data".to_string(), ("data".to_string(), true))].into(),
            system_controls: [("net.core.somaxconn".to_string(), "1024".to_string())].into(),
            environment_files: vec![
                "arn:aws:s3:::config/base.env".into(),
                "arn:aws:s3:::config/prod.env".into(),
            ],
        };
        let container = def
            .apply(aws_sdk_ecs::types::ContainerDefinition::builder().name("api"))
            .build();
        assert_eq!(ProcessDef::from_ecs(&container), def);
        let names: Vec<String> = def
            .fields("containers.api")
            .into_iter()
            .map(|f| f.name)
            .collect();
        assert_eq!(
            names,
            [
                "containers.api.entry_point",
                "containers.api.working_directory",
                "containers.api.user",
                "containers.api.readonly_root_filesystem",
                "containers.api.stop_timeout",
                "containers.api.init_process",
                "containers.api.docker_labels.team",
                "containers.api.ulimits.nofile",
                "containers.api.system_controls.net.core.somaxconn",
                "containers.api.environment_files",
                "containers.api.mount_points./data",
            ]
        );
    }

    /// The init process is read wherever linuxParameters has it; the rest of the object is
    /// not the typed key's (an unmanaged field, or `ecs:`'s `linuxParameters`).
    #[test]
    fn the_init_process_is_read_beside_other_linux_parameters() {
        let with_capabilities = aws_sdk_ecs::types::LinuxParameters::builder()
            .init_process_enabled(true)
            .capabilities(
                aws_sdk_ecs::types::KernelCapabilities::builder()
                    .add("SYS_PTRACE")
                    .build(),
            )
            .build();
        assert!(!only_init_process(&with_capabilities));
        let container = aws_sdk_ecs::types::ContainerDefinition::builder()
            .name("api")
            .linux_parameters(with_capabilities)
            .build();
        assert!(ProcessDef::from_ecs(&container).init_process);
    }
}
