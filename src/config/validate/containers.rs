//! The rules of `container:` and every entry of `containers:`: environment, secrets, command,
//! health check, the process keys (user, ulimits, mounts, kernel parameters, environment
//! files), the app and its sidecars, their dependencies and sizes.

use super::*;

pub(super) fn check_container(c: &mut Checker, config: &DeployConfig) {
    if config.containers.is_empty() {
        let k = &config.container;
        check_container_parts(
            c,
            "container",
            Some(k.port),
            &k.environment,
            &k.secrets,
            k.command.as_ref(),
            k.health_check.as_ref(),
        );
        check_process(c, "container", &k.process(), &config.task.volumes);
        check_ports(
            c,
            "container",
            Some(k.port),
            k.port_name.as_deref(),
            &k.ports,
        );
        check_pass_through(
            c,
            "container.ecs",
            crate::ecs_json::Target::Container,
            &k.ecs,
        );
    }
}

/// ECS's resource limit names (ContainerDefinition `ulimits`, botocore's UlimitName enum).
pub(super) const ULIMIT_NAMES: &[&str] = &[
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

/// Fargate lets a task raise `nofile` to at most this, soft and hard (ECS developer guide,
/// "Amazon ECS task definition parameters for Fargate", ulimits).
pub(super) const FARGATE_MAX_NOFILE: i64 = 1_048_576;

/// The rules of the process keys (`plan::process`), `base` being where they are written.
pub(super) fn check_process(
    c: &mut Checker,
    base: &str,
    p: &crate::config::model::ProcessConfig,
    volumes: &std::collections::BTreeMap<String, crate::config::model::VolumeConfig>,
) {
    // Fargate's namespaced kernel parameters (ECS developer guide, task definition
    // parameters, "systemControls": with awsvpc networking, net.* and the IPC namespace's).
    const FARGATE_SYSCTLS: [&str; 5] = [
        "net.",
        "kernel.shm",
        "kernel.msg",
        "kernel.sem",
        "fs.mqueue.",
    ];
    for (namespace, value) in &p.system_controls {
        let at = format!("{base}.system_controls.{namespace}");
        if !FARGATE_SYSCTLS
            .iter()
            .any(|prefix| namespace.starts_with(prefix))
        {
            c.error(
                "system-control",
                &at,
                format!("Fargate does not set `{namespace}`: it takes net.* and kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*"),
                "remove it, or set it in the image",
            );
        } else if value.is_empty() || value.chars().any(char::is_control) {
            c.error(
                "system-control",
                &at,
                format!("`{namespace}` needs a value"),
                "write the value as sysctl takes it, e.g. \"1024\"",
            );
        }
    }
    // ECS takes up to 10 environment files, each an S3 object with the .env extension
    // (ECS developer guide, "Pass an individual environment variable file").
    if p.environment_files.len() > 10 {
        c.error(
            "too-many",
            &format!("{base}.environment_files"),
            format!(
                "{} environment files; ECS takes at most 10",
                p.environment_files.len()
            ),
            "merge some of the files",
        );
    }
    for (i, arn) in p.environment_files.iter().enumerate() {
        if !S3_ENV_FILE.is_match(arn) {
            c.error(
                "environment-file",
                &format!("{base}.environment_files[{i}]"),
                format!("`{arn}` is not the ARN of an S3 object ending in .env"),
                "write `arn:aws:s3:::BUCKET/PATH/NAME.env`",
            );
        }
    }
    for (i, mount) in p.mount_points.iter().enumerate() {
        let at = format!("{base}.mount_points[{i}]");
        if !volumes.contains_key(&mount.volume) {
            c.error(
                "mount-volume",
                &format!("{at}.volume"),
                format!("`{}` is not a volume of the task", mount.volume),
                format!(
                    "declare it under `task.volumes: {{ {}: {{}} }}` (or `{{ efs: ... }}`), or mount one of {}",
                    mount.volume,
                    if volumes.is_empty() {
                        "the task's volumes (it has none)".to_string()
                    } else {
                        volumes.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                    }
                ),
            );
        }
        if !mount.path.starts_with('/') {
            c.error(
                "mount-path",
                &format!("{at}.path"),
                format!("`{}` is not an absolute path", mount.path),
                "write the path inside the container from `/`, e.g. `/data`",
            );
        }
    }
    if let Some(entry_point) = &p.entry_point
        && (entry_point.is_empty() || entry_point[0].trim().is_empty())
    {
        c.error(
            "entry-point",
            &format!("{base}.entry_point"),
            format!("`{base}.entry_point` is empty"),
            "list the program and its first arguments, e.g. `[/bin/sh, -c]`, or remove it to use the image's ENTRYPOINT",
        );
    }
    for (key, value) in [
        ("user", &p.user),
        ("working_directory", &p.working_directory),
    ] {
        if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
            c.error(
                "empty",
                &format!("{base}.{key}"),
                format!("`{base}.{key}` is empty"),
                format!("write a value, or remove `{key}` to use the image's own"),
            );
        }
    }
    // Fargate's most: "the max stop timeout value is 120 seconds" (ContainerDefinition).
    if let Some(seconds) = p.stop_timeout {
        c.range(&format!("{base}.stop_timeout"), seconds, 1, 120, " s");
    }
    for (name, limit) in &p.ulimits {
        let path = format!("{base}.ulimits.{name}");
        if !ULIMIT_NAMES.contains(&name.as_str()) {
            c.error(
                "ulimit-name",
                &path,
                format!("`{name}` is not a resource limit ECS knows"),
                format!("use one of {}", ULIMIT_NAMES.join(", ")),
            );
        }
        if limit.soft < 0 || limit.soft > limit.hard {
            c.error(
                "ulimit-range",
                &path,
                format!(
                    "the soft limit {} is not between 0 and the hard limit {}",
                    limit.soft, limit.hard
                ),
                "keep `soft` at or below `hard`",
            );
        }
        if name == "nofile" && limit.hard > FARGATE_MAX_NOFILE {
            c.error(
                "ulimit-range",
                &path,
                format!(
                    "Fargate raises `nofile` to at most {FARGATE_MAX_NOFILE}, not {}",
                    limit.hard
                ),
                format!("set `hard` (and `soft`) to {FARGATE_MAX_NOFILE} or less"),
            );
        }
    }
}

