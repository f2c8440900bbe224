//! The rules of `service:` (network, percents, platform version, capacity providers,
//! deployment alarms, load balancers and extra target groups); Service Connect and the
//! registry are in `discovery`, the deployment strategy in `deployment`.

use super::*;

pub(super) fn check_service(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let s = &config.service;
    if s.desired_count < 0 {
        c.error(
            "out-of-range",
            "service.desired_count",
            format!(
                "`service.desired_count` is {}; it cannot be negative",
                s.desired_count
            ),
            "set it to 0 or more (0 stops the service's tasks)",
        );
    }
    if s.subnets.is_empty() {
        c.error(
            "required",
            "service.subnets",
            "`service.subnets` is empty: Fargate tasks need at least one subnet".into(),
            "list the subnet ids, e.g. `aws ec2 describe-subnets --query 'Subnets[].SubnetId'`",
        );
    }
    if s.subnets.len() > 16 {
        c.error(
            "too-many",
            "service.subnets",
            format!("{} subnets; ECS takes at most 16", s.subnets.len()),
            "keep at most 16 subnets",
        );
    }
    for (i, subnet) in s.subnets.iter().enumerate() {
        if !SUBNET.is_match(subnet) {
            c.error(
                "subnet-id",
                &format!("service.subnets[{i}]"),
                format!("`{subnet}` is not a subnet id"),
                "subnet ids look like `subnet-0123456789abcdef0`",
            );
        }
    }
    if s.security_groups.len() > 5 {
        c.error(
            "too-many",
            "service.security_groups",
            format!(
                "{} security groups; ECS takes at most 5",
                s.security_groups.len()
            ),
            "keep at most 5 security groups",
        );
    }
    for (i, group) in s.security_groups.iter().enumerate() {
        if !SECURITY_GROUP.is_match(group) {
            c.error(
                "security-group-id",
                &format!("service.security_groups[{i}]"),
                format!("`{group}` is not a security group id"),
                "security group ids look like `sg-0123456789abcdef0`",
            );
        }
    }
    c.range(
        "service.min_healthy_percent",
        s.min_healthy_percent,
        0,
        100,
        "%",
    );
    c.range("service.max_percent", s.max_percent, 100, 200, "%");
    if s.min_healthy_percent == 100 && s.max_percent == 100 && s.desired_count > 0 {
        c.error(
            "deployment-percent",
            "service.max_percent",
            "with min_healthy_percent 100 and max_percent 100, ECS can neither stop an old task nor start a new one".into(),
            "raise `max_percent` above 100 (200 is the default) or lower `min_healthy_percent`",
        );
    }
    if let Some(grace) = s.health_check_grace_period {
        c.range(
            "service.health_check_grace_period",
            grace,
            0,
            2_147_483_647,
            " s",
        );
    }
    check_platform_version(c, config, names);
    if let Some(alarms) = &s.alarms {
        check_deployment_alarms(c, &alarms.names);
    }
    check_capacity_providers(c, config);
    check_pass_through(c, "service.ecs", crate::ecs_json::Target::Service, &s.ecs);
    check_extra_target_groups(c, config, names);
    discovery::check_service_connect(c, config, names);
    discovery::check_service_registry(c, config, names);
    if let Some(lb) = &s.load_balancer {
        if !TARGET_GROUP_ARN.is_match(&lb.target_group_arn) {
            c.error(
                "arn",
                "service.load_balancer.target_group_arn",
                format!("`{}` is not a target group ARN", lb.target_group_arn),
                "write `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`",
            );
        }
        // With `containers`, check_containers compares with the app container's port.
        if let Some(port) = lb.container_port
            && config.containers.is_empty()
            && port != config.container.port
        {
            c.error(
                "load-balancer-port",
                "service.load_balancer.container_port",
                format!(
                    "the target group sends to port {port}, but the container listens on {}",
                    config.container.port
                ),
                "make `service.load_balancer.container_port` equal `container.port`, or remove it",
            );
        }
    }
}

