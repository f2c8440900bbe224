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
    /// ECS Exec: commands and shells in the service's running tasks (`aws ecs
    /// execute-command`). The task role needs the `ssmmessages` actions. Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub enable_execute_command: bool,
    /// Fargate platform version: `LATEST` (the default) or one such as `1.4.0`. A change
    /// starts a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_version: Option<String>,
    /// Which tags ECS copies onto the tasks it starts: `service`, `task_definition` or `none`
    /// (the default).
    #[serde(default, skip_serializing_if = "PropagateTags::is_none")]
    pub propagate_tags: PropagateTags,
    /// ECS managed tags on the tasks (`aws:ecs:clusterName`, `aws:ecs:serviceName`).
    /// Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ecs_managed_tags: bool,
    /// Let ECS move tasks between Availability Zones to keep them balanced. Unnamed: ECS's
    /// default (on for a new service; an existing one keeps what it has).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone_rebalancing: Option<bool>,
    /// CloudWatch alarms ECS watches during each deployment: one in ALARM fails it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<DeploymentAlarmsConfig>,
    /// Service Connect: the service joins a Cloud Map namespace, reaches the others there by
    /// name through ECS's proxy, and (with `services`) is reached by them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_connect: Option<ServiceConnectConfig>,
    /// Cloud Map service discovery: ECS registers each task's IP (and port, for SRV records)
    /// with this Cloud Map service. ECS takes one registry per service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_registry: Option<ServiceRegistryConfig>,
    /// ECS's own service fields no key covers, in ECS's JSON names:
    /// `vpcLatticeConfigurations`, `gatewayConnectors`, `monitoring`. Checked against ECS's
    /// model, sent with CreateService and UpdateService, planned and diffed like every key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ecs: BTreeMap<String, serde_json::Value>,
    /// Where the tasks run: FARGATE and FARGATE_SPOT with a base and a weight each. Empty
    /// (the default): the FARGATE launch type.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<CapacityProviderConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer: Option<LoadBalancerConfig>,
    /// More target groups the tasks join, after `load_balancer`'s (an internal and a public
    /// load balancer, another port): up to 4, rolling deployments only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_target_groups: Vec<ExtraTargetGroupConfig>,
    #[serde(default)]
    pub deployment: DeploymentConfig,
    /// Let Application Auto Scaling set the task count between `min` and `max`. Then deploy
    /// never writes the desired count (creating the service, it starts at `desired_count`
    /// kept within the range).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<AutoscalingConfig>,
}

/// Target tracking: each metric given gets a policy that keeps it near its target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct AutoscalingConfig {
    /// Fewest tasks.
    pub min: i64,
    /// Most tasks.
    pub max: i64,
    /// Target average CPU use of the service's tasks, in percent (1-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<i64>,
    /// Target average memory use, in percent (1-100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    /// Target requests per task from the load balancer (needs
    /// `service.load_balancer.load_balancer_arn`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_per_target: Option<i64>,
    /// Wait after a scale-in before the next: `5m` (the default), `90s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<String>,
    /// Wait after a scale-out before the next: `5m` (the default), `60s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<String>,
}

impl AutoscalingConfig {
    /// Application Auto Scaling's default cooldown for ECS services, in seconds.
    pub const DEFAULT_COOLDOWN: u64 = 300;
}

/// How ECS moves the service to a new revision: a rolling update (the default), or one of the
/// strategies that shift load-balancer traffic between two revisions (blue/green, linear,
/// canary).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DeploymentConfig {
    /// rolling (default), blue_green, linear or canary. The last three need
    /// `service.load_balancer` with an alternate target group, a production listener rule and
    /// a role.
    #[serde(default)]
    pub strategy: Strategy,
    /// How long both revisions keep running after all production traffic moved (blue_green,
    /// linear, canary; required for blue_green), or after early success (rolling): `10m`,
    /// `1h`, `0`. Whole minutes, at most 24h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time: Option<Minutes>,
    /// canary only: the share of production traffic the new revision gets first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryConfig>,
    /// linear only: the share of production traffic moved at each step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear: Option<LinearConfig>,
    /// Lambda functions (or pauses) ECS runs at lifecycle stages; blue_green, linear, canary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_hooks: Vec<LifecycleHookConfig>,
    /// rolling only: ECS declares success once this share of new tasks is healthy, and drains
    /// the old tasks afterwards (`--wait-until deployed` returns then; `stable` waits for the
    /// old tasks to be gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_success: Option<EarlySuccessConfig>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    #[default]
    Rolling,
    BlueGreen,
    Linear,
    Canary,
}

