//! The rollout decision: a plain function from what ECS says now (a `Snapshot`) to a
//! `Verdict`. No clock, no network: the watch loop in `commands::deploy` polls and feeds it,
//! and the tests feed it recorded snapshot sequences.
//!
//! The truth it tells: success only when ECS marks *our* deployment COMPLETED with every task
//! running; a circuit-breaker rollback or a FAILED deployment is a failure, never a success;
//! new tasks that keep stopping for the same reason fail the watch early, with that reason.

use serde::{Deserialize, Serialize};

/// One deployment of the service, as DescribeServices shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeploymentView {
    pub id: String,
    /// PRIMARY (the one ECS is moving to), ACTIVE (older, draining) or INACTIVE.
    pub status: String,
    pub task_definition: String,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
    /// IN_PROGRESS, COMPLETED or FAILED.
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    /// Seconds since the epoch.
    #[serde(default)]
    pub created_at: Option<f64>,
    #[serde(default)]
    pub updated_at: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerView {
    pub name: String,
    pub exit_code: Option<i32>,
    pub reason: Option<String>,
    pub health_status: Option<String>,
}

/// A task of the deployment being watched, including stopped ones.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskView {
    pub arn: String,
    pub task_definition: String,
    /// The deployment that started it (`startedBy` / the task's deployment id), when known.
    pub deployment_id: Option<String>,
    pub last_status: String,
    pub health_status: Option<String>,
    pub stopped_reason: Option<String>,
    pub stop_code: Option<String>,
    /// Seconds since the epoch, for ordering stops.
    pub stopped_at: Option<f64>,
    pub created_at: Option<f64>,
    #[serde(default)]
    pub started_at: Option<f64>,
    pub containers: Vec<ContainerView>,
}

impl TaskView {
    pub fn id(&self) -> &str {
        self.arn.rsplit('/').next().unwrap_or(&self.arn)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventView {
    pub id: String,
    pub message: String,
    pub created_at: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub deployments: Vec<DeploymentView>,
    /// Tasks of the watched task definition (running and stopped).
    pub tasks: Vec<TaskView>,
    /// Service events newer than the watch's start, newest first (as ECS lists them).
    pub events: Vec<EventView>,
    /// The watched deployment as the service-deployment API describes it, where that API
    /// answers (real ECS since 2024); `None` where it is denied or empty (the local stack).
    #[serde(default)]
    pub service_deployment: Option<ServiceDeploymentView>,
}

/// One service deployment (DescribeServiceDeployments): ECS's own unambiguous word on how a
/// deployment ended, and the circuit breaker's count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceDeploymentView {
    pub arn: String,
    /// PENDING, IN_PROGRESS, SUCCESSFUL, STOP_REQUESTED, STOPPED, ROLLBACK_REQUESTED,
    /// ROLLBACK_IN_PROGRESS, ROLLBACK_SUCCESSFUL or ROLLBACK_FAILED.
    pub status: String,
    pub status_reason: Option<String>,
    /// RECONCILE_SERVICE, SCALE_UP, BAKE_TIME, CLEAN_UP, ... (blue/green has more).
    pub lifecycle_stage: Option<String>,
    /// Why ECS rolled back, when it did.
    pub rollback_reason: Option<String>,
    /// The circuit breaker's failed-task count and the count that trips it.
    pub breaker_failures: Option<i32>,
    pub breaker_threshold: Option<i32>,
    /// ROLLING, BLUE_GREEN, LINEAR or CANARY, when ECS says.
    #[serde(default)]
    pub strategy: Option<String>,
    /// The share of production and test traffic ECS routes to the new revision, in percent.
    #[serde(default)]
    pub production_traffic: Option<f64>,
    #[serde(default)]
    pub test_traffic: Option<f64>,
    /// The lifecycle hooks ECS is running or ran at the current stage.
    #[serde(default)]
    pub hooks: Vec<HookView>,
}

/// One lifecycle hook run (DescribeServiceDeployments' `lifecycleHookDetails`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookView {
    /// AWS_LAMBDA or PAUSE.
    pub target_type: String,
    pub target_arn: Option<String>,
    /// AWAITING_ACTION, IN_PROGRESS, SUCCEEDED, FAILED or TIMED_OUT.
    pub status: String,
}

impl HookView {
    fn shown(&self) -> String {
        match &self.target_arn {
            Some(arn) => format!("hook {}", arn.rsplit(':').next().unwrap_or(arn)),
            None => "pause hook".to_string(),
        }
    }
}

/// The lifecycle stages of a service deployment in the order ECS goes through them
/// (ServiceDeploymentLifecycleStage). A rolling update has no traffic-shift stages.
pub const LIFECYCLE_STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];

/// Stages only deployments that shift load-balancer traffic go through.
pub fn is_traffic_stage(stage: &str) -> bool {
    stage.contains("TRAFFIC_SHIFT")
}

fn stage_index(stage: &str) -> Option<usize> {
    LIFECYCLE_STAGES.iter().position(|s| *s == stage)
}

/// When the watch may return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitUntil {
    /// ECS declares the deployment successful (with early success, while old tasks drain).
    Deployed,
    /// Deployed, and no task of an older revision is left.
    Stable,
    /// The service deployment reached this lifecycle stage (ECS's name) or went past it.
    Stage(String),
}

impl WaitUntil {
    /// `deployed`, `stable`, or a stage as `bake-time` / `BAKE_TIME`.
    pub fn parse(text: &str) -> Result<WaitUntil, String> {
        match text {
            "deployed" => return Ok(WaitUntil::Deployed),
            "stable" => return Ok(WaitUntil::Stable),
            _ => {}
        }
        let stage = text.replace('-', "_").to_ascii_uppercase();
        if stage_index(&stage).is_some() {
            return Ok(WaitUntil::Stage(stage));
        }
        let stages: Vec<String> = LIFECYCLE_STAGES
            .iter()
            .map(|s| s.to_ascii_lowercase().replace('_', "-"))
            .collect();
        Err(format!(
            "`{text}` is neither `deployed`, `stable` nor a lifecycle stage ({})",
            stages.join(", ")
        ))
    }

    pub fn shown(&self) -> String {
        match self {
            WaitUntil::Deployed => "deployed".to_string(),
            WaitUntil::Stable => "stable".to_string(),
            WaitUntil::Stage(stage) => stage.to_ascii_lowercase().replace('_', "-"),
        }
    }
}

impl std::str::FromStr for WaitUntil {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        WaitUntil::parse(text)
    }
}

impl ServiceDeploymentView {
    fn rolling_back(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL"
        )
    }

    /// ECS's words on the deployment: the rollback's reason, else the status reason.
    fn reason(&self) -> Option<String> {
        self.rollback_reason
            .clone()
            .or_else(|| self.status_reason.clone())
    }

    /// A lifecycle hook that failed or timed out, as the cause of a rollback.
    fn failed_hook(&self) -> Option<Cause> {
        self.hooks
            .iter()
            .find(|h| matches!(h.status.as_str(), "FAILED" | "TIMED_OUT"))
            .map(|h| Cause::LifecycleHookFailed {
                hook: h.shown(),
                stage: self.lifecycle_stage.clone().unwrap_or_default(),
                status: h.status.clone(),
            })
    }
}

/// What the watch is waiting for: the deployment our update started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub deployment_id: String,
    pub task_definition: String,
    /// Where a rollback goes: the last revision known to be good (for "rolled back to" and
    /// shipit's own rollback); see `last_good`.
    pub previous_task_definition: Option<String>,
    /// The service deployment's ARN, when ECS gave one (`currentServiceDeployment`).
    #[serde(default)]
    pub service_deployment_arn: Option<String>,
}

