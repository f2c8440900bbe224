//! The roll-out phase: the task definition, the service (created, or updated with exactly
//! the parameters that differ), the strategy switch after a rollout, and the record shipit
//! keeps on the service for `shipit rollback`.

use anyhow::Context;
use aws_sdk_ecs::types::{AvailabilityZoneRebalancing, PropagateTags};

use crate::aws::calls::Clients;
use crate::aws::error::AwsError;
use crate::ecs;
use crate::plan::service::Dropped;
use crate::plan::{Operation, ServicePlan, TaskDefinitionPlan};

/// The task definition the service will run: a new revision when the plan registers one,
/// else the family's latest. Returns its ARN and whether it was registered.
pub async fn task_definition(
    clients: &Clients,
    plan: &TaskDefinitionPlan,
) -> anyhow::Result<(String, bool)> {
    if let (false, Some(arn)) = (plan.registers(), &plan.current_arn) {
        return Ok((arn.clone(), false));
    }
    clients
        .pace(crate::aws::rate::ApiSet::TaskDefinitionWrites)
        .await;
    let out = plan
        .wanted
        .register_request()
        .send_with(&clients.ecs)
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "RegisterTaskDefinition", &e))?;
    let arn = out
        .task_definition()
        .and_then(|td| td.task_definition_arn())
        .context("RegisterTaskDefinition answered without an ARN")?;
    Ok((arn.to_string(), true))
}

/// What CreateService or UpdateService answered.
#[derive(Debug, Clone)]
pub struct ServiceApplied {
    pub arn: String,
    /// The PRIMARY deployment after the call (None when no call was made).
    pub deployment_id: Option<String>,
    /// The service deployment that call started, where ECS names one.
    pub service_deployment_arn: Option<String>,
}

/// Creates the service, or updates it with exactly the parameters that differ.
pub async fn service(
    clients: &Clients,
    plan: &ServicePlan,
    task_definition_arn: &str,
) -> anyhow::Result<ServiceApplied> {
    let wanted = &plan.wanted;
    if plan.create || plan.writes_service() {
        clients.pace(crate::aws::rate::ApiSet::ServiceWrites).await;
    }
    if plan.create {
        let lbs = wanted.load_balancers();
        let mut create = clients
            .ecs
            .create_service()
            .cluster(&plan.cluster)
            .service_name(&plan.name)
            .task_definition(task_definition_arn)
            .desired_count(wanted.desired_count)
            // A capacity provider strategy, or the FARGATE launch type: ECS takes one of them.
            .set_launch_type(
                wanted
                    .capacity_providers
                    .is_empty()
                    .then_some(aws_sdk_ecs::types::LaunchType::Fargate),
            )
            .set_capacity_provider_strategy(
                (!wanted.capacity_providers.is_empty())
                    .then(|| wanted.capacity_provider_strategy()),
            )
            .network_configuration(wanted.network())
            .deployment_configuration(wanted.deployment_configuration(Dropped::default()))
            .set_health_check_grace_period_seconds(
                (wanted.health_check_grace_period > 0).then_some(wanted.health_check_grace_period),
            )
            .set_load_balancers((!lbs.is_empty()).then_some(lbs))
            .set_enable_execute_command(wanted.execute_command.then_some(true))
            .set_platform_version(wanted.platform_version.clone())
            .set_propagate_tags(
                (wanted.propagate_tags != "NONE")
                    .then(|| PropagateTags::from(wanted.propagate_tags.as_str())),
            )
            .set_enable_ecs_managed_tags(wanted.ecs_managed_tags.then_some(true))
            .set_availability_zone_rebalancing(wanted.az_rebalancing.map(az_rebalancing))
            .tags(ecs::managed_by_shipit());
        for (key, value) in &wanted.ecs_fields {
            create = crate::ecs_json::on_create_service(create, key, value).map_err(|e| {
                anyhow::anyhow!("{}: {e}", crate::ecs_json::service_field_label(key))
            })?;
        }
        let out = create
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ECS", "CreateService", &e).on(&plan.name))?;
        let service = out.service();
        return Ok(ServiceApplied {
            arn: service
                .and_then(|s| s.service_arn())
                .unwrap_or_default()
                .to_string(),
            deployment_id: service.and_then(ecs::primary_deployment_id),
            service_deployment_arn: service.and_then(ecs::current_service_deployment),
        });
    }
    let arn = plan.arn.clone().unwrap_or_default();
    if !plan.writes_service() {
        return Ok(ServiceApplied {
            arn,
            deployment_id: None,
            service_deployment_arn: None,
        });
    }
    let mut request = clients
        .ecs
        .update_service()
        .cluster(&plan.cluster)
        .service(&plan.name);
    if plan.updates("taskDefinition") {
        request = request.task_definition(task_definition_arn);
    }
    if plan.updates("desiredCount") {
        request = request.desired_count(wanted.desired_count);
    }
    if plan.updates("networkConfiguration") {
        request = request.network_configuration(wanted.network());
    }
    // A switch from rolling that adds the load balancer's advanced configuration: this
    // update rolls out under the current strategy; `switch_strategy` follows the rollout.
    if plan.updates("deploymentConfiguration") && !plan.switches_strategy_after_rollout() {
        request = request.deployment_configuration(wanted.deployment_configuration(plan.dropped()));
    }
    if plan.updates("healthCheckGracePeriodSeconds") {
        // 0 when the config no longer names one: ECS keeps a value an update leaves out.
        request = request.health_check_grace_period_seconds(wanted.health_check_grace_period);
    }
    if plan.updates("enableExecuteCommand") {
        // false when the config no longer asks: ECS keeps a value an update leaves out.
        request = request.enable_execute_command(wanted.execute_command);
    }
    // Each below is sent as ECS's default when the config dropped it (LATEST, NONE, off,
    // rebalancing on): ECS keeps a value an update leaves out.
    if plan.updates("platformVersion") {
        request = request.platform_version(
            wanted
                .platform_version
                .as_deref()
                .unwrap_or(crate::plan::service::LATEST_PLATFORM),
        );
    }
    if plan.updates("propagateTags") {
        request = request.propagate_tags(PropagateTags::from(wanted.propagate_tags.as_str()));
    }
    if plan.updates("enableECSManagedTags") {
        request = request.enable_ecs_managed_tags(wanted.ecs_managed_tags);
    }
    if plan.updates("availabilityZoneRebalancing") {
        request = request
            .availability_zone_rebalancing(az_rebalancing(wanted.az_rebalancing != Some(false)));
    }
    if plan.updates("capacityProviderStrategy") {
        // `[]` goes back to the launch type. A new strategy applies to the tasks ECS starts
        // from now on; a new deployment moves the running ones (ECS API reference,
        // UpdateService: "This parameter doesn't trigger a new service deployment").
        request = request
            .set_capacity_provider_strategy(Some(wanted.capacity_provider_strategy()))
            .force_new_deployment(true);
    }
    for change in plan
        .changes
        .iter()
        .filter(|c| c.operation == Operation::UpdateService && c.argument == "ecs")
    {
        let key = crate::ecs_json::service_field_of_label(&change.field);
        // A dropped field is sent cleared: ECS keeps what an update leaves out.
        let value = wanted
            .ecs_fields
            .get(key)
            .cloned()
            .or_else(|| crate::ecs_json::service_field_cleared(key))
            .with_context(|| format!("{} cannot be cleared by an update", change.field))?;
        request = crate::ecs_json::on_update_service(request, key, &value)
            .map_err(|e| anyhow::anyhow!("{}: {e}", change.field))?;
    }
    if plan.updates("loadBalancers") {
        // `[]` detaches: ECS keeps the load balancers an update leaves out.
        request = request.set_load_balancers(Some(wanted.load_balancers()));
    }
    let out = request
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "UpdateService", &e).on(&plan.name))?;
    Ok(ServiceApplied {
        arn,
        deployment_id: out.service().and_then(ecs::primary_deployment_id),
        service_deployment_arn: out.service().and_then(ecs::current_service_deployment),
    })
}

