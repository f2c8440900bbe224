//! The ECS calls deploy, plan and rollback need, typed, with "not found" recognised.

use std::collections::BTreeMap;

use anyhow::Context;
use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Service, TaskDefinition};

use crate::aws::error::AwsError;
use crate::rollout::{
    ContainerView, DeploymentView, EventView, ServiceDeploymentView, Snapshot, TaskView,
};

/// Whether the cluster exists and is ACTIVE.
pub async fn cluster_active(client: &Client, name: &str) -> anyhow::Result<bool> {
    Ok(active_cluster_capacity_providers(client, name)
        .await?
        .is_some())
}

/// The capacity providers associated with the cluster, when it exists and is ACTIVE.
pub async fn active_cluster_capacity_providers(
    client: &Client,
    name: &str,
) -> anyhow::Result<Option<Vec<String>>> {
    let found = client
        .describe_clusters()
        .clusters(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "DescribeClusters", &e).on(name))?;
    Ok(found
        .clusters()
        .iter()
        .find(|c| c.status() == Some("ACTIVE"))
        .map(|c| c.capacity_providers().to_vec()))
}

/// A tag shipit writes itself (`managed-by`), never one of the config's.
pub fn is_shipit_tag(key: &str) -> bool {
    key == crate::config::model::MANAGED_BY_TAG
}

/// The tag on everything shipit creates in ECS.
pub fn managed_by_shipit() -> aws_sdk_ecs::types::Tag {
    aws_sdk_ecs::types::Tag::builder()
        .key("managed-by")
        .value("shipit")
        .build()
}

/// The image of the container named `container` in a task definition, if it has one.
pub fn container_image<'a>(
    task_definition: &'a TaskDefinition,
    container: &str,
) -> Option<&'a str> {
    task_definition
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container))
        .and_then(|c| c.image())
}

/// A task definition by ARN, or the family's latest ACTIVE revision when given a family name;
/// None when there is none.
pub async fn describe_task_definition(
    client: &Client,
    family: &str,
) -> anyhow::Result<Option<TaskDefinition>> {
    Ok(revision(client, family, false).await?.map(|(td, _)| td))
}

/// The family's latest ACTIVE revision and whether shipit registered it (it carries the
/// `managed-by: shipit` tag), for the plan.
pub async fn latest_revision(
    client: &Client,
    family: &str,
) -> anyhow::Result<Option<(TaskDefinition, BTreeMap<String, String>)>> {
    revision(client, family, true).await
}

/// A revision (`family:revision` or its ARN) and its tags.
pub async fn revision_with_tags(
    client: &Client,
    reference: &str,
) -> anyhow::Result<Option<(TaskDefinition, BTreeMap<String, String>)>> {
    revision(client, reference, true).await
}

/// Whether shipit registered a revision, by the tags DescribeTaskDefinition gave.
pub fn registered_by_shipit(tags: &BTreeMap<String, String>) -> bool {
    tags.get("managed-by").map(String::as_str) == Some("shipit")
}

async fn revision(
    client: &Client,
    family: &str,
    with_tags: bool,
) -> anyhow::Result<Option<(TaskDefinition, BTreeMap<String, String>)>> {
    match client
        .describe_task_definition()
        .task_definition(family)
        .set_include(with_tags.then(|| vec![aws_sdk_ecs::types::TaskDefinitionField::Tags]))
        .send()
        .await
    {
        Ok(out) => {
            let tags = out
                .tags()
                .iter()
                .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                .collect();
            Ok(out.task_definition().cloned().map(|td| (td, tags)))
        }
        // ECS answers ClientException "Unable to describe task definition" for an unknown family.
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_client_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(AwsError::from_sdk("ECS", "DescribeTaskDefinition", &err)
            .on(family)
            .into()),
    }
}

/// The service when it exists and is not deleted.
pub async fn describe_service(
    client: &Client,
    cluster: &str,
    name: &str,
) -> anyhow::Result<Option<Service>> {
    let out = match client
        .describe_services()
        .cluster(cluster)
        .services(name)
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_cluster_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(err) => {
            return Err(AwsError::from_sdk("ECS", "DescribeServices", &err)
                .on(name)
                .into());
        }
    };
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() == Some("ACTIVE"))
        .cloned())
}

/// The id of the deployment ECS is moving the service to (the PRIMARY one).
pub fn primary_deployment_id(service: &Service) -> Option<String> {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .and_then(|d| d.id())
        .map(str::to_string)
}