/// The revision a rollback should go to, from the service's deployments as they were before
/// this deploy: the newest one ECS marked COMPLETED, else the revision shipit recorded after
/// its last good deploy, else the one the service ran, unless its deployment FAILED. Never
/// `deploying`, and never a revision known to fail (after an earlier failed deploy, "what the
/// service ran before" is that failure).
pub fn last_good(
    deployments: &[DeploymentView],
    recorded: Option<&str>,
    running: Option<&str>,
    deploying: &str,
) -> Option<String> {
    let failed = |td: &str| {
        deployments
            .iter()
            .any(|d| d.task_definition == td && d.rollout_state.as_deref() == Some("FAILED"))
    };
    let completed = deployments
        .iter()
        .filter(|d| {
            d.rollout_state.as_deref() == Some("COMPLETED") && d.task_definition != deploying
        })
        .max_by(|a, b| {
            a.created_at
                .unwrap_or_default()
                .total_cmp(&b.created_at.unwrap_or_default())
        })
        .map(|d| d.task_definition.clone());
    completed
        .or_else(|| recorded.filter(|r| *r != deploying).map(str::to_string))
        .or_else(|| {
            running
                .filter(|r| *r != deploying && !failed(r))
                .map(str::to_string)
        })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// Stop waiting when this many new tasks in a row stopped for the same reason.
    pub fail_after_same_stops: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            fail_after_same_stops: 2,
        }
    }
}

/// Why tasks fail, classified, with what to try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Cause {
    ContainerExited {
        container: String,
        exit_code: i32,
    },
    OutOfMemory {
        container: String,
    },
    HealthCheckFailed,
    LoadBalancerHealthCheckFailed,
    CannotPullImage {
        detail: String,
    },
    ResourceInitialization {
        detail: String,
    },
    CannotStartContainer {
        detail: String,
    },
    NoCapacity {
        detail: String,
    },
    StuckPending,
    LifecycleHookFailed {
        hook: String,
        stage: String,
        status: String,
    },
    Other {
        detail: String,
    },
}

impl Cause {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Cause::ContainerExited {
                container,
                exit_code,
            } => format!("essential container `{container}` exited with code {exit_code}"),
            Cause::OutOfMemory { container } => {
                format!(
                    "container `{container}` was killed for using more memory than the task has"
                )
            }
            Cause::HealthCheckFailed => "the container health check kept failing".to_string(),
            Cause::LoadBalancerHealthCheckFailed => {
                "the load balancer's health checks kept failing".to_string()
            }
            Cause::CannotPullImage { detail } => format!("the image could not be pulled: {detail}"),
            Cause::ResourceInitialization { detail } => {
                format!("the task could not be initialised: {detail}")
            }
            Cause::CannotStartContainer { detail } => {
                format!("the container could not start: {detail}")
            }
            Cause::NoCapacity { detail } => format!("ECS could not place the tasks: {detail}"),
            Cause::StuckPending => "tasks stayed in PENDING".to_string(),
            Cause::LifecycleHookFailed {
                hook,
                stage,
                status,
            } => {
                let status = if status == "TIMED_OUT" {
                    "timed out"
                } else {
                    "answered FAILED"
                };
                format!("the lifecycle {hook} {status} at stage {stage}")
            }
            Cause::Other { detail } => detail.clone(),
        }
    }

    /// What to try.
    pub fn fix(&self) -> &'static str {
        match self {
            Cause::ContainerExited { .. } => {
                "the application stopped by itself: read its last log lines below, and run the image locally with the same command and environment"
            }
            Cause::OutOfMemory { .. } => {
                "raise task.memory (with a cpu it pairs with), or find the leak"
            }
            Cause::HealthCheckFailed => {
                "check that the health check's program exists in the image (slim and alpine images have no curl), that the app listens on container.port, and that start_period covers its start-up"
            }
            Cause::LoadBalancerHealthCheckFailed => {
                "check the target group's health check path and port, the security groups between the load balancer and the tasks, and health_check_grace_period"
            }
            Cause::CannotPullImage { .. } => {
                "check the image reference, that the execution role may pull from ECR (AmazonECSTaskExecutionRolePolicy), and that the subnets reach ECR (a NAT gateway, VPC endpoints, or assign_public_ip in a public subnet)"
            }
            Cause::ResourceInitialization { .. } => {
                "check that the execution role may read the secrets (ssm:GetParameters, secretsmanager:GetSecretValue) and write to the log group, and that the subnets reach those services"
            }
            Cause::CannotStartContainer { .. } => {
                "check container.command and the image's entrypoint, and that the task's memory fits the container"
            }
            Cause::NoCapacity { .. } => {
                "check the subnets (free IP addresses, an existing VPC), the account's Fargate quotas, and the cluster's capacity providers"
            }
            Cause::StuckPending => {
                "tasks usually stay PENDING while the image is pulled: check the network path to ECR and the image size"
            }
            Cause::LifecycleHookFailed { .. } => {
                "read the hook function's own logs (CloudWatch Logs group /aws/lambda/NAME): it decides whether the new revision may go on; a pause hook that timed out waited for ContinueServiceDeployment"
            }
            Cause::Other { .. } => "read the service events and the task's stopped reason below",
        }
    }
}

/// A stop reason with what differs from task to task taken out (task, container and ENI ids,
/// digests, times), so that two tasks failing for one reason compare equal: ECS and the
/// runtimes put the task's own ids in their messages.
pub fn normalize_reason(detail: &str) -> String {
    use std::sync::LazyLock;
    static PATTERNS: LazyLock<Vec<(regex::Regex, &'static str)>> = LazyLock::new(|| {
        [
            (r"sha256:[0-9a-f]{64}", "sha256:<digest>"),
            (
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "<id>",
            ),
            (r"\beni-[0-9a-f]+", "eni-<id>"),
            (r"\b[0-9a-f]{12,64}\b", "<id>"),
            (
                r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
                "<time>",
            ),
        ]
        .into_iter()
        .map(|(p, r)| (regex::Regex::new(p).expect("valid pattern"), r))
        .collect()
    });
    // Short ids: the first 8 hex digits of a task id in a container name
    // (`/ministack-ecs-5c316c33-web`, `ecs-app-1-web-e2f0a1b2c3d4`). Only tokens with a digit, so
    // that words made of the letters a-f ("facade", "decade") stay.
    static SHORT_ID: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b[0-9a-f]{7,11}\b").expect("valid pattern"));
    let text = PATTERNS
        .iter()
        .fold(detail.to_string(), |text, (re, with)| {
            re.replace_all(&text, *with).into_owned()
        });
    SHORT_ID
        .replace_all(&text, |m: &regex::Captures| {
            let token = &m[0];
            if token.bytes().any(|b| b.is_ascii_digit()) {
                "<id>".to_string()
            } else {
                token.to_string()
            }
        })
        .into_owned()
}

impl Cause {
    /// The same failure: the same kind, and the same detail once ids and times are taken out.
    pub fn same_as(&self, other: &Cause) -> bool {
        let detail = |c: &Cause| match c {
            Cause::CannotPullImage { detail }
            | Cause::ResourceInitialization { detail }
            | Cause::CannotStartContainer { detail }
            | Cause::NoCapacity { detail }
            | Cause::Other { detail } => Some(normalize_reason(detail)),
            _ => None,
        };
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && match (detail(self), detail(other)) {
                (Some(a), Some(b)) => a == b,
                _ => self == other,
            }
    }
}

