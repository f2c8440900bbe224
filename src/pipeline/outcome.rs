//! How a deploy ended, as every output tells it (text, markdown for the step summary, JSON):
//! the outcome and its exit status, what was pushed, registered and updated, the rollout's
//! verdict, and the failure report with its evidence.

use std::collections::BTreeMap;

use serde::Serialize;

use super::hooks::HooksOutcome;
use super::push::PushResult;
use crate::config::Names;
use crate::ecs::short_task_definition;
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
    /// The report for people: the summary, the fix, where the service is back, the events,
    /// the containers and the failing task's last log lines.
    pub fn text(&self) -> String {
        let f = self;
        let mut out = format!("{}\n", f.summary);
        if let Some(fix) = &f.fix {
            out.push_str(&format!("  fix: {fix}\n"));
        }
        if let Some(back) = &f.rolled_back_to {
            out.push_str(&format!(
                "  the service is back on {}\n",
                short_task_definition(back)
            ));
        }
        if !f.events.is_empty() {
            out.push_str("  service events:\n");
            for e in &f.events {
                out.push_str(&format!("    {e}\n"));
            }
        }
        if !f.containers.is_empty() {
            out.push_str(&format!("  containers: {}\n", f.containers.join(", ")));
        }
        if let Some(task) = &f.task {
            if f.log_lines.is_empty() {
                out.push_str(&format!("  task {task} wrote no log lines\n"));
            } else {
                out.push_str(&format!("  last log lines of task {task}:\n"));
                for line in &f.log_lines {
                    out.push_str(&format!("    {line}\n"));
                }
            }
        }
        out
    }

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
    /// How many times the watch read the service.
    pub polls: u32,
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
    /// The service deployment ECS named for it, where it names one: what `shipit wait`
    /// takes from another job.
    pub service_deployment_arn: Option<String>,
    pub watched: Option<Watched>,
    pub rollout: Option<RolloutOutcome>,
    pub failure: Option<FailureReport>,
    pub seconds: f64,
    pub api_calls: BTreeMap<String, u32>,
}

/// The one rendering of a deploy's result for people: `text` (the terminal), `markdown` (the
/// GitHub step summary); `--output json` is this type serialized.
impl DeployResult {
    pub fn text(&self, names: &Names) -> String {
        let td = short_task_definition(&self.task_definition.arn);
        let mut out = String::new();
        match self.result {
            Outcome::Unchanged => out.push_str(&format!(
                "nothing to deploy: service {} already runs {td} with these settings\n",
                names.service
            )),
            Outcome::Accepted => out.push_str(&format!(
                "ECS accepted {td} for service {}; the rollout goes on (--no-wait)\n",
                names.service
            )),
            Outcome::Deployed => out.push_str(&format!(
                "deployed {} to service {} in cluster {}: {td} is running ({:.1}s)\n",
                self.push.tagged_image, names.service, names.cluster, self.seconds
            )),
            Outcome::StageReached => {
                let stage = match self.rollout.as_ref().map(|r| &r.verdict) {
                    Some(crate::rollout::Verdict::StageReached { stage, .. }) => stage.as_str(),
                    _ => "?",
                };
                out.push_str(&format!(
                    "the deployment of {td} to service {} reached stage {stage} ({:.1}s); it goes on in ECS: follow it with `shipit status --watch`\n",
                    names.service, self.seconds
                ))
            }
            _ => {}
        }
        if let Some(f) = &self.failure {
            out.push_str(&f.text());
        }
        out
    }

    pub fn markdown(&self, names: &Names) -> String {
        let mut md = format!(
            "## shipit deploy: {}\n\n| | |\n|---|---|\n| service | `{}` in cluster `{}` |\n| image | `{}` |\n| task definition | `{}`{} |\n",
            self.result.as_str(),
            names.service,
            names.cluster,
            self.push.tagged_image,
            short_task_definition(&self.task_definition.arn),
            if self.task_definition.registered {
                " (new revision)"
            } else {
                ""
            }
        );
        if let Some(rollout) = &self.rollout {
            md.push_str(&format!("| rollout | {:.1} s |\n", rollout.seconds));
        }
        if !self.changes.is_empty() {
            md.push_str("\n### Changes\n\n```diff\n");
            for change in &self.changes {
                md.push_str(&format!(
                    "{} {}: {}\n",
                    change.resource.label(),
                    change.name,
                    crate::plan::human::change_line(change)
                ));
            }
            md.push_str("```\n");
        }
        if let Some(failure) = &self.failure {
            md.push_str(&format!("\n### Failure\n\n{}\n", failure.summary));
            if let Some(fix) = &failure.fix {
                md.push_str(&format!("\n**Fix:** {fix}\n"));
            }
            if !failure.events.is_empty() {
                md.push_str("\n**Service events**\n\n");
                for e in &failure.events {
                    md.push_str(&format!("- {e}\n"));
                }
            }
            if !failure.containers.is_empty() {
                md.push_str(&format!(
                    "\n**Containers:** {}\n",
                    failure.containers.join(", ")
                ));
            }
            if !failure.log_lines.is_empty() {
                md.push_str(&format!(
                    "\n**Last log lines of task {}**\n\n```\n",
                    failure.task.as_deref().unwrap_or("?")
                ));
                for line in &failure.log_lines {
                    md.push_str(line);
                    md.push('\n');
                }
                md.push_str("```\n");
            }
        }
        md
    }
}

impl FailureReport {
    /// The failure as one error annotation: its summary and the fix.
    pub fn annotation(&self) -> String {
        let mut message = self.summary.clone();
        if let Some(fix) = &self.fix {
            message.push_str(&format!("\nfix: {fix}"));
        }
        message
    }
}
