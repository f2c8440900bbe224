//! The executor: the only code that writes to AWS. It applies a [`Plan`](crate::plan::Plan)
//! and nothing else; every call made here is one the plan listed (`Plan::writes`), with exactly
//! the parameters its changes name. Its phases, in the order a deploy runs them:
//!
//! | phase | module | calls |
//! |---|---|---|
//! | prepare | `repository`, here | the ECR repository's settings; the cluster, the log group |
//! | hooks | `tasks` | one-off tasks of the new revision (RunTask, StopTask) |
//! | roll out | `service`, `autoscaling` | the task definition, the service, its scaling |
//! | record | `service` | the tags on the service that say where a rollback goes |
//! | roll back | `rollback` | a [`RollbackPlan`](crate::plan::rollback::RollbackPlan) |

pub mod autoscaling;
pub mod repository;
pub mod rollback;
pub mod service;
pub mod tasks;

use anyhow::Context;

use crate::aws::calls::Clients;
use crate::aws::error::AwsError;
use crate::ecs;
use crate::plan::{ClusterPlan, LogGroupPlan};
pub use service::{ServiceApplied, record, service, switch_strategy, task_definition};

/// Creates the cluster when the plan says so.
pub async fn cluster(clients: &Clients, plan: &ClusterPlan) -> anyhow::Result<()> {
    if plan.create {
        create_cluster(&clients.ecs, &plan.name).await?;
    }
    Ok(())
}

/// Creates the log group and sets its retention when the plan says so.
pub async fn log_group(clients: &Clients, plan: &LogGroupPlan) -> anyhow::Result<()> {
    let client = &clients.logs;
    let name = &plan.name;
    if plan.create {
        match client.create_log_group().log_group_name(name).send().await {
            Ok(_) => {}
            // Created by a concurrent run: fine.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(err) => {
                return Err(AwsError::from_sdk("CloudWatch", "CreateLogGroup", &err)
                    .on(name)
                    .into());
            }
        }
    }
    if plan.sets_retention()
        && let Some(days) = plan.retention_days
    {
        client
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("CloudWatch", "PutRetentionPolicy", &e))?;
    }
    Ok(())
}

/// Creates the cluster with the Fargate capacity providers. In an account that never had a
/// cluster, ECS creates its service-linked role on the first call and may refuse that call
/// with "Unable to assume the service linked role": it is tried again, a few times.
async fn create_cluster(client: &aws_sdk_ecs::Client, name: &str) -> anyhow::Result<()> {
    use aws_sdk_ecs::types::CapacityProviderStrategyItem;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let sent = client
            .create_cluster()
            .cluster_name(name)
            .capacity_providers("FARGATE")
            .capacity_providers("FARGATE_SPOT")
            .default_capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider("FARGATE")
                    .weight(1)
                    .build()
                    .context("capacity provider strategy")?,
            )
            .tags(ecs::managed_by_shipit())
            .send()
            .await;
        match sent {
            Ok(_) => return Ok(()),
            Err(err)
                if attempt < 4
                    && service_linked_role_pending(
                        &AwsError::from_sdk("ECS", "CreateCluster", &err).message,
                    ) =>
            {
                tracing::info!(
                    "ECS is creating its service-linked role; trying CreateCluster again"
                );
                tokio::time::sleep(std::time::Duration::from_secs(2u64.pow(attempt))).await;
            }
            Err(err) => {
                return Err(AwsError::from_sdk("ECS", "CreateCluster", &err)
                    .on(name)
                    .into());
            }
        }
    }
}

/// ECS's answer while it creates its service-linked role in a new account.
fn service_linked_role_pending(message: &str) -> bool {
    message
        .to_ascii_lowercase()
        .contains("unable to assume the service linked role")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_linked_role_answer_is_recognised() {
        assert!(service_linked_role_pending(
            "InvalidParameterException: Unable to assume the service linked role. Please verify that the ECS service linked role exists."
        ));
        assert!(!service_linked_role_pending(
            "AccessDeniedException: not authorized"
        ));
    }
}