/// The service deployment ECS started last (`currentServiceDeployment`), where it names one.
pub fn current_service_deployment(service: &Service) -> Option<String> {
    service
        .current_service_deployment()
        .filter(|arn| !arn.is_empty())
        .map(str::to_string)
}

/// `family:revision` from a task definition ARN, for people.
pub fn short_task_definition(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn epoch(t: Option<&aws_sdk_ecs::primitives::DateTime>) -> Option<f64> {
    t.map(|t| t.as_secs_f64())
}

/// The service's deployments, as the rollout watcher reads them.
pub fn deployments_of(service: &Service) -> Vec<DeploymentView> {
    service
        .deployments()
        .iter()
        .map(|d| DeploymentView {
            id: d.id().unwrap_or_default().to_string(),
            status: d.status().unwrap_or_default().to_string(),
            task_definition: d.task_definition().unwrap_or_default().to_string(),
            desired: d.desired_count(),
            running: d.running_count(),
            pending: d.pending_count(),
            failed_tasks: d.failed_tasks(),
            rollout_state: d.rollout_state().map(|r| r.as_str().to_string()),
            rollout_state_reason: d.rollout_state_reason().map(str::to_string),
            created_at: epoch(d.created_at()),
            updated_at: epoch(d.updated_at()),
        })
        .collect()
}

/// What the rollout watcher looks at: the service, its deployments and events, and the tasks
/// (running and recently stopped) of the service.
pub async fn snapshot(
    client: &Client,
    cluster: &str,
    service_name: &str,
    since: f64,
) -> anyhow::Result<Snapshot> {
    let out = client
        .describe_services()
        .cluster(cluster)
        .services(service_name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "DescribeServices", &e))?;
    let service = out.services().first().with_context(|| {
        format!("service `{service_name}` disappeared from cluster `{cluster}`")
    })?;

    let mut arns = Vec::new();
    for status in [
        aws_sdk_ecs::types::DesiredStatus::Running,
        aws_sdk_ecs::types::DesiredStatus::Stopped,
    ] {
        let listed = client
            .list_tasks()
            .cluster(cluster)
            .service_name(service_name)
            .desired_status(status)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ECS", "ListTasks", &e))?;
        arns.extend(listed.task_arns().iter().cloned());
    }
    let mut tasks = Vec::new();
    // DescribeTasks takes at most 100 tasks a call.
    for chunk in arns.chunks(100) {
        let described = client
            .describe_tasks()
            .cluster(cluster)
            .set_tasks(Some(chunk.to_vec()))
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ECS", "DescribeTasks", &e))?;
        tasks.extend(described.tasks().iter().cloned());
    }
    Ok(snapshot_of(service, &tasks, since))
}

/// The watch's view of a service and its tasks (running, and stopped since `since`).
pub fn snapshot_of(service: &Service, tasks: &[aws_sdk_ecs::types::Task], since: f64) -> Snapshot {
    let deployments = deployments_of(service);
    let events = service
        .events()
        .iter()
        .filter(|e| epoch(e.created_at()).is_none_or(|t| t >= since - 1.0))
        .map(|e| EventView {
            id: e.id().unwrap_or_default().to_string(),
            message: e.message().unwrap_or_default().to_string(),
            created_at: epoch(e.created_at()),
        })
        .collect();
    let tasks = tasks
        .iter()
        // Stopped before this watch began: an earlier deployment's business.
        .filter(|t| !epoch(t.stopped_at()).is_some_and(|s| s < since - 1.0))
        .map(task_view)
        .collect();
    Snapshot {
        desired: service.desired_count(),
        running: service.running_count(),
        pending: service.pending_count(),
        deployments,
        tasks,
        events,
        service_deployment: None,
    }
}

/// Why the service-deployment API gave no answer this time.
#[derive(Debug)]
pub enum ServiceDeploymentUnread {
    /// Denied, unknown or empty (the local stack, an older partition, a policy without
    /// ecs:DescribeServiceDeployments): judge from DescribeServices from now on.
    Unavailable(String),
    /// Throttled or unreachable this once: judge this poll from DescribeServices alone.
    Transient(String),
}

