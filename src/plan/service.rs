//! The ECS service: rendered from the config, read back from DescribeServices, compared setting
//! by setting. UpdateService carries only the parameters that differ, so a setting changed
//! elsewhere that the config does not name is never touched, and a setting the config dropped
//! is sent as its empty value (`loadBalancers: []`, a grace period of 0), because ECS keeps
//! whatever an update leaves out.

use serde::Serialize;

use super::{Change, Field, Operation, Resource, diff, json_list};
use crate::config::{DeployConfig, Names};
use crate::ecs::{TAG_CURRENT, short_task_definition};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSettings {
    pub desired_count: i32,
    /// Sorted.
    pub subnets: Vec<String>,
    /// Sorted; empty: the VPC's default group.
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    pub min_healthy_percent: i32,
    pub max_percent: i32,
    pub circuit_breaker: bool,
    pub rollback: bool,
    /// 0 is ECS's default and means none.
    pub health_check_grace_period: i32,
    pub load_balancers: Vec<LoadBalancerDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerDef {
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: i32,
}

impl ServiceSettings {
    pub fn render(config: &DeployConfig, names: &Names) -> ServiceSettings {
        let s = &config.service;
        let mut subnets = s.subnets.clone();
        subnets.sort();
        let mut security_groups = s.security_groups.clone();
        security_groups.sort();
        ServiceSettings {
            desired_count: s.desired_count as i32,
            subnets,
            security_groups,
            assign_public_ip: s.assign_public_ip,
            min_healthy_percent: s.min_healthy_percent as i32,
            max_percent: s.max_percent as i32,
            circuit_breaker: s.circuit_breaker.enable,
            rollback: s.circuit_breaker.rollback,
            health_check_grace_period: s.health_check_grace_period.unwrap_or(0) as i32,
            load_balancers: s
                .load_balancer
                .iter()
                .map(|lb| LoadBalancerDef {
                    target_group_arn: lb.target_group_arn.clone(),
                    container_name: names.container.clone(),
                    container_port: lb.container_port.unwrap_or(config.container.port) as i32,
                })
                .collect(),
        }
    }

    pub fn from_ecs(service: &aws_sdk_ecs::types::Service) -> Self {
        let vpc = service
            .network_configuration()
            .and_then(|n| n.awsvpc_configuration());
        let mut subnets = vpc.map(|v| v.subnets().to_vec()).unwrap_or_default();
        subnets.sort();
        let mut security_groups = vpc
            .map(|v| v.security_groups().to_vec())
            .unwrap_or_default();
        security_groups.sort();
        let deployment = service.deployment_configuration();
        let breaker = deployment.and_then(|d| d.deployment_circuit_breaker());
        ServiceSettings {
            desired_count: service.desired_count(),
            subnets,
            security_groups,
            assign_public_ip: vpc
                .and_then(|v| v.assign_public_ip())
                .is_some_and(|a| a.as_str() == "ENABLED"),
            min_healthy_percent: deployment
                .and_then(|d| d.minimum_healthy_percent())
                .unwrap_or(100),
            max_percent: deployment.and_then(|d| d.maximum_percent()).unwrap_or(200),
            circuit_breaker: breaker.is_some_and(|b| b.enable()),
            rollback: breaker.is_some_and(|b| b.rollback()),
            health_check_grace_period: service.health_check_grace_period_seconds().unwrap_or(0),
            load_balancers: service
                .load_balancers()
                .iter()
                .map(|lb| LoadBalancerDef {
                    target_group_arn: lb.target_group_arn().unwrap_or_default().to_string(),
                    container_name: lb.container_name().unwrap_or_default().to_string(),
                    container_port: lb.container_port().unwrap_or_default(),
                })
                .collect(),
        }
    }

    /// Every setting, flat, with the UpdateService parameter that carries it.
    pub fn fields(&self) -> Vec<Field> {
        const NETWORK: &str = "networkConfiguration";
        const DEPLOYMENT: &str = "deploymentConfiguration";
        let mut out = vec![
            Field::new("desired_count", self.desired_count, "desiredCount"),
            Field::new("subnets", json_list(&self.subnets), NETWORK),
        ];
        if !self.security_groups.is_empty() {
            out.push(Field::new(
                "security_groups",
                json_list(&self.security_groups),
                NETWORK,
            ));
        }
        out.extend([
            Field::new("assign_public_ip", self.assign_public_ip, NETWORK),
            Field::new("min_healthy_percent", self.min_healthy_percent, DEPLOYMENT),
            Field::new("max_percent", self.max_percent, DEPLOYMENT),
            Field::new("circuit_breaker.enable", self.circuit_breaker, DEPLOYMENT),
            Field::new("circuit_breaker.rollback", self.rollback, DEPLOYMENT),
        ]);
        if self.health_check_grace_period > 0 {
            out.push(Field::new(
                "health_check_grace_period",
                self.health_check_grace_period,
                "healthCheckGracePeriodSeconds",
            ));
        }
        for (i, lb) in self.load_balancers.iter().enumerate() {
            let name = if i == 0 {
                "load_balancer".to_string()
            } else {
                format!("load_balancer[{i}]")
            };
            out.push(Field::new(
                name,
                format!(
                    "{} -> {}:{}",
                    lb.target_group_arn, lb.container_name, lb.container_port
                ),
                "loadBalancers",
            ));
        }
        out
    }

    pub fn network(&self) -> aws_sdk_ecs::types::NetworkConfiguration {
        use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration};
        NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(self.subnets.clone()))
                    .set_security_groups(
                        (!self.security_groups.is_empty()).then(|| self.security_groups.clone()),
                    )
                    .assign_public_ip(if self.assign_public_ip {
                        AssignPublicIp::Enabled
                    } else {
                        AssignPublicIp::Disabled
                    })
                    .build()
                    .expect("subnets are set"),
            )
            .build()
    }

    pub fn deployment_configuration(&self) -> aws_sdk_ecs::types::DeploymentConfiguration {
        use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration};
        DeploymentConfiguration::builder()
            .minimum_healthy_percent(self.min_healthy_percent)
            .maximum_percent(self.max_percent)
            .deployment_circuit_breaker(
                DeploymentCircuitBreaker::builder()
                    .enable(self.circuit_breaker)
                    .rollback(self.rollback)
                    .build(),
            )
            .build()
    }

    pub fn load_balancers(&self) -> Vec<aws_sdk_ecs::types::LoadBalancer> {
        self.load_balancers
            .iter()
            .map(|lb| {
                aws_sdk_ecs::types::LoadBalancer::builder()
                    .target_group_arn(&lb.target_group_arn)
                    .container_name(&lb.container_name)
                    .container_port(lb.container_port)
                    .build()
            })
            .collect()
    }
}

