//! The rules of `service.deployment`: the strategy and what each needs (the load balancer's
//! traffic shifting, bake times, canary and linear steps, lifecycle hooks, early success).

use super::*;

/// `service.deployment` and the load-balancer settings the traffic-shifting strategies need.
pub(super) fn check_deployment(c: &mut Checker, config: &DeployConfig) {
    let s = &config.service;
    let d = &s.deployment;
    let strategy = d.strategy;
    let only_for = |what: &str, strategies: &str| {
        format!(
            "`{what}` is used only by {strategies} deployments, and this service's strategy is {strategy}"
        )
    };
    if strategy.shifts_traffic() {
        match &s.load_balancer {
            None => c.error(
                "strategy-needs-load-balancer",
                "service.deployment.strategy",
                format!("a {strategy} deployment moves load-balancer traffic between two revisions, and the service has no `service.load_balancer`"),
                "add `service.load_balancer` with `target_group_arn`, `alternate_target_group_arn`, `production_listener_rule` and `role`, or use `strategy: rolling`",
            ),
            Some(lb) => {
                let missing = [
                    ("alternate_target_group_arn", lb.alternate_target_group_arn.is_none(), "the second target group, for the new revision's tasks"),
                    ("production_listener_rule", lb.production_listener_rule.is_none(), "the listener rule (ALB) or listener (NLB) that carries production traffic"),
                    ("role", lb.role.is_none(), "a role ECS assumes to change the listener rules (AmazonECSInfrastructureRolePolicyForLoadBalancers)"),
                ];
                for (key, absent, what) in missing {
                    if absent {
                        c.error(
                            "required",
                            "service.load_balancer",
                            format!("a {strategy} deployment needs `service.load_balancer.{key}`"),
                            format!("add `{key}`: {what}"),
                        );
                    }
                }
            }
        }
        // ECS requires it for blue_green; for linear and canary it is asked for too, so that
        // what the service runs is the config's choice and not a default that may change.
        if d.bake_time.is_none() {
            c.error(
                "required",
                "service.deployment.strategy",
                format!("a {strategy} deployment needs `service.deployment.bake_time`: how long both revisions run after production traffic moved"),
                "add `bake_time: 5m` (or `0` to remove the old revision at once)",
            );
        }
    } else {
        if let Some(lb) = &s.load_balancer {
            for (key, set) in [
                (
                    "alternate_target_group_arn",
                    lb.alternate_target_group_arn.is_some(),
                ),
                (
                    "production_listener_rule",
                    lb.production_listener_rule.is_some(),
                ),
                ("test_listener_rule", lb.test_listener_rule.is_some()),
                ("role", lb.role.is_some()),
            ] {
                if set {
                    let path = format!("service.load_balancer.{key}");
                    c.error(
                        "only-with-strategy",
                        &path,
                        only_for(&path, "blue_green, linear and canary"),
                        "set `service.deployment.strategy` to blue_green, linear or canary, or remove it",
                    );
                }
            }
        }
        if !d.lifecycle_hooks.is_empty() {
            c.error(
                "only-with-strategy",
                "service.deployment.lifecycle_hooks",
                only_for(
                    "service.deployment.lifecycle_hooks",
                    "blue_green, linear and canary",
                ),
                "set `strategy` to blue_green, linear or canary, or remove the hooks",
            );
        }
    }
    if let Some(lb) = &s.load_balancer {
        if let Some(arn) = &lb.alternate_target_group_arn {
            let path = "service.load_balancer.alternate_target_group_arn";
            if !TARGET_GROUP_ARN.is_match(arn) {
                c.error(
                    "arn",
                    path,
                    format!("`{arn}` is not a target group ARN"),
                    "write `arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`",
                );
            } else if *arn == lb.target_group_arn {
                c.error("alternate-target-group", path, "the alternate target group is the production one: the two revisions need a target group each".into(), "create a second target group (target type `ip`, same port and health check) and name it here");
            }
        }
        for (key, value) in [
            ("production_listener_rule", &lb.production_listener_rule),
            ("test_listener_rule", &lb.test_listener_rule),
        ] {
            if let Some(arn) = value
                && !LISTENER_RULE_ARN.is_match(arn)
            {
                c.error(
                    "arn",
                    &format!("service.load_balancer.{key}"),
                    format!("`{arn}` is neither an Application Load Balancer listener rule ARN nor a Network Load Balancer listener ARN"),
                    "write `arn:aws:elasticloadbalancing:REGION:ACCOUNT:listener-rule/app/LB/ID/ID/ID` (ALB) or `...:listener/net/LB/ID/ID` (NLB)",
                );
            }
        }
        if let Some(arn) = &lb.role {
            role_arn(c, "service.load_balancer.role", arn);
        }
    }
    minutes(
        c,
        "service.deployment.bake_time",
        d.bake_time.as_ref(),
        0,
        1440,
    );
    if let Some(canary) = &d.canary {
        if strategy != Strategy::Canary {
            c.error(
                "only-with-strategy",
                "service.deployment.canary",
                only_for("service.deployment.canary", "canary"),
                "set `strategy: canary`, or remove `canary`",
            );
        }
        percent_in_tenths(c, "service.deployment.canary.percent", canary.percent, 0.1);
        minutes(
            c,
            "service.deployment.canary.bake_time",
            canary.bake_time.as_ref(),
            0,
            1440,
        );
    }
    if let Some(linear) = &d.linear {
        if strategy != Strategy::Linear {
            c.error(
                "only-with-strategy",
                "service.deployment.linear",
                only_for("service.deployment.linear", "linear"),
                "set `strategy: linear`, or remove `linear`",
            );
        }
        percent_in_tenths(
            c,
            "service.deployment.linear.step_percent",
            linear.step_percent,
            3.0,
        );
        minutes(
            c,
            "service.deployment.linear.step_bake_time",
            linear.step_bake_time.as_ref(),
            0,
            1440,
        );
    }
    if let Some(early) = &d.early_success {
        if strategy != Strategy::Rolling {
            c.error(
                "only-with-strategy",
                "service.deployment.early_success",
                only_for("service.deployment.early_success", "rolling"),
                "remove `early_success`: the traffic-shifting strategies end after their bake time",
            );
        }
        let path = "service.deployment.early_success.healthy_percent";
        c.range(path, early.healthy_percent, 0, 100, "%");
        if early.healthy_percent < s.min_healthy_percent {
            c.error(
                "early-success-percent",
                path,
                format!("early success at {}% is below `service.min_healthy_percent` ({}%)", early.healthy_percent, s.min_healthy_percent),
                "ECS requires healthy_percent >= min_healthy_percent: raise it, or lower `min_healthy_percent`",
            );
        }
    }
    let has_test_listener = s
        .load_balancer
        .as_ref()
        .is_some_and(|lb| lb.test_listener_rule.is_some());
    for (i, hook) in d.lifecycle_hooks.iter().enumerate() {
        let at = |key: &str| format!("service.deployment.lifecycle_hooks[{i}].{key}");
        let here = format!("service.deployment.lifecycle_hooks[{i}]");
        if hook.stages.is_empty() {
            c.error(
                "required",
                &at("stages"),
                "a lifecycle hook with no stages never runs".into(),
                "list the stages, e.g. `stages: [post_test_traffic_shift]`",
            );
        }
        let mut seen = Vec::new();
        for (j, stage) in hook.stages.iter().enumerate() {
            let path = format!("service.deployment.lifecycle_hooks[{i}].stages[{j}]");
            if seen.contains(stage) {
                c.error(
                    "duplicate",
                    &path,
                    format!("stage {} is listed twice", stage.ecs_name()),
                    "list each stage once",
                );
            }
            seen.push(*stage);
            if hook.pause
                && matches!(
                    stage,
                    HookStage::TestTrafficShift | HookStage::ProductionTrafficShift
                )
            {
                c.error(
                    "pause-stage",
                    &path,
                    format!("ECS cannot pause at {}: traffic is moving then", stage.ecs_name()),
                    "pause at post_test_traffic_shift or pre_production_traffic_shift instead, or use a Lambda hook",
                );
            }
            if !has_test_listener
                && matches!(
                    stage,
                    HookStage::TestTrafficShift | HookStage::PostTestTrafficShift
                )
            {
                c.warn(
                    "no-test-traffic",
                    &path,
                    format!("the hook runs at {} but no test traffic reaches the new revision: there is no `service.load_balancer.test_listener_rule`", stage.ecs_name()),
                    "add a test listener rule, or hook post_scale_up instead",
                );
            }
        }
        match (&hook.lambda, hook.pause) {
            (Some(_), true) => c.error("hook-target", &here, "a hook is either a Lambda function or a pause, not both".into(), "remove `lambda` or `pause: true`"),
            (None, false) => c.error("hook-target", &here, "the hook names no target".into(), "add `lambda: arn:aws:lambda:REGION:ACCOUNT:function:NAME` (with `role`), or `pause: true`"),
            (Some(arn), false) => {
                if !LAMBDA_ARN.is_match(arn) {
                    c.error("arn", &at("lambda"), format!("`{arn}` is not a Lambda function ARN"), "write `arn:aws:lambda:REGION:ACCOUNT:function:NAME`");
                }
                match &hook.role {
                    None => c.error("required", &here, "a Lambda hook needs `role`: the role ECS assumes to invoke the function".into(), "add `role: arn:aws:iam::ACCOUNT:role/NAME` (a role lambda:InvokeFunction on the function, trusted by ecs.amazonaws.com)"),
                    Some(role) => role_arn(c, &at("role"), role),
                }
            }
            (None, true) => {
                if hook.role.is_some() {
                    c.error("hook-target", &at("role"), "a pause hook invokes nothing, so it takes no role".into(), "remove `role`");
                }
            }
        }
        minutes(c, &at("timeout"), hook.timeout.as_ref(), 1, 20160);
    }
}

