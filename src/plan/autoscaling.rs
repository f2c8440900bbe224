//! Application Auto Scaling for the service: the scalable target (the task count's range) and
//! one target-tracking policy per metric the config names, rendered, read back and compared
//! field by field like every other resource.
//!
//! shipit's policies are named `shipit-cpu`, `shipit-memory` and `shipit-requests`; policies
//! with other names are someone else's and left alone. A scalable target that carries one of
//! shipit's policies is shipit's: when the config drops `autoscaling`, it is deregistered. A
//! target without them (registered by other tooling) is left alone, and deploy never writes
//! the desired count while any target exists: someone else owns it.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Change, Field, Operation, Resource, diff};
use crate::config::DeployConfig;
use crate::config::model::{AutoscalingConfig, parse_seconds};

/// ECS's one scalable dimension.
pub const DIMENSION: &str = "ecs:service:DesiredCount";
const POLICY_PREFIX: &str = "shipit-";

/// The resource id Application Auto Scaling names a service by.
pub fn resource_id(cluster: &str, service: &str) -> String {
    format!("service/{cluster}/{service}")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScalingSettings {
    pub min: i32,
    pub max: i32,
    /// shipit's policies, by name.
    pub policies: BTreeMap<String, PolicyDef>,
}

/// One target-tracking policy on a predefined metric.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDef {
    /// ECSServiceAverageCPUUtilization, ECSServiceAverageMemoryUtilization or
    /// ALBRequestCountPerTarget.
    pub metric: String,
    /// For ALBRequestCountPerTarget: `app/LB/ID/targetgroup/TG/ID`.
    pub resource_label: Option<String>,
    pub target: i64,
    pub scale_in_cooldown: i32,
    pub scale_out_cooldown: i32,
}

impl PolicyDef {
    pub fn shown(&self) -> String {
        format!(
            "{} target {}{}, cooldown in {}s out {}s",
            self.metric,
            self.target,
            self.resource_label
                .as_deref()
                .map(|l| format!(" on {l}"))
                .unwrap_or_default(),
            self.scale_in_cooldown,
            self.scale_out_cooldown
        )
    }
}

/// A cooldown in seconds (validated: 0-24h), or the default.
fn cooldown(text: Option<&str>) -> i32 {
    text.and_then(parse_seconds)
        .unwrap_or(AutoscalingConfig::DEFAULT_COOLDOWN) as i32
}

/// `arn:...:loadbalancer/app/NAME/ID` and `arn:...:targetgroup/NAME/ID` ->
/// `app/NAME/ID/targetgroup/NAME/ID`, the label ALBRequestCountPerTarget takes.
pub fn request_count_label(load_balancer_arn: &str, target_group_arn: &str) -> Option<String> {
    let lb = load_balancer_arn.split_once(":loadbalancer/")?.1;
    let tg = &target_group_arn[target_group_arn.find(":targetgroup/")? + 1..];
    Some(format!("{lb}/{tg}"))
}

impl ScalingSettings {
    pub fn render(config: &DeployConfig) -> Option<ScalingSettings> {
        let a = config.service.autoscaling.as_ref()?;
        let policy = |metric: &str, target: i64, resource_label: Option<String>| PolicyDef {
            metric: metric.to_string(),
            resource_label,
            target,
            scale_in_cooldown: cooldown(a.scale_in_cooldown.as_deref()),
            scale_out_cooldown: cooldown(a.scale_out_cooldown.as_deref()),
        };
        let mut policies = BTreeMap::new();
        if let Some(cpu) = a.cpu {
            policies.insert(
                format!("{POLICY_PREFIX}cpu"),
                policy("ECSServiceAverageCPUUtilization", cpu, None),
            );
        }
        if let Some(memory) = a.memory {
            policies.insert(
                format!("{POLICY_PREFIX}memory"),
                policy("ECSServiceAverageMemoryUtilization", memory, None),
            );
        }
        if let Some(requests) = a.requests_per_target {
            let label = config.service.load_balancer.as_ref().and_then(|lb| {
                request_count_label(lb.load_balancer_arn.as_deref()?, &lb.target_group_arn)
            });
            policies.insert(
                format!("{POLICY_PREFIX}requests"),
                policy("ALBRequestCountPerTarget", requests, label),
            );
        }
        Some(ScalingSettings {
            min: a.min as i32,
            max: a.max as i32,
            policies,
        })
    }

