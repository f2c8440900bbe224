//! `service:`: the ECS service's keys (network, counts, deployment and its strategy, load
//! balancers, capacity providers, alarms, Service Connect, the Cloud Map registry, autoscaling).

use super::*;

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
