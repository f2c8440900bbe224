//! `container:` and each entry of `containers:`: ports, environment, secrets, the process keys,
//! the health check, dependencies, FireLens (`firelens`, `log_router`).

use super::*;

/// The application's container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ContainerConfig {
    /// Container name. Default: `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The port the application listens on. Default: 5000.
    #[serde(default = "port_default")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i64,
    /// The main port's name (Service Connect refers to ports by name): lowercase letters,
    /// digits and `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    /// The main port's application protocol, for Service Connect: http, http2 or grpc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<AppProtocol>,
    /// More ports it listens on: `[{ port: 9090, name: metrics }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortConfig>,
    /// Plain environment variables. Values that look secret belong in `secrets`.
    #[serde(default)]
    pub environment: BTreeMap<String, EnvValue>,
    /// Environment variables read at start from SSM Parameter Store or Secrets Manager:
    /// variable name -> ARN.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// Overrides the image's CMD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Overrides the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// The directory the command runs in, instead of the image's WORKDIR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// The user the process runs as, instead of the image's USER: `1000`, `1000:1000`, `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Mount the root file system read-only (write to volumes or tmpfs only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readonly_root_filesystem: bool,
    /// Seconds ECS waits after SIGTERM before it kills the process. Fargate takes at most 120;
    /// ECS's default is 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 120))]
    pub stop_timeout: Option<i64>,
    /// Run an init process as PID 1 that forwards signals and reaps zombie processes
    /// (ECS's `linuxParameters.initProcessEnabled`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init_process: bool,
    /// Docker labels on the container: name -> value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Resource limits by name (`nofile`, `nproc`, ...): `{ soft: N, hard: N }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, UlimitConfig>,
    /// Volumes of `task.volumes` it mounts: `[{ volume: data, path: /data }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountConfig>,
    /// Kernel parameters of the container's namespaces: `{ net.core.somaxconn: "1024" }`
    /// (Fargate takes `net.*` and the IPC ones: `kernel.shm*`, `kernel.msg*`, `kernel.sem`,
    /// `fs.mqueue.*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub system_controls: BTreeMap<String, String>,
    /// Files of `NAME=value` lines in S3 read into the environment at start, in order (ARNs of
    /// `.env` objects, up to 10; the execution role reads them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckConfig>,
    /// Send this container's logs through the task's FireLens log router (a container of
    /// `containers:` with `log_router`) instead of straight to CloudWatch Logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens: Option<FirelensConfig>,
    /// ECS's own container fields that no key above covers, in ECS's JSON names
    /// (`hostname`, `linuxParameters`, `startTimeout`, ...): checked against ECS's
    /// model, merged into the container definition, planned and diffed like every key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ecs: BTreeMap<String, serde_json::Value>,
}

/// A container's logs through FireLens (ECS's `awsfirelens` log driver): the options are the
/// router's output plugin's (Fluent Bit's `Name`, `region`, `log_group_name`...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct FirelensConfig {
    /// The output's options: name -> value. None: the router's own configuration decides.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub options: BTreeMap<String, String>,
    /// Options whose values come from Secrets Manager or SSM Parameter Store: name -> ARN
    /// (the execution role reads them).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_options: BTreeMap<String, String>,
}

/// The task's FireLens log router (ECS's `firelensConfiguration`): a Fluent Bit or Fluentd
/// container that takes the logs of the containers with `firelens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LogRouterConfig {
    /// `fluentbit` or `fluentd`.
    #[serde(rename = "type")]
    pub router: LogRouterType,
    /// A configuration file inside the router's image, added to the one ECS generates (an
    /// absolute path: Fargate takes no configuration file from S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Add the task's ECS metadata (cluster, task ARN, family) to each line. Default: ECS's,
    /// on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecs_log_metadata: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogRouterType {
    Fluentbit,
    Fluentd,
}

impl LogRouterType {
    pub fn ecs_name(self) -> &'static str {
        match self {
            LogRouterType::Fluentbit => "fluentbit",
            LogRouterType::Fluentd => "fluentd",
        }
    }
}