/// `service.extra_target_groups`: at most 5 target groups per service in all (ECS service
/// quotas), each once, on a container of the task with a port, beside `load_balancer`, with a
/// rolling deployment (the traffic-shifting strategies move one target group pair).
pub(super) fn check_extra_target_groups(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let s = &config.service;
    if s.extra_target_groups.is_empty() {
        return;
    }
    if s.load_balancer.is_none() {
        c.error(
            "extra-target-groups",
            "service.extra_target_groups",
            "extra target groups come after `service.load_balancer`, and there is none".into(),
            "move the first one to `service.load_balancer`",
        );
    }
    if s.deployment.strategy.shifts_traffic() {
        c.error(
            "extra-target-groups",
            "service.extra_target_groups",
            format!(
                "a {} deployment moves traffic between one pair of target groups",
                s.deployment.strategy
            ),
            "use `strategy: rolling`, or remove the extra target groups",
        );
    }
    if s.extra_target_groups.len() > 4 {
        c.error(
            "too-many",
            "service.extra_target_groups",
            format!(
                "{} extra target groups; a service takes 5 in all",
                s.extra_target_groups.len()
            ),
            "keep at most 4 here",
        );
    }
    let specs = config.container_specs(&names.container);
    let mut seen: std::collections::BTreeSet<&str> = s
        .load_balancer
        .iter()
        .map(|lb| lb.target_group_arn.as_str())
        .collect();
    for (i, extra) in s.extra_target_groups.iter().enumerate() {
        let at = |key: &str| format!("service.extra_target_groups[{i}].{key}");
        if !TARGET_GROUP_ARN.is_match(&extra.target_group_arn) {
            c.error(
                "arn",
                &at("target_group_arn"),
                format!("`{}` is not a target group ARN", extra.target_group_arn),
                "write `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`",
            );
        } else if !seen.insert(&extra.target_group_arn) {
            c.error(
                "duplicate",
                &at("target_group_arn"),
                "this target group is attached twice".into(),
                "attach each target group once",
            );
        }
        let container = extra.container.as_deref().unwrap_or(&names.container);
        match specs.iter().find(|spec| spec.name == container) {
            None => c.error(
                "unknown-container",
                &at("container"),
                format!("`{container}` is not a container of the task"),
                "name a container of `container:` or `containers:`",
            ),
            Some(spec) if extra.container_port.is_none() && spec.port.is_none() => c.error(
                "load-balancer-port",
                &at("container_port"),
                format!("container `{container}` has no `port` to send to"),
                "give the target group a `container_port`, or the container a `port`",
            ),
            Some(_) => {}
        }
    }
}

/// `service.platform_version`: `LATEST` or a version, and one that has what the config uses.
/// EFS volumes, more than the default ephemeral storage and ECS Exec need Fargate platform
/// version 1.4.0 or later (ECS developer guide, "Fargate Linux platform version history").
pub(super) fn check_platform_version(c: &mut Checker, config: &DeployConfig, names: &Names) {
    const PATH: &str = "service.platform_version";
    let Some(version) = config.service.platform_version.as_deref() else {
        return;
    };
    if version == "LATEST" {
        return;
    }
    let Some(parts) = PLATFORM_VERSION.captures(version) else {
        c.error(
            "platform-version",
            PATH,
            format!("`{version}` is not a Fargate platform version"),
            "write `LATEST` or a version such as `1.4.0`",
        );
        return;
    };
    let number = |i: usize| parts[i].parse::<u32>().unwrap_or(u32::MAX);
    if (number(1), number(2)) >= (1, 4) {
        return;
    }
    let task = &config.task;
    let needs = [
        (
            task.volumes.values().any(|v| v.efs.is_some()),
            "EFS volumes",
        ),
        // ECS developer guide: Service Connect and EBS volumes on Fargate need 1.4.0.
        (
            task.volumes.values().any(|v| v.ebs.is_some()),
            "EBS volumes",
        ),
        (config.service.service_connect.is_some(), "Service Connect"),
        (task.ephemeral_storage.is_some(), "`task.ephemeral_storage`"),
        (config.service.enable_execute_command, "ECS Exec"),
        (task.pid_mode.is_some(), "`task.pid_mode`"),
        (
            config
                .container_specs(&names.container)
                .iter()
                .any(|spec| !spec.environment_files.is_empty()),
            "environment files",
        ),
        (
            task.cpu_architecture == crate::config::model::CpuArchitecture::Arm64
                && config
                    .service
                    .capacity_provider_strategy
                    .iter()
                    .any(|item| item.provider == FargateCapacityProvider::FargateSpot),
            "Fargate Spot on ARM64",
        ),
    ];
    let used: Vec<&str> = needs
        .iter()
        .filter(|(used, _)| *used)
        .map(|(_, what)| *what)
        .collect();
    if (number(1), number(2)) < (1, 3) {
        c.error(
            "platform-version",
            PATH,
            format!(
                "Fargate platform version {version} is retired; Linux tasks run on 1.3.0 or 1.4.0"
            ),
            "write `LATEST` or `1.4.0`",
        );
    } else if !used.is_empty() {
        c.error(
            "platform-version-too-old",
            PATH,
            format!(
                "{} {} Fargate platform version 1.4.0 or later, and this service asks for {version}",
                used.join(" and "),
                if used.len() == 1 { "needs" } else { "need" }
            ),
            "write `platform_version: LATEST` (or `1.4.0`), or remove the line",
        );
    }
}