impl Strategy {
    /// The name ECS uses (`DeploymentStrategy`).
    pub fn ecs_name(self) -> &'static str {
        match self {
            Strategy::Rolling => "ROLLING",
            Strategy::BlueGreen => "BLUE_GREEN",
            Strategy::Linear => "LINEAR",
            Strategy::Canary => "CANARY",
        }
    }

    /// Strategies that shift load-balancer traffic between two revisions.
    pub fn shifts_traffic(self) -> bool {
        self != Strategy::Rolling
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Strategy::Rolling => "rolling",
            Strategy::BlueGreen => "blue_green",
            Strategy::Linear => "linear",
            Strategy::Canary => "canary",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CanaryConfig {
    /// Percent of production traffic for the canary, 0.1-100 in steps of 0.1. Default: 5.
    #[serde(default = "canary_percent_default")]
    pub percent: f64,
    /// How long the canary takes its share before the rest moves: `10m` (the default), at most
    /// 24h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time: Option<Minutes>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LinearConfig {
    /// Percent of production traffic moved at each step, 3-100 in steps of 0.1. Default: 10.
    #[serde(default = "step_percent_default")]
    pub step_percent: f64,
    /// How long each step lasts before the next: `6m` (the default), at most 24h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_bake_time: Option<Minutes>,
}

/// A lifecycle hook: ECS calls the Lambda function (or pauses until `ContinueServiceDeployment`)
/// at each of the stages, and rolls back when the function answers FAILED.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct LifecycleHookConfig {
    /// The stages at which the hook runs (at least one).
    pub stages: Vec<HookStage>,
    /// ARN of the Lambda function ECS invokes. Either this or `pause: true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<String>,
    /// Pause the deployment at the stages until someone continues it.
    #[serde(default)]
    pub pause: bool,
    /// ARN of the role ECS assumes to invoke the function (required with `lambda`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// How long ECS waits for the hook (`30m`, `2h`; 1m-14d). Default: ECS's 24h.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Minutes>,
    /// What ECS does when the hook times out: rollback (default) or continue.
    #[serde(default)]
    pub on_timeout: HookTimeoutAction,
}

/// The lifecycle stages a hook can run at, as ECS orders them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum HookStage {
    ReconcileService,
    PreScaleUp,
    PostScaleUp,
    TestTrafficShift,
    PostTestTrafficShift,
    PreProductionTrafficShift,
    ProductionTrafficShift,
    PostProductionTrafficShift,
}

impl HookStage {
    /// Every stage, in ECS's order.
    pub const ALL: [HookStage; 8] = [
        HookStage::ReconcileService,
        HookStage::PreScaleUp,
        HookStage::PostScaleUp,
        HookStage::TestTrafficShift,
        HookStage::PostTestTrafficShift,
        HookStage::PreProductionTrafficShift,
        HookStage::ProductionTrafficShift,
        HookStage::PostProductionTrafficShift,
    ];

