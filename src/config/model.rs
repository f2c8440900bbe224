//! The shape of deploy.yaml: serde reads it, schemars turns it into `shipit schema`.
//!
//! Numbers are read as `i64` and checked by `validate`, so that `desired_count: -1` gets a
//! message about the rule instead of a type error.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A deploy.yaml: one application, shipped as one ECS service on Fargate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields, title = "shipit deploy.yaml")]
pub struct DeployConfig {
    /// Application name. The default for the repository, service, task family and container
    /// names.
    pub app: String,
    /// AWS region (for example `us-east-1`). `--region` wins over it; without both, the AWS
    /// SDK's own sources apply (`AWS_REGION`, the profile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default)]
    pub repository: RepositoryConfig,
    pub image: ImageConfig,
    /// ECS cluster name. Default: `default`, the cluster ECS itself uses when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub service: ServiceConfig,
    #[serde(default)]
    pub task: TaskConfig,
    #[serde(default)]
    pub container: ContainerConfig,
    #[serde(default)]
    pub logs: LogsConfig,
}

/// The ECR repository the image is pushed to (created when missing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct RepositoryConfig {
    /// Repository name. Default: `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IMMUTABLE (default) refuses to move a tag to another image.
    #[serde(default)]
    pub tag_mutability: TagMutability,
    /// Scan each image for vulnerabilities when it is pushed. Default: true.
    #[serde(default = "yes")]
    pub scan_on_push: bool,
    /// Encryption at rest: AES256 (default) or KMS (then `kms_key` is required).
    #[serde(default)]
    pub encryption: Encryption,
    /// KMS key ARN, alias or id; only with `encryption: KMS`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// Keep only the last N images (an ECR lifecycle policy shipit manages). Default: no
    /// policy is set, and one set outside shipit is left alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10000))]
    pub keep_last: Option<i64>,
    /// Push to this registry URL instead of the repository's own address. Needed for local
    /// endpoints, whose repository URIs name the amazonaws.com host. Default: the endpoint URL
    /// when `--endpoint-url` is set, else the repository's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_url: Option<String>,
}

impl Default for RepositoryConfig {
    fn default() -> Self {
        RepositoryConfig {
            name: None,
            tag_mutability: TagMutability::default(),
            scan_on_push: true,
            encryption: Encryption::default(),
            kms_key: None,
            keep_last: None,
            registry_url: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TagMutability {
    #[default]
    Immutable,
    Mutable,
}

impl fmt::Display for TagMutability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TagMutability::Immutable => "IMMUTABLE",
            TagMutability::Mutable => "MUTABLE",
        })
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Encryption {
    #[default]
    #[serde(rename = "AES256")]
    Aes256,
    #[serde(rename = "KMS")]
    Kms,
}

impl fmt::Display for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encryption::Aes256 => "AES256",
            Encryption::Kms => "KMS",
        })
    }
}

/// The image to ship.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ImageConfig {
    /// Where the built image is read from: `docker://NAME[:TAG]` (the local Docker engine),
    /// `docker-archive:PATH` (a `docker save` tar), `oci:PATH[:REF]` (an OCI layout directory)
    /// or `oci-archive:PATH`.
    pub source: String,
    /// The tag pushed to ECR. Default: the git commit (`GITHUB_SHA` when set, else
    /// `git rev-parse --short HEAD` in the config's folder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// How layers that the source holds uncompressed are compressed: gzip (default) or zstd.
    #[serde(default)]
    pub compression: crate::image::Compression,
    /// A size budget: push and deploy fail before uploading when the compressed image is
    /// larger. Bytes with a unit: `150MiB`, `1.5GiB`, `200MB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_size: Option<String>,
}

/// `150MiB`, `1.5 GiB`, `200MB`, `512KiB`, `1000000` (bytes) -> bytes. Units are binary (KiB,
/// MiB, GiB) or decimal (kB, MB, GB), case-insensitive; None for anything else.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        _ => return None,
    };
    let bytes = number * factor;
    (bytes.is_finite() && bytes >= 1.0).then_some(bytes as u64)
}