/// Classifies why a stopped task stopped.
pub fn classify(task: &TaskView) -> Cause {
    let reason = task.stopped_reason.clone().unwrap_or_default();
    let lower = reason.to_ascii_lowercase();
    // When one essential container exits, ECS stops the others (SIGTERM, then SIGKILL): their
    // 143 and 137 are the consequence. The cause is the container that exited otherwise.
    let failed = |c: &&ContainerView| c.exit_code.is_some_and(|code| code != 0);
    let exited = task
        .containers
        .iter()
        .filter(failed)
        .find(|c| !matches!(c.exit_code, Some(137 | 143)))
        .or_else(|| task.containers.iter().find(failed));
    if let Some(c) = task.containers.iter().find(|c| {
        c.reason
            .as_deref()
            .is_some_and(|r| r.contains("OutOfMemory"))
    }) {
        return Cause::OutOfMemory {
            container: c.name.clone(),
        };
    }
    if lower.contains("cannotpullcontainer") || lower.contains("pull image") {
        return Cause::CannotPullImage { detail: reason };
    }
    if lower.contains("resourceinitializationerror") {
        return Cause::ResourceInitialization { detail: reason };
    }
    if lower.contains("elb health checks") || lower.contains("load balancer health") {
        return Cause::LoadBalancerHealthCheckFailed;
    }
    if lower.contains("container health checks")
        || lower.contains("health check")
        || task.health_status.as_deref() == Some("UNHEALTHY")
    {
        return Cause::HealthCheckFailed;
    }
    if lower.contains("cannotstartcontainer") || lower.contains("cannotcreatecontainer") {
        return Cause::CannotStartContainer { detail: reason };
    }
    if let Some(c) = exited {
        return Cause::ContainerExited {
            container: c.name.clone(),
            exit_code: c.exit_code.unwrap_or_default(),
        };
    }
    if lower.contains("essential container") {
        // Exited, but ECS did not report a code (it was 0, or unknown).
        let container = task
            .containers
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        return Cause::ContainerExited {
            container,
            exit_code: task
                .containers
                .first()
                .and_then(|c| c.exit_code)
                .unwrap_or(0),
        };
    }
    // ECS's stop code for a task that never ran, whatever the runtime's words.
    if task.stop_code.as_deref() == Some("TaskFailedToStart") {
        return Cause::CannotStartContainer {
            detail: if reason.is_empty() {
                "the task failed to start".to_string()
            } else {
                reason
            },
        };
    }
    if reason.is_empty() {
        return Cause::Other {
            detail: "stopped without a reason".to_string(),
        };
    }
    Cause::Other { detail: reason }
}

/// Progress of the watched deployment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
pub enum Verdict {
    InProgress {
        counts: Counts,
    },
    /// ECS marked the deployment COMPLETED and all its tasks run.
    Succeeded {
        counts: Counts,
    },
    /// `--wait-until STAGE`: the service deployment reached the stage, and goes on in ECS.
    StageReached {
        stage: String,
        counts: Counts,
    },
    /// Our deployment failed (ECS said so, or tasks keep stopping for one reason).
    Failed {
        cause: Cause,
        /// The ECS deployment's own words, when it gave some.
        ecs_reason: Option<String>,
        /// Task ids that stopped for this cause, newest first.
        tasks: Vec<String>,
    },
    /// The circuit breaker put the service back on an earlier task definition.
    RolledBack {
        to_task_definition: String,
        ecs_reason: Option<String>,
        cause: Option<Cause>,
    },
    /// Someone else started a newer deployment: ours no longer matters.
    Superseded {
        by_task_definition: String,
    },
}

impl Verdict {
    pub fn is_final(&self) -> bool {
        !matches!(self, Verdict::InProgress { .. })
    }
}

/// The verdict on `snapshot` for the deployment `target`.
pub fn evaluate(snapshot: &Snapshot, target: &Target, rules: &Rules) -> Verdict {
    let ours = snapshot
        .deployments
        .iter()
        .find(|d| d.id == target.deployment_id);
    let primary = snapshot.deployments.iter().find(|d| d.status == "PRIMARY");
    let latest_cause = repeated_cause(snapshot, target, 1).map(|(cause, _)| cause);

    // Where the service-deployment API answers, its status is ECS's final word.
    if let Some(sd) = &snapshot.service_deployment
        && let Some(verdict) = service_deployment_verdict(sd, ours, primary, target, &latest_cause)
    {
        return verdict;
    }

    // ECS says it failed. With rollback, another deployment is now PRIMARY.
    if let Some(d) = ours
        && d.rollout_state.as_deref() == Some("FAILED")
    {
        if let Some(p) = primary.filter(|p| p.id != d.id) {
            return Verdict::RolledBack {
                to_task_definition: p.task_definition.clone(),
                ecs_reason: d.rollout_state_reason.clone(),
                cause: latest_cause,
            };
        }
        let (cause, tasks) = repeated_cause(snapshot, target, 1).unwrap_or((
            Cause::Other {
                detail: d
                    .rollout_state_reason
                    .clone()
                    .unwrap_or_else(|| "the deployment failed".to_string()),
            },
            Vec::new(),
        ));
        return Verdict::Failed {
            cause,
            ecs_reason: d.rollout_state_reason.clone(),
            tasks,
        };
    }

    match (ours, primary) {
        // Another deployment took over while ours was not failed: a newer one (someone
        // deployed) or an older task definition (a rollback that dropped ours).
        (Some(d), Some(p)) if p.id != d.id => return other_primary(p, target, latest_cause),
        (None, Some(p)) => return other_primary(p, target, latest_cause),
        (None, None) => {
            return Verdict::Failed {
                cause: Cause::Other {
                    detail: "the service has no deployments (was it deleted?)".to_string(),
                },
                ecs_reason: None,
                tasks: Vec::new(),
            };
        }
        _ => {}
    }
    let d = ours.expect("handled above");
    let counts = Counts {
        desired: d.desired,
        running: d.running,
        pending: d.pending,
        failed: d.failed_tasks,
    };
    let others_running = snapshot
        .deployments
        .iter()
        .any(|o| o.id != d.id && o.running > 0);
    let completed = match d.rollout_state.as_deref() {
        Some(state) => state == "COMPLETED",
        // No rollout state (other deployment controllers): steady when only ours runs.
        None => !others_running && d.pending == 0,
    };
    // With the service-deployment API, success is its SUCCESSFUL (handled above) only.
    if completed && d.running == d.desired && snapshot.service_deployment.is_none() {
        return Verdict::Succeeded { counts };
    }

    if let Some((cause, tasks)) = repeated_cause(snapshot, target, rules.fail_after_same_stops) {
        return Verdict::Failed {
            cause,
            ecs_reason: None,
            tasks,
        };
    }
    if d.running == 0
        && let Some(detail) = launch_failure(snapshot)
    {
        return Verdict::Failed {
            cause: Cause::NoCapacity { detail },
            ecs_reason: None,
            tasks: Vec::new(),
        };
    }
    Verdict::InProgress { counts }
}

/// The verdict for a watch that returns at `until`: `evaluate`'s, except that `stable` keeps
/// a success in progress while tasks of older revisions remain, and a stage ends the watch
/// once the service deployment reached it (a success is past every stage).
pub fn evaluate_until(
    snapshot: &Snapshot,
    target: &Target,
    rules: &Rules,
    until: &WaitUntil,
) -> Verdict {
    until_reached(evaluate(snapshot, target, rules), snapshot, target, until)
}

/// `evaluate`'s `verdict` on `snapshot`, as a watch that returns at `until` reads it.
pub fn until_reached(
    verdict: Verdict,
    snapshot: &Snapshot,
    target: &Target,
    until: &WaitUntil,
) -> Verdict {
    match (until, verdict) {
        (WaitUntil::Stable, Verdict::Succeeded { counts }) if !old_tasks_gone(snapshot, target) => {
            Verdict::InProgress { counts }
        }
        (WaitUntil::Stage(stage), Verdict::InProgress { counts }) => {
            let reached = snapshot.service_deployment.as_ref().is_some_and(|sd| {
                matches!(sd.status.as_str(), "IN_PROGRESS" | "PENDING")
                    && sd.lifecycle_stage.as_deref().and_then(stage_index) >= stage_index(stage)
            });
            if reached {
                Verdict::StageReached {
                    stage: stage.clone(),
                    counts,
                }
            } else {
                Verdict::InProgress { counts }
            }
        }
        (_, verdict) => verdict,
    }
}

/// Only our deployment has tasks, all running: the older revisions' tasks are gone.
pub fn old_tasks_gone(snapshot: &Snapshot, target: &Target) -> bool {
    snapshot
        .deployments
        .iter()
        .all(|d| d.id == target.deployment_id || (d.running == 0 && d.pending == 0))
        && snapshot.running == snapshot.desired
}