fn az_rebalancing(on: bool) -> AvailabilityZoneRebalancing {
    if on {
        AvailabilityZoneRebalancing::Enabled
    } else {
        AvailabilityZoneRebalancing::Disabled
    }
}

/// After the rollout of a deploy that switches from rolling to a traffic-shifting strategy
/// (see `ServicePlan::switches_strategy_after_rollout`): the second step, the deployment
/// configuration alone, which starts no deployment.
pub async fn switch_strategy(clients: &Clients, plan: &ServicePlan) -> anyhow::Result<()> {
    clients
        .ecs
        .update_service()
        .cluster(&plan.cluster)
        .service(&plan.name)
        .deployment_configuration(plan.wanted.deployment_configuration(plan.dropped()))
        .send()
        .await
        .map_err(|e| {
            anyhow::Error::new(AwsError::from_sdk("ECS", "UpdateService", &e).on(&plan.name))
                .context(format!(
                    "switching the deployment strategy to {}",
                    plan.wanted.deployment.strategy
                ))
        })?;
    Ok(())
}

/// After a successful rollout: records on the service what it runs now and the last good
/// task definition before it (for `shipit rollback`), when the plan says the record differs.
pub async fn record(
    clients: &Clients,
    plan: &ServicePlan,
    service_arn: &str,
    task_definition_arn: &str,
) -> anyhow::Result<bool> {
    let planned = plan
        .changes
        .iter()
        .any(|c| c.operation == Operation::TagResource);
    if !planned {
        return Ok(false);
    }
    let previous = plan
        .recorded_task_definition
        .as_deref()
        .or(plan.current_task_definition.as_deref())
        .filter(|p| *p != task_definition_arn);
    record_deploy(&clients.ecs, service_arn, task_definition_arn, previous).await?;
    Ok(true)
}

/// Records a successful deploy on the service: the task definition it runs now and the one it
/// ran before, for `shipit rollback`.
pub async fn record_deploy(
    client: &aws_sdk_ecs::Client,
    service_arn: &str,
    current: &str,
    previous: Option<&str>,
) -> anyhow::Result<()> {
    let tag = |k: &str, v: &str| aws_sdk_ecs::types::Tag::builder().key(k).value(v).build();
    let mut request = client
        .tag_resource()
        .resource_arn(service_arn)
        .tags(tag(ecs::TAG_CURRENT, current));
    if let Some(previous) = previous {
        request = request.tags(tag(ecs::TAG_PREVIOUS, previous));
    }
    request
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "TagResource", &e))?;
    Ok(())
}

/// Acts on a paused lifecycle hook of a service deployment (ContinueServiceDeployment): ECS
/// goes on to the next stage, or rolls the deployment back.
pub async fn continue_deployment(
    clients: &Clients,
    service_deployment_arn: &str,
    hook_id: &str,
    rollback: bool,
) -> anyhow::Result<()> {
    use aws_sdk_ecs::types::DeploymentLifecycleHookAction;
    clients
        .ecs
        .continue_service_deployment()
        .service_deployment_arn(service_deployment_arn)
        .hook_id(hook_id)
        .action(if rollback {
            DeploymentLifecycleHookAction::Rollback
        } else {
            DeploymentLifecycleHookAction::Continue
        })
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "ContinueServiceDeployment", &e))?;
    Ok(())
}
