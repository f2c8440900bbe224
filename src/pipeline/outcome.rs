//! How a deploy ended, as every output tells it (text, markdown for the step summary, JSON):
//! the outcome and its exit status, what was pushed, registered and updated, the rollout's
//! verdict, and the failure report with its evidence.

use std::collections::BTreeMap;

use serde::Serialize;

use super::hooks::HooksOutcome;
use super::push::PushResult;
use crate::exit::ExitStatus;
use crate::plan::{self, Change};
use crate::rollout::{Cause, Verdict};

/// How a deploy ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The rollout finished: the service runs the new revision on every task.
    Deployed,
    /// `--wait-until STAGE`: the deployment reached the stage and goes on in ECS.
    StageReached,
    /// A before-deploy hook failed: the service was not updated.
    HookFailed,
    /// Nothing to change, and the service already runs this revision on every task.
    Unchanged,
    /// `--no-wait`: ECS accepted the change (or is still rolling it out).
    Accepted,
    Failed,
    RolledBack,
    Superseded,
    TimedOut,
    Interrupted,
}

impl Outcome {
    pub fn exit_status(self) -> ExitStatus {
        match self {
            Outcome::Deployed | Outcome::StageReached | Outcome::Unchanged | Outcome::Accepted => {
                ExitStatus::Success
            }
            Outcome::Interrupted => ExitStatus::Interrupted,
            _ => ExitStatus::Failure,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Deployed => "deployed",
            Outcome::StageReached => "stage-reached",
            Outcome::HookFailed => "hook-failed",
            Outcome::Unchanged => "unchanged",
            Outcome::Accepted => "accepted",
            Outcome::Failed => "failed",
            Outcome::RolledBack => "rolled-back",
            Outcome::Superseded => "superseded",
            Outcome::TimedOut => "timed-out",
            Outcome::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TaskDefinitionOutcome {
    pub arn: String,
    /// A new revision was registered (the config or the image changed).
    pub registered: bool,
}

#[derive(Debug, Serialize)]
pub struct ServiceOutcome {
    pub arn: String,
    pub created: bool,
    /// UpdateService was called.
    pub updated: bool,
    /// The task definition the service ran before this deploy.
    pub previous_task_definition: Option<String>,
}

/// Which deployment the watch followed: one this run started, or one already under way for
/// the same task definition (a re-run with nothing to change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Watched {
    Started,
    Existing,
}

#[derive(Debug, Serialize)]
pub struct FailureReport {
    pub summary: String,
    pub cause: Option<Cause>,
    pub fix: Option<String>,
    /// The service runs this task definition again (ECS's circuit breaker or shipit rolled back).
    pub rolled_back_to: Option<String>,
    pub events: Vec<String>,
    pub task: Option<String>,
    /// With sidecars: how each container of that task ended (`log-router exited with code 2`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<String>,
    pub log_lines: Vec<String>,
}

impl FailureReport {
    /// A report with no cause, events or log lines to show (interrupted, superseded).
    pub fn without_evidence(summary: String, fix: Option<String>) -> FailureReport {
        FailureReport {
            summary,
            cause: None,
            fix,
            rolled_back_to: None,
            events: Vec::new(),
            task: None,
            containers: Vec::new(),
            log_lines: Vec::new(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct RolloutOutcome {
    #[serde(flatten)]
    pub verdict: Verdict,
    pub seconds: f64,
    pub timed_out: bool,
    pub interrupted: bool,
}

#[derive(Debug, Serialize)]
pub struct DeployResult {
    pub ok: bool,
    pub result: Outcome,
    /// Every change the plan listed, which this run applied.
    pub changes: Vec<Change>,
    pub push: PushResult,
    pub cluster_created: bool,
    pub log_group: plan::LogGroupPlan,
    pub task_definition: TaskDefinitionOutcome,
    pub service: ServiceOutcome,
    /// `hooks.before_deploy`: what ran, or that `--skip-hooks` skipped them.
    pub hooks: HooksOutcome,
    pub deployment_id: Option<String>,
    pub watched: Option<Watched>,
    pub rollout: Option<RolloutOutcome>,
    pub failure: Option<FailureReport>,
    pub seconds: f64,
    pub api_calls: BTreeMap<String, u32>,
}