    /// What Application Auto Scaling holds: the target, and shipit's policies on it.
    pub fn from_aws(
        target: &aws_sdk_applicationautoscaling::types::ScalableTarget,
        policies: &[aws_sdk_applicationautoscaling::types::ScalingPolicy],
    ) -> ScalingSettings {
        let policies = policies
            .iter()
            .filter(|p| p.policy_name().starts_with(POLICY_PREFIX))
            .filter_map(|p| {
                let config = p.target_tracking_scaling_policy_configuration()?;
                let metric = config.predefined_metric_specification()?;
                Some((
                    p.policy_name().to_string(),
                    PolicyDef {
                        metric: metric.predefined_metric_type().as_str().to_string(),
                        resource_label: metric.resource_label().map(str::to_string),
                        target: config.target_value().round() as i64,
                        scale_in_cooldown: config.scale_in_cooldown().unwrap_or(0),
                        scale_out_cooldown: config.scale_out_cooldown().unwrap_or(0),
                    },
                ))
            })
            .collect();
        ScalingSettings {
            min: target.min_capacity(),
            max: target.max_capacity(),
            policies,
        }
    }

    fn target_fields(&self) -> Vec<Field> {
        vec![
            Field::new("autoscaling.min", self.min, "MinCapacity"),
            Field::new("autoscaling.max", self.max, "MaxCapacity"),
        ]
    }

    fn policy_fields(&self) -> Vec<Field> {
        self.policies
            .iter()
            .map(|(name, p)| {
                Field::new(
                    format!("autoscaling.policies.{name}"),
                    p.shown(),
                    "TargetTrackingScalingPolicyConfiguration",
                )
            })
            .collect()
    }
}

/// The autoscaling part of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct AutoscalingPlan {
    pub resource_id: String,
    /// Who sets the desired count: `shipit` (no scalable target), `autoscaling` (shipit's
    /// target, or the one this deploy registers) or `other` (a target registered elsewhere).
    pub desired_count_owner: &'static str,
    #[serde(skip)]
    pub wanted: Option<ScalingSettings>,
    pub current: Option<ScalingSettings>,
    pub changes: Vec<Change>,
}

impl AutoscalingPlan {
    /// `current`: the service's scalable target, when one is registered, with shipit's
    /// policies on it (none: another tool registered it).
    pub fn new(
        resource_id: String,
        wanted: Option<ScalingSettings>,
        current: Option<ScalingSettings>,
    ) -> AutoscalingPlan {
        let shipits = current.as_ref().is_some_and(|c| !c.policies.is_empty());
        let mut changes = Vec::new();
        match (&wanted, &current) {
            (Some(w), c) => {
                let current_target = c.as_ref().map(ScalingSettings::target_fields);
                changes.extend(diff(
                    Resource::Autoscaling,
                    &resource_id,
                    Operation::RegisterScalableTarget,
                    &current_target.unwrap_or_default(),
                    &w.target_fields(),
                ));
                let current_policies = c
                    .as_ref()
                    .map(ScalingSettings::policy_fields)
                    .unwrap_or_default();
                let wanted_policies = w.policy_fields();
                for change in diff(
                    Resource::Autoscaling,
                    &resource_id,
                    Operation::PutScalingPolicy,
                    &current_policies,
                    &wanted_policies,
                ) {
                    let removal = change.wanted.is_none();
                    changes.push(Change {
                        operation: if removal {
                            Operation::DeleteScalingPolicy
                        } else {
                            Operation::PutScalingPolicy
                        },
                        ..change
                    });
                }
            }
            // Dropped from the config: shipit's own target goes (with its policies).
            (None, Some(c)) if shipits => {
                let mut fields = c.target_fields();
                fields.extend(c.policy_fields());
                changes.extend(diff(
                    Resource::Autoscaling,
                    &resource_id,
                    Operation::DeregisterScalableTarget,
                    &fields,
                    &[],
                ));
            }
            _ => {}
        }
        let desired_count_owner = match (&wanted, &current) {
            (Some(_), _) => "autoscaling",
            (None, Some(_)) if shipits => "shipit",
            (None, Some(_)) => "other",
            (None, None) => "shipit",
        };
        AutoscalingPlan {
            resource_id,
            desired_count_owner,
            wanted,
            current,
            changes,
        }
    }