    pub fn ecs_name(self) -> &'static str {
        match self {
            HookStage::ReconcileService => "RECONCILE_SERVICE",
            HookStage::PreScaleUp => "PRE_SCALE_UP",
            HookStage::PostScaleUp => "POST_SCALE_UP",
            HookStage::TestTrafficShift => "TEST_TRAFFIC_SHIFT",
            HookStage::PostTestTrafficShift => "POST_TEST_TRAFFIC_SHIFT",
            HookStage::PreProductionTrafficShift => "PRE_PRODUCTION_TRAFFIC_SHIFT",
            HookStage::ProductionTrafficShift => "PRODUCTION_TRAFFIC_SHIFT",
            HookStage::PostProductionTrafficShift => "POST_PRODUCTION_TRAFFIC_SHIFT",
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookTimeoutAction {
    #[default]
    Rollback,
    Continue,
}

impl HookTimeoutAction {
    pub fn ecs_name(self) -> &'static str {
        match self {
            HookTimeoutAction::Rollback => "ROLLBACK",
            HookTimeoutAction::Continue => "CONTINUE",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct EarlySuccessConfig {
    /// Percent of the desired count that must run healthy on the new revision, 0-100, at
    /// least `min_healthy_percent`.
    pub healthy_percent: i64,
    /// When the old tasks go: deferred (default: after success, in the background) or
    /// blocking (before ECS declares success).
    #[serde(default)]
    pub cleanup: Cleanup,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cleanup {
    #[default]
    Deferred,
    Blocking,
}

impl Cleanup {
    pub fn ecs_name(self) -> &'static str {
        match self {
            Cleanup::Deferred => "DEFERRED",
            Cleanup::Blocking => "BLOCKING",
        }
    }
}

/// A duration ECS counts in minutes: `10m`, `1h`, `1h30m`, or `0`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Minutes {
    Text(String),
    /// Only `0` is accepted without a unit.
    Number(i64),
}

impl Minutes {
    pub fn minutes(&self) -> Option<i64> {
        match self {
            Minutes::Text(text) => parse_minutes(text),
            Minutes::Number(0) => Some(0),
            Minutes::Number(_) => None,
        }
    }
}

impl fmt::Display for Minutes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Minutes::Text(text) => f.write_str(text),
            Minutes::Number(n) => write!(f, "{n}"),
        }
    }
}

/// `10m`, `1h`, `1h30m`, `0` -> minutes; None for anything else (seconds that are not whole
/// minutes included: ECS counts these durations in minutes).
pub fn parse_minutes(text: &str) -> Option<i64> {
    let text = text.trim();
    if text == "0" {
        return Some(0);
    }
    let seconds = sum_units(text, &[('s', 1), ('m', 60), ('h', 3600), ('d', 86400)])?;
    (seconds % 60 == 0).then(|| i64::try_from(seconds / 60).ok())?
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

/// Which tags ECS copies onto a service's tasks (`propagateTags`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PropagateTags {
    #[default]
    None,
    Service,
    TaskDefinition,
}

impl PropagateTags {
    /// The name ECS uses.
    pub fn ecs_name(self) -> &'static str {
        match self {
            PropagateTags::None => "NONE",
            PropagateTags::Service => "SERVICE",
            PropagateTags::TaskDefinition => "TASK_DEFINITION",
        }
    }

    pub fn is_none(&self) -> bool {
        *self == PropagateTags::None
    }
}

/// The tag key shipit writes on what it creates in ECS (`managed-by: shipit`): never one of
/// the config's tags.
pub const MANAGED_BY_TAG: &str = "managed-by";

/// One entry of a capacity provider strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CapacityProviderConfig {
    /// FARGATE or FARGATE_SPOT.
    pub provider: FargateCapacityProvider,
    /// Tasks placed here first, before the weights share the rest (one entry at most).
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0, max = 100000))]
    pub base: i64,
    /// This provider's share of the tasks after the bases. Default: 0 (ECS's), which places
    /// none here beyond the base.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(range(min = 0, max = 1000))]
    pub weight: i64,
}

fn is_zero(value: &i64) -> bool {
    *value == 0
}

/// The Fargate capacity providers, as ECS names them.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum FargateCapacityProvider {
    #[serde(rename = "FARGATE", alias = "fargate")]
    Fargate,
    #[serde(rename = "FARGATE_SPOT", alias = "fargate_spot")]
    FargateSpot,
}

impl FargateCapacityProvider {
    pub fn ecs_name(self) -> &'static str {
        match self {
            FargateCapacityProvider::Fargate => "FARGATE",
            FargateCapacityProvider::FargateSpot => "FARGATE_SPOT",
        }
    }
}

/// CloudWatch alarms that fail a deployment (ECS's `deploymentConfiguration.alarms`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct DeploymentAlarmsConfig {
    /// Alarm names (not ARNs), in the service's region.
    #[schemars(length(min = 1))]
    pub names: Vec<String>,
    /// Roll back to the last completed deployment when an alarm fires. Default: true.
    #[serde(default = "yes")]
    pub rollback: bool,
}

/// Service Connect (ECS's `serviceConnectConfiguration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceConnectConfig {
    /// The Cloud Map namespace: its name or ARN, in the service's region.
    pub namespace: String,
    /// What other services reach this one by: one entry per named port. None: a client only,
    /// which reaches the others and is reached by none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceConnectServiceConfig>,
    /// The proxy's own logs (awslogs). None: not kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<ServiceConnectLogsConfig>,
}