/// `service.capacity_provider_strategy`, by CapacityProviderStrategyItem's rules (ECS API
/// reference): each provider once, a base (0-100000) on one entry at most, weights 0-1000 and
/// one above 0 at least, since a weight of 0 places no task beyond the base.
pub(super) fn check_capacity_providers(c: &mut Checker, config: &DeployConfig) {
    let strategy = &config.service.capacity_provider_strategy;
    let at = |i: usize, key: &str| format!("service.capacity_provider_strategy[{i}].{key}");
    let mut seen = std::collections::BTreeSet::new();
    for (i, item) in strategy.iter().enumerate() {
        if !seen.insert(item.provider) {
            c.error(
                "duplicate",
                &at(i, "provider"),
                format!("{} is listed twice", item.provider.ecs_name()),
                "list each capacity provider once",
            );
        }
        c.range(&at(i, "base"), item.base, 0, 100_000, "");
        c.range(&at(i, "weight"), item.weight, 0, 1000, "");
    }
    let with_base: Vec<usize> = (0..strategy.len())
        .filter(|&i| strategy[i].base > 0)
        .collect();
    if let [_, second, ..] = with_base[..] {
        c.error(
            "capacity-provider-base",
            &at(second, "base"),
            "only one capacity provider of a strategy may have a base".into(),
            "keep `base` on one entry (the one that must always run tasks)",
        );
    }
    if !strategy.is_empty() && strategy.iter().all(|item| item.weight == 0) {
        c.error(
            "capacity-provider-weight",
            "service.capacity_provider_strategy",
            "every weight is 0: ECS places no task beyond a base and refuses the service".into(),
            "give at least one provider `weight: 1` or more",
        );
    }
}

/// `service.alarms.names`: CloudWatch alarm names (1-255 characters, CloudWatch's limit),
/// each once; ECS takes names, not ARNs.
pub(super) fn check_deployment_alarms(c: &mut Checker, names: &[String]) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, name) in names.iter().enumerate() {
        let path = format!("service.alarms.names[{i}]");
        if name.starts_with("arn:") {
            c.error(
                "alarm-name",
                &path,
                format!("`{name}` is an ARN; ECS takes the alarm's name"),
                match name.split_once(":alarm:") {
                    Some((_, short)) => format!("write `{short}`"),
                    None => "write the alarm's name as CloudWatch shows it".to_string(),
                },
            );
        } else if name.is_empty()
            || name.chars().count() > 255
            || name.chars().any(char::is_control)
        {
            c.error(
                "alarm-name",
                &path,
                "a CloudWatch alarm name has 1 to 255 printable characters".into(),
                "write the alarm's name as CloudWatch shows it",
            );
        } else if !seen.insert(name.as_str()) {
            c.error(
                "duplicate",
                &path,
                format!("alarm `{name}` is listed twice"),
                "list each alarm once",
            );
        }
    }
}
