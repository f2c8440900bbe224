//! The verdict: from a snapshot, the deployment being watched and the rules, whether the
//! rollout succeeded, failed (with its cause), was rolled back or superseded, or goes on.

use serde::{Deserialize, Serialize};

use super::*;

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
pub(super) fn service_deployment_verdict(
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
pub(super) fn is_rollback(p: &DeploymentView) -> bool {
    p.rollout_state_reason.as_deref().is_some_and(|r| {
        let r = r.to_ascii_lowercase();
        r.contains("rolling back to deploymentid") || r.contains("rollback in progress")
    })
}

pub(super) fn other_primary(p: &DeploymentView, target: &Target, cause: Option<Cause>) -> Verdict {
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
pub(super) fn launch_failure(snapshot: &Snapshot) -> Option<String> {
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
pub(super) fn repeated_cause(
    snapshot: &Snapshot,
    target: &Target,
    n: usize,
) -> Option<(Cause, Vec<String>)> {
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
