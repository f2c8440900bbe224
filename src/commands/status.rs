//! `shipit status`: one verdict line (healthy, deploying, failing and why), then the service,
//! its deployments, its tasks, the latest events and the image's scan results.
//! `--watch` redraws until interrupted.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::aws::calls::Clients;
use crate::config::Names;
use crate::ecs::{self, short_task_definition};
use crate::exit::ExitStatus;
use crate::printer::Printer;
use crate::rollout::{ServiceDeploymentView, Snapshot, TaskView, classify, traffic_split};
use crate::session::Session;
use crate::signals::Interrupt;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Redraw every 2 seconds until interrupted.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Status {
    /// healthy, deploying, failing, stopped or missing.
    pub verdict: &'static str,
    pub why: String,
    pub cluster: String,
    pub service: String,
    pub exists: bool,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub task_definition: Option<String>,
    /// rolling, blue_green, linear or canary.
    pub strategy: Option<String>,
    /// The service deployment ECS runs or ran last, where the service-deployment API answers:
    /// its status, lifecycle stage, traffic split and hooks.
    pub service_deployment: Option<ServiceDeploymentView>,
    /// Application Auto Scaling's range for the task count, when a scalable target exists.
    pub autoscaling: Option<ScalingStatus>,
    pub deployments: Vec<DeploymentStatus>,
    pub tasks: Vec<TaskStatus>,
    pub events: Vec<EventStatus>,
    /// Scan-on-push findings of the running image, by severity, where the API offers them.
    pub scan: Option<ScanStatus>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScalingStatus {
    pub min: i32,
    pub max: i32,
    /// shipit's target-tracking policies (`shipit-cpu`: "ECSServiceAverageCPUUtilization
    /// target 60, ...").
    pub policies: BTreeMap<String, String>,
    /// The newest scaling activities, where the API lists them.
    pub activities: Vec<crate::autoscaling::Activity>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeploymentStatus {
    pub id: String,
    pub status: String,
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub task_definition: String,
    pub image: Option<String>,
    pub desired: i32,
    pub running: i32,
    pub pending: i32,
    pub failed_tasks: i32,
    pub created_at: Option<f64>,
    pub updated_at: Option<f64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TaskStatus {
    pub id: String,
    pub revision: String,
    pub last_status: String,
    pub health_status: Option<String>,
    pub started_at: Option<f64>,
    pub stopped_reason: Option<String>,
    /// Each container: its health and, once it stopped, its exit code.
    pub containers: Vec<crate::rollout::ContainerView>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EventStatus {
    pub created_at: Option<f64>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ScanStatus {
    pub status: String,
    pub findings: BTreeMap<String, i32>,
}

pub async fn run(
    args: &StatusArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (members, _) = super::load_fleet(global, printer)?;
    if let [member] = members.as_slice() {
        return status_of(args, global, member.loaded.clone(), printer).await;
    }
    if args.watch {
        return Err(crate::exit::BadInput::new(
            "--watch follows one service: pass --service NAME (and --region) with it",
        )
        .into());
    }
    super::for_each_member(&members, printer, |loaded, printer| async move {
        status_of(args, global, loaded, &printer).await
    })
    .await
}

async fn status_of(
    args: &StatusArgs,
    global: &GlobalArgs,
    loaded: crate::config::LoadedConfig,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let clients = &session.clients;
    let names = &session.loaded.names;
    let redraw = args.watch && !printer.is_json() && std::io::stdout().is_terminal();
    let mut last: Option<Status> = None;
    let mut interrupt = Interrupt::listen()?;
    loop {
        let status = read_status(clients, names).await?;
        if last.as_ref() != Some(&status) {
            if redraw {
                // Clear the screen and go home, then draw.
                printer.raw("\x1b[2J\x1b[H")?;
            }
            printer.result(&status, &human(&status))?;
        }
        let failing = status.verdict == "failing" || status.verdict == "missing";
        last = Some(status);
        if !args.watch {
            return Ok(if failing {
                ExitStatus::Failure
            } else {
                ExitStatus::Success
            });
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = interrupt.recv() => return Ok(ExitStatus::Success),
        }
    }
}

/// Everything status shows, read from ECS (and ECR for scan findings).
pub async fn read_status(clients: &Clients, names: &Names) -> anyhow::Result<Status> {
    let mut status = Status {
        verdict: "missing",
        why: format!(
            "service {} does not exist in cluster {} (deploy it with `shipit deploy`)",
            names.service, names.cluster
        ),
        cluster: names.cluster.clone(),
        service: names.service.clone(),
        exists: false,
        desired: 0,
        running: 0,
        pending: 0,
        task_definition: None,
        strategy: None,
        service_deployment: None,
        autoscaling: None,
        deployments: Vec::new(),
        tasks: Vec::new(),
        events: Vec::new(),
        scan: None,
    };
    let Some(service) = ecs::describe_service(&clients.ecs, &names.cluster, &names.service).await?
    else {
        return Ok(status);
    };
    // Tasks stopped within the last hour still explain a failure.
    let since = crate::clock::now_epoch_seconds() - 3600.0;
    let snapshot = ecs::snapshot(&clients.ecs, &names.cluster, &names.service, since).await?;
    let mut images = BTreeMap::new();
    for d in &snapshot.deployments {
        if !images.contains_key(&d.task_definition)
            && let Some(td) =
                ecs::describe_task_definition(&clients.ecs, &d.task_definition).await?
        {
            let image = ecs::container_image(&td, &names.container).map(str::to_string);
            images.insert(d.task_definition.clone(), image);
        }
    }
    status.exists = true;
    status.task_definition = service.task_definition().map(str::to_string);
    status.strategy = Some(
        service
            .deployment_configuration()
            .and_then(|d| d.strategy())
            .map_or("ROLLING", |s| s.as_str())
            .to_ascii_lowercase(),
    );
    // Denied or not modelled (the local stack): status shows what DescribeServices says.
    if let Some(arn) = ecs::current_service_deployment(&service) {
        status.service_deployment = ecs::service_deployment(&clients.ecs, &arn).await.ok();
    }
    let scaling_id = crate::plan::autoscaling::resource_id(&names.cluster, &names.service);
    if let Ok(Some(scaling)) = crate::autoscaling::read(&clients.autoscaling, &scaling_id).await {
        status.autoscaling = Some(ScalingStatus {
            min: scaling.min,
            max: scaling.max,
            policies: scaling
                .policies
                .iter()
                .map(|(name, p)| (name.clone(), p.shown()))
                .collect(),
            activities: crate::autoscaling::activities(&clients.autoscaling, &scaling_id, 5)
                .await
                .unwrap_or_default(),
        });
    }
    status.desired = snapshot.desired;
    status.running = snapshot.running;
    status.pending = snapshot.pending;
    status.deployments = snapshot
        .deployments
        .iter()
        .map(|d| DeploymentStatus {
            id: d.id.clone(),
            status: d.status.clone(),
            rollout_state: d.rollout_state.clone(),
            rollout_state_reason: d.rollout_state_reason.clone(),
            task_definition: d.task_definition.clone(),
            image: images.get(&d.task_definition).cloned().flatten(),
            desired: d.desired,
            running: d.running,
            pending: d.pending,
            failed_tasks: d.failed_tasks,
            created_at: d.created_at,
            updated_at: d.updated_at,
        })
        .collect();
    status.tasks = snapshot.tasks.iter().map(task_status).collect();
    status.events = snapshot
        .events
        .iter()
        .take(10)
        .map(|e| EventStatus {
            created_at: e.created_at,
            message: e.message.clone(),
        })
        .collect();
    let (verdict, why) = verdict(&snapshot);
    status.verdict = verdict;
    status.why = why;
    let primary_image = status
        .deployments
        .iter()
        .find(|d| d.status == "PRIMARY")
        .and_then(|d| d.image.clone());
    if let Some(image) = primary_image {
        status.scan = scan_findings(clients, &names.repository, &image).await;
    }
    Ok(status)
}

fn task_status(t: &TaskView) -> TaskStatus {
    TaskStatus {
        id: t.id().to_string(),
        revision: short_task_definition(&t.task_definition).to_string(),
        last_status: t.last_status.clone(),
        health_status: t.health_status.clone(),
        started_at: t.started_at,
        stopped_reason: (t.last_status == "STOPPED").then(|| classify(t).describe()),
        containers: t.containers.clone(),
    }
}

/// healthy: one deployment, COMPLETED, every task running. deploying: a rollout in progress.
/// failing: the latest deployment FAILED, or tasks keep stopping for a reason.
pub fn verdict(s: &Snapshot) -> (&'static str, String) {
    let Some(primary) = s.deployments.iter().find(|d| d.status == "PRIMARY") else {
        return (
            "failing",
            "the service has no primary deployment".to_string(),
        );
    };
    let td = short_task_definition(&primary.task_definition).to_string();
    if let Some(failed) = s
        .deployments
        .iter()
        .find(|d| d.rollout_state.as_deref() == Some("FAILED"))
    {
        return (
            "failing",
            format!(
                "the deployment of {} failed{}; the service runs {td}",
                short_task_definition(&failed.task_definition),
                failed
                    .rollout_state_reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default()
            ),
        );
    }
    let recent_failure = s
        .tasks
        .iter()
        .filter(|t| t.last_status == "STOPPED" && t.task_definition == primary.task_definition)
        .map(classify)
        .find(|c| !matches!(c, crate::rollout::Cause::Other { .. }));
    if primary.desired == 0 {
        return ("stopped", format!("desired count is 0 ({td})"));
    }
    if primary.running < primary.desired
        && let Some(cause) = recent_failure
    {
        return (
            "failing",
            format!(
                "{}/{} tasks of {td} running: {}",
                primary.running,
                primary.desired,
                cause.describe()
            ),
        );
    }
    let draining = s
        .deployments
        .iter()
        .any(|d| d.id != primary.id && d.running > 0);
    if primary.rollout_state.as_deref() == Some("IN_PROGRESS") || draining {
        return (
            "deploying",
            format!(
                "{td}: {}/{} running, {} pending",
                primary.running, primary.desired, primary.pending
            ),
        );
    }
    if primary.running == primary.desired {
        return (
            "healthy",
            format!(
                "{td}: {}/{} tasks running",
                primary.running, primary.desired
            ),
        );
    }
    (
        "deploying",
        format!(
            "{td}: {}/{} running, {} pending",
            primary.running, primary.desired, primary.pending
        ),
    )
}

/// Severity counts from ECR's scan on push, when the registry offers them.
async fn scan_findings(clients: &Clients, repository: &str, image: &str) -> Option<ScanStatus> {
    let digest = image.split_once('@').map(|(_, d)| d)?;
    let out = clients
        .ecr
        .describe_image_scan_findings()
        .repository_name(repository)
        .image_id(crate::ecr::by_digest(digest))
        .send()
        .await
        // Not offered (the local stack has no scanner) or not scanned yet: nothing to show.
        .ok()?;
    let status = out
        .image_scan_status()
        .and_then(|s| s.status())
        .map_or("UNKNOWN".to_string(), |s| s.as_str().to_string());
    let findings = out
        .image_scan_findings()
        .and_then(|f| f.finding_severity_counts())
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.as_str().to_string(), *v))
                .collect()
        })
        .unwrap_or_default();
    Some(ScanStatus { status, findings })
}

fn ago(t: Option<f64>) -> String {
    let Some(t) = t else {
        return "-".to_string();
    };
    let seconds = (crate::clock::now_epoch_seconds() - t).max(0.0) as u64;
    match seconds {
        0..60 => format!("{seconds}s ago"),
        60..3600 => format!("{}m ago", seconds / 60),
        3600..86400 => format!("{}h ago", seconds / 3600),
        _ => format!("{}d ago", seconds / 86400),
    }
}

fn human(s: &Status) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}: {}", s.verdict.to_uppercase(), s.why);
    if !s.exists {
        return out;
    }
    let _ = writeln!(
        out,
        "service {} in cluster {} ({} deployments): {} desired, {} running, {} pending",
        s.service,
        s.cluster,
        s.strategy.as_deref().unwrap_or("rolling"),
        s.desired,
        s.running,
        s.pending
    );
    if let Some(a) = &s.autoscaling {
        let _ = writeln!(
            out,
            "autoscaling: {}-{} tasks (now {}){}",
            a.min,
            a.max,
            s.desired,
            if a.policies.is_empty() {
                ", set outside shipit".to_string()
            } else {
                format!(
                    ", {}",
                    a.policies.values().cloned().collect::<Vec<_>>().join("; ")
                )
            }
        );
        for activity in &a.activities {
            let _ = writeln!(
                out,
                "  {:>8}  {} {}",
                ago(activity.started_at),
                activity.status,
                activity.description
            );
        }
    }
    if let Some(sd) = &s.service_deployment {
        let mut line = format!("service deployment: {}", sd.status);
        if let Some(stage) = &sd.lifecycle_stage {
            let _ = write!(line, ", stage {stage}");
        }
        if let Some(split) = traffic_split(sd) {
            let _ = write!(line, ", {split}");
        }
        for hook in &sd.hooks {
            let _ = write!(
                line,
                ", hook {} {}",
                hook.target_arn.as_deref().unwrap_or("pause"),
                hook.status
            );
        }
        if let Some(reason) = sd.rollback_reason.as_ref().or(sd.status_reason.as_ref()) {
            let _ = write!(line, " ({reason})");
        }
        let _ = writeln!(out, "{line}");
    }
    let _ = writeln!(out, "\ndeployments:");
    for d in &s.deployments {
        let _ = writeln!(
            out,
            "  {:<8} {:<12} {:<24} {}/{} running, {} pending, {} failed, created {}, updated {}",
            d.status,
            d.rollout_state.as_deref().unwrap_or("-"),
            short_task_definition(&d.task_definition),
            d.running,
            d.desired,
            d.pending,
            d.failed_tasks,
            ago(d.created_at),
            ago(d.updated_at)
        );
        if let Some(image) = &d.image {
            let _ = writeln!(out, "           image {image}");
        }
    }
    if !s.tasks.is_empty() {
        let _ = writeln!(out, "\ntasks:");
        for t in &s.tasks {
            let _ = writeln!(
                out,
                "  {:<36} {:<24} {:<9} {:<9} started {}{}",
                t.id,
                t.revision,
                t.last_status,
                t.health_status.as_deref().unwrap_or("-"),
                ago(t.started_at),
                t.stopped_reason
                    .as_deref()
                    .map(|r| format!(", stopped: {r}"))
                    .unwrap_or_default()
            );
            // A task with sidecars: how each container is.
            if t.containers.len() > 1 {
                let each: Vec<String> = t
                    .containers
                    .iter()
                    .map(|c| {
                        let mut state = c.health_status.clone().unwrap_or_else(|| "-".into());
                        if let Some(code) = c.exit_code {
                            state = format!("exited {code}");
                        }
                        format!("{} {state}", c.name)
                    })
                    .collect();
                let _ = writeln!(out, "    containers: {}", each.join(", "));
            }
        }
    }
    if !s.events.is_empty() {
        let _ = writeln!(out, "\nevents:");
        for e in &s.events {
            let _ = writeln!(out, "  {:>8}  {}", ago(e.created_at), e.message);
        }
    }
    match &s.scan {
        Some(scan) => {
            let counts: Vec<String> = scan
                .findings
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect();
            let _ = writeln!(
                out,
                "\nimage scan: {}{}",
                scan.status,
                if counts.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", counts.join(", "))
                }
            );
        }
        None => {
            let _ = writeln!(out, "\nimage scan: not available");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollout::DeploymentView;

    fn deployment(status: &str, td: &str, running: i32, state: &str) -> DeploymentView {
        DeploymentView {
            id: format!("ecs-svc/{td}"),
            status: status.into(),
            task_definition: format!("arn:aws:ecs:us-east-1:0:task-definition/app:{td}"),
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

    fn snapshot(deployments: Vec<DeploymentView>) -> Snapshot {
        Snapshot {
            desired: 2,
            running: 2,
            pending: 0,
            deployments,
            tasks: Vec::new(),
            events: Vec::new(),
            service_deployment: None,
        }
    }

    #[test]
    fn verdicts() {
        let healthy = snapshot(vec![deployment("PRIMARY", "2", 2, "COMPLETED")]);
        assert_eq!(
            verdict(&healthy),
            ("healthy", "app:2: 2/2 tasks running".to_string())
        );
        let deploying = snapshot(vec![
            deployment("PRIMARY", "3", 1, "IN_PROGRESS"),
            deployment("ACTIVE", "2", 2, "COMPLETED"),
        ]);
        assert_eq!(verdict(&deploying).0, "deploying");
        let mut failed = deployment("ACTIVE", "3", 0, "FAILED");
        failed.rollout_state_reason = Some("circuit breaker".into());
        let rolled_back = snapshot(vec![deployment("PRIMARY", "2", 2, "COMPLETED"), failed]);
        let (v, why) = verdict(&rolled_back);
        assert_eq!(v, "failing");
        assert_eq!(
            why,
            "the deployment of app:3 failed: circuit breaker; the service runs app:2"
        );
    }
}
