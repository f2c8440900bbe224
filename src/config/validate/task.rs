//! The rules of `task:` (size, roles, platform, pid mode, tags, the pass-through and Windows's
//! limits) and of the ports every container declares; storage is in `storage`.

use super::*;

pub(super) fn check_task(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let t = &config.task;
    match fargate_memory_options(t.cpu) {
        None => c.error(
            "fargate-cpu",
            "task.cpu",
            format!("Fargate has no task size with {} CPU units", t.cpu),
            "use 256, 512, 1024, 2048, 4096, 8192 or 16384 (1024 units = 1 vCPU)",
        ),
        Some(options) if !options.contains(&t.memory) => {
            let choices = if options.len() > 8 {
                format!(
                    "{} to {} in steps of {}",
                    options[0],
                    options[options.len() - 1],
                    options[1] - options[0]
                )
            } else {
                let list: Vec<String> = options.iter().map(|m| m.to_string()).collect();
                list.join(", ")
            };
            c.error(
                "fargate-cpu-memory",
                "task.memory",
                format!(
                    "Fargate does not pair {} MiB of memory with {} CPU units",
                    t.memory, t.cpu
                ),
                format!("with cpu {} use memory {choices} (MiB)", t.cpu),
            );
        }
        Some(_) => {}
    }
    match &t.execution_role {
        None => c.error(
            "required",
            "task.execution_role",
            "`task.execution_role` is missing: Fargate needs it to pull from ECR and write to CloudWatch Logs".into(),
            "add `execution_role: arn:aws:iam::ACCOUNT:role/ecsTaskExecutionRole` (a role with AmazonECSTaskExecutionRolePolicy)",
        ),
        Some(arn) => role_arn(c, "task.execution_role", arn),
    }
    if let Some(arn) = &t.task_role {
        role_arn(c, "task.task_role", arn);
    }
    check_tags(
        c,
        "task.tags",
        &t.tags,
        49,
        "ECS takes 50 per task definition, and shipit writes one",
    );
    check_pass_through(
        c,
        "task.ecs",
        crate::ecs_json::Target::TaskDefinition,
        &t.ecs,
    );
    if !t.operating_system_family.is_linux() {
        check_windows(c, config, names);
    }
}