/// A duration in whole minutes within `min..=max`, when given.
pub(super) fn minutes(c: &mut Checker, path: &str, value: Option<&Minutes>, min: i64, max: i64) {
    let Some(value) = value else { return };
    let text = value.to_string();
    match value.minutes() {
        None => c.error(
            "duration",
            path,
            format!("`{text}` is not a duration in whole minutes"),
            "write `10m`, `1h` or `1h30m` (`0` for none)",
        ),
        Some(m) if !(min..=max).contains(&m) => c.error(
            "out-of-range",
            path,
            format!("`{path}` is {m} minutes; ECS takes {min} to {max}"),
            format!("set `{path}` between {min}m and {}h", max / 60),
        ),
        Some(_) => {}
    }
}

/// ECS's traffic percentages: multiples of 0.1 from `min` to 100.
pub(super) fn percent_in_tenths(c: &mut Checker, path: &str, value: f64, min: f64) {
    let tenths = value * 10.0;
    if !(min..=100.0).contains(&value) || (tenths - tenths.round()).abs() > 1e-6 {
        c.error(
            "traffic-percent",
            path,
            format!("`{path}` is {value}; ECS takes multiples of 0.1 from {min} to 100"),
            format!("set `{path}` to a value like 5, 12.5 or 20 (at least {min})"),
        );
    }
}
