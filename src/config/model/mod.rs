//! The shape of deploy.yaml: serde reads it, schemars turns it into `shipit schema`.
//!
//! Numbers are read as `i64` and checked by `validate`, so that `desired_count: -1` gets a
//! message about the rule instead of a type error.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod container;
mod service;
mod task;

pub use container::*;
pub use service::*;
pub use task::*;

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
    /// Several containers per task, instead of `container`: the one without `image` runs the
    /// pushed image; the others (sidecars) run the image they name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerSpec>,
    #[serde(default)]
    pub logs: LogsConfig,
    #[serde(default, skip_serializing_if = "HooksConfig::is_empty")]
    pub hooks: HooksConfig,
}

/// Commands run as one-off tasks around a deploy.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct HooksConfig {
    /// Run after the new task definition is registered and before the service is updated,
    /// each as a one-off task of the new revision, in order (database migrations). A hook that
    /// fails stops the deploy with the service untouched. They run only when the deploy moves
    /// the service to another task definition; `--skip-hooks` skips them.
    #[serde(default)]
    pub before_deploy: Vec<BeforeDeployHook>,
}

impl HooksConfig {
    pub fn is_empty(&self) -> bool {
        self.before_deploy.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BeforeDeployHook {
    /// The command, in place of the container's: `[python, manage.py, migrate]`.
    pub run: Vec<String>,
    /// The container it runs in. Default: the app container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// Stop it and fail the deploy after this long: `90s`, `10m`, `1h`. Default: 10m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

impl BeforeDeployHook {
    /// A before-deploy hook's default timeout, in seconds.
    pub const DEFAULT_TIMEOUT: u64 = 600;

    pub fn timeout_seconds(&self) -> u64 {
        self.timeout
            .as_deref()
            .and_then(parse_seconds)
            .unwrap_or(Self::DEFAULT_TIMEOUT)
    }
}

/// `90s`, `10m`, `1h`, `1h30m`, or plain seconds (`0` included) -> seconds; None for anything
/// else, and for a sum with units that is 0 (`0s`).
pub fn parse_seconds(text: &str) -> Option<u64> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(seconds);
    }
    sum_units(text, &[('s', 1), ('m', 60), ('h', 3600)]).filter(|&total| total > 0)
}

/// Numbers each followed by one of `units` (`1h30m`), summed in seconds. None for a bare or
/// trailing number, an unknown unit, empty text, or a sum too large.
fn sum_units(text: &str, units: &[(char, u64)]) -> Option<u64> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        let unit = units.iter().find(|(u, _)| *u == c)?.1;
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    (number.is_empty() && !text.is_empty()).then_some(total)
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
    /// With IMMUTABLE: tags that may still move, as ECR wildcard filters (`latest`, `dev-*`;
    /// at most 5). The repository becomes IMMUTABLE_WITH_EXCLUSION: release tags stay fixed
    /// while `latest` follows the newest image.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mutable_tags: Vec<String>,
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
            mutable_tags: Vec::new(),
            scan_on_push: true,
            encryption: Encryption::default(),
            kms_key: None,
            keep_last: None,
            registry_url: None,
        }
    }
}

#[cfg(test)]
mod wildcard_tests {
    use super::*;

