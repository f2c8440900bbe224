//! Application Auto Scaling calls for the service's task count: read the scalable target and
//! shipit's policies (for the plan and status), apply the plan's changes, and list recent
//! scaling activities.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use serde::Serialize;

use crate::aws::error_chain;
use crate::plan::autoscaling::{AutoscalingPlan, PolicyDef, ScalingSettings};

fn dimension() -> ScalableDimension {
    ScalableDimension::EcsServiceDesiredCount
}

/// The tag shipit puts on the scalable target it registers (value: the resource id,
/// `service/CLUSTER/SERVICE`), so that the policy `shipit iam-policy` prints lets it change
/// this service's target and no other (Application Auto Scaling's scalable-target ARNs carry
/// an opaque id; tags are how its documentation scopes access, "ABAC with Application Auto
/// Scaling").
pub const SERVICE_TAG: &str = "shipit:service";

/// The service's scalable target with shipit's policies, or None when none is registered.
pub async fn read(client: &Client, resource_id: &str) -> anyhow::Result<Option<ScalingSettings>> {
    let targets = client
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(resource_id)
        .scalable_dimension(dimension())
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "Application Auto Scaling DescribeScalableTargets failed: {}",
                error_chain(&e)
            )
        })?;
    let Some(target) = targets
        .scalable_targets()
        .iter()
        .find(|t| t.resource_id() == resource_id)
    else {
        return Ok(None);
    };
    let policies = client
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(resource_id)
        .scalable_dimension(dimension())
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "Application Auto Scaling DescribeScalingPolicies failed: {}",
                error_chain(&e)
            )
        })?;
    Ok(Some(ScalingSettings::from_aws(
        target,
        policies.scaling_policies(),
    )))
}

/// Applies the autoscaling changes: after the service exists (a target needs it).
pub async fn apply(client: &Client, plan: &AutoscalingPlan) -> anyhow::Result<()> {
    let id = plan.resource_id.as_str();
    let failed = |what: &str, e: String| {
        anyhow::anyhow!("Application Auto Scaling {what} on {id} failed: {e}")
    };
    if plan.deregisters() {
        client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(dimension())
            .send()
            .await
            .map_err(|e| failed("DeregisterScalableTarget", error_chain(&e)))?;
        return Ok(());
    }
    let Some(wanted) = &plan.wanted else {
        return Ok(());
    };
    if plan.registers() {
        client
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(dimension())
            .min_capacity(wanted.min)
            .max_capacity(wanted.max)
            // Tagged when it is made (an update leaves tags as they are).
            .set_tags(
                plan.current
                    .is_none()
                    .then(|| [(SERVICE_TAG.to_string(), id.to_string())].into()),
            )
            .send()
            .await
            .map_err(|e| failed("RegisterScalableTarget", error_chain(&e)))?;
    }
    for name in plan.dropped_policies() {
        client
            .delete_scaling_policy()
            .policy_name(&name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(dimension())
            .send()
            .await
            .map_err(|e| failed("DeleteScalingPolicy", error_chain(&e)))?;
    }
    for (name, policy) in plan.policies_to_put() {
        client
            .put_scaling_policy()
            .policy_name(name)
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(dimension())
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(target_tracking(policy)?)
            .send()
            .await
            .map_err(|e| failed("PutScalingPolicy", error_chain(&e)))?;
    }
    Ok(())
}

fn target_tracking(policy: &PolicyDef) -> anyhow::Result<TargetTrackingScalingPolicyConfiguration> {
    Ok(TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(policy.target as f64)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(policy.metric.as_str()))
                .set_resource_label(policy.resource_label.clone())
                .build()?,
        )
        .scale_in_cooldown(policy.scale_in_cooldown)
        .scale_out_cooldown(policy.scale_out_cooldown)
        .build()?)
}

/// One scaling activity, as status shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activity {
    pub started_at: Option<f64>,
    /// Successful, InProgress, Failed, ...
    pub status: String,
    pub description: String,
    pub cause: String,
}

/// The newest scaling activities of the service (at most `n`).
pub async fn activities(
    client: &Client,
    resource_id: &str,
    n: i32,
) -> anyhow::Result<Vec<Activity>> {
    let out = client
        .describe_scaling_activities()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(resource_id)
        .scalable_dimension(dimension())
        .max_results(n)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "Application Auto Scaling DescribeScalingActivities failed: {}",
                error_chain(&e)
            )
        })?;
    Ok(out
        .scaling_activities()
        .iter()
        .map(|a| Activity {
            started_at: Some(a.start_time().as_secs_f64()),
            status: a.status_code().as_str().to_string(),
            description: a.description().to_string(),
            cause: a.cause().to_string(),
        })
        .collect())
}
