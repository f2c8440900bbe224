//! The task's storage: its volumes (EFS file systems, EBS volumes ECS makes for each task,
//! or storage of the task that its containers share) and its ephemeral storage size.
//! Rendered from `task.volumes` and `task.ephemeral_storage`, read back, compared and sent
//! with RegisterTaskDefinition. An EBS volume is two halves: the task definition declares it
//! `configuredAtLaunch`, and the service's `volumeConfigurations` (written here, sent with
//! the service's other ECS fields) says how ECS makes it. A volume of a kind Fargate or
//! deploy.yaml does not take (a host path, a Docker volume, FSx) is read back as not
//! shipit's to render.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::Field;
use crate::config::model::{
    EbsConfig, EbsFilesystem, EbsVolumeType, PropagateTags, TaskConfig, VolumeConfig,
};
use crate::ecs_json;

/// ECS's service field for the EBS volumes (`task.volumes.NAME.ebs`).
pub const VOLUME_CONFIGURATIONS: &str = "volumeConfigurations";

/// Fargate's ephemeral storage without `ephemeral_storage` (GiB).
pub const FARGATE_DEFAULT_STORAGE_GIB: i32 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum VolumeDef {
    /// Storage of the task itself, shared by its containers (a bind mount with no host path).
    Task,
    /// Made when a task starts (an EBS volume, as the service's `volumeConfigurations` says).
    AtLaunch,
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
            VolumeDef::AtLaunch => "configured at launch (EBS)".to_string(),
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
                        None if v.ebs.is_some() => VolumeDef::AtLaunch,
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
                None if v.configured_at_launch() == Some(true) => VolumeDef::AtLaunch,
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
            if *v == VolumeDef::AtLaunch {
                volume = volume.configured_at_launch(true);
            }
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

/// The service's `volumeConfigurations` for the EBS volumes of `task.volumes`, or None when
/// it has none.
pub fn volume_configurations(task: &TaskConfig) -> Option<Value> {
    let items: Vec<Value> = task
        .volumes
        .iter()
        .filter_map(|(name, v)| v.ebs.as_ref().map(|ebs| (name, ebs)))
        .map(|(name, ebs)| json!({ "name": name, "managedEBSVolume": managed_ebs_json(ebs) }))
        .collect();
    (!items.is_empty()).then(|| {
        ecs_json::as_sent(
            ecs_json::Target::Service,
            VOLUME_CONFIGURATIONS,
            &Value::Array(items),
        )
    })
}

/// ECS's `managedEBSVolume`, only what the config names (ECS echoes what it was sent).
fn managed_ebs_json(ebs: &EbsConfig) -> Value {
    let mut out = Map::new();
    out.insert("roleArn".into(), json!(ebs.role));
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            out.insert(key.into(), value);
        }
    };
    put("sizeInGiB", ebs.size.map(|v| json!(v)));
    put("volumeType", ebs.volume_type.map(|t| json!(t.ecs_name())));
    put("iops", ebs.iops.map(|v| json!(v)));
    put("throughput", ebs.throughput.map(|v| json!(v)));
    put("encrypted", ebs.encrypted.map(|v| json!(v)));
    put("kmsKeyId", ebs.kms_key.clone().map(Value::String));
    put("snapshotId", ebs.snapshot.clone().map(Value::String));
    put(
        "volumeInitializationRate",
        ebs.initialization_rate.map(|v| json!(v)),
    );
    put(
        "filesystemType",
        ebs.filesystem.map(|f| json!(f.ecs_name())),
    );
    if !ebs.tags.is_empty() || !ebs.propagate_tags.is_none() {
        let mut spec = Map::new();
        spec.insert("resourceType".into(), json!("volume"));
        if !ebs.tags.is_empty() {
            let tags: Vec<Value> = ebs
                .tags
                .iter()
                .map(|(k, v)| json!({ "key": k, "value": v }))
                .collect();
            spec.insert("tags".into(), Value::Array(tags));
        }
        if !ebs.propagate_tags.is_none() {
            spec.insert("propagateTags".into(), json!(ebs.propagate_tags.ecs_name()));
        }
        out.insert("tagSpecifications".into(), json!([Value::Object(spec)]));
    }
    Value::Object(out)
}