/// The service deployment `arn` as ECS describes it (DescribeServiceDeployments).
pub async fn service_deployment(
    client: &Client,
    arn: &str,
) -> Result<ServiceDeploymentView, ServiceDeploymentUnread> {
    let out = match client
        .describe_service_deployments()
        .service_deployment_arns(arn)
        .send()
        .await
    {
        Ok(out) => out,
        Err(err) => {
            let typed = AwsError::from_sdk("ECS", "DescribeServiceDeployments", &err);
            return Err(if typed.is_transient() {
                ServiceDeploymentUnread::Transient(typed.message)
            } else {
                ServiceDeploymentUnread::Unavailable(typed.message)
            });
        }
    };
    let Some(sd) = out
        .service_deployments()
        .iter()
        .find(|sd| sd.service_deployment_arn() == Some(arn))
    else {
        let why = out
            .failures()
            .first()
            .and_then(|f| f.reason())
            .unwrap_or("it answered with no service deployment");
        return Err(ServiceDeploymentUnread::Unavailable(why.to_string()));
    };
    let breaker = sd.deployment_circuit_breaker();
    Ok(ServiceDeploymentView {
        arn: arn.to_string(),
        status: sd
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        status_reason: sd.status_reason().map(str::to_string),
        lifecycle_stage: sd.lifecycle_stage().map(|s| s.as_str().to_string()),
        rollback_reason: sd.rollback().and_then(|r| r.reason()).map(str::to_string),
        breaker_failures: breaker.map(|b| b.failure_count()),
        breaker_threshold: breaker.map(|b| b.threshold()),
        strategy: sd
            .deployment_configuration()
            .and_then(|d| d.strategy())
            .map(|s| s.as_str().to_string()),
        production_traffic: sd
            .target_service_revision()
            .and_then(|r| r.requested_production_traffic_weight()),
        test_traffic: sd
            .target_service_revision()
            .and_then(|r| r.requested_test_traffic_weight()),
        hooks: sd
            .lifecycle_hook_details()
            .iter()
            .map(|h| crate::rollout::HookView {
                target_type: h
                    .target_type()
                    .map_or("AWS_LAMBDA", |t| t.as_str())
                    .to_string(),
                target_arn: h.target_arn().map(str::to_string),
                status: h
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                hook_id: h.hook_id().map(str::to_string),
                expires_at: h.expires_at().map(|t| t.secs()),
                timeout_action: h.timeout_action().map(|a| a.as_str().to_string()),
            })
            .collect(),
    })
}

/// What the watch and `shipit run` read of a task.
pub fn task_view(t: &aws_sdk_ecs::types::Task) -> TaskView {
    TaskView {
        arn: t.task_arn().unwrap_or_default().to_string(),
        task_definition: t.task_definition_arn().unwrap_or_default().to_string(),
        deployment_id: t
            .started_by()
            .filter(|s| s.starts_with("ecs-svc/"))
            .map(str::to_string),
        last_status: t.last_status().unwrap_or_default().to_string(),
        health_status: t.health_status().map(|h| h.as_str().to_string()),
        stopped_reason: t.stopped_reason().map(str::to_string),
        stop_code: t.stop_code().map(|c| c.as_str().to_string()),
        stopped_at: epoch(t.stopped_at()),
        created_at: epoch(t.created_at()),
        started_at: epoch(t.started_at()),
        containers: t
            .containers()
            .iter()
            .map(|c| ContainerView {
                name: c.name().unwrap_or_default().to_string(),
                exit_code: c.exit_code(),
                reason: c.reason().map(str::to_string),
                health_status: c.health_status().map(|h| h.as_str().to_string()),
            })
            .collect(),
    }
}

/// Tags shipit keeps on the service to know where a rollback goes.
pub const TAG_PREVIOUS: &str = "shipit:previous-task-definition";
pub const TAG_CURRENT: &str = "shipit:task-definition";

pub fn tag_value(service: &Service, key: &str) -> Option<String> {
    service
        .tags()
        .iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::ContainerDefinition;

    #[test]
    fn container_image_is_found_by_container_name() {
        let td = TaskDefinition::builder()
            .container_definitions(
                ContainerDefinition::builder()
                    .name("log-router")
                    .image("fluent-bit:3")
                    .build(),
            )
            .container_definitions(
                ContainerDefinition::builder()
                    .name("api")
                    .image("1.dkr.ecr.us-east-1.amazonaws.com/api@sha256:ab")
                    .build(),
            )
            .build();
        assert_eq!(
            container_image(&td, "api"),
            Some("1.dkr.ecr.us-east-1.amazonaws.com/api@sha256:ab")
        );
        assert_eq!(container_image(&td, "worker"), None);
    }
}
