//! The ECS service: rendered from the config, read back from DescribeServices, compared setting
//! by setting. UpdateService carries only the parameters that differ, so a setting changed
//! elsewhere that the config does not name is never touched, and a setting the config dropped
//! is sent as its empty value (`loadBalancers: []`, a grace period of 0), because ECS keeps
//! whatever an update leaves out.

use serde::Serialize;

use super::{Change, Field, Operation, Resource, diff, json_list};
use std::collections::BTreeMap;

use crate::config::{DeployConfig, Names};
use crate::ecs::{TAG_CURRENT, short_task_definition};
use crate::ecs_json;

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
    /// ECS Exec.
    pub execute_command: bool,
    /// None: `LATEST`, what ECS reports for a Fargate service given none.
    pub platform_version: Option<String>,
    /// NONE, SERVICE or TASK_DEFINITION.
    pub propagate_tags: String,
    pub ecs_managed_tags: bool,
    /// None: not named in the config, or not reported by ECS. An update that leaves it out
    /// keeps the service's value, and a new service gets ECS's default (on).
    pub az_rebalancing: Option<bool>,
    /// (provider, base, weight), sorted by provider; empty: the FARGATE launch type.
    pub capacity_providers: Vec<(String, i32, i32)>,
    /// The fields ECS holds as JSON (`ecs_json::SERVICE_FIELDS`): the typed keys' (Service
    /// Connect, the service registry, EBS volumes) and `service.ecs`, as ECS takes them;
    /// read back from the service and its PRIMARY deployment (Service Connect and volumes
    /// live there).
    pub ecs_fields: BTreeMap<String, serde_json::Value>,
    pub load_balancers: Vec<LoadBalancerDef>,
    pub deployment: DeploymentSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadBalancerDef {
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: i32,
    /// What blue/green, linear and canary deployments need (ECS's `advancedConfiguration`).
    pub traffic_shift: Option<TrafficShiftDef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrafficShiftDef {
    pub alternate_target_group_arn: String,
    pub production_listener_rule: String,
    pub test_listener_rule: Option<String>,
    pub role_arn: String,
}

/// The deployment strategy and what goes with it, as ECS's DeploymentConfiguration holds it.
/// ECS's own defaults are written out (canary 5% for 10 minutes, linear 10% every 6 minutes,
/// a hook's 24-hour timeout with rollback), so a config that leaves them out plans clean
/// against the service ECS reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeploymentSettings {
    /// ROLLING, BLUE_GREEN, LINEAR or CANARY.
    pub strategy: String,
    /// Minutes; None for a rolling update without one.
    pub bake_time_minutes: Option<i32>,
    /// Canary: (percent in tenths, minutes).
    pub canary: Option<(i32, i32)>,
    /// Linear: (step percent in tenths, minutes per step).
    pub linear: Option<(i32, i32)>,
    pub lifecycle_hooks: Vec<HookDef>,
    /// Early success: (healthy percent, BLOCKING or DEFERRED).
    pub early_success: Option<(i32, String)>,
    /// CloudWatch alarms that fail a deployment: (sorted names, roll back).
    pub alarms: Option<(Vec<String>, bool)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookDef {
    /// AWS_LAMBDA or PAUSE.
    pub target_type: String,
    pub target_arn: Option<String>,
    pub role_arn: Option<String>,
    /// In ECS's order.
    pub stages: Vec<String>,
    pub timeout_minutes: i32,
    /// ROLLBACK or CONTINUE.
    pub on_timeout: String,
}

impl HookDef {
    fn shown(&self) -> String {
        let target = match &self.target_arn {
            Some(arn) => format!("lambda {arn}"),
            None => "pause".to_string(),
        };
        let role = self
            .role_arn
            .as_deref()
            .map(|r| format!(" as {r}"))
            .unwrap_or_default();
        format!(
            "{target}{role} at {}, timeout {}m then {}",
            self.stages.join(","),
            self.timeout_minutes,
            self.on_timeout
        )
    }
}

/// Parts of the deployment configuration the service has and the config dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Send `lifecycleHooks: []`.
    pub hooks: bool,
    /// Send `earlySuccessCriteria: {enable: false}`.
    pub early_success: bool,
    /// Send `bakeTimeInMinutes: 0` (going back to rolling from a strategy that baked).
    pub bake_time: bool,
    /// Send `alarms: {enable: false}`.
    pub alarms: bool,
}

/// The platform version ECS reports for a Fargate service given none, and a config that names
/// none means.
pub const LATEST_PLATFORM: &str = "LATEST";

fn sorted(names: &[String]) -> Vec<String> {
    let mut names = names.to_vec();
    names.sort();
    names
}

/// A hook's timeout when none is set (ECS's default: 24 hours).
const HOOK_TIMEOUT_MINUTES: i32 = 1440;
const CANARY_BAKE_MINUTES: i32 = 10;
const LINEAR_STEP_MINUTES: i32 = 6;

fn tenths(percent: f64) -> i32 {
    (percent * 10.0).round() as i32
}