/// ECS's `volumeConfigurations` read back into `task.volumes` entries (name -> volume), and
/// what they hold that the keys cannot, each named.
pub fn ebs_volumes_of(value: &Value) -> (BTreeMap<String, VolumeConfig>, Vec<String>) {
    let mut volumes = BTreeMap::new();
    let mut lost = Vec::new();
    for item in value.as_array().into_iter().flatten() {
        let name = item
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(m) = item.get("managedEBSVolume") else {
            lost.push(format!(
                "volume configuration {name} (not a managed EBS volume)"
            ));
            continue;
        };
        let text = |key: &str| m.get(key).and_then(Value::as_str).map(str::to_string);
        let int = |key: &str| m.get(key).and_then(Value::as_i64);
        let known = [
            "roleArn",
            "sizeInGiB",
            "volumeType",
            "iops",
            "throughput",
            "encrypted",
            "kmsKeyId",
            "snapshotId",
            "volumeInitializationRate",
            "filesystemType",
            "tagSpecifications",
        ];
        for (key, v) in m.as_object().into_iter().flatten() {
            if !known.contains(&key.as_str()) && !ecs_json::is_unset(v) {
                lost.push(format!("EBS volume {name}: {key}"));
            }
        }
        let volume_type = text("volumeType").and_then(|t| {
            let parsed: Option<EbsVolumeType> = serde_json::from_value(json!(t)).ok();
            if parsed.is_none() {
                lost.push(format!("EBS volume {name}: volume type {t}"));
            }
            parsed
        });
        let filesystem = text("filesystemType").and_then(|f| {
            let parsed: Option<EbsFilesystem> =
                serde_json::from_value(json!(f.to_ascii_lowercase())).ok();
            if parsed.is_none() {
                lost.push(format!("EBS volume {name}: file system {f}"));
            }
            parsed
        });
        let specs = m
            .get("tagSpecifications")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut tags = BTreeMap::new();
        let mut propagate_tags = PropagateTags::None;
        for spec in &specs {
            if spec.get("resourceType").and_then(Value::as_str) != Some("volume") {
                lost.push(format!(
                    "EBS volume {name}: a tag specification not for the volume"
                ));
                continue;
            }
            for tag in spec
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let key = tag.get("key").and_then(Value::as_str).unwrap_or_default();
                let value = tag.get("value").and_then(Value::as_str).unwrap_or_default();
                tags.insert(key.to_string(), value.to_string());
            }
            propagate_tags = match spec.get("propagateTags").and_then(Value::as_str) {
                Some("SERVICE") => PropagateTags::Service,
                Some("TASK_DEFINITION") => PropagateTags::TaskDefinition,
                _ => propagate_tags,
            };
        }
        let ebs = EbsConfig {
            role: text("roleArn").unwrap_or_default(),
            size: int("sizeInGiB"),
            volume_type,
            iops: int("iops"),
            throughput: int("throughput"),
            encrypted: m.get("encrypted").and_then(Value::as_bool),
            kms_key: text("kmsKeyId"),
            snapshot: text("snapshotId"),
            initialization_rate: int("volumeInitializationRate"),
            filesystem,
            tags,
            propagate_tags,
        };
        volumes.insert(
            name,
            VolumeConfig {
                efs: None,
                ebs: Some(ebs),
            },
        );
    }
    (volumes, lost)
}

/// The volumes a one-off task of this task definition is given at launch: RunTask's
/// `volumeConfigurations`, from the same `ebs` keys (ECS refuses to start a task whose
/// `configuredAtLaunch` volume is not configured).
pub fn run_task_volume_configurations(
    task: &TaskConfig,
) -> Vec<aws_sdk_ecs::types::TaskVolumeConfiguration> {
    let Some(Value::Array(items)) = volume_configurations(task) else {
        return Vec::new();
    };
    let input = ecs_json::from_json(
        &json!({ "cluster": "c", "taskDefinition": "t", "volumeConfigurations": items }),
        aws_sdk_ecs::operation::run_task::RunTaskInput::deserialize,
    );
    input
        .ok()
        .and_then(|i| i.volume_configurations)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RegisterTaskDefinition request with `storage` set.
    fn registered(
        storage: &StorageDef,
    ) -> aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput {
        storage
            .apply(
                aws_sdk_ecs::operation::register_task_definition::RegisterTaskDefinitionInput::builder()
                    .family("api"),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn an_ebs_volume_is_declared_at_launch_and_configured_on_the_service() {
        let task: TaskConfig = serde_json::from_value(json!({ "volumes": { "data": { "ebs": {
            "role": "arn:aws:iam::123456789012:role/ebs", "size": 40, "type": "io2", "iops": 4000,
            "filesystem": "ext4", "tags": { "team": "api" }, "propagate_tags": "service" } } } }))
        .unwrap();
        let storage = StorageDef::render(&task);
        assert_eq!(storage.volumes["data"], VolumeDef::AtLaunch);
        let input = registered(&storage);
        assert_eq!(input.volumes()[0].configured_at_launch(), Some(true));
        let td = aws_sdk_ecs::types::TaskDefinition::builder()
            .set_volumes(input.volumes().to_vec().into())
            .build();
        assert_eq!(StorageDef::from_ecs(&td).0, storage);
        let configured = volume_configurations(&task).unwrap();
        let m = &configured[0]["managedEBSVolume"];
        assert_eq!(m["sizeInGiB"], 40);
        assert_eq!(m["volumeType"], "io2");
        assert_eq!(m["tagSpecifications"][0]["propagateTags"], "SERVICE");
        let (read, lost) = ebs_volumes_of(&configured);
        assert_eq!(read, task.volumes);
        assert!(lost.is_empty(), "{lost:?}");
        let run = run_task_volume_configurations(&task);
        assert_eq!(run.len(), 1);
        assert_eq!(
            run[0].managed_ebs_volume().and_then(|m| m.size_in_gib()),
            Some(40)
        );
    }

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
        let input = registered(&storage);
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