/// One endpoint of the service in its Service Connect namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceConnectServiceConfig {
    /// A port's `name` (`port_name`, or a name under `ports`) of a container of the task.
    pub port_name: String,
    /// The Cloud Map service ECS creates for it. Default: the port name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_name: Option<String>,
    /// The name and port clients connect to (ECS takes one alias per endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<ServiceConnectAliasConfig>,
    /// The port the proxy listens on. Default: the container's port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub ingress_port_override: Option<i64>,
    /// Seconds a connection may stay idle (0: no limit). Default: ECS's, 5 minutes for
    /// HTTP, HTTP/2 and gRPC, an hour for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2_147_483_647))]
    pub idle_timeout: Option<i64>,
    /// Seconds the proxy waits for a whole response (0: no limit); not for a TCP port.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2_147_483_647))]
    pub request_timeout: Option<i64>,
    /// TLS between the proxies, with certificates from AWS Private CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<ServiceConnectTlsConfig>,
}

/// The name and port Service Connect clients use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceConnectAliasConfig {
    /// The port clients connect to.
    #[schemars(range(min = 1, max = 65535))]
    pub port: i64,
    /// The name clients connect to. Default: `discovery_name.namespace`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// During a blue/green deployment, requests with this header reach the new revision
    /// first (ECS's test traffic rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_traffic_header: Option<TestTrafficHeaderConfig>,
}

/// A request header that marks test traffic: its name and the value it must have.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct TestTrafficHeaderConfig {
    pub name: String,
    /// The header's exact value.
    pub value: String,
}

/// Service Connect TLS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceConnectTlsConfig {
    /// ARN of the AWS Private CA that signs the certificates.
    pub certificate_authority: String,
    /// ARN of the role ECS uses for the certificates (AmazonECSInfrastructureRolePolicyForServiceConnectTransportLayerSecurity).
    pub role: String,
    /// The KMS key that encrypts the private keys. Default: an AWS owned key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
}

/// Where the Service Connect proxy writes its logs (the awslogs driver).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceConnectLogsConfig {
    /// Log group. Default: the service's (`logs.group`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Stream names begin with it. Default: `service-connect`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_prefix: Option<String>,
    /// Access logs of every request, `text` or `json`. Default: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_logs: Option<AccessLogFormat>,
    /// Access logs include query strings. Default: false.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub query_parameters: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    Text,
    Json,
}

impl AccessLogFormat {
    pub fn ecs_name(self) -> &'static str {
        match self {
            AccessLogFormat::Text => "TEXT",
            AccessLogFormat::Json => "JSON",
        }
    }
}

/// The Cloud Map service the tasks are registered with (ECS's `serviceRegistries`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ServiceRegistryConfig {
    /// ARN of the Cloud Map service (`arn:aws:servicediscovery:REGION:ACCOUNT:service/srv-...`).
    pub arn: String,
    /// For SRV records: the port to register. Not with `container_port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// For SRV records: the container whose port is registered. Default: the app container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// For SRV records: that container's port. Not with `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: Option<i64>,
}

/// One more target group of the service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct ExtraTargetGroupConfig {
    /// ARN of the target group (target type `ip`).
    pub target_group_arn: String,
    /// The container it sends to. Default: the app container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    /// The container's port it sends to. Default: that container's `port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub container_port: Option<i64>,
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
    /// ARN of the Application Load Balancer in front of the target group; needed by
    /// `service.autoscaling.requests_per_target` (requests are counted per load balancer and
    /// target group).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_balancer_arn: Option<String>,
    /// blue_green, linear, canary: the second target group, which the new revision's tasks
    /// join before traffic moves to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_target_group_arn: Option<String>,
    /// blue_green, linear, canary: ARN of the listener rule (Application Load Balancer) or
    /// listener (Network Load Balancer) that carries production traffic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_listener_rule: Option<String>,
    /// Optional: the listener rule or listener for test traffic, which reaches the new
    /// revision before production traffic does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener_rule: Option<String>,
    /// blue_green, linear, canary: ARN of the role ECS assumes to change the listener rules
    /// (the AmazonECSInfrastructureRolePolicyForLoadBalancers policy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
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