    /// Deploy leaves the service's desired count alone.
    pub fn owns_desired_count(&self) -> bool {
        self.desired_count_owner != "shipit"
    }

    /// The policies the config dropped (deleted by name).
    pub fn dropped_policies(&self) -> Vec<String> {
        self.changes
            .iter()
            .filter(|c| c.operation == Operation::DeleteScalingPolicy)
            .filter_map(|c| c.field.strip_prefix("autoscaling.policies."))
            .map(str::to_string)
            .collect()
    }

    pub fn registers(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.operation == Operation::RegisterScalableTarget)
    }

    /// The policies to put: new or changed.
    pub fn policies_to_put(&self) -> Vec<(&String, &PolicyDef)> {
        let Some(wanted) = &self.wanted else {
            return Vec::new();
        };
        wanted
            .policies
            .iter()
            .filter(|(name, _)| {
                self.changes.iter().any(|c| {
                    c.operation == Operation::PutScalingPolicy
                        && c.field == format!("autoscaling.policies.{name}")
                })
            })
            .collect()
    }

    pub fn deregisters(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.operation == Operation::DeregisterScalableTarget)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn settings(extra: &str) -> Option<ScalingSettings> {
        let text = format!(
            "app: demo\nimage: {{ source: 'docker://demo:1', tag: v1 }}\nservice:\n  subnets: [subnet-0123456789abcdef0]\n{extra}task: {{ execution_role: 'arn:aws:iam::123456789012:role/exec' }}\n"
        );
        let l = config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        ScalingSettings::render(&l.config)
    }

    fn fields(plan: &AutoscalingPlan) -> Vec<(Operation, &str)> {
        plan.changes
            .iter()
            .map(|c| (c.operation, c.field.as_str()))
            .collect()
    }

    #[test]
    fn set_changed_and_removed_are_planned_with_their_calls() {
        let id = resource_id("c", "s");
        let first = settings("  autoscaling: { min: 1, max: 4, cpu: 60 }\n");
        let p = AutoscalingPlan::new(id.clone(), first.clone(), None);
        assert_eq!(
            fields(&p),
            vec![
                (Operation::RegisterScalableTarget, "autoscaling.min"),
                (Operation::RegisterScalableTarget, "autoscaling.max"),
                (
                    Operation::PutScalingPolicy,
                    "autoscaling.policies.shipit-cpu"
                ),
            ]
        );
        assert_eq!(p.desired_count_owner, "autoscaling");
        // Applied as rendered: clean.
        assert!(
            AutoscalingPlan::new(id.clone(), first.clone(), first.clone())
                .changes
                .is_empty()
        );

        let second =
            settings("  autoscaling: { min: 1, max: 6, memory: 70, scale_in_cooldown: 10m }\n");
        let p = AutoscalingPlan::new(id.clone(), second, first.clone());
        assert_eq!(
            fields(&p),
            vec![
                (Operation::RegisterScalableTarget, "autoscaling.max"),
                (
                    Operation::PutScalingPolicy,
                    "autoscaling.policies.shipit-memory"
                ),
                (
                    Operation::DeleteScalingPolicy,
                    "autoscaling.policies.shipit-cpu"
                ),
            ]
        );
        assert_eq!(p.dropped_policies(), vec!["shipit-cpu".to_string()]);
        assert_eq!(p.policies_to_put()[0].1.scale_in_cooldown, 600);

        let p = AutoscalingPlan::new(id.clone(), None, first);
        assert!(p.deregisters());
        assert_eq!(p.desired_count_owner, "shipit");
    }

    /// A target registered by other tooling (no shipit policy) is never deregistered, and
    /// deploy leaves the count to it.
    #[test]
    fn a_target_registered_elsewhere_is_left_alone_and_owns_the_count() {
        let foreign = ScalingSettings {
            min: 2,
            max: 8,
            policies: BTreeMap::new(),
        };
        let p = AutoscalingPlan::new(resource_id("c", "s"), None, Some(foreign));
        assert!(p.changes.is_empty());
        assert_eq!(p.desired_count_owner, "other");
        assert!(p.owns_desired_count());
    }

    #[test]
    fn request_count_label_joins_the_load_balancer_and_target_group() {
        assert_eq!(
            request_count_label(
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188",
                "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api/943f017f100becff"
            )
            .as_deref(),
            Some("app/web/50dc6c495c0c9188/targetgroup/api/943f017f100becff")
        );
    }
}
