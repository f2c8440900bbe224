//! What changed between two polls, as the lines the watch prints.

use super::*;

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
        // A pause says plainly what it waits for, and until when.
        if let Some(sd) = &now.service_deployment
            && let Some(hook) = sd.hooks.iter().find(|h| h.is_paused())
        {
            let until = match (hook.expires_at, hook.timeout_action.as_deref()) {
                (Some(at), Some(action)) => format!(
                    "; at {} ECS will {}",
                    crate::clock::utc_time(at as f64),
                    if action == "CONTINUE" {
                        "go on by itself"
                    } else {
                        "roll back"
                    }
                ),
                _ => String::new(),
            };
            lines.push(format!(
                "paused at stage {}: `shipit continue` goes on (`--rollback` rolls back){until}",
                sd.lifecycle_stage.as_deref().unwrap_or("?")
            ));
        }
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
