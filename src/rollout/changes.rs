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
            let until = pause_timeout(hook);
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

/// The paused hook's id, when the watched deployment waits at a pause.
pub fn paused_hook(now: &Snapshot) -> Option<String> {
    let sd = now.service_deployment.as_ref()?;
    let hook = sd.hooks.iter().find(|h| h.is_paused())?;
    Some(hook.hook_id.clone().unwrap_or_default())
}

/// The reminder a watch repeats while the deployment stays paused, so that a watch waiting
/// for a later stage (`--wait-until`) is never silent about why nothing moves.
pub fn still_paused(now: &Snapshot, since: f64, at: f64, until: &super::WaitUntil) -> String {
    let sd = now.service_deployment.as_ref();
    let stage = sd
        .and_then(|sd| sd.lifecycle_stage.as_deref())
        .unwrap_or("?");
    let minutes = ((at - since).max(0.0) / 60.0).floor() as u64;
    let waiting = match until {
        super::WaitUntil::Stage(later) if later != stage => {
            format!("; the watch waits for {}, after this pause", until.shown())
        }
        _ => String::new(),
    };
    let expires = sd
        .and_then(|sd| sd.hooks.iter().find(|h| h.is_paused()))
        .map(pause_timeout)
        .unwrap_or_default();
    format!(
        "still paused at stage {stage} since {} ({minutes} min): nothing moves until `shipit continue` (from here or another job){waiting}{expires}",
        crate::clock::utc_time(since)
    )
}

/// What ECS does when a pause times out, and when: `; at TIME ECS will roll back`.
fn pause_timeout(hook: &super::HookView) -> String {
    match (hook.expires_at, hook.timeout_action.as_deref()) {
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
    }
}
