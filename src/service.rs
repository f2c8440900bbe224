//! The ECS service settings shipit manages, in one comparable shape (like `taskdef`): rendered
//! from the config, read back from DescribeServices, compared setting by setting.

use serde::Serialize;

use crate::config::{DeployConfig, Names};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceSettings {
    pub desired_count: i32,
    /// Sorted.
    pub subnets: Vec<String>,
    /// Sorted.
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
    pub min_healthy_percent: i32,
    pub max_percent: i32,
    pub circuit_breaker: bool,
    pub rollback: bool,
    pub health_check_grace_period: Option<i32>,
    pub target_group_arn: Option<String>,
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
            health_check_grace_period: s.health_check_grace_period.map(|g| g as i32),
            target_group_arn: s
                .load_balancer
                .as_ref()
                .map(|lb| lb.target_group_arn.clone()),
            container_name: names.container.clone(),
            container_port: s
                .load_balancer
                .as_ref()
                .and_then(|lb| lb.container_port)
                .unwrap_or(config.container.port) as i32,
        }
    }

    pub fn from_ecs(
        service: &aws_sdk_ecs::types::Service,
        container_name: &str,
        port: i32,
    ) -> Self {
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
        let lb = service.load_balancers().first();
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
            health_check_grace_period: service
                .health_check_grace_period_seconds()
                .filter(|g| *g > 0),
            target_group_arn: lb.and_then(|l| l.target_group_arn()).map(str::to_string),
            container_name: lb
                .and_then(|l| l.container_name())
                .unwrap_or(container_name)
                .to_string(),
            container_port: lb.and_then(|l| l.container_port()).unwrap_or(port),
        }
    }

    /// `setting: value` lines, for diffs.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("desired_count: {}", self.desired_count),
            format!("subnets: {}", self.subnets.join(", ")),
            format!("security_groups: {}", self.security_groups.join(", ")),
            format!("assign_public_ip: {}", self.assign_public_ip),
            format!(
                "deployment: min {}% max {}%, circuit breaker {}, rollback {}",
                self.min_healthy_percent, self.max_percent, self.circuit_breaker, self.rollback
            ),
        ];
        if let Some(g) = self.health_check_grace_period {
            out.push(format!("health_check_grace_period: {g}"));
        }
        if let Some(tg) = &self.target_group_arn {
            out.push(format!(
                "load_balancer: {tg} -> {}:{}",
                self.container_name, self.container_port
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
        self.target_group_arn
            .iter()
            .map(|tg| {
                aws_sdk_ecs::types::LoadBalancer::builder()
                    .target_group_arn(tg)
                    .container_name(&self.container_name)
                    .container_port(self.container_port)
                    .build()
            })
            .collect()
    }
}