/// The verdict the service deployment's status gives, or `None` while it is in progress.
fn service_deployment_verdict(
    sd: &ServiceDeploymentView,
    ours: Option<&DeploymentView>,
    primary: Option<&DeploymentView>,
    target: &Target,
    latest_cause: &Option<Cause>,
) -> Option<Verdict> {
    let other_primary = primary.filter(|p| ours.is_none_or(|d| d.id != p.id));
    match sd.status.as_str() {
        "SUCCESSFUL" => {
            let counts = ours.map_or(
                Counts {
                    desired: 0,
                    running: 0,
                    pending: 0,
                    failed: 0,
                },
                |d| Counts {
                    desired: d.desired,
                    running: d.running,
                    pending: d.pending,
                    failed: d.failed_tasks,
                },
            );
            Some(Verdict::Succeeded { counts })
        }
        _ if sd.rolling_back() => Some(Verdict::RolledBack {
            // Real ECS rolls back as a new PRIMARY deployment of the last COMPLETED revision.
            to_task_definition: other_primary
                .map(|p| p.task_definition.clone())
                .or_else(|| target.previous_task_definition.clone())
                .unwrap_or_else(|| "the last completed revision".to_string()),
            ecs_reason: sd.reason(),
            cause: sd.failed_hook().or_else(|| latest_cause.clone()),
        }),
        "ROLLBACK_FAILED" => Some(Verdict::Failed {
            cause: latest_cause.clone().unwrap_or_else(|| Cause::Other {
                detail: "the deployment failed".to_string(),
            }),
            ecs_reason: Some(format!(
                "ECS could not roll back{}",
                sd.reason().map(|r| format!(": {r}")).unwrap_or_default()
            )),
            tasks: Vec::new(),
        }),
        "STOPPED" | "STOP_REQUESTED" => Some(match other_primary {
            // Stopped because a newer deployment started.
            Some(p) if !is_rollback(p) => Verdict::Superseded {
                by_task_definition: p.task_definition.clone(),
            },
            _ => Verdict::Failed {
                cause: latest_cause.clone().unwrap_or_else(|| Cause::Other {
                    detail: "ECS stopped the deployment".to_string(),
                }),
                ecs_reason: sd.reason(),
                tasks: Vec::new(),
            },
        }),
        _ => None,
    }
}

/// Real ECS rolls back by starting a new PRIMARY deployment whose reason says so
/// (`ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/...`), to the last
/// COMPLETED revision, which need not be the one the service ran before this deploy.
fn is_rollback(p: &DeploymentView) -> bool {
    p.rollout_state_reason.as_deref().is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("rolling back to deploymentid") || r.contains("rollback in progress")
    })
}

fn other_primary(p: &DeploymentView, target: &Target, cause: Option<Cause>) -> Verdict {
    if is_rollback(p)
        || target.previous_task_definition.as_deref() == Some(p.task_definition.as_str())
    {
        Verdict::RolledBack {
            to_task_definition: p.task_definition.clone(),
            ecs_reason: p.rollout_state_reason.clone(),
            cause,
        }
    } else {
        Verdict::Superseded {
            by_task_definition: p.task_definition.clone(),
        }
    }
}

/// A task ECS could not launch leaves no stopped task, only a service event: "unable to place
/// a task", "failed to launch a task with (error ...)" (no free IP addresses in the subnet, the
/// account's vCPU quota, ENI limits). The newest such event of this watch, if any.
fn launch_failure(snapshot: &Snapshot) -> Option<String> {
    snapshot
        .events
        .iter()
        .find(|e| {
            let m = e.message.to_ascii_lowercase();
            m.contains("unable to place a task") || m.contains("failed to launch a task")
        })
        .map(|e| e.message.clone())
}

/// The cause shared by the last `n` stopped tasks of our deployment, newest first.
fn repeated_cause(snapshot: &Snapshot, target: &Target, n: usize) -> Option<(Cause, Vec<String>)> {
    if n == 0 {
        return None;
    }
    let mut stopped: Vec<&TaskView> = snapshot
        .tasks
        .iter()
        .filter(|t| t.last_status == "STOPPED")
        .filter(|t| match &t.deployment_id {
            Some(id) => *id == target.deployment_id,
            None => t.task_definition == target.task_definition,
        })
        // A task stopped because the deployment completed or someone scaled down is no failure.
        .filter(|t| {
            let reason = t.stopped_reason.as_deref().unwrap_or_default();
            !(reason.contains("Scaling activity") || reason.contains("Deployment completed"))
                || t.containers
                    .iter()
                    .any(|c| c.exit_code.is_some_and(|e| e != 0))
        })
        .collect();
    stopped.sort_by(|a, b| {
        b.stopped_at
            .unwrap_or_default()
            .total_cmp(&a.stopped_at.unwrap_or_default())
    });
    if stopped.len() < n {
        return None;
    }
    let first = classify(stopped[0]);
    let same = stopped[..n].iter().all(|t| classify(t).same_as(&first));
    same.then(|| {
        (
            first,
            stopped[..n].iter().map(|t| t.id().to_string()).collect(),
        )
    })
}

/// `traffic 20% new / 80% old (test 100%)`, for strategies that shift traffic.
pub fn traffic_split(sd: &ServiceDeploymentView) -> Option<String> {
    let production = sd.production_traffic?;
    let mut text = format!(
        "traffic {}% new / {}% old",
        trim_percent(production),
        trim_percent(100.0 - production)
    );
    if let Some(test) = sd.test_traffic {
        text.push_str(&format!(" (test {}%)", trim_percent(test)));
    }
    Some(text)
}

fn trim_percent(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}

/// Lines describing what changed between two snapshots (for live progress).
pub fn changes(before: Option<&Snapshot>, now: &Snapshot, target: &Target) -> Vec<String> {
    let mut lines = Vec::new();
    let ours = |s: &Snapshot| {
        s.deployments
            .iter()
            .find(|d| d.id == target.deployment_id)
            .map(|d| (d.desired, d.running, d.pending, d.failed_tasks))
    };
    if let Some((desired, running, pending, failed)) = ours(now)
        && before.and_then(ours) != Some((desired, running, pending, failed))
    {
        lines.push(format!(
            "new deployment: {running}/{desired} running, {pending} pending, {failed} failed"
        ));
    }
    let stage = |s: &Snapshot| {
        s.service_deployment.as_ref().map(|sd| {
            let mut line = format!("service deployment: {}", sd.status);
            if let Some(stage) = &sd.lifecycle_stage {
                line.push_str(&format!(", stage {stage}"));
            }
            if let Some(split) = traffic_split(sd) {
                line.push_str(&format!(", {split}"));
            }
            for hook in &sd.hooks {
                line.push_str(&format!(", {} {}", hook.shown(), hook.status));
            }
            if let (Some(failures), Some(threshold)) = (sd.breaker_failures, sd.breaker_threshold) {
                line.push_str(&format!(
                    ", circuit breaker {failures}/{threshold} failed tasks"
                ));
            }
            line
        })
    };
    if let Some(line) = stage(now)
        && before.and_then(stage) != Some(line.clone())
    {
        lines.push(line);
    }
    let seen: Vec<&str> = before
        .map(|b| b.events.iter().map(|e| e.id.as_str()).collect())
        .unwrap_or_default();
    for event in now.events.iter().rev() {
        if !seen.contains(&event.id.as_str()) {
            lines.push(format!("event: {}", event.message));
        }
    }
    let stopped_before: Vec<&str> = before
        .map(|b| {
            b.tasks
                .iter()
                .filter(|t| t.last_status == "STOPPED")
                .map(|t| t.arn.as_str())
                .collect()
        })
        .unwrap_or_default();
    for task in now.tasks.iter().filter(|t| t.last_status == "STOPPED") {
        if !stopped_before.contains(&task.arn.as_str()) {
            lines.push(format!(
                "task {} stopped: {}",
                task.id(),
                classify(task).describe()
            ));
        }
    }
    lines
}

#[cfg(test)]
mod tests {