    #[test]
    fn ecr_tag_filters_match_as_ecr_does() {
        assert!(wildcard_matches("latest", "latest"));
        assert!(!wildcard_matches("latest", "latest2"));
        assert!(wildcard_matches("dev-*", "dev-1234"));
        assert!(wildcard_matches("*-rc", "1.2-rc"));
        assert!(wildcard_matches("a*b*c", "aXbYc"));
        assert!(!wildcard_matches("a*b*c", "aXbY"));
        assert!(wildcard_matches("*", ""));
        let repo = RepositoryConfig {
            mutable_tags: vec!["latest".into(), "dev-*".into()],
            ..RepositoryConfig::default()
        };
        assert!(!repo.tag_is_immutable("latest") && !repo.tag_is_immutable("dev-7"));
        assert!(repo.tag_is_immutable("v1.2.3"));
        assert_eq!(
            repo.mutability_shown(),
            "IMMUTABLE_WITH_EXCLUSION (latest, dev-*)"
        );
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum TagMutability {
    #[default]
    Immutable,
    Mutable,
}

impl RepositoryConfig {
    /// Whether pushing `tag` again with another image is refused: immutable, unless the tag
    /// matches one of `mutable_tags` (ECR's wildcard filters: `*` is any run of characters).
    pub fn tag_is_immutable(&self, tag: &str) -> bool {
        self.tag_mutability == TagMutability::Immutable
            && !self.mutable_tags.iter().any(|f| wildcard_matches(f, tag))
    }

    /// The repository's mutability as ECR names it, with its exclusion filters:
    /// `IMMUTABLE`, `MUTABLE`, `IMMUTABLE_WITH_EXCLUSION (latest, dev-*)`.
    pub fn mutability_shown(&self) -> String {
        match (self.tag_mutability, self.mutable_tags.as_slice()) {
            (TagMutability::Immutable, []) => "IMMUTABLE".to_string(),
            (TagMutability::Immutable, filters) => {
                format!("IMMUTABLE_WITH_EXCLUSION ({})", filters.join(", "))
            }
            (TagMutability::Mutable, _) => "MUTABLE".to_string(),
        }
    }
}

/// ECR's tag filter: `*` matches any run of characters, everything else itself.
pub fn wildcard_matches(filter: &str, text: &str) -> bool {
    let parts: Vec<&str> = filter.split('*').collect();
    let [first, middle @ .., last] = parts.as_slice() else {
        return filter == text;
    };
    if parts.len() == 1 {
        return filter == text;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
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
    pub compression: shipit_oci::image::Compression,
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

impl DeployConfig {
    /// Every container of the task, the app's first: `containers` as written (app first), or
    /// the one `container` (named `app_name`).
    pub fn container_specs(&self, app_name: &str) -> Vec<ContainerSpec> {
        if self.containers.is_empty() {
            let c = &self.container;
            return vec![ContainerSpec {
                name: app_name.to_string(),
                image: None,
                essential: true,
                port: Some(c.port),
                port_name: c.port_name.clone(),
                app_protocol: c.app_protocol,
                ports: c.ports.clone(),
                environment: c.environment.clone(),
                secrets: c.secrets.clone(),
                command: c.command.clone(),
                entry_point: c.entry_point.clone(),
                working_directory: c.working_directory.clone(),
                user: c.user.clone(),
                readonly_root_filesystem: c.readonly_root_filesystem,
                stop_timeout: c.stop_timeout,
                init_process: c.init_process,
                docker_labels: c.docker_labels.clone(),
                ulimits: c.ulimits.clone(),
                mount_points: c.mount_points.clone(),
                system_controls: c.system_controls.clone(),
                environment_files: c.environment_files.clone(),
                health_check: c.health_check.clone(),
                depends_on: BTreeMap::new(),
                cpu: None,
                memory: None,
                memory_reservation: None,
                firelens: c.firelens.clone(),
                log_router: None,
                ecs: c.ecs.clone(),
            }];
        }
        let mut specs = self.containers.clone();
        specs.sort_by_key(|c| c.image.is_some());
        specs
    }
}

/// A role ECS assumes for a typed key: what it is for, the role, and the managed policy AWS
/// gives it.
pub struct InfrastructureRole<'a> {
    /// `EBS role` or `Service Connect TLS role`.
    pub purpose: &'static str,
    /// What it serves: `volume data`, `endpoint http`.
    pub serves: String,
    pub arn: &'a str,
    pub managed_policy: &'static str,
}

impl DeployConfig {
    /// The infrastructure roles the typed keys name: each EBS volume's, each Service Connect
    /// endpoint's TLS role (ECS developer guide, "Amazon ECS infrastructure IAM role").
    pub fn infrastructure_roles(&self) -> Vec<InfrastructureRole<'_>> {
        let volumes = self.task.volumes.iter().filter_map(|(name, v)| {
            v.ebs.as_ref().map(|ebs| InfrastructureRole {
                purpose: "EBS role",
                serves: format!("volume {name}"),
                arn: &ebs.role,
                managed_policy: "AmazonECSInfrastructureRolePolicyForVolumes",
            })
        });
        let tls = self
            .service
            .service_connect
            .iter()
            .flat_map(|sc| &sc.services)
            .filter_map(|s| {
                s.tls.as_ref().map(|tls| InfrastructureRole {
                    purpose: "Service Connect TLS role",
                    serves: format!("endpoint {}", s.port_name),
                    arn: &tls.role,
                    managed_policy:
                        "AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity",
                })
            });
        volumes.chain(tls).collect()
    }
}

impl DeployConfig {
    /// The config as `validate --output json` shows it: environment values that look secret
    /// (by name or by shape, `redact::is_secret`) replaced by the mask.
    pub fn with_secrets_masked(&self) -> DeployConfig {
        let mask = |environment: &mut BTreeMap<String, EnvValue>| {
            for (name, value) in environment.iter_mut() {
                if crate::redact::is_secret(name, &value.to_string()) {
                    *value = EnvValue::Text(crate::redact::MASK.to_string());
                }
            }
        };
        let mut shown = self.clone();
        mask(&mut shown.container.environment);
        for container in &mut shown.containers {
            mask(&mut container.environment);
        }
        shown
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
    /// How the awslogs driver delivers lines: `non-blocking` (the default, and ECS's since
    /// June 2025: the app never waits for CloudWatch, and lines past a full buffer are
    /// dropped) or `blocking` (no line is dropped; the app's writes stall while CloudWatch
    /// does not take them). shipit always writes the choice into the task definition.
    #[serde(default)]
    pub mode: LogMode,
    /// The buffer of `non-blocking` delivery, as Docker writes sizes (`25m`, `512k`).
    /// Default: 25m.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_buffer_size: Option<String>,
}

impl Default for LogsConfig {
    fn default() -> Self {
        LogsConfig {
            group: None,
            retention_days: None,
            stream_prefix: stream_prefix_default(),
            mode: LogMode::default(),
            max_buffer_size: None,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum LogMode {
    #[default]
    NonBlocking,
    Blocking,
}

/// The non-blocking buffer when the config names none: larger than Docker's 1m, as AWS's
/// own log-loss tests recommend ("Preventing log loss with non-blocking mode in the AWSLogs
/// container log driver", AWS Containers blog).
pub const DEFAULT_LOG_BUFFER: &str = "25m";

impl LogsConfig {
    /// The awslogs options for the delivery mode: `mode`, and `max-buffer-size` with
    /// non-blocking.
    pub fn delivery_options(&self) -> Vec<(&'static str, String)> {
        match self.mode {
            LogMode::Blocking => vec![("mode", "blocking".to_string())],
            LogMode::NonBlocking => vec![
                ("mode", "non-blocking".to_string()),
                (
                    "max-buffer-size",
                    self.max_buffer_size
                        .clone()
                        .unwrap_or_else(|| DEFAULT_LOG_BUFFER.to_string()),
                ),
            ],
        }
    }

    /// One line on what the delivery mode means for lines that may be missing.
    pub fn delivery_note(&self) -> String {
        match self.mode {
            LogMode::Blocking => "the awslogs driver runs blocking (logs.mode): no line is dropped, and the app's writes wait while CloudWatch does not take them".to_string(),
            LogMode::NonBlocking => format!(
                "the awslogs driver runs non-blocking (logs.mode) with a {} buffer: when CloudWatch falls behind and the buffer fills, lines are dropped; set `logs.mode: blocking` or a larger `logs.max_buffer_size` if none may be lost",
                self.max_buffer_size.as_deref().unwrap_or(DEFAULT_LOG_BUFFER)
            ),
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
fn canary_percent_default() -> f64 {
    5.0
}
fn step_percent_default() -> f64 {
    10.0
}
fn stream_prefix_default() -> String {
    "ecs".to_string()
}

#[cfg(test)]
mod tests {
    use super::{parse_minutes, parse_size};

    #[test]
    fn minutes_take_hours_and_whole_minutes() {
        assert_eq!(parse_minutes("10m"), Some(10));
        assert_eq!(parse_minutes("1h30m"), Some(90));
        assert_eq!(parse_minutes("120s"), Some(2));
        assert_eq!(parse_minutes("14d"), Some(20160));
        assert_eq!(parse_minutes("0"), Some(0));
        assert_eq!(parse_minutes("0m"), Some(0));
        for bad in ["", "10", "90s", "5x", "m", "1h30"] {
            assert_eq!(parse_minutes(bad), None, "{bad}");
        }
    }

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