/// The task definition the service should run: one that exists, or the revision the deploy
/// registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "arn", rename_all = "kebab-case")]
pub enum TaskDefinitionRef {
    Existing(String),
    NewRevision,
}

impl TaskDefinitionRef {
    fn shown(&self) -> String {
        match self {
            TaskDefinitionRef::Existing(arn) => short_task_definition(arn).to_string(),
            TaskDefinitionRef::NewRevision => "(the new revision)".to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ServicePlan {
    pub name: String,
    pub cluster: String,
    pub create: bool,
    /// The service's ARN, when it exists.
    pub arn: Option<String>,
    /// The task definition the service runs now.
    pub current_task_definition: Option<String>,
    /// The task definition shipit recorded as the last successful deploy.
    pub recorded_task_definition: Option<String>,
    pub task_definition: TaskDefinitionRef,
    #[serde(skip)]
    pub wanted: ServiceSettings,
    pub changes: Vec<Change>,
}

impl ServicePlan {
    pub fn new(
        wanted: ServiceSettings,
        names: &Names,
        task_definition: TaskDefinitionRef,
        current: Option<&aws_sdk_ecs::types::Service>,
    ) -> ServicePlan {
        let td_field = |shown: String| Field::new("task_definition", shown, "taskDefinition");
        let mut wanted_fields = wanted.fields();
        wanted_fields.push(td_field(task_definition.shown()));
        let (operation, current_fields) = match current {
            None => (Operation::CreateService, Vec::new()),
            Some(service) => {
                let mut fields = ServiceSettings::from_ecs(service).fields();
                if let Some(td) = service.task_definition() {
                    fields.push(td_field(short_task_definition(td).to_string()));
                }
                (Operation::UpdateService, fields)
            }
        };
        let mut changes = diff(
            Resource::Service,
            &names.service,
            operation,
            &current_fields,
            &wanted_fields,
        );
        // After a successful rollout, the service records what it runs (for `rollback`).
        let recorded = current.and_then(|s| crate::ecs::tag_value(s, TAG_CURRENT));
        let tag_field = |shown: String| Field::new(format!("tags.{TAG_CURRENT}"), shown, "tags");
        changes.extend(diff(
            Resource::Service,
            &names.service,
            Operation::TagResource,
            &recorded
                .iter()
                .map(|r| tag_field(short_task_definition(r).to_string()))
                .collect::<Vec<_>>(),
            &[tag_field(task_definition.shown())],
        ));
        ServicePlan {
            name: names.service.clone(),
            cluster: names.cluster.clone(),
            create: current.is_none(),
            arn: current.and_then(|s| s.service_arn()).map(str::to_string),
            current_task_definition: current
                .and_then(|s| s.task_definition())
                .map(str::to_string),
            recorded_task_definition: recorded,
            task_definition,
            wanted,
            changes,
        }
    }

    /// Whether applying the plan calls UpdateService with `argument`.
    pub fn updates(&self, argument: &str) -> bool {
        self.changes
            .iter()
            .any(|c| c.operation == Operation::UpdateService && c.argument == argument)
    }

    /// CreateService or UpdateService: a call that may start a deployment.
    pub fn writes_service(&self) -> bool {
        self.changes.iter().any(|c| {
            matches!(
                c.operation,
                Operation::CreateService | Operation::UpdateService
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;

    fn loaded(extra: &str) -> config::LoadedConfig {
        let text = format!(
            "app: demo\nimage: {{ source: 'docker://demo:1', tag: v1 }}\nservice:\n  subnets: [subnet-0123456789abcdef0]\n{extra}task: {{ execution_role: 'arn:aws:iam::123456789012:role/exec' }}\n"
        );
        config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap()
    }

    const TD: &str = "arn:aws:ecs:us-east-1:1:task-definition/demo:1";

    /// The service ECS reports after it was created with `settings`.
    fn service(settings: &ServiceSettings) -> aws_sdk_ecs::types::Service {
        aws_sdk_ecs::types::Service::builder()
            .service_arn("arn:aws:ecs:us-east-1:1:service/c/demo")
            .task_definition(TD)
            .desired_count(settings.desired_count)
            .network_configuration(settings.network())
            .deployment_configuration(settings.deployment_configuration())
            .health_check_grace_period_seconds(settings.health_check_grace_period)
            .set_load_balancers(Some(settings.load_balancers()))
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(TAG_CURRENT)
                    .value(TD)
                    .build(),
            )
            .build()
    }

    fn plan(extra: &str, current: &aws_sdk_ecs::types::Service) -> ServicePlan {
        let l = loaded(extra);
        ServicePlan::new(
            ServiceSettings::render(&l.config, &l.names),
            &l.names,
            TaskDefinitionRef::Existing(TD.into()),
            Some(current),
        )
    }

    #[test]
    fn a_service_created_from_the_config_plans_clean() {
        for extra in [
            "",
            "  health_check_grace_period: 0\n",
            "  health_check_grace_period: 60\n  security_groups: [sg-0123456789abcdef0]\n",
            "  load_balancer: { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef' }\n",
        ] {
            let l = loaded(extra);
            let settings = ServiceSettings::render(&l.config, &l.names);
            assert_eq!(
                plan(extra, &service(&settings)).changes,
                Vec::new(),
                "{extra}"
            );
        }
    }

    #[test]
    fn removed_settings_are_sent_empty() {
        let l = loaded(
            "  health_check_grace_period: 60\n  load_balancer: { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef' }\n",
        );
        let before = service(&ServiceSettings::render(&l.config, &l.names));
        let p = plan("", &before);
        let fields: Vec<_> = p
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.wanted.as_deref(), c.argument))
            .collect();
        assert_eq!(
            fields,
            vec![
                (
                    "health_check_grace_period",
                    None,
                    "healthCheckGracePeriodSeconds"
                ),
                ("load_balancer", None, "loadBalancers"),
            ]
        );
        assert!(p.updates("loadBalancers") && !p.updates("desiredCount"));
        assert!(p.wanted.load_balancers().is_empty());
    }

    #[test]
    fn desired_count_is_written_only_when_it_differs() {
        let l = loaded("");
        let mut settings = ServiceSettings::render(&l.config, &l.names);
        assert!(!plan("", &service(&settings)).updates("desiredCount"));
        settings.desired_count = 5;
        let p = plan("", &service(&settings));
        assert!(p.updates("desiredCount"));
        assert_eq!(p.changes.len(), 1);
    }

    #[test]
    fn a_new_revision_changes_the_task_definition_and_the_recorded_tag() {
        let l = loaded("");
        let settings = ServiceSettings::render(&l.config, &l.names);
        let p = ServicePlan::new(
            settings.clone(),
            &l.names,
            TaskDefinitionRef::NewRevision,
            Some(&service(&settings)),
        );
        let ops: Vec<_> = p
            .changes
            .iter()
            .map(|c| (c.operation, c.field.as_str()))
            .collect();
        assert_eq!(
            ops,
            vec![
                (Operation::UpdateService, "task_definition"),
                (Operation::TagResource, "tags.shipit:task-definition"),
            ]
        );
    }
}