fn percent_text(tenths: i32) -> String {
    if tenths % 10 == 0 {
        format!("{}%", tenths / 10)
    } else {
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

impl DeploymentSettings {
    /// The circuit breaker is documented for rolling and blue/green deployments only (ECS
    /// developer guide, "How the Amazon ECS deployment circuit breaker detects failures"):
    /// linear and canary deployments are judged by their alarms and bake times, and shipit
    /// sends them no breaker.
    pub fn takes_circuit_breaker(&self) -> bool {
        matches!(self.strategy.as_str(), "ROLLING" | "BLUE_GREEN")
    }

    fn render(config: &crate::config::model::DeploymentConfig) -> DeploymentSettings {
        use crate::config::model::{Minutes, Strategy};
        let minutes = |value: Option<&Minutes>, default: i32| {
            value
                .and_then(Minutes::minutes)
                .map_or(default, |m| m as i32)
        };
        let strategy = config.strategy;
        let mut bake_time_minutes = config
            .bake_time
            .as_ref()
            .and_then(Minutes::minutes)
            .map(|m| m as i32);
        // No bake time and a bake time of 0 are one setting: ECS stores 0 for a cleared one.
        if bake_time_minutes == Some(0) {
            bake_time_minutes = None;
        }
        let canary = (strategy == Strategy::Canary).then(|| {
            let c = config.canary.as_ref();
            (
                tenths(c.map_or(5.0, |c| c.percent)),
                minutes(c.and_then(|c| c.bake_time.as_ref()), CANARY_BAKE_MINUTES),
            )
        });
        let linear = (strategy == Strategy::Linear).then(|| {
            let l = config.linear.as_ref();
            (
                tenths(l.map_or(10.0, |l| l.step_percent)),
                minutes(
                    l.and_then(|l| l.step_bake_time.as_ref()),
                    LINEAR_STEP_MINUTES,
                ),
            )
        });
        let lifecycle_hooks = config
            .lifecycle_hooks
            .iter()
            .map(|h| {
                let mut stages = h.stages.clone();
                stages.sort();
                stages.dedup();
                HookDef {
                    target_type: if h.pause { "PAUSE" } else { "AWS_LAMBDA" }.to_string(),
                    target_arn: h.lambda.clone(),
                    role_arn: h.role.clone(),
                    stages: stages.iter().map(|s| s.ecs_name().to_string()).collect(),
                    timeout_minutes: minutes(h.timeout.as_ref(), HOOK_TIMEOUT_MINUTES),
                    on_timeout: h.on_timeout.ecs_name().to_string(),
                }
            })
            .collect();
        DeploymentSettings {
            strategy: strategy.ecs_name().to_string(),
            bake_time_minutes,
            canary,
            linear,
            lifecycle_hooks,
            early_success: config
                .early_success
                .map(|e| (e.healthy_percent as i32, e.cleanup.ecs_name().to_string())),
            // `service.alarms`, set by ServiceSettings::render.
            alarms: None,
        }
    }

    fn from_ecs(d: Option<&aws_sdk_ecs::types::DeploymentConfiguration>) -> DeploymentSettings {
        use crate::config::model::HookStage;
        let strategy = d
            .and_then(|d| d.strategy())
            .map_or("ROLLING", |s| s.as_str())
            .to_string();
        let bake_time_minutes = d
            .and_then(|d| d.bake_time_in_minutes())
            .filter(|minutes| *minutes != 0);
        let canary = (strategy == "CANARY").then(|| {
            let c = d.and_then(|d| d.canary_configuration());
            (
                tenths(c.and_then(|c| c.canary_percent()).unwrap_or(5.0)),
                c.and_then(|c| c.canary_bake_time_in_minutes())
                    .unwrap_or(CANARY_BAKE_MINUTES),
            )
        });
        let linear = (strategy == "LINEAR").then(|| {
            let l = d.and_then(|d| d.linear_configuration());
            (
                tenths(l.and_then(|l| l.step_percent()).unwrap_or(10.0)),
                l.and_then(|l| l.step_bake_time_in_minutes())
                    .unwrap_or(LINEAR_STEP_MINUTES),
            )
        });
        let lifecycle_hooks = d
            .map(|d| d.lifecycle_hooks())
            .unwrap_or_default()
            .iter()
            .map(|h| {
                let mut stages: Vec<String> = h
                    .lifecycle_stages()
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect();
                // ECS's order, for comparing hooks whatever order they were listed in.
                stages.sort_by_key(|s| HookStage::ALL.iter().position(|h| h.ecs_name() == s));
                stages.dedup();
                let timeout = h.timeout_configuration();
                HookDef {
                    target_type: h
                        .target_type()
                        .map_or("AWS_LAMBDA", |t| t.as_str())
                        .to_string(),
                    target_arn: h.hook_target_arn().map(str::to_string),
                    role_arn: h.role_arn().map(str::to_string),
                    stages,
                    timeout_minutes: timeout
                        .and_then(|t| t.timeout_in_minutes())
                        .unwrap_or(HOOK_TIMEOUT_MINUTES),
                    on_timeout: timeout
                        .and_then(|t| t.action())
                        .map_or("ROLLBACK", |a| a.as_str())
                        .to_string(),
                }
            })
            .collect();
        let early_success = d
            .and_then(|d| d.early_success_criteria())
            .filter(|e| e.enable())
            .map(|e| {
                (
                    e.healthy_percent().unwrap_or(100),
                    e.source_service_revision_cleanup()
                        .map_or("DEFERRED", |c| c.as_str())
                        .to_string(),
                )
            });
        let alarms = d
            .and_then(|d| d.alarms())
            .filter(|a| a.enable())
            .map(|a| (sorted(a.alarm_names()), a.rollback()));
        DeploymentSettings {
            strategy,
            bake_time_minutes,
            canary,
            linear,
            lifecycle_hooks,
            early_success,
            alarms,
        }
    }

    fn fields(&self, out: &mut Vec<Field>) {
        const DEPLOYMENT: &str = "deploymentConfiguration";
        out.push(Field::new(
            "deployment.strategy",
            self.strategy.clone(),
            DEPLOYMENT,
        ));
        if let Some(minutes) = self.bake_time_minutes {
            out.push(Field::new(
                "deployment.bake_time",
                format!("{minutes}m"),
                DEPLOYMENT,
            ));
        }
        if let Some((percent, minutes)) = self.canary {
            out.push(Field::new(
                "deployment.canary",
                format!("{} for {minutes}m", percent_text(percent)),
                DEPLOYMENT,
            ));
        }
        if let Some((percent, minutes)) = self.linear {
            out.push(Field::new(
                "deployment.linear",
                format!("{} every {minutes}m", percent_text(percent)),
                DEPLOYMENT,
            ));
        }
        for (i, hook) in self.lifecycle_hooks.iter().enumerate() {
            out.push(Field::new(
                format!("deployment.lifecycle_hooks[{i}]"),
                hook.shown(),
                DEPLOYMENT,
            ));
        }
        if let Some((percent, cleanup)) = &self.early_success {
            out.push(Field::new(
                "deployment.early_success",
                format!("{percent}% healthy, old tasks removed {cleanup}"),
                DEPLOYMENT,
            ));
        }
        if let Some((names, rollback)) = &self.alarms {
            let then = if *rollback { "roll back" } else { "fail" };
            out.push(Field::new(
                "alarms",
                format!("{} ({then} on alarm)", json_list(names)),
                DEPLOYMENT,
            ));
        }
    }
}

impl ServiceSettings {
    pub fn render(config: &DeployConfig, names: &Names, region: &str) -> ServiceSettings {
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
            execute_command: s.enable_execute_command,
            platform_version: s.platform_version.clone().filter(|v| v != LATEST_PLATFORM),
            propagate_tags: s.propagate_tags.ecs_name().to_string(),
            ecs_managed_tags: s.ecs_managed_tags,
            az_rebalancing: s.availability_zone_rebalancing,
            capacity_providers: {
                let mut items: Vec<(String, i32, i32)> = s
                    .capacity_provider_strategy
                    .iter()
                    .map(|i| {
                        (
                            i.provider.ecs_name().to_string(),
                            i.base as i32,
                            i.weight as i32,
                        )
                    })
                    .collect();
                items.sort();
                items
            },
            ecs_fields: {
                let mut fields = ecs_json::all_as_sent(ecs_json::Target::Service, &s.ecs);
                fields.extend(super::discovery::render(
                    s,
                    &names.container,
                    &super::discovery::LogDefaults {
                        group: &names.log_group,
                        region,
                    },
                ));
                if let Some(volumes) = super::storage::volume_configurations(&config.task) {
                    fields.insert(super::storage::VOLUME_CONFIGURATIONS.to_string(), volumes);
                }
                fields
            },
            load_balancers: s
                .load_balancer
                .iter()
                .map(|lb| LoadBalancerDef {
                    target_group_arn: lb.target_group_arn.clone(),
                    container_name: names.container.clone(),
                    container_port: lb.container_port.unwrap_or(config.container.port) as i32,
                    traffic_shift: s.deployment.strategy.shifts_traffic().then(|| {
                        TrafficShiftDef {
                            alternate_target_group_arn: lb
                                .alternate_target_group_arn
                                .clone()
                                .unwrap_or_default(),
                            production_listener_rule: lb
                                .production_listener_rule
                                .clone()
                                .unwrap_or_default(),
                            test_listener_rule: lb.test_listener_rule.clone(),
                            role_arn: lb.role.clone().unwrap_or_default(),
                        }
                    }),
                })
                .chain(s.extra_target_groups.iter().map(|extra| {
                    let container = extra
                        .container
                        .clone()
                        .unwrap_or_else(|| names.container.clone());
                    let port = extra.container_port.or_else(|| {
                        config
                            .container_specs(&names.container)
                            .iter()
                            .find(|spec| spec.name == container)
                            .and_then(|spec| spec.port)
                    });
                    LoadBalancerDef {
                        target_group_arn: extra.target_group_arn.clone(),
                        container_name: container,
                        container_port: port.unwrap_or_default() as i32,
                        traffic_shift: None,
                    }
                }))
                .collect(),
            deployment: DeploymentSettings {
                alarms: s.alarms.as_ref().map(|a| (sorted(&a.names), a.rollback)),
                ..DeploymentSettings::render(&s.deployment)
            },
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
            execute_command: service.enable_execute_command(),
            platform_version: service
                .platform_version()
                .filter(|v| !v.is_empty() && *v != LATEST_PLATFORM)
                .map(str::to_string),
            propagate_tags: service
                .propagate_tags()
                .map_or("NONE", |p| p.as_str())
                .to_string(),
            ecs_managed_tags: service.enable_ecs_managed_tags(),
            az_rebalancing: service
                .availability_zone_rebalancing()
                .map(|r| r.as_str() == "ENABLED"),
            capacity_providers: {
                let mut items: Vec<(String, i32, i32)> = service
                    .capacity_provider_strategy()
                    .iter()
                    .map(|i| (i.capacity_provider().to_string(), i.base(), i.weight()))
                    .collect();
                items.sort();
                items
            },
            ecs_fields: ecs_fields_of(service),
            load_balancers: service
                .load_balancers()
                .iter()
                .map(|lb| LoadBalancerDef {
                    target_group_arn: lb.target_group_arn().unwrap_or_default().to_string(),
                    container_name: lb.container_name().unwrap_or_default().to_string(),
                    container_port: lb.container_port().unwrap_or_default(),
                    traffic_shift: lb.advanced_configuration().map(|a| TrafficShiftDef {
                        alternate_target_group_arn: a
                            .alternate_target_group_arn()
                            .unwrap_or_default()
                            .to_string(),
                        production_listener_rule: a
                            .production_listener_rule()
                            .unwrap_or_default()
                            .to_string(),
                        test_listener_rule: a.test_listener_rule().map(str::to_string),
                        role_arn: a.role_arn().unwrap_or_default().to_string(),
                    }),
                })
                .collect(),
            deployment: DeploymentSettings::from_ecs(deployment),
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
        ]);
        if self.deployment.takes_circuit_breaker() {
            out.extend([
                Field::new("circuit_breaker.enable", self.circuit_breaker, DEPLOYMENT),
                Field::new("circuit_breaker.rollback", self.rollback, DEPLOYMENT),
            ]);
        }
        self.deployment.fields(&mut out);
        if self.health_check_grace_period > 0 {
            out.push(Field::new(
                "health_check_grace_period",
                self.health_check_grace_period,
                "healthCheckGracePeriodSeconds",
            ));
        }
        if self.execute_command {
            out.push(Field::new(
                "enable_execute_command",
                true,
                "enableExecuteCommand",
            ));
        }
        if let Some(version) = &self.platform_version {
            out.push(Field::new(
                "platform_version",
                version.clone(),
                "platformVersion",
            ));
        }
        if self.propagate_tags != "NONE" {
            out.push(Field::new(
                "propagate_tags",
                self.propagate_tags.clone(),
                "propagateTags",
            ));
        }
        if self.ecs_managed_tags {
            out.push(Field::new("ecs_managed_tags", true, "enableECSManagedTags"));
        }
        if !self.capacity_providers.is_empty() {
            let shown: Vec<String> = self
                .capacity_providers
                .iter()
                .map(|(provider, base, weight)| {
                    let base = if *base > 0 {
                        format!(" base {base}")
                    } else {
                        String::new()
                    };
                    format!("{provider}{base} weight {weight}")
                })
                .collect();
            out.push(Field::new(
                "capacity_provider_strategy",
                shown.join(", "),
                "capacityProviderStrategy",
            ));
        }
        for (key, value) in &self.ecs_fields {
            out.push(Field::new(
                ecs_json::service_field_label(key),
                ecs_json::canonical(value),
                "ecs",
            ));
        }
        if let Some(on) = self.az_rebalancing {
            out.push(Field::new(
                "availability_zone_rebalancing",
                on,
                "availabilityZoneRebalancing",
            ));
        }
        for (i, lb) in self.load_balancers.iter().enumerate() {
            let name = if i == 0 {
                "load_balancer".to_string()
            } else {
                format!("load_balancer[{i}]")
            };
            let mut shown = format!(
                "{} -> {}:{}",
                lb.target_group_arn, lb.container_name, lb.container_port
            );
            if let Some(t) = &lb.traffic_shift {
                shown.push_str(&format!(
                    " (alternate {}, production {}{}, role {})",
                    t.alternate_target_group_arn,
                    t.production_listener_rule,
                    t.test_listener_rule
                        .as_deref()
                        .map(|r| format!(", test {r}"))
                        .unwrap_or_default(),
                    t.role_arn
                ));
            }
            out.push(Field::new(name, shown, "loadBalancers"));
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

    /// ECS's DeploymentConfiguration. `dropped`: what the config no longer has and the service
    /// does, sent as its empty value, because ECS keeps what an update leaves out.
    pub fn deployment_configuration(
        &self,
        dropped: Dropped,
    ) -> aws_sdk_ecs::types::DeploymentConfiguration {
        use aws_sdk_ecs::types::{
            CanaryConfiguration, DeploymentAlarms, DeploymentCircuitBreaker,
            DeploymentConfiguration, DeploymentEarlySuccessCriteria, DeploymentLifecycleHook,
            DeploymentLifecycleHookAction, DeploymentLifecycleHookStage,
            DeploymentLifecycleHookTargetType, DeploymentLifecycleHookTimeoutConfiguration,
            DeploymentStrategy, LinearConfiguration, ServiceRevisionCleanup,
        };
        let d = &self.deployment;
        let hooks: Vec<DeploymentLifecycleHook> = d
            .lifecycle_hooks
            .iter()
            .map(|h| {
                DeploymentLifecycleHook::builder()
                    .target_type(DeploymentLifecycleHookTargetType::from(
                        h.target_type.as_str(),
                    ))
                    .set_hook_target_arn(h.target_arn.clone())
                    .set_role_arn(h.role_arn.clone())
                    .set_lifecycle_stages(Some(
                        h.stages
                            .iter()
                            .map(|s| DeploymentLifecycleHookStage::from(s.as_str()))
                            .collect(),
                    ))
                    .timeout_configuration(
                        DeploymentLifecycleHookTimeoutConfiguration::builder()
                            .timeout_in_minutes(h.timeout_minutes)
                            .action(DeploymentLifecycleHookAction::from(h.on_timeout.as_str()))
                            .build(),
                    )
                    .build()
            })
            .collect();
        DeploymentConfiguration::builder()
            .minimum_healthy_percent(self.min_healthy_percent)
            .maximum_percent(self.max_percent)
            .set_deployment_circuit_breaker(d.takes_circuit_breaker().then(|| {
                DeploymentCircuitBreaker::builder()
                    .enable(self.circuit_breaker)
                    .rollback(self.rollback)
                    .build()
            }))
            .strategy(DeploymentStrategy::from(d.strategy.as_str()))
            // ECS keeps a bake time an update leaves out: a dropped one is sent as 0.
            .set_bake_time_in_minutes(
                d.bake_time_minutes
                    .or_else(|| dropped.bake_time.then_some(0)),
            )
            .set_canary_configuration(d.canary.map(|(percent, minutes)| {
                CanaryConfiguration::builder()
                    .canary_percent(f64::from(percent) / 10.0)
                    .canary_bake_time_in_minutes(minutes)
                    .build()
            }))
            .set_linear_configuration(d.linear.map(|(percent, minutes)| {
                LinearConfiguration::builder()
                    .step_percent(f64::from(percent) / 10.0)
                    .step_bake_time_in_minutes(minutes)
                    .build()
            }))
            .set_lifecycle_hooks((!hooks.is_empty() || dropped.hooks).then_some(hooks))
            .set_early_success_criteria(match &d.early_success {
                Some((percent, cleanup)) => Some(
                    DeploymentEarlySuccessCriteria::builder()
                        .enable(true)
                        .healthy_percent(*percent)
                        .source_service_revision_cleanup(ServiceRevisionCleanup::from(
                            cleanup.as_str(),
                        ))
                        .build(),
                ),
                // Only a rolling update takes the criteria, even switched off.
                None if dropped.early_success && d.strategy == "ROLLING" => Some(
                    DeploymentEarlySuccessCriteria::builder()
                        .enable(false)
                        .build(),
                ),
                None => None,
            })
            .set_alarms(match &d.alarms {
                Some((names, rollback)) => Some(
                    DeploymentAlarms::builder()
                        .set_alarm_names(Some(names.clone()))
                        .enable(true)
                        .rollback(*rollback)
                        .build()
                        .expect("names, enable and rollback are set"),
                ),
                // ECS keeps alarms an update leaves out: dropped ones are switched off.
                None if dropped.alarms => Some(
                    DeploymentAlarms::builder()
                        .set_alarm_names(Some(Vec::new()))
                        .enable(false)
                        .rollback(false)
                        .build()
                        .expect("names, enable and rollback are set"),
                ),
                None => None,
            })
            .build()
    }

    /// ECS's capacity provider strategy (empty: the launch type).
    pub fn capacity_provider_strategy(
        &self,
    ) -> Vec<aws_sdk_ecs::types::CapacityProviderStrategyItem> {
        self.capacity_providers
            .iter()
            .map(|(provider, base, weight)| {
                aws_sdk_ecs::types::CapacityProviderStrategyItem::builder()
                    .capacity_provider(provider)
                    .base(*base)
                    .weight(*weight)
                    .build()
                    .expect("the provider is set")
            })
            .collect()
    }

    pub fn load_balancers(&self) -> Vec<aws_sdk_ecs::types::LoadBalancer> {
        self.load_balancers
            .iter()
            .map(|lb| {
                aws_sdk_ecs::types::LoadBalancer::builder()
                    .target_group_arn(&lb.target_group_arn)
                    .container_name(&lb.container_name)
                    .container_port(lb.container_port)
                    .set_advanced_configuration(lb.traffic_shift.as_ref().map(|t| {
                        aws_sdk_ecs::types::AdvancedConfiguration::builder()
                            .alternate_target_group_arn(&t.alternate_target_group_arn)
                            .production_listener_rule(&t.production_listener_rule)
                            .set_test_listener_rule(t.test_listener_rule.clone())
                            .role_arn(&t.role_arn)
                            .build()
                    }))
                    .build()
            })
            .collect()
    }
}

/// The service's fields held as JSON as ECS answers them: on the service, else on its PRIMARY
/// deployment; a field that holds nothing is not set.
fn ecs_fields_of(service: &aws_sdk_ecs::types::Service) -> BTreeMap<String, serde_json::Value> {
    let raw = ecs_json::to_json(service);
    let primary = service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
        .map(|d| ecs_json::to_json(d))
        .unwrap_or_default();
    ecs_json::SERVICE_FIELDS
        .iter()
        .filter_map(|key| {
            let found = [raw.get(*key), primary.get(*key)]
                .into_iter()
                .flatten()
                .find(|v| !ecs_json::is_unset(v))?;
            Some((key.to_string(), found.clone()))
        })
        .collect()
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

/// A service shipit created (its `managed-by` tag) or has deployed (its record of the task
/// definition it runs).
pub fn made_by_shipit(service: &aws_sdk_ecs::types::Service) -> bool {
    crate::ecs::tag_value(service, "managed-by").as_deref() == Some("shipit")
        || crate::ecs::tag_value(service, TAG_CURRENT).is_some()
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
    /// `count_scaled`: Application Auto Scaling sets the desired count, so an existing
    /// service's count is never compared nor written (a new one starts at `wanted`'s).
    pub fn new(
        wanted: ServiceSettings,
        names: &Names,
        task_definition: TaskDefinitionRef,
        current: Option<&aws_sdk_ecs::types::Service>,
        count_scaled: bool,
    ) -> ServicePlan {
        let td_field = |shown: String| Field::new("task_definition", shown, "taskDefinition");
        let scaled = |fields: &mut Vec<Field>| {
            if count_scaled && current.is_some() {
                fields.retain(|f| f.name != "desired_count");
            }
        };
        let mut wanted_fields = wanted.fields();
        scaled(&mut wanted_fields);
        wanted_fields.push(td_field(task_definition.shown()));
        let (operation, current_fields) = match current {
            None => (Operation::CreateService, Vec::new()),
            Some(service) => {
                let mut have = ServiceSettings::from_ecs(service);
                // A config silent on Availability Zone rebalancing means ECS's default, on:
                // a service that has it on is what the config asks for.
                if wanted.az_rebalancing.is_none() && have.az_rebalancing == Some(true) {
                    have.az_rebalancing = None;
                }
                // Monitoring may be answered with ECS's own defaults: compared only when named.
                have.ecs_fields.retain(|key, _| {
                    wanted.ecs_fields.contains_key(key)
                        || ecs_json::SERVICE_FIELDS_SET_ONLY_BY_USERS.contains(&key.as_str())
                });
                let mut fields = have.fields();
                scaled(&mut fields);
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
        // What only the old strategy reads stays on the service, inert, and an update cannot
        // clear it (ECS refuses a canary configuration on a linear deployment, early success
        // on anything but rolling): it is not shown as removed, since it is not.
        let strategy = wanted.deployment.strategy.as_str();
        changes.retain(|c| {
            let inert = match c.field.as_str() {
                f if f.starts_with("deployment.canary") => strategy != "CANARY",
                f if f.starts_with("deployment.linear") => strategy != "LINEAR",
                f if f.starts_with("deployment.early_success") => strategy != "ROLLING",
                f if f.starts_with("circuit_breaker.") => {
                    !wanted.deployment.takes_circuit_breaker()
                }
                _ => false,
            };
            !(inert && c.wanted.is_none())
        });
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

    /// What the config dropped from the deployment configuration, which the update must send
    /// as its empty value.
    pub fn dropped(&self) -> Dropped {
        let removes = |field: &str| {
            self.changes.iter().any(|c| {
                c.operation == Operation::UpdateService
                    && c.field.starts_with(field)
                    && c.wanted.is_none()
            })
        };
        Dropped {
            hooks: removes("deployment.lifecycle_hooks")
                && self.wanted.deployment.lifecycle_hooks.is_empty(),
            early_success: removes("deployment.early_success"),
            bake_time: removes("deployment.bake_time"),
            alarms: removes("alarms"),
        }
    }

    /// Rolling to a strategy that shifts traffic while the load balancer gets its advanced
    /// configuration (alternate target group, listener rules, role) takes two steps (ECS
    /// developer guide, "Update the deployment strategy from rolling update to Amazon ECS
    /// blue/green"): this deploy rolls out with the load balancer's new configuration under
    /// the rolling strategy, and the strategy is switched once that rollout is done
    /// (`apply::switch_strategy`). The next deploy shifts traffic.
    pub fn switches_strategy_after_rollout(&self) -> bool {
        let from_rolling = self.changes.iter().any(|c| {
            c.operation == Operation::UpdateService
                && c.field == "deployment.strategy"
                && c.current.as_deref() == Some("ROLLING")
        });
        from_rolling
            && self.wanted.deployment.strategy != "ROLLING"
            && self.updates("loadBalancers")
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
            .deployment_configuration(settings.deployment_configuration(Dropped::default()))
            .health_check_grace_period_seconds(settings.health_check_grace_period)
            .set_load_balancers(Some(settings.load_balancers()))
            .enable_execute_command(settings.execute_command)
            .set_capacity_provider_strategy(Some(settings.capacity_provider_strategy()))
            // What ECS reports for a Fargate service: LATEST when none was asked for.
            .platform_version(
                settings
                    .platform_version
                    .as_deref()
                    .unwrap_or(LATEST_PLATFORM),
            )
            .propagate_tags(settings.propagate_tags.as_str().into())
            .enable_ecs_managed_tags(settings.ecs_managed_tags)
            // A new service has rebalancing on unless it was asked off.
            .availability_zone_rebalancing(if settings.az_rebalancing == Some(false) {
                aws_sdk_ecs::types::AvailabilityZoneRebalancing::Disabled
            } else {
                aws_sdk_ecs::types::AvailabilityZoneRebalancing::Enabled
            })
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(TAG_CURRENT)
                    .value(TD)
                    .build(),
            )
            .build()
    }

    /// The service as ECS reports it with `settings`' JSON fields on it: the registries on the
    /// service, the others (Service Connect, volumes, VPC Lattice) on its PRIMARY deployment.
    fn with_ecs_fields(settings: &ServiceSettings) -> aws_sdk_ecs::types::Service {
        let mut json = ecs_json::to_json(&service(settings));
        let (on_deployment, on_service): (Vec<_>, Vec<_>) = settings
            .ecs_fields
            .clone()
            .into_iter()
            .partition(|(k, _)| k != "serviceRegistries");
        ecs_json::merge(
            &mut json,
            &serde_json::Value::Object(on_service.into_iter().collect()),
        );
        let mut primary: serde_json::Map<String, serde_json::Value> =
            on_deployment.into_iter().collect();
        primary.insert("status".into(), "PRIMARY".into());
        json["deployments"] = serde_json::json!([primary]);
        ecs_json::from_json(&json, aws_sdk_ecs::types::Service::deserialize).unwrap()
    }

    /// Extra target groups follow the first, each on its container and port, and plan clean
    /// once the service has them.
    #[test]
    fn extra_target_groups_follow_the_load_balancer() {
        let extra = "  load_balancer: { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef' }\n  extra_target_groups:\n    - { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/internal/0123456789abcdef' }\n    - { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/metrics/0123456789abcdef', container_port: 9090 }\n";
        let l = loaded(extra);
        let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        let ports: Vec<(String, i32)> = settings
            .load_balancers
            .iter()
            .map(|lb| (lb.container_name.clone(), lb.container_port))
            .collect();
        let app = l.names.container.clone();
        assert_eq!(
            ports,
            [(app.clone(), 5000), (app.clone(), 5000), (app, 9090)]
        );
        assert_eq!(plan(extra, &service(&settings)).changes, Vec::new());
        let fewer = plan(&extra.replace("    - { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/internal/0123456789abcdef' }\n", ""), &service(&settings));
        assert!(fewer.updates("loadBalancers"));
    }

    /// `service.ecs`: compared with what the service holds, a dropped field sent cleared, and
    /// a field an adopted service holds without the config naming it is a removal.
    #[test]
    fn service_pass_through_fields_are_compared_and_cleared() {
        let ecs = "  ecs:\n    vpcLatticeConfigurations: [{ roleArn: 'arn:aws:iam::123456789012:role/lattice', targetGroupArn: 'arn:aws:vpc-lattice:us-east-1:123456789012:targetgroup/tg-0123456789abcdef0', portName: http }]\n";
        let l = loaded(ecs);
        let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        let made = with_ecs_fields(&settings);
        assert_eq!(plan(ecs, &made).changes, Vec::new());
        let dropped = plan("", &made);
        assert_eq!(dropped.changes.len(), 1, "{:?}", dropped.changes);
        let change = &dropped.changes[0];
        assert_eq!(
            (change.field.as_str(), change.argument, change.is_removal()),
            ("ecs.vpcLatticeConfigurations", "ecs", true)
        );
        assert_eq!(
            ecs_json::service_field_cleared("vpcLatticeConfigurations"),
            Some(serde_json::json!([]))
        );
    }

    /// Service Connect, the service registry and an EBS volume: each set plans under its own
    /// name, plans clean on the service ECS reports, and a change or a drop plans exactly
    /// that field (dropped: sent cleared, Service Connect switched off).
    #[test]
    fn typed_discovery_and_ebs_keys_are_planned_and_cleared() {
        let connect = "  service_connect:\n    namespace: internal\n    services: [{ port_name: http, discovery_name: api, alias: { port: 80 }, request_timeout: 15 }]\n    logs: { access_logs: json }\n";
        let registry = "  service_registry: { arn: 'arn:aws:servicediscovery:us-east-1:123456789012:service/srv-0123456789abcdef', container_port: 5000 }\n";
        let all = format!("{connect}{registry}");
        let text = |service: &str, volume: &str| {
            format!(
                "app: demo\nimage: {{ source: 'docker://demo:1', tag: v1 }}\nservice:\n  subnets: [subnet-0123456789abcdef0]\n{service}task:\n  execution_role: 'arn:aws:iam::123456789012:role/exec'\n  volumes:\n    data:\n      ebs: {{ role: 'arn:aws:iam::123456789012:role/ebs', size: {volume} }}\ncontainer:\n  port_name: http\n  app_protocol: http\n  mount_points: [{{ volume: data, path: /data }}]\n"
            )
        };
        let load = |service: &str, volume: &str| {
            config::load_bytes(text(service, volume).as_bytes(), "d.yaml", &|_| None).unwrap()
        };
        let plan_of = |l: &config::LoadedConfig, current: &aws_sdk_ecs::types::Service| {
            ServicePlan::new(
                ServiceSettings::render(&l.config, &l.names, "us-east-1"),
                &l.names,
                TaskDefinitionRef::Existing(TD.to_string()),
                Some(current),
                false,
            )
        };
        let l = load(&all, "20");
        let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        let labels: Vec<String> = settings
            .fields()
            .into_iter()
            .filter(|f| f.argument == "ecs")
            .map(|f| f.name)
            .collect();
        assert_eq!(
            labels,
            ["service_connect", "service_registry", "ebs_volumes"]
        );
        let connect_json = &settings.ecs_fields["serviceConnectConfiguration"];
        assert_eq!(
            connect_json["logConfiguration"]["options"]["awslogs-group"],
            "/ecs/demo"
        );
        let made = with_ecs_fields(&settings);
        let updates = |p: &ServicePlan| -> Vec<(String, bool)> {
            p.changes
                .iter()
                .filter(|c| c.operation == Operation::UpdateService)
                .map(|c| (c.field.clone(), c.is_removal()))
                .collect()
        };
        assert_eq!(updates(&plan_of(&l, &made)), []);
        let bigger = plan_of(&load(&all, "40"), &made);
        assert_eq!(updates(&bigger), [("ebs_volumes".to_string(), false)]);
        let no_registry = plan_of(&load(connect, "20"), &made);
        assert_eq!(
            updates(&no_registry),
            [("service_registry".to_string(), true)]
        );
        let no_connect = plan_of(&load(registry, "20"), &made);
        assert_eq!(
            updates(&no_connect),
            [("service_connect".to_string(), true)]
        );
        assert_eq!(
            ecs_json::service_field_cleared(ecs_json::service_field_of_label("service_connect")),
            Some(serde_json::json!({ "enabled": false }))
        );
    }

    /// Platform version, tag propagation, managed tags, Availability Zone rebalancing and
    /// deployment alarms: each set, changed and dropped plans exactly that field, a dropped
    /// one goes back to ECS's default, and a service made with the config plans clean.
    #[test]
    fn the_service_settings_of_adoption_are_planned_and_dropped_to_ecs_defaults() {
        let all = "  platform_version: 1.4.0\n  propagate_tags: service\n  ecs_managed_tags: true\n  availability_zone_rebalancing: false\n  alarms: { names: [latency-high, errors-5xx], rollback: false }\n";
        let l = loaded(all);
        let made = service(&ServiceSettings::render(&l.config, &l.names, "us-east-1"));
        assert_eq!(plan(all, &made).changes, Vec::new());

        let fields = |p: &ServicePlan| -> Vec<(String, Option<String>)> {
            p.changes
                .iter()
                .filter(|c| c.operation == Operation::UpdateService)
                .map(|c| (c.field.clone(), c.wanted.clone()))
                .collect()
        };
        // Everything dropped: each is a removal, sent as ECS's default.
        let dropped = plan("", &made);
        let mut removed: Vec<_> = fields(&dropped).into_iter().map(|(f, _)| f).collect();
        removed.sort();
        assert_eq!(
            removed,
            [
                "alarms",
                "availability_zone_rebalancing",
                "ecs_managed_tags",
                "platform_version",
                "propagate_tags"
            ]
        );
        assert!(dropped.dropped().alarms);
        let sent = dropped.wanted.deployment_configuration(dropped.dropped());
        let alarms = sent.alarms().expect("switched off, not left out");
        assert!(!alarms.enable() && alarms.alarm_names().is_empty());

        // Changed: only what changed.
        let changed = "  platform_version: 1.4.0\n  propagate_tags: task_definition\n  ecs_managed_tags: true\n  availability_zone_rebalancing: false\n  alarms: { names: [errors-5xx, latency-high] }\n";
        assert_eq!(
            fields(&plan(changed, &made)),
            [
                (
                    "alarms".to_string(),
                    Some(r#"["errors-5xx","latency-high"] (roll back on alarm)"#.to_string())
                ),
                (
                    "propagate_tags".to_string(),
                    Some("TASK_DEFINITION".to_string())
                ),
            ]
        );
    }

    /// A capacity provider strategy in any order plans clean once made; a changed weight is a
    /// change, and a dropped strategy is a removal (sent as `[]`, back to the launch type).
    #[test]
    fn a_capacity_provider_strategy_is_compared_whatever_its_order() {
        let spot = "  capacity_provider_strategy:\n    - { provider: FARGATE_SPOT, weight: 3 }\n    - { provider: FARGATE, base: 1, weight: 1 }\n";
        let l = loaded(spot);
        let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        assert_eq!(
            settings
                .fields()
                .iter()
                .find(|f| f.name == "capacity_provider_strategy")
                .map(|f| f.value.clone()),
            Some("FARGATE base 1 weight 1, FARGATE_SPOT weight 3".to_string())
        );
        let made = service(&settings);
        assert_eq!(plan(spot, &made).changes, Vec::new());
        let reweighted = spot.replace("weight: 3", "weight: 4");
        let changes = plan(&reweighted, &made).changes;
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].argument, "capacityProviderStrategy");
        let dropped = plan("", &made);
        assert!(dropped.updates("capacityProviderStrategy"));
        assert!(dropped.changes[0].is_removal());
        assert!(dropped.wanted.capacity_provider_strategy().is_empty());
    }

    /// A config silent on Availability Zone rebalancing asks for ECS's default: a service with
    /// it on plans clean, one with it off plans its removal (guarded when adopted), and a
    /// service that reports nothing is left as it is.
    #[test]
    fn availability_zone_rebalancing_unnamed_is_ecs_default() {
        let l = loaded("");
        let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        let on = service(&settings);
        assert_eq!(plan("", &on).changes, Vec::new());
        let off = service(&ServiceSettings {
            az_rebalancing: Some(false),
            ..settings.clone()
        });
        let p = plan("", &off);
        assert_eq!(p.changes.len(), 1, "{:?}", p.changes);
        assert_eq!(p.changes[0].field, "availability_zone_rebalancing");
        assert!(p.changes[0].is_removal());
        let unreported = aws_sdk_ecs::types::Service::builder()
            .service_arn("arn:aws:ecs:us-east-1:1:service/c/demo")
            .task_definition(TD)
            .desired_count(settings.desired_count)
            .network_configuration(settings.network())
            .deployment_configuration(settings.deployment_configuration(Dropped::default()))
            .tags(
                aws_sdk_ecs::types::Tag::builder()
                    .key(TAG_CURRENT)
                    .value(TD)
                    .build(),
            )
            .build();
        assert_eq!(plan("", &unreported).changes, Vec::new());
    }

    fn plan(extra: &str, current: &aws_sdk_ecs::types::Service) -> ServicePlan {
        let l = loaded(extra);
        ServicePlan::new(
            ServiceSettings::render(&l.config, &l.names, "us-east-1"),
            &l.names,
            TaskDefinitionRef::Existing(TD.into()),
            Some(current),
            false,
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
            let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
            assert_eq!(
                plan(extra, &service(&settings)).changes,
                Vec::new(),
                "{extra}"
            );
        }
    }

    const LB_BLUE_GREEN: &str = "  load_balancer:\n    target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef'\n    alternate_target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/fedcba9876543210'\n    production_listener_rule: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/0123456789abcdef/0123456789abcdef/0123456789abcdef'\n    role: 'arn:aws:iam::123456789012:role/ecs-infrastructure'\n";

    /// Every strategy round-trips through ECS's types: a service created from the config plans
    /// clean, whatever defaults the config left out.
    #[test]
    fn every_strategy_plans_clean_once_applied() {
        let hooks = "    lifecycle_hooks:\n      - stages: [post_test_traffic_shift, pre_scale_up]\n        lambda: 'arn:aws:lambda:us-east-1:123456789012:function:smoke'\n        role: 'arn:aws:iam::123456789012:role/hooks'\n      - { stages: [post_production_traffic_shift], pause: true, timeout: 2h, on_timeout: continue }\n";
        for extra in [
            "  deployment: { early_success: { healthy_percent: 100 } }\n".to_string(),
            "  deployment: { bake_time: 0 }\n".to_string(),
            format!(
                "{LB_BLUE_GREEN}  deployment:\n    strategy: blue_green\n    bake_time: 5m\n{hooks}"
            ),
            format!("{LB_BLUE_GREEN}  deployment: {{ strategy: canary, bake_time: 10m }}\n"),
            format!(
                "{LB_BLUE_GREEN}  deployment: {{ strategy: linear, bake_time: 0, linear: {{ step_percent: 12.5, step_bake_time: 1h }} }}\n"
            ),
        ] {
            let l = loaded(&extra);
            let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
            assert_eq!(
                plan(&extra, &service(&settings)).changes,
                Vec::new(),
                "{extra}"
            );
        }
        let l = loaded(&format!(
            "{LB_BLUE_GREEN}  deployment: {{ strategy: canary, bake_time: 10m }}\n"
        ));
        let d = ServiceSettings::render(&l.config, &l.names, "us-east-1")
            .deployment_configuration(Dropped::default());
        let canary = d
            .canary_configuration()
            .expect("ECS's canary defaults are written out");
        assert_eq!(canary.canary_percent(), Some(5.0));
        assert_eq!(canary.canary_bake_time_in_minutes(), Some(10));
        assert_eq!(d.strategy().map(|s| s.as_str()), Some("CANARY"));
    }

    /// Blue/green back to rolling: strategy and load balancer change, the hooks are sent empty
    /// (ECS keeps hooks an update leaves out).
    #[test]
    fn dropping_a_strategy_and_its_hooks_is_planned_and_sent() {
        let extra = format!(
            "{LB_BLUE_GREEN}  deployment:\n    strategy: blue_green\n    bake_time: 5m\n    lifecycle_hooks:\n      - {{ stages: [post_scale_up], pause: true }}\n"
        );
        let l = loaded(&extra);
        let before = service(&ServiceSettings::render(&l.config, &l.names, "us-east-1"));
        let rolling = "  load_balancer: { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef' }\n";
        let p = plan(rolling, &before);
        let fields: Vec<_> = p.changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "deployment.strategy",
                "load_balancer",
                "deployment.bake_time",
                "deployment.lifecycle_hooks[0]"
            ]
        );
        assert!(p.dropped().hooks);
        let sent = p.wanted.deployment_configuration(p.dropped());
        assert_eq!(sent.lifecycle_hooks(), &[]);
        assert!(sent.lifecycle_hooks.is_some());
        // The bake time the plan says is removed is sent as 0 (ECS keeps what an update leaves
        // out), and reads back as none: the plan is clean after.
        assert!(p.dropped().bake_time);
        assert_eq!(sent.bake_time_in_minutes(), Some(0));
        let after = aws_sdk_ecs::types::Service::builder()
            .deployment_configuration(sent)
            .build();
        assert_eq!(
            ServiceSettings::from_ecs(&after)
                .deployment
                .bake_time_minutes,
            None
        );
        assert!(
            p.wanted.load_balancers()[0]
                .advanced_configuration()
                .is_none()
        );
    }

    /// Rolling to blue/green while the load balancer gains its advanced configuration: two
    /// steps. The plan shows the switch; the first update carries the load balancers and no
    /// deployment configuration; the strategy follows the rollout.
    #[test]
    fn rolling_to_blue_green_with_a_new_load_balancer_configuration_takes_two_steps() {
        let rolling = "  load_balancer: { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/0123456789abcdef' }\n  deployment: { early_success: { healthy_percent: 100 } }\n";
        let l = loaded(rolling);
        let before = service(&ServiceSettings::render(&l.config, &l.names, "us-east-1"));
        let blue_green =
            format!("{LB_BLUE_GREEN}  deployment: {{ strategy: blue_green, bake_time: 5m }}\n");
        let p = plan(&blue_green, &before);
        assert!(p.switches_strategy_after_rollout(), "{:?}", p.changes);
        let fields: Vec<_> = p.changes.iter().map(|c| c.field.as_str()).collect();
        // Early success stays on the service, inert under blue/green: not shown as removed.
        assert_eq!(
            fields,
            vec![
                "deployment.strategy",
                "deployment.bake_time",
                "load_balancer"
            ]
        );
        // Once the load balancer has its configuration, the switch is one step.
        let l = loaded(&blue_green);
        let mut settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        settings.deployment.strategy = "ROLLING".into();
        let p = plan(&blue_green, &service(&settings));
        assert!(!p.switches_strategy_after_rollout());
        assert!(p.updates("deploymentConfiguration"));
    }

    /// Canary to linear: the canary configuration stays on the service, inert, and is not
    /// shown as removed; the circuit breaker is neither sent nor compared for linear.
    #[test]
    fn what_only_the_old_strategy_reads_is_not_shown_as_removed() {
        let canary =
            format!("{LB_BLUE_GREEN}  deployment: {{ strategy: canary, bake_time: 5m }}\n");
        let l = loaded(&canary);
        let before = service(&ServiceSettings::render(&l.config, &l.names, "us-east-1"));
        let linear =
            format!("{LB_BLUE_GREEN}  deployment: {{ strategy: linear, bake_time: 5m }}\n");
        let p = plan(&linear, &before);
        let removed: Vec<_> = p
            .changes
            .iter()
            .filter(|c| c.wanted.is_none())
            .map(|c| c.field.as_str())
            .collect();
        assert_eq!(removed, Vec::<&str>::new(), "{:?}", p.changes);
        let sent = p.wanted.deployment_configuration(p.dropped());
        assert!(sent.deployment_circuit_breaker().is_none());
        assert!(sent.linear_configuration().is_some());
    }

    /// Early success dropped from a rolling service: sent switched off, which reads back as
    /// none.
    #[test]
    fn dropping_early_success_sends_it_switched_off() {
        let extra = "  deployment: { early_success: { healthy_percent: 100 } }\n";
        let l = loaded(extra);
        let before = service(&ServiceSettings::render(&l.config, &l.names, "us-east-1"));
        let p = plan("", &before);
        assert_eq!(
            p.dropped(),
            Dropped {
                hooks: false,
                early_success: true,
                bake_time: false,
                alarms: false,
            }
        );
        let sent = p.wanted.deployment_configuration(p.dropped());
        let criteria = sent.early_success_criteria().expect("sent");
        assert!(!criteria.enable());
        let after = aws_sdk_ecs::types::Service::builder()
            .deployment_configuration(sent)
            .build();
        assert_eq!(
            ServiceSettings::from_ecs(&after).deployment.early_success,
            None
        );
    }

    #[test]
    fn removed_settings_are_sent_empty() {
        let l = loaded(
            "  health_check_grace_period: 60\n  load_balancer: { target_group_arn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/0123456789abcdef' }\n",
        );
        let before = service(&ServiceSettings::render(&l.config, &l.names, "us-east-1"));
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

    /// With autoscaling, an existing service's count is never planned, whatever it is.
    #[test]
    fn a_scaled_count_is_never_written() {
        let l = loaded("");
        let mut settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        let current = service(&settings);
        settings.desired_count = 7;
        let p = ServicePlan::new(
            settings,
            &l.names,
            TaskDefinitionRef::Existing(TD.into()),
            Some(&current),
            true,
        );
        assert!(p.changes.is_empty(), "{:?}", p.changes);
    }

    #[test]
    fn desired_count_is_written_only_when_it_differs() {
        let l = loaded("");
        let mut settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        assert!(!plan("", &service(&settings)).updates("desiredCount"));
        settings.desired_count = 5;
        let p = plan("", &service(&settings));
        assert!(p.updates("desiredCount"));
        assert_eq!(p.changes.len(), 1);
    }

    #[test]
    fn a_new_revision_changes_the_task_definition_and_the_recorded_tag() {
        let l = loaded("");
        let settings = ServiceSettings::render(&l.config, &l.names, "us-east-1");
        let p = ServicePlan::new(
            settings.clone(),
            &l.names,
            TaskDefinitionRef::NewRevision,
            Some(&service(&settings)),
            false,
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