impl Default for ContainerConfig {
    fn default() -> Self {
        ContainerConfig {
            name: None,
            port: port_default(),
            port_name: None,
            app_protocol: None,
            ports: Vec::new(),
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            command: None,
            entry_point: None,
            working_directory: None,
            user: None,
            readonly_root_filesystem: false,
            stop_timeout: None,
            init_process: false,
            docker_labels: BTreeMap::new(),
            ulimits: BTreeMap::new(),
            mount_points: Vec::new(),
            system_controls: BTreeMap::new(),
            environment_files: Vec::new(),
            health_check: None,
            firelens: None,
            ecs: BTreeMap::new(),
        }
    }
}

/// One more port of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct PortConfig {
    #[schemars(range(min = 1, max = 65535))]
    pub port: i64,
    /// Its name, for Service Connect: lowercase letters, digits and `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// tcp (the default) or udp.
    #[serde(default, skip_serializing_if = "Protocol::is_tcp")]
    pub protocol: Protocol,
    /// http, http2 or grpc, for Service Connect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<AppProtocol>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    #[default]
    Tcp,
    Udp,
}

impl Protocol {
    pub fn ecs_name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }

    pub fn is_tcp(&self) -> bool {
        *self == Protocol::Tcp
    }
}

/// A port's application protocol (ECS's `appProtocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AppProtocol {
    Http,
    Http2,
    Grpc,
}

impl AppProtocol {
    pub fn ecs_name(self) -> &'static str {
        match self {
            AppProtocol::Http => "http",
            AppProtocol::Http2 => "http2",
            AppProtocol::Grpc => "grpc",
        }
    }
}

/// A resource limit of a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UlimitConfig {
    pub soft: i64,
    pub hard: i64,
}

/// How a container's process runs: the keys `container:` and each entry of `containers:`
/// share (see `plan::process`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessConfig {
    pub entry_point: Option<Vec<String>>,
    pub working_directory: Option<String>,
    pub user: Option<String>,
    pub readonly_root_filesystem: bool,
    pub stop_timeout: Option<i64>,
    pub init_process: bool,
    pub docker_labels: BTreeMap<String, String>,
    pub ulimits: BTreeMap<String, UlimitConfig>,
    pub mount_points: Vec<MountConfig>,
    pub system_controls: BTreeMap<String, String>,
    pub environment_files: Vec<String>,
}

/// The process keys of a container section, gathered (`ContainerConfig`, `ContainerSpec`).
macro_rules! process_of {
    ($c:expr) => {
        ProcessConfig {
            entry_point: $c.entry_point.clone(),
            working_directory: $c.working_directory.clone(),
            user: $c.user.clone(),
            readonly_root_filesystem: $c.readonly_root_filesystem,
            stop_timeout: $c.stop_timeout,
            init_process: $c.init_process,
            docker_labels: $c.docker_labels.clone(),
            ulimits: $c.ulimits.clone(),
            mount_points: $c.mount_points.clone(),
            system_controls: $c.system_controls.clone(),
            environment_files: $c.environment_files.clone(),
        }
    };
}

impl ContainerConfig {
    pub fn process(&self) -> ProcessConfig {
        process_of!(self)
    }
}

impl ContainerSpec {
    pub fn process(&self) -> ProcessConfig {
        process_of!(self)
    }
}

