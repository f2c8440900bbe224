//! The task's storage: its volumes (EFS file systems, or storage of the task that its
//! containers share) and its ephemeral storage size. Rendered from `task.volumes` and
//! `task.ephemeral_storage`, read back, compared and sent with RegisterTaskDefinition. A
//! volume of a kind Fargate or deploy.yaml does not take (a host path, a Docker volume, FSx,
//! one configured at launch) is read back as not shipit's to render.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Field;
use crate::config::model::TaskConfig;

/// Fargate's ephemeral storage without `ephemeral_storage` (GiB).
pub const FARGATE_DEFAULT_STORAGE_GIB: i32 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VolumeDef {
    /// Storage of the task itself, shared by its containers (a bind mount with no host path).
    Task,
    Efs {
        file_system_id: String,
        root_directory: Option<String>,
        access_point: Option<String>,
        transit_encryption: bool,
        iam: bool,
    },
}

impl VolumeDef {
    /// The volume as one line, for the plan.
    pub fn shown(&self) -> String {
        match self {
            VolumeDef::Task => "task storage".to_string(),
            VolumeDef::Efs {
                file_system_id,
                root_directory,
                access_point,
                transit_encryption,
                iam,
            } => {
                let mut parts = vec![format!("efs {file_system_id}")];
                if let Some(dir) = root_directory {
                    parts.push(format!("root {dir}"));
                }
                if let Some(ap) = access_point {
                    parts.push(format!("access point {ap}"));
                }
                if *transit_encryption {
                    parts.push("transit encryption".into());
                }
                if *iam {
                    parts.push("IAM".into());
                }
                parts.join(", ")
            }
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StorageDef {
    pub volumes: BTreeMap<String, VolumeDef>,
    /// GiB, when more than Fargate's default.
    pub ephemeral_gib: Option<i32>,
}

impl StorageDef {
    pub fn render(task: &TaskConfig) -> StorageDef {
        StorageDef {
            volumes: task
                .volumes
                .iter()
                .map(|(name, v)| {
                    let def = match &v.efs {
                        None => VolumeDef::Task,
                        Some(efs) => VolumeDef::Efs {
                            file_system_id: efs.file_system_id.clone(),
                            root_directory: efs.root_directory.clone(),
                            access_point: efs.access_point.clone(),
                            transit_encryption: efs.encrypts(),
                            iam: efs.iam,
                        },
                    };
                    (name.clone(), def)
                })
                .collect(),
            ephemeral_gib: task.ephemeral_storage.map(|g| g as i32),
        }
    }

    /// What a revision holds, and the volumes that are not shipit's to render (name -> kind).
    pub fn from_ecs(
        td: &aws_sdk_ecs::types::TaskDefinition,
    ) -> (StorageDef, Vec<(String, String)>) {
        let mut volumes = BTreeMap::new();
        let mut others = Vec::new();
        for v in td.volumes() {
            let name = v.name().unwrap_or_default().to_string();
            let other = if v.docker_volume_configuration().is_some() {
                Some("docker volume")
            } else if v.fsx_windows_file_server_volume_configuration().is_some() {
                Some("FSx")
            } else if v.configured_at_launch() == Some(true) {
                Some("configured at launch")
            } else if v
                .host()
                .and_then(|h| h.source_path())
                .is_some_and(|p| !p.is_empty())
            {
                Some("host path")
            } else {
                None
            };
            if let Some(kind) = other {
                others.push((name, kind.to_string()));
                continue;
            }
            let def = match v.efs_volume_configuration() {
                None => VolumeDef::Task,
                Some(efs) => VolumeDef::Efs {
                    file_system_id: efs.file_system_id().to_string(),
                    // ECS reads no root directory as "/".
                    root_directory: efs
                        .root_directory()
                        .filter(|d| !d.is_empty() && *d != "/")
                        .map(str::to_string),
                    access_point: efs
                        .authorization_config()
                        .and_then(|a| a.access_point_id())
                        .map(str::to_string),
                    transit_encryption: efs.transit_encryption().map(|t| t.as_str())
                        == Some("ENABLED"),
                    iam: efs
                        .authorization_config()
                        .and_then(|a| a.iam())
                        .map(|i| i.as_str())
                        == Some("ENABLED"),
                },
            };
            volumes.insert(name, def);
        }
        let ephemeral_gib = td
            .ephemeral_storage()
            .map(|s| s.size_in_gib())
            .filter(|&g| g > FARGATE_DEFAULT_STORAGE_GIB);
        (
            StorageDef {
                volumes,
                ephemeral_gib,
            },
            others,
        )
    }

    pub fn fields(&self) -> Vec<Field> {
        let mut out: Vec<Field> = self
            .volumes
            .iter()
            .map(|(name, v)| Field::new(format!("volumes.{name}"), v.shown(), "volumes"))
            .collect();
        if let Some(gib) = self.ephemeral_gib {
            out.push(Field::new(
                "ephemeral_storage",
                format!("{gib} GiB"),
                "ephemeralStorage",
            ));
        }
        out
    }

    /// Sets these on the RegisterTaskDefinition request.
    pub fn apply(
        &self,
        mut request: aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder,
    ) -> aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionInputBuilder
    {
        use aws_sdk_ecs::types::{
            EfsAuthorizationConfig, EfsAuthorizationConfigIam, EfsTransitEncryption,
            EfsVolumeConfiguration, EphemeralStorage, Volume,
        };
        for (name, v) in &self.volumes {
            let mut volume = Volume::builder().name(name);
            if let VolumeDef::Efs {
                file_system_id,
                root_directory,
                access_point,
                transit_encryption,
                iam,
            } = v
            {
                let mut efs = EfsVolumeConfiguration::builder()
                    .file_system_id(file_system_id)
                    .set_root_directory(root_directory.clone())
                    .transit_encryption(if *transit_encryption {
                        EfsTransitEncryption::Enabled
                    } else {
                        EfsTransitEncryption::Disabled
                    });
                if access_point.is_some() || *iam {
                    efs = efs.authorization_config(
                        EfsAuthorizationConfig::builder()
                            .set_access_point_id(access_point.clone())
                            .iam(if *iam {
                                EfsAuthorizationConfigIam::Enabled
                            } else {
                                EfsAuthorizationConfigIam::Disabled
                            })
                            .build(),
                    );
                }
                volume = volume
                    .efs_volume_configuration(efs.build().expect("the file system id is set"));
            }
            request = request.volumes(volume.build());
        }
        if let Some(gib) = self.ephemeral_gib {
            request =
                request.ephemeral_storage(EphemeralStorage::builder().size_in_gib(gib).build());
        }
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_rendered_is_read_back_the_same() {
        let storage = StorageDef {
            volumes: [
                ("cache".to_string(), VolumeDef::Task),
                (
                    "data".to_string(),
                    VolumeDef::Efs {
                        file_system_id: "fs-0123456789abcdef0".into(),
                        root_directory: None,
                        access_point: Some("fsap-0123456789abcdef0".into()),
                        transit_encryption: true,
                        iam: true,
                    },
                ),
            ]
            .into(),
            ephemeral_gib: Some(40),
        };
        let input = storage
            .apply(
                aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder()
                    .family("api"),
            )
            .build()
            .unwrap();
        let td = aws_sdk_ecs::types::TaskDefinition::builder()
            .set_volumes(input.volumes().to_vec().into())
            .set_ephemeral_storage(input.ephemeral_storage().cloned())
            .build();
        let (read, others) = StorageDef::from_ecs(&td);
        assert_eq!(read, storage);
        assert!(others.is_empty());
        assert_eq!(
            storage
                .fields()
                .iter()
                .map(|f| format!("{}: {}", f.name, f.value))
                .collect::<Vec<_>>(),
            [
                "volumes.cache: task storage",
                "volumes.data: efs fs-0123456789abcdef0, access point fsap-0123456789abcdef0, transit encryption, IAM",
                "ephemeral_storage: 40 GiB",
            ]
        );
    }

    #[test]
    fn volumes_fargate_or_deploy_yaml_does_not_take_are_not_read_as_shipits() {
        let td = aws_sdk_ecs::types::TaskDefinition::builder()
            .volumes(
                aws_sdk_ecs::types::Volume::builder()
                    .name("docker")
                    .docker_volume_configuration(
                        aws_sdk_ecs::types::DockerVolumeConfiguration::builder()
                            .driver("local")
                            .build(),
                    )
                    .build(),
            )
            .build();
        let (read, others) = StorageDef::from_ecs(&td);
        assert!(read.volumes.is_empty());
        assert_eq!(
            others,
            [("docker".to_string(), "docker volume".to_string())]
        );
    }
}