/// The rules every container follows, `base` being where it is written (`container`,
/// `containers[1]`).
pub(super) fn check_container_parts(
    c: &mut Checker,
    base: &str,
    port: Option<i64>,
    environment: &std::collections::BTreeMap<String, crate::config::model::EnvValue>,
    secrets: &std::collections::BTreeMap<String, String>,
    command: Option<&Vec<String>>,
    health_check: Option<&crate::config::model::HealthCheckConfig>,
) {
    if let Some(port) = port {
        c.range(&format!("{base}.port"), port, 1, 65535, "");
    }
    for (name, value) in environment {
        let path = format!("{base}.environment.{name}");
        env_name(c, &path, name);
        if crate::redact::is_secret(name, &value.to_string()) {
            c.warn(
                "secret-in-environment",
                &path,
                format!(
                    "`{name}` looks like a secret, and environment values are readable by anyone who can describe the task definition"
                ),
                format!(
                    "store it in SSM Parameter Store or Secrets Manager and list it under `{base}.secrets: {{ {name}: ARN }}`"
                ),
            );
        }
        if secrets.contains_key(name) {
            c.error(
                "env-and-secret",
                &path,
                format!("`{name}` is both in `environment` and in `secrets`"),
                "keep it in one of them (ECS refuses the task definition otherwise)",
            );
        }
    }
    for (name, from) in secrets {
        let path = format!("{base}.secrets.{name}");
        env_name(c, &path, name);
        if !is_secret_reference(from) {
            c.error(
                "arn",
                &path,
                format!("`{from}` is not an SSM parameter or Secrets Manager secret"),
                "write `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME` or an SSM parameter name",
            );
        }
    }
    if let Some(command) = command
        && (command.is_empty() || command[0].trim().is_empty())
    {
        c.error(
            "command",
            &format!("{base}.command"),
            format!("`{base}.command` is empty"),
            "list the program and its arguments, e.g. `[gunicorn, --bind, 0.0.0.0:5000, app:app]`, or remove it to use the image's CMD",
        );
    }
    if let Some(hc) = health_check {
        let health = format!("{base}.health_check");
        match &hc.command {
            HealthCheckCommand::Shell(line) if line.trim().is_empty() => c.error(
                "health-check-command",
                &format!("{health}.command"),
                "the health check command is empty".into(),
                "write the check, e.g. `wget -q -O /dev/null http://localhost:5000/health || exit 1`",
            ),
            HealthCheckCommand::Exec(parts) => {
                let valid = match parts.first().map(String::as_str) {
                    Some("CMD") | Some("CMD-SHELL") => parts.len() >= 2,
                    _ => false,
                };
                if !valid {
                    c.error(
                        "health-check-command",
                        &format!("{health}.command"),
                        "a health check list must start with `CMD` or `CMD-SHELL` and name a command".into(),
                        "write `[CMD-SHELL, \"curl -f http://localhost:5000/health || exit 1\"]`, or the command as one string",
                    );
                }
            }
            HealthCheckCommand::Shell(_) => {}
        }
        c.range(&format!("{health}.interval"), hc.interval, 5, 300, " s");
        c.range(&format!("{health}.timeout"), hc.timeout, 2, 60, " s");
        c.range(&format!("{health}.retries"), hc.retries, 1, 10, "");
        c.range(
            &format!("{health}.start_period"),
            hc.start_period,
            0,
            300,
            " s",
        );
    }
}

