//! What ECS says about the service at one moment: its deployments, tasks, events and the
//! service deployment (with its lifecycle hooks and traffic split), as the watch reads them.

use serde::{Deserialize, Serialize};

use super::*;

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
    /// What ContinueServiceDeployment takes to act on it.
    #[serde(default)]
    pub hook_id: Option<String>,
    /// Seconds since the epoch when ECS takes `timeout_action`.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// CONTINUE or ROLLBACK.
    #[serde(default)]
    pub timeout_action: Option<String>,
}

impl HookView {
    /// A pause hook waiting for `shipit continue` (ContinueServiceDeployment).
    pub fn is_paused(&self) -> bool {
        self.target_type == "PAUSE" && self.status == "AWAITING_ACTION"
    }

    pub(super) fn shown(&self) -> String {
        match &self.target_arn {
            Some(arn) => format!("hook {}", arn.rsplit(':').next().unwrap_or(arn)),
            None => "pause hook".to_string(),
        }
    }
}

impl ServiceDeploymentView {
    pub(super) fn rolling_back(&self) -> bool {
        matches!(
            self.status.as_str(),
            "ROLLBACK_REQUESTED" | "ROLLBACK_IN_PROGRESS" | "ROLLBACK_SUCCESSFUL"
        )
    }

    /// ECS's words on the deployment: the rollback's reason, else the status reason.
    pub(super) fn reason(&self) -> Option<String> {
        self.rollback_reason
            .clone()
            .or_else(|| self.status_reason.clone())
    }

    /// A lifecycle hook that failed or timed out, as the cause of a rollback.
    pub(super) fn failed_hook(&self) -> Option<Cause> {
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

pub(super) fn trim_percent(value: f64) -> String {
    let rounded = (value * 10.0).round() / 10.0;
    if rounded.fract() == 0.0 {
        format!("{rounded:.0}")
    } else {
        format!("{rounded:.1}")
    }
}