/// A container's ports: each (port, protocol) once, and port names as Service Connect takes
/// them (ECS API reference, PortMapping `name`: up to 64 lowercase letters, digits, `_` and
/// `-`, not starting with `-`), each once in the container.
pub(super) fn check_ports(
    c: &mut Checker,
    base: &str,
    main: Option<i64>,
    main_name: Option<&str>,
    ports: &[crate::config::model::PortConfig],
) {
    if main.is_none() && (main_name.is_some()) {
        c.error(
            "port-name",
            &format!("{base}.port_name"),
            "`port_name` names the container's `port`, and it has none".into(),
            "add `port`, or move the name to an entry of `ports`",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut names = std::collections::BTreeSet::new();
    let mut named = |c: &mut Checker, path: String, name: Option<&str>| {
        let Some(name) = name else { return };
        if !PORT_NAME.is_match(name) {
            c.error(
                "port-name",
                &path,
                format!("`{name}` is not a port name ECS takes"),
                "use up to 64 lowercase letters, digits, `_` and `-`, not starting with `-`",
            );
        } else if !names.insert(name.to_string()) {
            c.error(
                "duplicate",
                &path,
                format!("port name `{name}` is used twice"),
                "give each port its own name",
            );
        }
    };
    if let Some(port) = main {
        seen.insert((port, "tcp"));
        named(c, format!("{base}.port_name"), main_name);
    }
    for (i, p) in ports.iter().enumerate() {
        let at = format!("{base}.ports[{i}]");
        c.range(&format!("{at}.port"), p.port, 1, 65535, "");
        if !seen.insert((p.port, p.protocol.ecs_name())) {
            c.error(
                "duplicate",
                &format!("{at}.port"),
                format!("port {}/{} is listed twice", p.port, p.protocol.ecs_name()),
                "list each port once",
            );
        }
        named(c, format!("{at}.name"), p.name.as_deref());
    }
}

/// A pass-through map (`ecs:`), key by key against ECS's model (`ecs_json::check`).
pub(super) fn check_pass_through(
    c: &mut Checker,
    at: &str,
    target: crate::ecs_json::Target,
    fields: &BTreeMap<String, serde_json::Value>,
) {
    for (key, value) in fields {
        if let Err((rule, message, fix)) = crate::ecs_json::check(target, key, value) {
            c.error(rule, &format!("{at}.{key}"), message, fix);
        }
    }
}

/// ECS's tag rules ("Tagging your Amazon ECS resources", and EC2's for EBS volumes): at most
/// 50 per resource (on a task definition, one is shipit's `managed-by`), keys of 1-128 and values of at most 256 characters from letters,
/// digits, spaces and `+ - = . _ : / @`, and no key starting with `aws:`.
pub(super) fn check_tags(
    c: &mut Checker,
    at: &str,
    tags: &BTreeMap<String, String>,
    most: usize,
    limit: &str,
) {
    if tags.len() > most {
        c.error(
            "too-many",
            at,
            format!("{} tags; {limit}", tags.len()),
            format!("keep at most {most} tags"),
        );
    }
    for (key, value) in tags {
        let path = format!("{at}.{key}");
        let allowed = |text: &str| {
            text.chars()
                .all(|ch| ch.is_alphanumeric() || ch == ' ' || "+-=._:/@".contains(ch))
        };
        if key.to_ascii_lowercase().starts_with("aws:")
            || key == crate::config::model::MANAGED_BY_TAG
        {
            c.error(
                "tag-key",
                &path,
                format!(
                    "tag `{key}` is reserved (`aws:` keys are AWS's, `managed-by` is shipit's)"
                ),
                "choose another key",
            );
        } else if key.is_empty() || key.chars().count() > 128 || !allowed(key) {
            c.error(
                "tag-key",
                &path,
                format!("`{key}` is not a tag key ECS takes: 1-128 letters, digits, spaces and + - = . _ : / @"),
                "rename the key",
            );
        } else if value.chars().count() > 256 || !allowed(value) {
            c.error(
                "tag-value",
                &path,
                "a tag value has at most 256 letters, digits, spaces and + - = . _ : / @".into(),
                "shorten the value or drop the other characters",
            );
        }
    }
}

/// Windows on Fargate (ECS developer guide, "Amazon ECS task definition differences for
/// Windows containers on Fargate"): X86_64 only, at least 1 vCPU, and none of the Linux
/// process settings, EFS volumes or a shared process namespace.
pub(super) fn check_windows(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let t = &config.task;
    let family = t.operating_system_family.ecs_name();
    if t.cpu_architecture != crate::config::model::CpuArchitecture::X86_64 {
        c.error(
            "windows",
            "task.cpu_architecture",
            format!("{family} runs on X86_64 only"),
            "remove `cpu_architecture` or set it to X86_64",
        );
    }
    if t.cpu < 1024 {
        c.error(
            "windows",
            "task.cpu",
            format!(
                "Windows tasks on Fargate need at least 1 vCPU, and this task has {} CPU units",
                t.cpu
            ),
            "set `task.cpu: 1024` or more (with memory to match)",
        );
    }
    if let Some(i) = config
        .service
        .capacity_provider_strategy
        .iter()
        .position(|item| item.provider == FargateCapacityProvider::FargateSpot)
    {
        c.error(
            "windows",
            &format!("service.capacity_provider_strategy[{i}].provider"),
            "Fargate Spot runs Linux tasks only".into(),
            "use FARGATE for a Windows task",
        );
    }
    if t.pid_mode.is_some() {
        c.error(
            "windows",
            "task.pid_mode",
            "Windows tasks have no shared process namespace".into(),
            "remove `pid_mode`",
        );
    }
    for (name, volume) in &t.volumes {
        if volume.efs.is_some() {
            c.error(
                "windows",
                &format!("task.volumes.{name}.efs"),
                "Windows tasks on Fargate cannot mount EFS".into(),
                "remove the EFS volume, or run the task on Linux",
            );
        }
    }
    for (i, spec) in config.container_specs(&names.container).iter().enumerate() {
        let at = if config.containers.is_empty() {
            "container".to_string()
        } else {
            format!("containers[{i}]")
        };
        let p = spec.process();
        for (set, key) in [
            (p.user.is_some(), "user"),
            (p.readonly_root_filesystem, "readonly_root_filesystem"),
            (p.init_process, "init_process"),
            (!p.ulimits.is_empty(), "ulimits"),
        ] {
            if set {
                c.error(
                    "windows",
                    &format!("{at}.{key}"),
                    format!("`{key}` is a Linux setting; ECS refuses it for {family}"),
                    format!("remove `{key}`"),
                );
            }
        }
    }
}