/// `containers:`: the list as a whole (one app container, unique names, dependencies that
/// exist and can be met, sizes within the task's) and each container's own rules.
pub(super) fn check_containers(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let list = &config.containers;
    if list.is_empty() {
        return;
    }
    if c.map.contains("container") {
        c.error(
            "container-and-containers",
            "container",
            "both `container` and `containers` are set".into(),
            "move the app container into `containers` (the entry without `image`) and remove `container`",
        );
    }
    let apps: Vec<usize> = (0..list.len())
        .filter(|&i| list[i].image.is_none())
        .collect();
    match apps.as_slice() {
        [] => c.error(
            "app-container",
            "containers",
            "no container runs the pushed image: every entry names an `image`".into(),
            "leave `image` out of the app container's entry: it runs the image shipit pushes",
        ),
        [_] => {}
        [_, second, ..] => c.error(
            "app-container",
            &format!("containers[{second}]"),
            "more than one container leaves `image` out: exactly one runs the pushed image".into(),
            "give the sidecars their image (`image: public.ecr.aws/...`)",
        ),
    }
    let by_name = |name: &str| list.iter().find(|k| k.name == name);
    for (i, k) in list.iter().enumerate() {
        let at = |key: &str| format!("containers[{i}].{key}");
        if list[..i].iter().any(|earlier| earlier.name == k.name) {
            c.error(
                "duplicate",
                &at("name"),
                format!("two containers are named `{}`", k.name),
                "give each container its own name",
            );
        }
        c.ecs_name("container name", &at("name"), &k.name);
        if let Some(image) = &k.image
            && let Err(err) = ImageReference::parse(image)
        {
            c.error(
                "image-reference",
                &at("image"),
                err.to_string(),
                "write `REGISTRY/NAME:TAG` or `REGISTRY/NAME@sha256:DIGEST`",
            );
        }
        for (target, condition) in &k.depends_on {
            let path = format!("containers[{i}].depends_on.{target}");
            match by_name(target) {
                None => c.error(
                    "depends-on",
                    &path,
                    format!("`{}` depends on `{target}`, which is not a container of the task", k.name),
                    format!(
                        "name one of: {}",
                        list.iter().map(|k| k.name.as_str()).collect::<Vec<_>>().join(", ")
                    ),
                ),
                Some(t) if t.name == k.name => c.error(
                    "depends-on",
                    &path,
                    format!("`{}` depends on itself", k.name),
                    "remove that entry",
                ),
                Some(t) if *condition == crate::config::model::DependsCondition::Healthy
                    && t.health_check.is_none() =>
                {
                    c.error(
                        "depends-on",
                        &path,
                        format!("`{}` waits for `{target}` to be HEALTHY, but `{target}` has no health check", k.name),
                        format!("add a `health_check` to `{target}`, or wait for START"),
                    )
                }
                Some(t) if matches!(condition, crate::config::model::DependsCondition::Complete | crate::config::model::DependsCondition::Success)
                    && t.essential =>
                {
                    c.error(
                        "depends-on",
                        &path,
                        format!("`{}` waits for `{target}` to exit, but `{target}` is essential: its exit stops the task", k.name),
                        format!("set `essential: false` on `{target}` (an init container), or wait for START or HEALTHY"),
                    )
                }
                Some(t) if t.depends_on.contains_key(&k.name) => c.error(
                    "depends-on",
                    &path,
                    format!("`{}` and `{target}` wait for each other: neither would start", k.name),
                    "remove one of the two dependencies",
                ),
                Some(_) => {}
            }
        }
        // ECS API reference, ContainerDefinition: "If you specify both, memory must be
        // greater than memoryReservation."
        if let (Some(limit), Some(reserved)) = (k.memory, k.memory_reservation)
            && reserved >= limit
        {
            c.error(
                "container-memory",
                &at("memory_reservation"),
                format!(
                    "{reserved} MiB reserved is not below the {limit} MiB limit; ECS needs the limit greater than the reservation"
                ),
                "keep `memory_reservation` below `memory`, or leave one of them out",
            );
        }
        check_container_parts(
            c,
            &format!("containers[{i}]"),
            k.port,
            &k.environment,
            &k.secrets,
            k.command.as_ref(),
            k.health_check.as_ref(),
        );
        check_process(
            c,
            &format!("containers[{i}]"),
            &k.process(),
            &config.task.volumes,
        );
        check_ports(
            c,
            &format!("containers[{i}]"),
            k.port,
            k.port_name.as_deref(),
            &k.ports,
        );
        check_pass_through(
            c,
            &format!("containers[{i}].ecs"),
            crate::ecs_json::Target::Container,
            &k.ecs,
        );
    }
    if !list.iter().any(|k| k.essential) {
        c.error(
            "essential",
            "containers",
            "no container is essential: ECS requires at least one".into(),
            "leave `essential` at its default (true) on the app container",
        );
    }
    let cpu: i64 = list.iter().filter_map(|k| k.cpu).sum();
    if cpu > config.task.cpu {
        c.error(
            "container-cpu",
            "containers",
            format!(
                "the containers reserve {cpu} CPU units; the task has {}",
                config.task.cpu
            ),
            "lower the containers' `cpu`, or raise `task.cpu`",
        );
    }
    let memory: i64 = list
        .iter()
        .filter_map(|k| k.memory_reservation.or(k.memory))
        .sum();
    if memory > config.task.memory {
        c.error(
            "container-memory",
            "containers",
            format!(
                "the containers reserve {memory} MiB; the task has {} MiB",
                config.task.memory
            ),
            "lower the containers' `memory_reservation` / `memory`, or raise `task.memory`",
        );
    }
    if let Some(lb) = &config.service.load_balancer
        && let Some(app) = by_name(&names.container)
    {
        match (app.port, lb.container_port) {
            (None, _) => c.error(
                "load-balancer-port",
                "service.load_balancer",
                format!("the load balancer sends to container `{}`, which has no `port`", app.name),
                "give the app container its `port`",
            ),
            (Some(port), Some(lb_port)) if port != lb_port => c.error(
                "load-balancer-port",
                "service.load_balancer.container_port",
                format!("the target group sends to port {lb_port}, but container `{}` listens on {port}", app.name),
                "make `service.load_balancer.container_port` equal the app container's `port`, or remove it",
            ),
            _ => {}
        }
    }
}

/// An environment variable's name (an `environment` or a `secrets` entry).
fn env_name(c: &mut Checker, path: &str, name: &str) {
    if !ENV_NAME.is_match(name) {
        c.error(
            "env-name",
            path,
            format!("`{name}` is not a valid environment variable name"),
            "use letters, digits and `_`, not starting with a digit",
        );
    }
}