    #[test]
    fn reasons_that_differ_only_by_ids_are_one_cause() {
        let a = Cause::ResourceInitialization {
            detail: "ResourceInitializationError: unable to pull image or start container: 409 Conflict: name \"/ministack-ecs-3f9c2a1e-7b7d-4c2a-9d1e-0a1b2c3d4e5f-web\" is already in use by container \"8e3b1f0c2d4a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4\"".into(),
        };
        let b = Cause::ResourceInitialization {
            detail: "ResourceInitializationError: unable to pull image or start container: 409 Conflict: name \"/ministack-ecs-aa11bb22-cc33-4d44-8e55-ff6677889900-web\" is already in use by container \"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"".into(),
        };
        assert!(a.same_as(&b));
        // As the local stack's runtime words it, with the task id's first 8 digits in the name
        // (seen with real containers: tests/deploy.rs).
        let conflict = |task: &str, container: &str| Cause::CannotPullImage {
            detail: format!(
                "ResourceInitializationError: unable to pull image or start container: 409 Client Error for http+docker://localhost/v1.41/containers/create?name=ministack-ecs-{task}-web: Conflict (\"Conflict. The container name \"/ministack-ecs-{task}-web\" is already in use by container \"{container}\". You have to remove (or rename) that container to be able to reuse that name.\")"
            ),
        };
        assert!(
            conflict("5c316c33", &"a60cbad2cbf730f8".repeat(4))
                .same_as(&conflict("039f0923", &"287b48692fbbacc1".repeat(4)))
        );
        assert_eq!(normalize_reason("a facade of decade"), "a facade of decade");
        let eni = |id: &str| Cause::NoCapacity {
            detail: format!(
                "failed to attach {id} at 2026-12-02T10:00:0{}Z",
                id.len() % 10
            ),
        };
        assert!(eni("eni-0a1b2c3d4e5f60718").same_as(&eni("eni-0fedcba987654321")));
        let other = Cause::ResourceInitialization {
            detail: "ResourceInitializationError: unable to retrieve secret from asm".into(),
        };
        assert!(!a.same_as(&other));
        let exit = |code| Cause::ContainerExited {
            container: "web".into(),
            exit_code: code,
        };
        assert!(exit(1).same_as(&exit(1)) && !exit(1).same_as(&exit(2)));
    }

    use super::*;

    const NEW_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:2";
    const OLD_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:1";

    fn app_exited(exit_code: i32) -> Cause {
        Cause::ContainerExited {
            container: "app".into(),
            exit_code,
        }
    }

    fn target() -> Target {
        Target {
            deployment_id: "ecs-svc/new".into(),
            task_definition: NEW_TD.into(),
            previous_task_definition: Some(OLD_TD.into()),
            service_deployment_arn: None,
        }
    }

    fn deployment(id: &str, status: &str, td: &str, running: i32, state: &str) -> DeploymentView {
        DeploymentView {
            id: id.into(),
            status: status.into(),
            task_definition: td.into(),
            desired: 2,
            running,
            pending: 2 - running,
            failed_tasks: 0,
            rollout_state: Some(state.into()),
            rollout_state_reason: None,
            created_at: None,
            updated_at: None,
        }
    }

    fn stopped(id: &str, at: f64, reason: &str, exit_code: Option<i32>) -> TaskView {
        TaskView {
            arn: format!("arn:aws:ecs:us-east-1:000000000000:task/c/{id}"),
            task_definition: NEW_TD.into(),
            deployment_id: Some("ecs-svc/new".into()),
            last_status: "STOPPED".into(),
            health_status: None,
            stopped_reason: Some(reason.into()),
            stop_code: Some("EssentialContainerExited".into()),
            stopped_at: Some(at),
            created_at: Some(at - 5.0),
            started_at: Some(at - 4.0),
            containers: vec![ContainerView {
                name: "app".into(),
                exit_code,
                reason: None,
                health_status: None,
            }],
        }
    }

    fn snapshot(deployments: Vec<DeploymentView>, tasks: Vec<TaskView>) -> Snapshot {
        Snapshot {
            desired: 2,
            running: 2,
            pending: 0,
            deployments,
            tasks,
            events: Vec::new(),
            service_deployment: None,
        }
    }

    /// Feeds a sequence and returns the first final verdict with its position.
    fn run(sequence: &[Snapshot]) -> (usize, Verdict) {
        for (i, s) in sequence.iter().enumerate() {
            let v = evaluate(s, &target(), &Rules::default());
            if v.is_final() {
                return (i, v);
            }
        }
        (
            sequence.len(),
            evaluate(sequence.last().unwrap(), &target(), &Rules::default()),
        )
    }

    /// Real ECS: the breaker starts a new PRIMARY deployment back to the last COMPLETED
    /// revision (here :1, though the service ran :2 before this deploy, which had failed),
    /// while ours stays ACTIVE and IN_PROGRESS for a while.
    #[test]
    fn a_rollback_as_a_new_primary_deployment_is_rolled_back_to_the_last_completed_revision() {
        const FIRST_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:1";
        let mut rollback = deployment("ecs-svc/rb", "PRIMARY", FIRST_TD, 0, "IN_PROGRESS");
        rollback.rollout_state_reason = Some(
            "ECS deployment circuit breaker: rolling back to deploymentId ecs-svc/one.".into(),
        );
        let ours = deployment("ecs-svc/new", "ACTIVE", NEW_TD, 0, "IN_PROGRESS");
        let s = snapshot(
            vec![rollback, ours],
            vec![stopped(
                "t1",
                10.0,
                "Essential container in task exited",
                Some(1),
            )],
        );
        let rules = Rules {
            fail_after_same_stops: 9,
        };
        match evaluate(&s, &target(), &rules) {
            Verdict::RolledBack {
                to_task_definition,
                cause,
                ..
            } => {
                assert_eq!(to_task_definition, FIRST_TD);
                assert_eq!(cause, Some(app_exited(1)));
            }
            other => panic!("{other:?}"),
        }
    }

    fn service_deployment(status: &str) -> ServiceDeploymentView {
        ServiceDeploymentView {
            arn: "arn:aws:ecs:us-east-1:000000000000:service-deployment/c/app/x1".into(),
            status: status.into(),
            status_reason: None,
            lifecycle_stage: None,
            rollback_reason: None,
            breaker_failures: Some(0),
            breaker_threshold: Some(3),
            strategy: None,
            production_traffic: None,
            test_traffic: None,
            hooks: Vec::new(),
        }
    }

    fn at_stage(status: &str, stage: &str) -> ServiceDeploymentView {
        let mut sd = service_deployment(status);
        sd.lifecycle_stage = Some(stage.into());
        sd.strategy = Some("BLUE_GREEN".into());
        sd
    }

    #[test]
    fn wait_until_takes_deployed_stable_and_stages_in_either_spelling() {
        assert_eq!(WaitUntil::parse("deployed"), Ok(WaitUntil::Deployed));
        assert_eq!(WaitUntil::parse("stable"), Ok(WaitUntil::Stable));
        assert_eq!(
            WaitUntil::parse("bake-time"),
            Ok(WaitUntil::Stage("BAKE_TIME".into()))
        );
        assert_eq!(
            WaitUntil::parse("POST_TEST_TRAFFIC_SHIFT"),
            Ok(WaitUntil::Stage("POST_TEST_TRAFFIC_SHIFT".into()))
        );
        let err = WaitUntil::parse("baked").unwrap_err();
        assert!(
            err.contains("bake-time") && err.contains("clean-up"),
            "{err}"
        );
        assert_eq!(
            WaitUntil::Stage("BAKE_TIME".into()).shown(),
            "bake-time".to_string()
        );
    }