/// The ECS service (Fargate, awsvpc networking).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceConfig {
    /// Service name. Default: `app`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Number of tasks to keep running. Default: 2.
    #[serde(default = "two")]
    #[schemars(range(min = 0))]
    pub desired_count: i64,
    /// Subnet ids for the tasks' network interfaces (at least one).
    pub subnets: Vec<String>,
    /// Security group ids (at most 5). Empty: the VPC's default group.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// Give each task a public IP (needed in public subnets without a NAT to pull from ECR).
    /// Default: false.
    #[serde(default)]
    pub assign_public_ip: bool,
    /// Lower bound of running tasks during a deployment, in percent of desired. Default: 100.
    #[serde(default = "hundred")]
    #[schemars(range(min = 0, max = 100))]
    pub min_healthy_percent: i64,
    /// Upper bound of tasks during a deployment, in percent of desired. Default: 200.
    #[serde(default = "two_hundred")]
    #[schemars(range(min = 100))]
    pub max_percent: i64,
    #[serde(default)]
    pub circuit_breaker: CircuitBreakerConfig,
    /// Seconds during which failing load-balancer health checks are ignored after a task
    /// starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2_147_483_647))]
    pub health_check_grace_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerConfig>,
}

/// ECS deployment circuit breaker: stop a deployment whose tasks keep failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CircuitBreakerConfig {
    /// Default: true.
    #[serde(default = "yes")]
    pub enable: bool,
    /// Roll back to the last completed deployment when the breaker trips. Default: true.
    #[serde(default = "yes")]
    pub rollback: bool,
}

impl Default for CircuitBreakerConfig {
    fn default() -> Self {
        CircuitBreakerConfig {
            enable: true,
            rollback: true,
        }
    }
}

/// Register the tasks with an existing load-balancer target group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LoadBalancerConfig {
    /// ARN of the target group (target type `ip`).
    pub target_group_arn: String,
    /// Container port the target group sends traffic to. Default: `container.port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: Option<i64>,
}

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
        }
    }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheckConfig>,
}

impl Default for ContainerConfig {
    fn default() -> Self {
        ContainerConfig {
            name: None,
            port: port_default(),
            environment: BTreeMap::new(),
            secrets: BTreeMap::new(),
            command: None,
            health_check: None,
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

/// CloudWatch Logs for the container (the awslogs driver).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LogsConfig {
    /// Log group. Default: `/ecs/<task family>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Days to keep events (a value CloudWatch accepts: 1, 3, 5, 7, 14, 30, 60, 90, ...).
    /// Default: kept forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<i64>,
    /// Stream names are `<prefix>/<container>/<task id>`. Default: `ecs`.
    #[serde(default = "stream_prefix_default")]
    pub stream_prefix: String,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            group: None,
            retention_days: None,
            stream_prefix: stream_prefix_default(),
        }
    }
}

fn yes() -> bool {
    true
}
fn two() -> i64 {
    2
}
fn three() -> i64 {
    3
}
fn five() -> i64 {
    5
}
fn thirty() -> i64 {
    30
}
fn hundred() -> i64 {
    100
}
fn two_hundred() -> i64 {
    200
}
fn cpu_default() -> i64 {
    256
}
fn memory_default() -> i64 {
    512
}
fn port_default() -> i64 {
    5000
}
fn stream_prefix_default() -> String {
    "ecs".to_string()
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("150MiB"), Some(150 * 1024 * 1024));
        assert_eq!(parse_size("1.5 GiB"), Some(1536 * 1024 * 1024));
        assert_eq!(parse_size("200mb"), Some(200_000_000));
        assert_eq!(parse_size("4096"), Some(4096));
        for bad in ["", "MiB", "150 megs", "-1MiB", "0", "1.2.3MB"] {
            assert_eq!(parse_size(bad), None, "{bad}");
        }
    }
}
