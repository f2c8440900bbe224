//! `task:`: the task definition's own keys (size, roles, platform, volumes: EFS, EBS, task
//! storage; pid mode, tags).

use super::*;

/// The task definition (Fargate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TaskConfig {
    /// Task definition family. Default: `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// CPU units (1024 = 1 vCPU): 256, 512, 1024, 2048, 4096, 8192 or 16384. Default: 256.
    #[serde(default = "cpu_default")]
    pub cpu: i64,
    /// Memory in MiB; must pair with `cpu` as Fargate allows. Default: 512.
    #[serde(default = "memory_default")]
    pub memory: i64,
    /// ARN of the role ECS uses to pull the image, write logs and read secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role: Option<String>,
    /// ARN of the role the application runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_role: Option<String>,
    /// X86_64 (default) or ARM64 (Graviton).
    #[serde(default)]
    pub cpu_architecture: CpuArchitecture,
    /// Ephemeral storage of the task in GiB, 21-200; without it Fargate gives 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 21, max = 200))]
    pub ephemeral_storage: Option<i64>,
    /// Volumes the containers mount (their `mount_points`): name -> `{ efs: ... }` for an EFS
    /// file system, or `{}` for storage of the task itself that its containers share.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volumes: BTreeMap<String, VolumeConfig>,
    /// Linux (the default) or a Windows Server edition: `windows_server_2022_core`, ...
    #[serde(default, skip_serializing_if = "OsFamily::is_linux")]
    pub operating_system_family: OsFamily,
    /// `task`: the containers of a task share one process namespace (Fargate takes no other
    /// value, on Linux with platform version 1.4.0 or later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<PidMode>,
    /// Tags on each task definition revision (key -> value; up to 49, `aws:` keys are AWS's).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// ECS's own RegisterTaskDefinition fields that no key above covers, in ECS's JSON names
    /// (`placementConstraints`, `enableFaultInjection`, ...): checked against ECS's model,
    /// merged into the request, planned and diffed like every key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ecs: BTreeMap<String, serde_json::Value>,
}

/// The operating system of a Fargate task (`runtimePlatform.operatingSystemFamily`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OsFamily {
    #[default]
    Linux,
    // serde's snake_case would write `windows_server2019_full`.
    #[serde(rename = "windows_server_2019_full")]
    WindowsServer2019Full,
    #[serde(rename = "windows_server_2019_core")]
    WindowsServer2019Core,
    #[serde(rename = "windows_server_2022_full")]
    WindowsServer2022Full,
    #[serde(rename = "windows_server_2022_core")]
    WindowsServer2022Core,
}

impl OsFamily {
    /// The name ECS uses.
    pub fn ecs_name(self) -> &'static str {
        match self {
            OsFamily::Linux => "LINUX",
            OsFamily::WindowsServer2019Full => "WINDOWS_SERVER_2019_FULL",
            OsFamily::WindowsServer2019Core => "WINDOWS_SERVER_2019_CORE",
            OsFamily::WindowsServer2022Full => "WINDOWS_SERVER_2022_FULL",
            OsFamily::WindowsServer2022Core => "WINDOWS_SERVER_2022_CORE",
        }
    }

    pub fn is_linux(&self) -> bool {
        *self == OsFamily::Linux
    }
}

/// A task definition's process namespace (`pidMode`); Fargate takes `task` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PidMode {
    Task,
}

impl Default for TaskConfig {
    fn default() -> Self {
        TaskConfig {
            family: None,
            cpu: cpu_default(),
            memory: memory_default(),
            execution_role: None,
            task_role: None,
            cpu_architecture: CpuArchitecture::default(),
            ephemeral_storage: None,
            volumes: BTreeMap::new(),
            operating_system_family: OsFamily::default(),
            pid_mode: None,
            tags: BTreeMap::new(),
            ecs: BTreeMap::new(),
        }
    }
}