/// One container of a task with several (`containers:`). The one without `image` runs the
/// pushed image (the app); the others run the image they name (sidecars: a log router, an
/// agent, a proxy).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ContainerSpec {
    pub name: String,
    /// A sidecar's image (`public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4`); none
    /// for the app container, which runs the pushed image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// When it stops, the task stops. Default: true.
    #[serde(default = "yes")]
    pub essential: bool,
    /// The port it listens on, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// The main port's name (Service Connect refers to ports by name): lowercase letters,
    /// digits and `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port_name: Option<String>,
    /// The main port's application protocol, for Service Connect: http, http2 or grpc.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<AppProtocol>,
    /// More ports it listens on: `[{ port: 9090, name: metrics }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortConfig>,
    #[serde(default)]
    pub environment: BTreeMap<String, EnvValue>,
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    // The process keys, as under `container` (`ProcessConfig`). Written out rather than one
    // `#[serde(flatten)]` struct: unknown keys inside a flattened struct go unreported.
    /// Overrides the image's ENTRYPOINT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    /// The directory the command runs in, instead of the image's WORKDIR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// The user the process runs as, instead of the image's USER: `1000`, `1000:1000`, `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Mount the root file system read-only (write to volumes or tmpfs only).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub readonly_root_filesystem: bool,
    /// Seconds ECS waits after SIGTERM before it kills the process. Fargate takes at most 120;
    /// ECS's default is 30.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 120))]
    pub stop_timeout: Option<i64>,
    /// Run an init process as PID 1 that forwards signals and reaps zombie processes
    /// (ECS's `linuxParameters.initProcessEnabled`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub init_process: bool,
    /// Docker labels on the container: name -> value.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub docker_labels: BTreeMap<String, String>,
    /// Resource limits by name (`nofile`, `nproc`, ...): `{ soft: N, hard: N }`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ulimits: BTreeMap<String, UlimitConfig>,
    /// Volumes of `task.volumes` it mounts: `[{ volume: data, path: /data }]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mount_points: Vec<MountConfig>,
    /// Kernel parameters of the container's namespaces: `{ net.core.somaxconn: "1024" }`
    /// (Fargate takes `net.*` and the IPC ones: `kernel.shm*`, `kernel.msg*`, `kernel.sem`,
    /// `fs.mqueue.*`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub system_controls: BTreeMap<String, String>,
    /// Files of `NAME=value` lines in S3 read into the environment at start, in order (ARNs of
    /// `.env` objects, up to 10; the execution role reads them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_files: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckConfig>,
    /// Containers that must reach a state first: name -> START, HEALTHY (it needs a health
    /// check), COMPLETE or SUCCESS.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub depends_on: BTreeMap<String, DependsCondition>,
    /// CPU units reserved for it, within the task's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    /// Hard memory limit in MiB, within the task's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// Memory in MiB reserved for it, within the task's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    /// Send this container's logs through the task's FireLens log router.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firelens: Option<FirelensConfig>,
    /// This container is the task's FireLens log router (one per task).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_router: Option<LogRouterConfig>,
    /// ECS's own container fields that no key above covers, in ECS's JSON names
    /// (`hostname`, `linuxParameters`, `startTimeout`, ...): checked against ECS's
    /// model, merged into the container definition, planned and diffed like every key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ecs: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DependsCondition {
    Start,
    Healthy,
    Complete,
    Success,
}

impl DependsCondition {
    pub fn ecs_name(self) -> &'static str {
        match self {
            DependsCondition::Start => "START",
            DependsCondition::Healthy => "HEALTHY",
            DependsCondition::Complete => "COMPLETE",
            DependsCondition::Success => "SUCCESS",
        }
    }
}

/// An environment value: YAML numbers and booleans are passed on as their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    Text(String),
    Integer(i64),
    Number(f64),
    Flag(bool),
}

impl fmt::Display for EnvValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EnvValue::Text(s) => f.write_str(s),
            EnvValue::Integer(n) => write!(f, "{n}"),
            EnvValue::Number(n) => write!(f, "{n}"),
            EnvValue::Flag(b) => write!(f, "{b}"),
        }
    }
}

/// The container health check ECS runs inside the container.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// A shell command (run as `CMD-SHELL`), or a list starting with `CMD` or `CMD-SHELL`.
    /// The program must exist in the image: slim and alpine images have no curl.
    pub command: HealthCheckCommand,
    /// Seconds between checks, 5-300. Default: 30.
    #[serde(default = "thirty")]
    #[schemars(range(min = 5, max = 300))]
    pub interval: i64,
    /// Seconds before a check counts as failed, 2-60. Default: 5.
    #[serde(default = "five")]
    #[schemars(range(min = 2, max = 60))]
    pub timeout: i64,
    /// Failed checks in a row before the container is unhealthy, 1-10. Default: 3.
    #[serde(default = "three")]
    #[schemars(range(min = 1, max = 10))]
    pub retries: i64,
    /// Seconds after start during which failures do not count, 0-300. Default: 0.
    #[serde(default)]
    #[schemars(range(min = 0, max = 300))]
    pub start_period: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HealthCheckCommand {
    Shell(String),
    Exec(Vec<String>),
}

impl HealthCheckCommand {
    /// The form ECS takes: `["CMD-SHELL", "..."]` or `["CMD", "prog", "arg", ...]`.
    pub fn to_ecs(&self) -> Vec<String> {
        match self {
            HealthCheckCommand::Shell(line) => vec!["CMD-SHELL".to_string(), line.clone()],
            HealthCheckCommand::Exec(parts) => parts.clone(),
        }
    }
}
