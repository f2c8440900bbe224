//! The roll-back phase: applies a [`RollbackPlan`], for `shipit rollback` and for deploy's own
//! rollback after a rollout shipit judged failed.

use anyhow::Context;

use crate::aws::calls::Clients;
use crate::aws::error::AwsError;
use crate::ecs;
use crate::plan::rollback::RollbackPlan;

/// What the rollback's call started: for a revision, the deployment to watch.
#[derive(Debug, Clone, Default)]
pub struct RollbackStarted {
    pub deployment_id: Option<String>,
    pub service_deployment_arn: Option<String>,
}

pub async fn apply(clients: &Clients, plan: &RollbackPlan) -> anyhow::Result<RollbackStarted> {
    match plan {
        RollbackPlan::StopDeployment {
            service_deployment_arn,
            ..
        } => {
            clients
                .ecs
                .stop_service_deployment()
                .service_deployment_arn(service_deployment_arn)
                .stop_type(aws_sdk_ecs::types::StopServiceDeploymentStopType::Rollback)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ECS", "StopServiceDeployment", &e))?;
            Ok(RollbackStarted::default())
        }
        RollbackPlan::Revision {
            cluster,
            service,
            to,
            ..
        } => {
            let out = clients
                .ecs
                .update_service()
                .cluster(cluster)
                .service(service)
                .task_definition(to)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ECS", "UpdateService", &e))?;
            Ok(RollbackStarted {
                deployment_id: Some(
                    out.service()
                        .and_then(ecs::primary_deployment_id)
                        .context("UpdateService answered without a PRIMARY deployment")?,
                ),
                service_deployment_arn: out.service().and_then(ecs::current_service_deployment),
            })
        }
    }
}

/// After a rollback to a revision rolled out: the record swaps, so that the next rollback goes
/// back again.
pub async fn record(
    clients: &Clients,
    service_arn: &str,
    plan: &RollbackPlan,
) -> anyhow::Result<()> {
    if let RollbackPlan::Revision { from, to, .. } = plan {
        super::service::record_deploy(&clients.ecs, service_arn, to, Some(from)).await?;
    }
    Ok(())
}
