//! A plan as people read it: one block per resource and call, one line per field.
//!
//! ```text
//! service web: ECS UpdateService
//!   ~ desired_count: 2 -> 3
//!   - health_check_grace_period: 60
//! ```
//! `+` adds a field, `~` changes it, `-` removes it (the call sends its empty value).

use super::{Change, Operation, Plan};

/// One line for a change.
pub fn change_line(c: &Change) -> String {
    match (&c.current, &c.wanted) {
        _ if c.secret => format!(
            "~ {}: (secret) {}",
            c.field,
            match (&c.current, &c.wanted) {
                (None, _) => "added",
                (_, None) => "removed",
                _ => "changed",
            }
        ),
        (None, Some(w)) => format!("+ {}: {w}", c.field),
        (Some(h), None) => format!("- {}: {h}", c.field),
        (Some(h), Some(w)) => format!("~ {}: {h} -> {w}", c.field),
        (None, None) => format!("~ {}", c.field),
    }
}

/// When a call happens, where that is not at once.
fn when(operation: Operation) -> &'static str {
    match operation {
        Operation::TagResource => ", after the rollout succeeds",
        _ => "",
    }
}

/// Every change, grouped by resource and call, in the order deploy makes them.
pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let mut group: Option<(String, Operation)> = None;
    // Guarded removals have their own heading, below.
    for c in plan.changes().filter(|c| !c.guarded) {
        let key = (format!("{} {}", c.resource.label(), c.name), c.operation);
        if group.as_ref() != Some(&key) {
            out.push_str(&format!(
                "{}: {}{}\n",
                key.0,
                c.operation.label(),
                when(c.operation)
            ));
            group = Some(key);
        }
        out.push_str(&format!("  {}\n", change_line(c)));
    }
    match plan.autoscaling.desired_count_owner {
        "autoscaling" => {
            let range = plan
                .autoscaling
                .wanted
                .as_ref()
                .map(|w| format!(" ({}-{} tasks)", w.min, w.max))
                .unwrap_or_default();
            out.push_str(&format!(
                "desired count: set by Application Auto Scaling{range}; deploy does not write it\n"
            ));
        }
        "other" => out.push_str(
            "desired count: set by a scalable target registered outside shipit; deploy does not write it\n",
        ),
        _ => {}
    }
    if plan.service.switches_strategy_after_rollout() {
        out.push_str(&format!(
            "deployment strategy: ROLLING -> {} in two steps (as ECS requires): this deploy rolls out under ROLLING with the load balancer's new configuration, then switches the strategy; the next deploy uses it\n",
            plan.service.wanted.deployment.strategy
        ));
    }
    // Said where it is not the repository's own flag, which plan lines already show.
    if plan.repository.scanning != "on push, by the repository's own setting" {
        out.push_str(&format!(
            "image scanning: {}\n",
            if plan.repository.scanning == "not scanned on push" {
                "images are not scanned on push (repository.scan_on_push is off and no registry rule covers the repository)".to_string()
            } else {
                format!("images are scanned {}", plan.repository.scanning)
            }
        ));
    }
    for image in &plan.sidecar_images {
        if let Some(warning) = image.warning() {
            out.push_str(&format!("warning: {warning}\n"));
        }
    }
    if !plan.hooks.is_empty() {
        out.push_str(
            "before-deploy hooks: ECS RunTask, after the task definition is registered and before the service is updated\n",
        );
        for hook in &plan.hooks {
            out.push_str(&format!("  {}\n", hook.shown()));
        }
    }
    out.push_str(&removals(plan));
    out
}

/// A guarded removal as plan and deploy's refusal name it: the resource, then the change.
pub fn removal_line(c: &Change) -> String {
    format!("{} {}: {}", c.resource.label(), c.name, change_line(c))
}

/// The guarded removals under their own heading (empty when there are none).
pub fn removals(plan: &Plan) -> String {
    let removals = plan.guarded_removals();
    if removals.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "{} removal{} that deploy.yaml does not ask for (the running revision or service holds {} and deploy.yaml does not name {}): deploy stops before any change unless --allow-removals is given\n",
        removals.len(),
        if removals.len() == 1 { "" } else { "s" },
        if removals.len() == 1 { "it" } else { "them" },
        if removals.len() == 1 { "it" } else { "them" },
    );
    for c in removals {
        out.push_str(&format!(
            "  {} ({})\n",
            removal_line(c),
            c.operation.label()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Resource;

    fn change(current: Option<&str>, wanted: Option<&str>, secret: bool) -> Change {
        Change {
            resource: Resource::Service,
            name: "web".into(),
            field: "f".into(),
            current: current.map(Into::into),
            wanted: wanted.map(Into::into),
            secret,
            operation: Operation::UpdateService,
            argument: "a",
            guarded: false,
        }
    }

    #[test]
    fn lines_say_added_changed_removed() {
        assert_eq!(change_line(&change(None, Some("1"), false)), "+ f: 1");
        assert_eq!(
            change_line(&change(Some("1"), Some("2"), false)),
            "~ f: 1 -> 2"
        );
        assert_eq!(change_line(&change(Some("1"), None, false)), "- f: 1");
        assert_eq!(
            change_line(&change(Some("(secret)"), Some("(secret)"), true)),
            "~ f: (secret) changed"
        );
    }
}