    /// A stage ends the watch when reached or passed (polls can skip one); not before, and a
    /// success is past every stage.
    #[test]
    fn a_stage_is_reached_when_the_service_deployment_gets_there() {
        let until = WaitUntil::Stage("BAKE_TIME".into());
        let base = snapshot(
            vec![
                deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "IN_PROGRESS"),
                deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
            ],
            vec![],
        );
        let at = |sd: ServiceDeploymentView| {
            evaluate_until(
                &with_service_deployment(base.clone(), sd),
                &target(),
                &Rules::default(),
                &until,
            )
        };
        assert!(!at(at_stage("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT")).is_final());
        assert!(matches!(
            at(at_stage("IN_PROGRESS", "BAKE_TIME")),
            Verdict::StageReached { stage, .. } if stage == "BAKE_TIME"
        ));
        assert!(matches!(
            at(at_stage("IN_PROGRESS", "CLEAN_UP")),
            Verdict::StageReached { .. }
        ));
        assert!(matches!(
            at(at_stage("SUCCESSFUL", "CLEAN_UP")),
            Verdict::Succeeded { .. }
        ));
        // A rollback during the bake time is a failure, not a stage reached.
        let mut rolled = at_stage("ROLLBACK_IN_PROGRESS", "BAKE_TIME");
        rolled.rollback_reason = Some("CloudWatch alarm 5xx in ALARM".into());
        assert!(matches!(
            at(rolled),
            Verdict::RolledBack { ecs_reason: Some(r), .. } if r.contains("alarm")
        ));
    }

    /// `stable` holds a success until only the new deployment has tasks; `deployed` does not.
    #[test]
    fn stable_waits_for_the_old_tasks_after_an_early_success() {
        let draining = with_service_deployment(
            snapshot(
                vec![
                    deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "COMPLETED"),
                    deployment("ecs-svc/old", "ACTIVE", OLD_TD, 1, "COMPLETED"),
                ],
                vec![],
            ),
            service_deployment("SUCCESSFUL"),
        );
        let rules = Rules::default();
        assert!(matches!(
            evaluate_until(&draining, &target(), &rules, &WaitUntil::Deployed),
            Verdict::Succeeded { .. }
        ));
        assert!(!evaluate_until(&draining, &target(), &rules, &WaitUntil::Stable).is_final());
        let mut gone = draining.clone();
        gone.deployments.truncate(1);
        assert!(matches!(
            evaluate_until(&gone, &target(), &rules, &WaitUntil::Stable),
            Verdict::Succeeded { .. }
        ));
    }

    /// A lifecycle hook that answered FAILED is the rollback's cause, with its fix.
    #[test]
    fn a_failed_lifecycle_hook_is_named_as_the_cause() {
        let mut sd = at_stage("ROLLBACK_IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT");
        sd.hooks = vec![HookView {
            target_type: "AWS_LAMBDA".into(),
            target_arn: Some("arn:aws:lambda:us-east-1:123456789012:function:smoke-test".into()),
            status: "FAILED".into(),
        }];
        let s = with_service_deployment(
            snapshot(
                vec![deployment(
                    "ecs-svc/new",
                    "PRIMARY",
                    NEW_TD,
                    2,
                    "IN_PROGRESS",
                )],
                vec![],
            ),
            sd,
        );
        match evaluate(&s, &target(), &Rules::default()) {
            Verdict::RolledBack {
                cause: Some(cause), ..
            } => {
                assert_eq!(
                    cause.describe(),
                    "the lifecycle hook smoke-test answered FAILED at stage POST_TEST_TRAFFIC_SHIFT"
                );
                assert!(cause.fix().contains("/aws/lambda/"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn traffic_split_is_shown_for_traffic_shifting_deployments() {
        let mut sd = at_stage("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT");
        assert_eq!(traffic_split(&sd), None);
        sd.production_traffic = Some(12.5);
        sd.test_traffic = Some(100.0);
        assert_eq!(
            traffic_split(&sd).as_deref(),
            Some("traffic 12.5% new / 87.5% old (test 100%)")
        );
    }

    fn with_service_deployment(mut s: Snapshot, sd: ServiceDeploymentView) -> Snapshot {
        s.service_deployment = Some(sd);
        s
    }

    /// With the service-deployment API, its status decides: DescribeServices' COMPLETED while
    /// it still says IN_PROGRESS is not success yet; SUCCESSFUL is.
    #[test]
    fn the_service_deployment_status_decides_success() {
        let done = snapshot(
            vec![deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "COMPLETED")],
            vec![],
        );
        let in_progress = with_service_deployment(done.clone(), service_deployment("IN_PROGRESS"));
        assert!(matches!(
            evaluate(&in_progress, &target(), &Rules::default()),
            Verdict::InProgress { .. }
        ));
        let successful = with_service_deployment(done, service_deployment("SUCCESSFUL"));
        assert!(matches!(
            evaluate(&successful, &target(), &Rules::default()),
            Verdict::Succeeded { counts } if counts.running == 2
        ));
    }

    /// ROLLBACK_SUCCESSFUL with real ECS's new PRIMARY back to :1 (the last COMPLETED), after
    /// an earlier failed :2: rolled back to :1, with the tasks' cause and ECS's reason.
    #[test]
    fn a_service_deployment_rollback_names_the_revision_and_the_cause() {
        const FIRST_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:1";
        const THIRD_TD: &str = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:3";
        let rollback = deployment("ecs-svc/rb", "PRIMARY", FIRST_TD, 2, "COMPLETED");
        let mut ours = deployment("ecs-svc/new", "ACTIVE", THIRD_TD, 0, "FAILED");
        ours.failed_tasks = 3;
        let mut task = stopped("t1", 10.0, "Essential container in task exited", Some(1));
        task.task_definition = THIRD_TD.into();
        let mut sd = service_deployment("ROLLBACK_SUCCESSFUL");
        sd.rollback_reason = Some("ECS deployment circuit breaker: tasks failed to start.".into());
        sd.breaker_failures = Some(3);
        let s = with_service_deployment(snapshot(vec![rollback, ours], vec![task]), sd);
        let mut t = target();
        t.task_definition = THIRD_TD.into();
        // What shipit computed before the deploy: :2 had failed, so the last good is :1.
        t.previous_task_definition = Some(FIRST_TD.into());
        match evaluate(
            &s,
            &t,
            &Rules {
                fail_after_same_stops: 9,
            },
        ) {
            Verdict::RolledBack {
                to_task_definition,
                ecs_reason,
                cause,
            } => {
                assert_eq!(to_task_definition, FIRST_TD);
                assert_eq!(cause, Some(app_exited(1)));
                assert_eq!(
                    ecs_reason.as_deref(),
                    Some("ECS deployment circuit breaker: tasks failed to start.")
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stopped_and_failed_rollbacks_are_failures_or_supersessions() {
        let ours = deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS");
        let failed_rollback = with_service_deployment(snapshot(vec![ours.clone()], vec![]), {
            let mut sd = service_deployment("ROLLBACK_FAILED");
            sd.status_reason = Some("the rollback's tasks failed too".into());
            sd
        });
        match evaluate(&failed_rollback, &target(), &Rules::default()) {
            Verdict::Failed { ecs_reason, .. } => assert_eq!(
                ecs_reason.as_deref(),
                Some("ECS could not roll back: the rollback's tasks failed too")
            ),
            other => panic!("{other:?}"),
        }
        // Stopped because someone started a newer deployment.
        let newer = deployment("ecs-svc/newer", "PRIMARY", "arn:td/app:9", 0, "IN_PROGRESS");
        let mut ours_active = ours.clone();
        ours_active.status = "ACTIVE".into();
        let superseded = with_service_deployment(
            snapshot(vec![newer, ours_active], vec![]),
            service_deployment("STOPPED"),
        );
        assert_eq!(
            evaluate(&superseded, &target(), &Rules::default()),
            Verdict::Superseded {
                by_task_definition: "arn:td/app:9".into()
            }
        );
        // Stopped with ours still PRIMARY: a failure, in ECS's words.
        let stopped_alone = with_service_deployment(snapshot(vec![ours], vec![]), {
            let mut sd = service_deployment("STOPPED");
            sd.status_reason = Some("stopped by StopServiceDeployment".into());
            sd
        });
        assert!(matches!(
            evaluate(&stopped_alone, &target(), &Rules::default()),
            Verdict::Failed { ecs_reason: Some(r), .. } if r.contains("StopServiceDeployment")
        ));
    }

    /// Fail-fast still works while the service deployment is IN_PROGRESS (its breaker at 2/3).
    #[test]
    fn fail_fast_does_not_wait_for_the_service_deployment_breaker() {
        let s = with_service_deployment(
            snapshot(
                vec![
                    deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
                    deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
                ],
                vec![
                    stopped("t1", 10.0, "Essential container in task exited", Some(1)),
                    stopped("t2", 20.0, "Essential container in task exited", Some(1)),
                ],
            ),
            ServiceDeploymentView {
                breaker_failures: Some(2),
                ..service_deployment("IN_PROGRESS")
            },
        );
        assert!(matches!(
            evaluate(&s, &target(), &Rules::default()),
            Verdict::Failed { cause, .. } if cause == app_exited(1)
        ));
        let lines = changes(None, &s, &target());
        assert!(
            lines.contains(
                &"service deployment: IN_PROGRESS, circuit breaker 2/3 failed tasks".to_string()
            ),
            "{lines:?}"
        );
    }

    /// Where a rollback goes, after rev 1 completed and rev 2 failed without rollback, while
    /// rev 3 is deployed: rev 1, whatever the service "ran before".
    #[test]
    fn the_last_good_revision_is_never_one_that_failed() {
        let td = |n: u32| format!("arn:aws:ecs:us-east-1:000000000000:task-definition/app:{n}");
        let mut two = deployment("ecs-svc/two", "PRIMARY", &td(2), 0, "FAILED");
        two.created_at = Some(200.0);
        let mut one = deployment("ecs-svc/one", "ACTIVE", &td(1), 2, "COMPLETED");
        one.created_at = Some(100.0);
        let before = vec![two.clone(), one];
        // ECS's COMPLETED revision wins over what the service ran and over the record.
        assert_eq!(
            last_good(&before, Some(&td(0)), Some(&td(2)), &td(3)),
            Some(td(1))
        );
        // Only the failed deployment is left: the record, else nothing (never :2).
        let only_failed = vec![two];
        assert_eq!(
            last_good(&only_failed, Some(&td(1)), Some(&td(2)), &td(3)),
            Some(td(1))
        );
        assert_eq!(last_good(&only_failed, None, Some(&td(2)), &td(3)), None);
        // A service that simply ran :2 (no deployment state known): :2.
        assert_eq!(last_good(&[], None, Some(&td(2)), &td(3)), Some(td(2)));
        // Never the revision being deployed (a re-run).
        assert_eq!(last_good(&[], Some(&td(3)), Some(&td(3)), &td(3)), None);
    }

    /// An image that cannot be pulled: ECS's breaker took 11 minutes in a public timeline; the
    /// second stop for the same reason (ids and digests aside) names it.
    #[test]
    fn an_unpullable_image_fails_on_the_second_stop_before_any_breaker() {
        let pull = |id: &str, at: f64, digest: char| {
            let mut t = stopped(
                id,
                at,
                &format!(
                    "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref 1.dkr.ecr.us-east-1.amazonaws.com/app@sha256:{}: not found",
                    digest.to_string().repeat(64)
                ),
                None,
            );
            t.stop_code = Some("TaskFailedToStart".into());
            t
        };
        let progress = vec![
            deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
            deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
        ];
        let sequence = [
            snapshot(progress.clone(), vec![pull("t1", 10.0, 'a')]),
            snapshot(
                progress.clone(),
                vec![pull("t1", 10.0, 'a'), pull("t2", 20.0, 'b')],
            ),
        ];
        let (at, verdict) = run(&sequence);
        assert_eq!(at, 1);
        assert!(
            matches!(&verdict, Verdict::Failed { cause: Cause::CannotPullImage { .. }, ecs_reason: None, tasks } if tasks.len() == 2),
            "{verdict:?}"
        );
    }

    /// A task ECS cannot launch leaves only a service event.
    #[test]
    fn a_launch_failure_seen_only_in_the_events_is_no_capacity() {
        let mut s = snapshot(
            vec![
                deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
                deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
            ],
            vec![],
        );
        s.events.push(EventView {
            id: "e1".into(),
            message: "(service web) failed to launch a task with (error Insufficient free addresses in subnet subnet-0123456789abcdef0 to launch the task).".into(),
            created_at: Some(5.0),
        });
        match evaluate(&s, &target(), &Rules::default()) {
            Verdict::Failed {
                cause: Cause::NoCapacity { detail },
                ..
            } => assert!(detail.contains("Insufficient free addresses"), "{detail}"),
            other => panic!("{other:?}"),
        }
        // Once a task of ours runs, an old event does not fail the deployment.
        s.deployments[0].running = 1;
        assert!(!evaluate(&s, &target(), &Rules::default()).is_final());
    }

    #[test]
    fn success_only_when_completed_with_every_task_running() {
        let sequence = [
            snapshot(
                vec![
                    deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
                    deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
                ],
                vec![],
            ),
            snapshot(
                vec![
                    deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "IN_PROGRESS"),
                    deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
                ],
                vec![],
            ),
            // Running == desired but not COMPLETED yet: still waiting.
            snapshot(
                vec![deployment("ecs-svc/new", "PRIMARY", NEW_TD, 1, "COMPLETED")],
                vec![],
            ),
            snapshot(
                vec![deployment("ecs-svc/new", "PRIMARY", NEW_TD, 2, "COMPLETED")],
                vec![],
            ),
        ];
        let (at, verdict) = run(&sequence);
        assert_eq!(at, 3);
        assert!(matches!(verdict, Verdict::Succeeded { counts } if counts.running == 2));
    }

    #[test]
    fn a_circuit_breaker_rollback_is_a_failure_with_its_reason() {
        let mut failed = deployment("ecs-svc/new", "ACTIVE", NEW_TD, 0, "FAILED");
        failed.rollout_state_reason = Some(
            "ECS deployment circuit breaker was triggered after 3 consecutive task failures."
                .into(),
        );
        let mut back = deployment("ecs-svc/old", "PRIMARY", OLD_TD, 2, "IN_PROGRESS");
        back.rollout_state_reason = Some("ECS deployment rollback in progress.".into());
        let s = snapshot(
            vec![back, failed],
            vec![stopped(
                "t1",
                10.0,
                "Essential container in task exited",
                Some(1),
            )],
        );
        match evaluate(
            &s,
            &target(),
            &Rules {
                fail_after_same_stops: 9,
            },
        ) {
            Verdict::RolledBack {
                to_task_definition,
                ecs_reason,
                cause,
            } => {
                assert_eq!(to_task_definition, OLD_TD);
                assert!(ecs_reason.unwrap().contains("circuit breaker"));
                assert_eq!(cause, Some(app_exited(1)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn two_stops_for_the_same_reason_fail_fast_naming_the_exit_code() {
        let progress = vec![
            deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
            deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
        ];
        let one = snapshot(
            progress.clone(),
            vec![stopped(
                "t1",
                10.0,
                "Essential container in task exited",
                Some(3),
            )],
        );
        assert!(!evaluate(&one, &target(), &Rules::default()).is_final());
        let two = snapshot(
            progress,
            vec![
                stopped("t1", 10.0, "Essential container in task exited", Some(3)),
                stopped("t2", 20.0, "Essential container in task exited", Some(3)),
            ],
        );
        match evaluate(&two, &target(), &Rules::default()) {
            Verdict::Failed { cause, tasks, .. } => {
                assert_eq!(
                    cause,
                    Cause::ContainerExited {
                        container: "app".into(),
                        exit_code: 3
                    }
                );
                assert_eq!(tasks, vec!["t2", "t1"]);
                assert!(cause.describe().contains("exited with code 3"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn different_reasons_in_a_row_do_not_fail_fast() {
        let s = snapshot(
            vec![deployment(
                "ecs-svc/new",
                "PRIMARY",
                NEW_TD,
                0,
                "IN_PROGRESS",
            )],
            vec![
                stopped("t1", 10.0, "Essential container in task exited", Some(3)),
                stopped("t2", 20.0, "Task failed container health checks", None),
            ],
        );
        assert!(!evaluate(&s, &target(), &Rules::default()).is_final());
    }

    /// A sidecar that crashes takes the app down with it (143): the sidecar is the cause.
    #[test]
    fn the_container_that_exited_first_is_named_not_the_one_stopped_after_it() {
        let mut task = stopped("t1", 1.0, "Essential container in task exited", Some(143));
        task.containers.push(ContainerView {
            name: "log-router".into(),
            exit_code: Some(2),
            reason: None,
            health_status: None,
        });
        assert_eq!(
            classify(&task),
            Cause::ContainerExited {
                container: "log-router".into(),
                exit_code: 2
            }
        );
    }

    #[test]
    fn failing_health_checks_are_classified() {
        let mut task = stopped("t1", 10.0, "Task failed container health checks", None);
        task.health_status = Some("UNHEALTHY".into());
        assert_eq!(classify(&task), Cause::HealthCheckFailed);
        assert!(Cause::HealthCheckFailed.fix().contains("no curl"));
    }

    #[test]
    fn pull_and_initialisation_errors_are_classified() {
        let pull = stopped(
            "t1",
            1.0,
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123.dkr.ecr.us-east-1.amazonaws.com/app:v9: not found",
            None,
        );
        assert!(matches!(classify(&pull), Cause::CannotPullImage { .. }));
        let secrets = stopped(
            "t2",
            2.0,
            "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm",
            None,
        );
        assert!(matches!(
            classify(&secrets),
            Cause::ResourceInitialization { .. }
        ));
        let mut oom = stopped("t3", 3.0, "Essential container in task exited", Some(137));
        oom.containers[0].reason =
            Some("OutOfMemoryError: Container killed due to memory usage".into());
        assert_eq!(
            classify(&oom),
            Cause::OutOfMemory {
                container: "app".into()
            }
        );
    }

    #[test]
    fn a_failed_deployment_without_rollback_fails() {
        let mut failed = deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "FAILED");
        failed.rollout_state_reason = Some("ECS deployment circuit breaker was triggered.".into());
        let s = snapshot(
            vec![failed],
            vec![stopped(
                "t1",
                1.0,
                "CannotPullContainerError: not found",
                None,
            )],
        );
        match evaluate(&s, &target(), &Rules::default()) {
            Verdict::Failed {
                cause, ecs_reason, ..
            } => {
                assert!(matches!(cause, Cause::CannotPullImage { .. }));
                assert!(ecs_reason.unwrap().contains("circuit breaker"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn tasks_stuck_in_pending_keep_the_watch_in_progress() {
        let s = snapshot(
            vec![
                deployment("ecs-svc/new", "PRIMARY", NEW_TD, 0, "IN_PROGRESS"),
                deployment("ecs-svc/old", "ACTIVE", OLD_TD, 2, "COMPLETED"),
            ],
            vec![],
        );
        // The loop's timeout turns this into a StuckPending report; the verdict itself waits.
        assert_eq!(
            evaluate(&s, &target(), &Rules::default()),
            Verdict::InProgress {
                counts: Counts {
                    desired: 2,
                    running: 0,
                    pending: 2,
                    failed: 0
                }
            }
        );
    }

    #[test]
    fn a_deployment_started_by_someone_else_supersedes_ours() {
        let third = "arn:aws:ecs:us-east-1:000000000000:task-definition/app:3";
        let s = snapshot(
            vec![
                deployment("ecs-svc/theirs", "PRIMARY", third, 0, "IN_PROGRESS"),
                deployment("ecs-svc/new", "ACTIVE", NEW_TD, 1, "IN_PROGRESS"),
            ],
            vec![],
        );
        assert_eq!(
            evaluate(&s, &target(), &Rules::default()),
            Verdict::Superseded {
                by_task_definition: third.into()
            }
        );
    }

    #[test]
    fn old_tasks_stopped_by_a_completed_deployment_are_not_failures() {
        let mut drained = stopped("t0", 5.0, "Deployment completed", None);
        drained.containers[0].exit_code = Some(0);
        let s = snapshot(
            vec![deployment(
                "ecs-svc/new",
                "PRIMARY",
                NEW_TD,
                1,
                "IN_PROGRESS",
            )],
            vec![drained.clone(), {
                let mut t = drained;
                t.arn.push('2');
                t.stopped_at = Some(6.0);
                t
            }],
        );
        assert!(!evaluate(&s, &target(), &Rules::default()).is_final());
    }

    /// A rollout recorded on the local stack by tests/record_rollouts.rs.
    #[derive(Deserialize)]
    struct Recording {
        target: Target,
        snapshots: Vec<Snapshot>,
    }

    /// The first final verdict of a recording and where it came, or the last one.
    fn replay(json: &str) -> (usize, Verdict, Recording) {
        replay_with(json, &Rules::default())
    }

    /// Fail-fast off: what ECS itself concludes.
    fn replay_patiently(json: &str) -> (usize, Verdict, Recording) {
        replay_with(
            json,
            &Rules {
                fail_after_same_stops: 1000,
            },
        )
    }

    fn replay_with(json: &str, rules: &Rules) -> (usize, Verdict, Recording) {
        let recording: Recording = serde_json::from_str(json).expect("a recording");
        // Recorded as real ECS starts tasks (`startedBy: ecs-svc/...`): the watch matches
        // tasks to the deployment by it, not by task definition.
        for task in recording.snapshots.iter().flat_map(|s| &s.tasks) {
            assert!(
                task.deployment_id
                    .as_deref()
                    .is_some_and(|id| id.starts_with("ecs-svc/")),
                "task {} has no deployment id",
                task.arn
            );
        }
        for (i, snapshot) in recording.snapshots.iter().enumerate() {
            let verdict = evaluate(snapshot, &recording.target, rules);
            if verdict.is_final() {
                return (i, verdict, recording);
            }
        }
        panic!("the recording never settles");
    }

    #[test]
    fn recorded_success_is_succeeded_when_ecs_says_completed() {
        let (at, verdict, recording) =
            replay(include_str!("../tests/fixtures/rollouts/success.json"));
        assert_eq!(at, recording.snapshots.len() - 1, "not before COMPLETED");
        assert!(matches!(verdict, Verdict::Succeeded { counts } if counts.running == 2));
    }

    /// The shape every recorded failure has: fail-fast stops at the second stop for one cause,
    /// before ECS's breaker settles it; without fail-fast, ECS's rollback carries that cause.
    fn fails_fast_before_the_breaker(json: &str) -> Cause {
        let (at, fast, _) = replay(json);
        let (settled_at, patient, recording) = replay_patiently(json);
        assert!(
            at < settled_at,
            "fail-fast ({at}) before ECS ({settled_at})"
        );
        let Verdict::Failed { cause, tasks, .. } = fast else {
            panic!("{fast:?}")
        };
        assert_eq!(tasks.len(), 2, "the second stop for the same cause");
        match patient {
            Verdict::RolledBack {
                to_task_definition,
                ecs_reason,
                cause: rolled_back_cause,
            } => {
                assert_eq!(
                    Some(to_task_definition),
                    recording.target.previous_task_definition
                );
                assert!(ecs_reason.unwrap().contains("circuit breaker"));
                assert_eq!(rolled_back_cause.as_ref(), Some(&cause));
            }
            other => panic!("{other:?}"),
        }
        cause
    }

    #[test]
    fn recorded_exit_code_failure_fails_fast_and_is_the_rollbacks_cause() {
        let cause = fails_fast_before_the_breaker(include_str!(
            "../tests/fixtures/rollouts/exit-code-rollback.json"
        ));
        assert_eq!(cause, app_exited(1));
    }

    #[test]
    fn recorded_pull_failure_is_named() {
        match fails_fast_before_the_breaker(include_str!(
            "../tests/fixtures/rollouts/cannot-pull.json"
        )) {
            Cause::CannotPullImage { detail } => {
                assert!(detail.starts_with("CannotPullContainerError"), "{detail}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn recorded_unreadable_secret_is_a_resource_initialization_error() {
        let cause = fails_fast_before_the_breaker(include_str!(
            "../tests/fixtures/rollouts/secret-unreadable.json"
        ));
        assert!(
            matches!(cause, Cause::ResourceInitialization { .. }),
            "{cause:?}"
        );
        assert!(cause.fix().contains("secretsmanager:GetSecretValue"));
    }

    #[test]
    fn progress_lines_show_only_what_changed() {
        let mut before = snapshot(
            vec![deployment(
                "ecs-svc/new",
                "PRIMARY",
                NEW_TD,
                0,
                "IN_PROGRESS",
            )],
            vec![],
        );
        before.events.push(EventView {
            id: "e1".into(),
            message: "(service app) has started 2 tasks".into(),
            created_at: None,
        });
        let mut now = before.clone();
        now.deployments[0].running = 1;
        now.deployments[0].pending = 1;
        now.events.insert(
            0,
            EventView {
                id: "e2".into(),
                message: "(service app) registered 1 targets".into(),
                created_at: None,
            },
        );
        assert_eq!(
            changes(Some(&before), &now, &target()),
            vec![
                "new deployment: 1/2 running, 1 pending, 0 failed".to_string(),
                "event: (service app) registered 1 targets".to_string()
            ]
        );
        assert!(changes(Some(&now), &now, &target()).is_empty());
    }
}