/// A volume of the task: an EFS file system, an EBS volume per task, or (with neither)
/// storage of the task itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct VolumeConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs: Option<EfsConfig>,
    /// An EBS volume ECS creates for each task of the service and deletes with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebs: Option<EbsConfig>,
}

/// An EBS volume ECS creates for each task (the volume is `configuredAtLaunch` in the task
/// definition, and the service's `volumeConfigurations` says how to make it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EbsConfig {
    /// ARN of the ECS infrastructure role that creates and attaches the volumes
    /// (AmazonECSInfrastructureRolePolicyForVolumes).
    pub role: String,
    /// GiB. Needed unless `snapshot` is given (then at least the snapshot's size).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// gp3, gp2, io1, io2, st1 or sc1. Default: ECS's, gp3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    pub volume_type: Option<EbsVolumeType>,
    /// Provisioned IOPS: gp3, io1 and io2 only (io1 and io2 need it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iops: Option<i64>,
    /// Provisioned throughput in MiB/s: gp3 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<i64>,
    /// Encrypt the volume. Default: ECS's, on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    /// The KMS key that encrypts it. Default: EBS's default key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// Start each volume from this snapshot (`snap-...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<String>,
    /// MiB/s at which a volume made from `snapshot` is filled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initialization_rate: Option<i64>,
    /// ext3, ext4 or xfs (Linux), ntfs (Windows). Default: ECS's, xfs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<EbsFilesystem>,
    /// Tags on each volume.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Copy the service's or the task definition's tags onto each volume. Default: none.
    #[serde(default, skip_serializing_if = "PropagateTags::is_none")]
    pub propagate_tags: PropagateTags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EbsVolumeType {
    Gp3,
    Gp2,
    Io1,
    Io2,
    St1,
    Sc1,
    /// Magnetic: ECS does not take it on Fargate; named so that validate can say so.
    Standard,
}

impl EbsVolumeType {
    pub fn ecs_name(self) -> &'static str {
        match self {
            EbsVolumeType::Gp3 => "gp3",
            EbsVolumeType::Gp2 => "gp2",
            EbsVolumeType::Io1 => "io1",
            EbsVolumeType::Io2 => "io2",
            EbsVolumeType::St1 => "st1",
            EbsVolumeType::Sc1 => "sc1",
            EbsVolumeType::Standard => "standard",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EbsFilesystem {
    Ext3,
    Ext4,
    Xfs,
    Ntfs,
}

impl EbsFilesystem {
    pub fn ecs_name(self) -> &'static str {
        match self {
            EbsFilesystem::Ext3 => "ext3",
            EbsFilesystem::Ext4 => "ext4",
            EbsFilesystem::Xfs => "xfs",
            EbsFilesystem::Ntfs => "ntfs",
        }
    }
}

/// An EFS file system mounted as a volume.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EfsConfig {
    /// `fs-0123456789abcdef0`.
    pub file_system_id: String,
    /// The directory of the file system to mount. Default: its root. Not with `access_point`
    /// (the access point names it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// An EFS access point (`fsap-...`); needs transit encryption.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_point: Option<String>,
    /// Encrypt the traffic to EFS. Default: on with `access_point` or `iam`, which need it;
    /// off otherwise (ECS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transit_encryption: Option<bool>,
    /// Mount with the task role's IAM identity (EFS authorization); needs transit encryption.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub iam: bool,
}

impl EfsConfig {
    /// Transit encryption as sent: on when asked, or when an access point or IAM needs it.
    pub fn encrypts(&self) -> bool {
        self.transit_encryption
            .unwrap_or(self.access_point.is_some() || self.iam)
    }
}

/// Where a container mounts one of the task's volumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MountConfig {
    /// A name under `task.volumes`.
    pub volume: String,
    /// The absolute path inside the container.
    pub path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_only: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CpuArchitecture {
    #[default]
    #[serde(rename = "X86_64")]
    X86_64,
    Arm64,
}

impl fmt::Display for CpuArchitecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CpuArchitecture::X86_64 => "X86_64",
            CpuArchitecture::Arm64 => "ARM64",
        })
    }
}
