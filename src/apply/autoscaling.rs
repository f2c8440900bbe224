//! The roll-out phase, scaling part: the service's scalable target and shipit's target
//! tracking policies, after the service exists (a target needs it).

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};

use crate::autoscaling::{SERVICE_TAG, dimension};
use crate::aws::error::AwsError;
use crate::plan::autoscaling::{AutoscalingPlan, PolicyDef};

/// Applies the autoscaling changes: after the service exists (a target needs it).
pub async fn apply(client: &Client, plan: &AutoscalingPlan) -> anyhow::Result<()> {
    let id = plan.resource_id.as_str();
    if plan.deregisters() {
        client
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(id)
            .scalable_dimension(dimension())
            .send()
            .await
            .map_err(|e| {
                AwsError::from_sdk("Application Auto Scaling", "DeregisterScalableTarget", &e)
                    .on(id)
            })?;
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
            .map_err(|e| {
                AwsError::from_sdk("Application Auto Scaling", "RegisterScalableTarget", &e).on(id)
            })?;
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
            .map_err(|e| {
                AwsError::from_sdk("Application Auto Scaling", "DeleteScalingPolicy", &e).on(id)
            })?;
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
            .map_err(|e| {
                AwsError::from_sdk("Application Auto Scaling", "PutScalingPolicy", &e).on(id)
            })?;
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
