//! Application Auto Scaling reads for the service's task count: the scalable target and
//! shipit's policies (for the plan and status), and recent scaling activities. The plan's
//! changes are applied by `apply::autoscaling`.

use aws_sdk_applicationautoscaling::Client;
use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use serde::Serialize;

use crate::aws::error::AwsError;
use crate::plan::autoscaling::ScalingSettings;

/// The one dimension shipit scales: the service's desired count.
pub fn dimension() -> ScalableDimension {
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
            AwsError::from_sdk("Application Auto Scaling", "DescribeScalableTargets", &e)
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
            AwsError::from_sdk("Application Auto Scaling", "DescribeScalingPolicies", &e)
        })?;
    Ok(Some(ScalingSettings::from_aws(
        target,
        policies.scaling_policies(),
    )))
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
            AwsError::from_sdk("Application Auto Scaling", "DescribeScalingActivities", &e)
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
