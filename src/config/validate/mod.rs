//! The rules a deploy.yaml must follow before any AWS call is made. Every rule adds a
//! diagnostic at the value's place in the file and goes on, so that all problems show at once.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::Names;
use super::diagnostic::Diagnostic;
use super::model::{
    DeployConfig, Encryption, FargateCapacityProvider, HealthCheckCommand, HookStage, Minutes,
    Strategy, TagMutability,
};
use super::source_map::SourceMap;
use shipit_oci::image::SourceRef;
use shipit_oci::registry::reference::ImageReference;

/// Retention periods CloudWatch Logs accepts (PutRetentionPolicy).
pub const LOG_RETENTION_DAYS: &[i64] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// Tags that people move from image to image; on an IMMUTABLE repository they work once.
const MOVING_TAGS: &[&str] = &[
    "latest",
    "stable",
    "main",
    "master",
    "dev",
    "develop",
    "prod",
    "production",
    "staging",
    "test",
    "release",
    "edge",
    "nightly",
    "current",
];

macro_rules! regex {
    ($name:ident, $pattern:expr) => {
        static $name: std::sync::LazyLock<regex::Regex> =
            std::sync::LazyLock::new(|| regex::Regex::new($pattern).expect("valid"));
    };
}
use regex;

mod discovery;
mod log_routing;
mod storage;

regex!(MUTABLE_TAG_FILTER, r"^[0-9a-zA-Z._*-]{1,128}$");
regex!(
    ECR_NAME,
    r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"
);
regex!(ECS_NAME, r"^[A-Za-z0-9_-]{1,255}$");

/// An ECS name (service, cluster, task family): 1-255 letters, digits, `-` and `_`.
pub fn is_resource_name(name: &str) -> bool {
    ECS_NAME.is_match(name)
}
regex!(IMAGE_TAG, r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$");
regex!(SUBNET, r"^subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})$");
regex!(SECURITY_GROUP, r"^sg-(?:[0-9a-f]{8}|[0-9a-f]{17})$");
regex!(
    S3_ENV_FILE,
    r"^arn:aws(?:-cn|-us-gov)?:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.+\.env$"
);
regex!(PORT_NAME, r"^[a-z0-9_][a-z0-9_-]{0,63}$");
regex!(PLATFORM_VERSION, r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})$");
regex!(
    ROLE_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:iam::\d{12}:role/[A-Za-z0-9_+=,.@/-]+$"
);
regex!(
    SECRET_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:(?:ssm:[a-z0-9-]+:\d{12}:parameter/.+|secretsmanager:[a-z0-9-]+:\d{12}:secret:.+)$"
);
regex!(SSM_PARAMETER_NAME, r"^[A-Za-z0-9_.\-/]+$");
regex!(
    KMS_KEY,
    r"^(?:arn:aws(?:-cn|-us-gov)?:kms:[a-z0-9-]+:\d{12}:(?:key|alias)/[A-Za-z0-9_/+=,.@-]+|alias/[A-Za-z0-9_/+=,.@-]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$"
);
regex!(
    TARGET_GROUP_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:elasticloadbalancing:[a-z0-9-]+:\d{12}:targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
);
regex!(
    LAMBDA_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(?::[A-Za-z0-9_$-]{1,128})?$"
);
// An Application Load Balancer's listener rule, or a Network Load Balancer's listener.
regex!(
    LISTENER_RULE_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:elasticloadbalancing:[a-z0-9-]+:\d{12}:(?:listener-rule/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16}/[0-9a-f]{16}|listener/net/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}/[0-9a-f]{16})$"
);
regex!(
    LOAD_BALANCER_ARN,
    r"^arn:aws(?:-cn|-us-gov)?:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer/app/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
);
regex!(ENV_NAME, r"^[A-Za-z_][A-Za-z0-9_]*$");
regex!(LOG_GROUP, r"^[.\-_/#A-Za-z0-9]+$");

/// The memory sizes (MiB) Fargate allows with a CPU size (units), or None for an unknown CPU.
pub fn fargate_memory_options(cpu: i64) -> Option<Vec<i64>> {
    let gib = |from: i64, to: i64, step: i64| (from..=to).step_by(step as usize).map(|g| g * 1024);
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => gib(1, 4, 1).collect(),
        1024 => gib(2, 8, 1).collect(),
        2048 => gib(4, 16, 1).collect(),
        4096 => gib(8, 30, 1).collect(),
        8192 => gib(16, 60, 4).collect(),
        16384 => gib(32, 120, 8).collect(),
        _ => return None,
    })
}

struct Checker<'a> {
    file: &'a str,
    map: &'a SourceMap,
    found: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn error(&mut self, rule: &'static str, path: &str, message: String, fix: impl Into<String>) {
        let at = self.map.locate(path);
        self.found.push(
            Diagnostic::error(rule, self.file, at, message)
                .with_path(path)
                .with_fix(fix),
        );
    }

    fn warn(&mut self, rule: &'static str, path: &str, message: String, fix: impl Into<String>) {
        let at = self.map.locate(path);
        self.found.push(
            Diagnostic::warning(rule, self.file, at, message)
                .with_path(path)
                .with_fix(fix),
        );
    }

    fn range(&mut self, path: &str, value: i64, min: i64, max: i64, unit: &str) {
        if !(min..=max).contains(&value) {
            self.error(
                "out-of-range",
                path,
                format!("`{path}` is {value}{unit}; it must be {min}-{max}{unit}"),
                format!("set `{path}` to a value from {min} to {max}"),
            );
        }
    }

    /// A resolved name is reported where it was written, or at `app` when it came from there.
    fn name_path<'p>(&self, explicit: &'p str) -> &'p str {
        if self.map.contains(explicit) {
            explicit
        } else {
            "app"
        }
    }

    fn ecs_name(&mut self, what: &str, explicit_path: &str, name: &str) {
        if !ECS_NAME.is_match(name) {
            let path = self.name_path(explicit_path);
            self.error(
                "ecs-name",
                path,
                format!("{what} `{name}` is not a valid ECS name"),
                format!(
                    "use 1-255 letters, digits, `-` and `_` (set `{explicit_path}` to override)"
                ),
            );
        }
    }
}

/// Checks every rule; returns errors and warnings in file order.
pub fn validate(
    config: &DeployConfig,
    names: &Names,
    file: &str,
    map: &SourceMap,
) -> Vec<Diagnostic> {
    let mut c = Checker {
        file,
        map,
        found: Vec::new(),
    };
    check_general(&mut c, config);
    check_repository_and_image(&mut c, config, names);
    check_names(&mut c, names);
    check_service(&mut c, config, names);
    check_deployment(&mut c, config);
    check_task(&mut c, config, names);
    storage::check_storage(&mut c, config);
    log_routing::check_log_routing(&mut c, config, names);
    check_container(&mut c, config);
    check_containers(&mut c, config, names);
    check_logs(&mut c, config, names);
    check_hooks(&mut c, config, names);
    check_autoscaling(&mut c, config);
    c.found
        .sort_by(|a, b| (a.location, a.rule).cmp(&(b.location, b.rule)));
    c.found
}

fn check_general(c: &mut Checker, config: &DeployConfig) {
    if config.app.trim().is_empty() {
        c.error(
            "required",
            "app",
            "`app` is empty".into(),
            "name the application, e.g. `app: multi-stage-app`",
        );
    }
    if let Some(region) = &config.region
        && !crate::aws::is_region(region)
    {
        c.error(
            "region",
            "region",
            format!("`{region}` is not an AWS region name"),
            "write a region code such as `us-east-1` or `eu-west-1`",
        );
    }
}

fn check_repository_and_image(c: &mut Checker, config: &DeployConfig, names: &Names) {
    let name = &names.repository;
    if !(2..=256).contains(&name.len()) || !ECR_NAME.is_match(name) {
        let path = c.name_path("repository.name");
        c.error(
            "ecr-name",
            path,
            format!("`{name}` is not a valid ECR repository name"),
            "use 2-256 lowercase letters and digits, separated by `.`, `_`, `-` or `/` (set `repository.name` to override)",
        );
    }
    let repo = &config.repository;
    match (repo.encryption, &repo.kms_key) {
        (Encryption::Kms, None) => c.error(
            "kms-key",
            "repository.encryption",
            "`encryption: KMS` needs a key".into(),
            "add `kms_key:` with the key's ARN, alias or id, or use `encryption: AES256`",
        ),
        (Encryption::Aes256, Some(_)) => c.error(
            "kms-key",
            "repository.kms_key",
            "`kms_key` is set but `encryption` is AES256".into(),
            "set `encryption: KMS` to use the key, or remove `kms_key`",
        ),
        (Encryption::Kms, Some(key)) if !KMS_KEY.is_match(key) => c.error(
            "arn",
            "repository.kms_key",
            format!("`{key}` is not a KMS key ARN, alias or id"),
            "write `arn:aws:kms:REGION:ACCOUNT:key/ID`, `alias/NAME` or the key id",
        ),
        _ => {}
    }

    // ECR API reference, ImageTagMutabilityExclusionFilter: 1 to 5 filters of type WILDCARD,
    // each 1-128 of [0-9a-zA-Z._*-].
    if !repo.mutable_tags.is_empty() {
        if repo.tag_mutability != TagMutability::Immutable {
            c.error(
                "mutable-tags",
                "repository.mutable_tags",
                "`mutable_tags` names exceptions to IMMUTABLE, and the repository is MUTABLE"
                    .into(),
                "remove `mutable_tags`, or set `tag_mutability: IMMUTABLE`",
            );
        }
        if repo.mutable_tags.len() > 5 {
            c.error(
                "mutable-tags",
                "repository.mutable_tags",
                format!("{} filters; ECR takes at most 5", repo.mutable_tags.len()),
                "merge filters with `*`, e.g. `dev-*`",
            );
        }
        for (i, filter) in repo.mutable_tags.iter().enumerate() {
            if !MUTABLE_TAG_FILTER.is_match(filter) {
                c.error(
                    "mutable-tags",
                    &format!("repository.mutable_tags[{i}]"),
                    format!("`{filter}` is not an ECR tag filter"),
                    "use 1 to 128 letters, digits, `.`, `_`, `-` and `*` (any run of characters)",
                );
            }
        }
    }
    if let Some(keep) = repo.keep_last {
        c.range("repository.keep_last", keep, 1, 10000, " images");
    }
    if let Some(url) = &repo.registry_url {
        let valid = url::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
        if !valid {
            c.error(
                "registry-url",
                "repository.registry_url",
                format!("`{url}` is not an http(s) URL"),
                "write the registry's address, e.g. `http://127.0.0.1:4566` for the local stack",
            );
        }
    }
    if let Err(err) = SourceRef::parse(&config.image.source) {
        c.error(
            "image-source",
            "image.source",
            err.to_string(),
            "write `docker://NAME:TAG`, `docker-archive:PATH`, `oci:PATH[:REF]` or `oci-archive:PATH`",
        );
    }
    if let Some(size) = &config.image.max_size
        && super::model::parse_size(size).is_none()
    {
        c.error(
            "image-size",
            "image.max_size",
            format!("`{size}` is not a size"),
            "write a number with a unit: `150MiB`, `1.5GiB` or `200MB`",
        );
    }
    if let Some(tag) = &config.image.tag {
        if !IMAGE_TAG.is_match(tag) {
            c.error(
                "image-tag",
                "image.tag",
                format!("`{tag}` is not a valid image tag"),
                "use up to 128 letters, digits, `_`, `.` and `-`, not starting with `.` or `-`",
            );
        } else if repo.tag_mutability == TagMutability::Immutable
            && MOVING_TAGS.contains(&tag.to_ascii_lowercase().as_str())
        {
            c.warn(
                "moving-tag",
                "image.tag",
                format!(
                    "tag `{tag}` on an IMMUTABLE repository works once only: the next image pushed under it is refused"
                ),
                "leave `image.tag` unset to tag with the git commit, or use a version",
            );
        }
    }
}

fn check_names(c: &mut Checker, names: &Names) {
    c.ecs_name("cluster", "cluster", &names.cluster);
    c.ecs_name("service", "service.name", &names.service);
    c.ecs_name("task family", "task.family", &names.family);
    c.ecs_name("container", "container.name", &names.container);
}

fn check_service(c: &mut Checker, config: &DeployConfig, names: &Names) {
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
fn check_extra_target_groups(c: &mut Checker, config: &DeployConfig, names: &Names) {
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
fn check_platform_version(c: &mut Checker, config: &DeployConfig, names: &Names) {
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
fn check_capacity_providers(c: &mut Checker, config: &DeployConfig) {
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
fn check_deployment_alarms(c: &mut Checker, names: &[String]) {
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

/// `service.deployment` and the load-balancer settings the traffic-shifting strategies need.
fn check_deployment(c: &mut Checker, config: &DeployConfig) {
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
fn minutes(c: &mut Checker, path: &str, value: Option<&Minutes>, min: i64, max: i64) {
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
fn percent_in_tenths(c: &mut Checker, path: &str, value: f64, min: f64) {
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

fn check_task(c: &mut Checker, config: &DeployConfig, names: &Names) {
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
fn check_ports(
    c: &mut Checker,
    base: &str,
    main: Option<i64>,
    main_name: Option<&str>,
    ports: &[super::model::PortConfig],
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
fn check_pass_through(
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
fn check_tags(
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
        if key.to_ascii_lowercase().starts_with("aws:") || key == super::model::MANAGED_BY_TAG {
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
fn check_windows(c: &mut Checker, config: &DeployConfig, names: &Names) {
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

/// A Secrets Manager secret's or SSM parameter's ARN, or an SSM parameter's name: where ECS
/// reads a secret from.
fn is_secret_reference(from: &str) -> bool {
    if from.starts_with("arn:") {
        SECRET_ARN.is_match(from)
    } else {
        SSM_PARAMETER_NAME.is_match(from)
    }
}

/// Every container with the path its keys are written under: `container` for the one
/// container, `containers[i]` for each entry of `containers:`.
fn container_paths(
    config: &DeployConfig,
    names: &Names,
) -> Vec<(String, super::model::ContainerSpec)> {
    if config.containers.is_empty() {
        return config
            .container_specs(&names.container)
            .into_iter()
            .map(|spec| ("container".to_string(), spec))
            .collect();
    }
    config
        .containers
        .iter()
        .enumerate()
        .map(|(i, spec)| (format!("containers[{i}]"), spec.clone()))
        .collect()
}

fn role_arn(c: &mut Checker, path: &str, arn: &str) {
    if !ROLE_ARN.is_match(arn) {
        c.error(
            "arn",
            path,
            format!("`{arn}` is not an IAM role ARN"),
            "write `arn:aws:iam::ACCOUNT:role/NAME` (12-digit account id)",
        );
    }
}

fn check_container(c: &mut Checker, config: &DeployConfig) {
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
const ULIMIT_NAMES: &[&str] = &[
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
const FARGATE_MAX_NOFILE: i64 = 1_048_576;

/// The rules of the process keys (`plan::process`), `base` being where they are written.
fn check_process(
    c: &mut Checker,
    base: &str,
    p: &super::model::ProcessConfig,
    volumes: &std::collections::BTreeMap<String, super::model::VolumeConfig>,
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
fn check_container_parts(
    c: &mut Checker,
    base: &str,
    port: Option<i64>,
    environment: &std::collections::BTreeMap<String, super::model::EnvValue>,
    secrets: &std::collections::BTreeMap<String, String>,
    command: Option<&Vec<String>>,
    health_check: Option<&super::model::HealthCheckConfig>,
) {
    if let Some(port) = port {
        c.range(&format!("{base}.port"), port, 1, 65535, "");
    }
    for (name, value) in environment {
        let path = format!("{base}.environment.{name}");
        if !ENV_NAME.is_match(name) {
            c.error(
                "env-name",
                &path,
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            );
        }
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
        if !ENV_NAME.is_match(name) {
            c.error(
                "env-name",
                &path,
                format!("`{name}` is not a valid environment variable name"),
                "use letters, digits and `_`, not starting with a digit",
            );
        }
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
fn check_containers(c: &mut Checker, config: &DeployConfig, names: &Names) {
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
                Some(t) if *condition == super::model::DependsCondition::Healthy
                    && t.health_check.is_none() =>
                {
                    c.error(
                        "depends-on",
                        &path,
                        format!("`{}` waits for `{target}` to be HEALTHY, but `{target}` has no health check", k.name),
                        format!("add a `health_check` to `{target}`, or wait for START"),
                    )
                }
                Some(t) if matches!(condition, super::model::DependsCondition::Complete | super::model::DependsCondition::Success)
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

fn check_autoscaling(c: &mut Checker, config: &DeployConfig) {
    let s = &config.service;
    let Some(a) = &s.autoscaling else {
        return;
    };
    c.range("service.autoscaling.min", a.min, 0, 5000, " tasks");
    c.range("service.autoscaling.max", a.max, 1, 5000, " tasks");
    if a.max < a.min {
        c.error(
            "autoscaling-range",
            "service.autoscaling.max",
            format!("`max` ({}) is below `min` ({})", a.max, a.min),
            "make `max` at least `min`",
        );
    }
    if a.cpu.is_none() && a.memory.is_none() && a.requests_per_target.is_none() {
        c.error(
            "required",
            "service.autoscaling",
            "autoscaling without a metric never scales: name at least one of `cpu`, `memory`, `requests_per_target`".into(),
            "add e.g. `cpu: 60` (keep the tasks' average CPU near 60%)",
        );
    }
    for (key, value) in [("cpu", a.cpu), ("memory", a.memory)] {
        if let Some(v) = value {
            c.range(&format!("service.autoscaling.{key}"), v, 1, 100, "%");
        }
    }
    if let Some(requests) = a.requests_per_target {
        c.range(
            "service.autoscaling.requests_per_target",
            requests,
            1,
            1_000_000,
            "",
        );
        if s.load_balancer
            .as_ref()
            .and_then(|lb| lb.load_balancer_arn.as_ref())
            .is_none()
        {
            c.error(
                "required",
                "service.autoscaling.requests_per_target",
                "requests per target are counted per load balancer and target group: `service.load_balancer.load_balancer_arn` is missing".into(),
                "add `load_balancer_arn: arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID` under `service.load_balancer` (an Application Load Balancer)",
            );
        }
    }
    for (key, value) in [
        ("scale_in_cooldown", &a.scale_in_cooldown),
        ("scale_out_cooldown", &a.scale_out_cooldown),
    ] {
        if let Some(text) = value
            && super::model::parse_seconds(text).is_none_or(|s| s > 86_400)
        {
            c.error(
                "duration",
                &format!("service.autoscaling.{key}"),
                format!("`{text}` is not a cooldown from 0 to 24h"),
                "write `60s`, `5m` (or `0`)",
            );
        }
    }
    if !(a.min..=a.max).contains(&s.desired_count) && a.min <= a.max {
        c.warn(
            "desired-count-outside-range",
            "service.desired_count",
            format!(
                "desired_count {} is outside the autoscaling range {}-{}: a new service starts at {}",
                s.desired_count,
                a.min,
                a.max,
                s.desired_count.clamp(a.min, a.max)
            ),
            "with autoscaling, desired_count only sets the first count: keep it within min-max",
        );
    }
    if let Some(arn) = s
        .load_balancer
        .as_ref()
        .and_then(|lb| lb.load_balancer_arn.as_ref())
        && !LOAD_BALANCER_ARN.is_match(arn)
    {
        c.error(
            "arn",
            "service.load_balancer.load_balancer_arn",
            format!("`{arn}` is not an Application Load Balancer ARN"),
            "write `arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID`",
        );
    }
}

/// ECS API reference, RunTask `overrides`: "A total of 8192 characters are allowed for
/// overrides. This limit includes the JSON formatting characters of the override structure."
pub const MAX_OVERRIDES_CHARS: usize = 8192;

/// The size of the overrides shipit sends for `command` in `container` (a hook's, `shipit
/// run`'s), counted as ECS counts it: the JSON of the override structure.
pub fn overrides_chars(container: &str, command: &[String]) -> usize {
    serde_json::json!({ "containerOverrides": [{ "name": container, "command": command }] })
        .to_string()
        .chars()
        .count()
}

fn check_hooks(c: &mut Checker, config: &DeployConfig, names: &Names) {
    for (i, hook) in config.hooks.before_deploy.iter().enumerate() {
        let at = |key: &str| format!("hooks.before_deploy[{i}].{key}");
        if hook.run.is_empty() || hook.run.iter().all(|part| part.trim().is_empty()) {
            c.error(
                "required",
                &at("run"),
                "a before-deploy hook with an empty command runs nothing".into(),
                "write the command as a list, e.g. `run: [python, manage.py, migrate]`",
            );
        }
        let known: Vec<String> = config
            .container_specs(&names.container)
            .into_iter()
            .map(|k| k.name)
            .collect();
        if let Some(container) = &hook.container
            && !known.contains(container)
        {
            c.error(
                "unknown-container",
                &at("container"),
                format!(
                    "`{container}` is not a container of the task ({})",
                    known.join(", ")
                ),
                format!(
                    "remove `container` (the app's, `{}`), or name one of those",
                    names.container
                ),
            );
        }
        let container = hook.container.as_deref().unwrap_or(&names.container);
        let size = overrides_chars(container, &hook.run);
        if size > MAX_OVERRIDES_CHARS {
            c.error(
                "hook-too-long",
                &at("run"),
                format!(
                    "the command makes RunTask overrides of {size} characters; ECS takes at most {MAX_OVERRIDES_CHARS}"
                ),
                "put the long part in a script in the image, and run the script",
            );
        }
        if let Some(timeout) = &hook.timeout {
            match super::model::parse_seconds(timeout) {
                None | Some(0) => c.error(
                    "duration",
                    &at("timeout"),
                    format!("`{timeout}` is not a duration"),
                    "write `90s`, `10m` or `1h`",
                ),
                Some(seconds) if seconds > 86_400 => c.error(
                    "out-of-range",
                    &at("timeout"),
                    format!("a before-deploy hook of {seconds} s holds the deploy for over a day"),
                    "keep it at most 24h; run longer jobs with `shipit run` outside the deploy",
                ),
                Some(_) => {}
            }
        }
    }
}

/// A size as Docker's log options take it: digits and an optional unit.
static DOCKER_SIZE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[1-9][0-9]*[kmg]?$").expect("valid"));

fn check_logs(c: &mut Checker, config: &DeployConfig, names: &Names) {
    if let Some(size) = &config.logs.max_buffer_size {
        if config.logs.mode == super::model::LogMode::Blocking {
            c.error(
                "log-buffer",
                "logs.max_buffer_size",
                "a buffer is only used with `mode: non-blocking`, and `logs.mode` is blocking"
                    .into(),
                "remove `max_buffer_size`, or set `logs.mode: non-blocking`",
            );
        } else if !DOCKER_SIZE.is_match(size) {
            c.error(
                "log-buffer",
                "logs.max_buffer_size",
                format!("`{size}` is not a size the awslogs driver takes"),
                "write digits and a unit, e.g. `25m` or `512k`",
            );
        }
    }
    let group = &names.log_group;
    if group.len() > 512 || !LOG_GROUP.is_match(group) {
        let path = if c.map.contains("logs.group") {
            "logs.group"
        } else {
            c.name_path("task.family")
        };
        c.error(
            "log-group",
            path,
            format!("`{group}` is not a valid log group name"),
            "use 1-512 letters, digits and `.`, `-`, `_`, `/`, `#`",
        );
    }
    if let Some(days) = config.logs.retention_days
        && !LOG_RETENTION_DAYS.contains(&days)
    {
        let nearest = LOG_RETENTION_DAYS
            .iter()
            .min_by_key(|d| (*d - days).abs())
            .copied()
            .unwrap_or(30);
        c.error(
            "log-retention",
            "logs.retention_days",
            format!("CloudWatch Logs does not keep events for {days} days"),
            format!(
                "use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653 (nearest: {nearest})"
            ),
        );
    }
    let prefix = &config.logs.stream_prefix;
    if prefix.is_empty() || prefix.contains([':', '*']) {
        c.error(
            "log-stream-prefix",
            "logs.stream_prefix",
            format!("`{prefix}` is not a valid stream prefix"),
            "use a non-empty prefix without `:` or `*`, e.g. `ecs`",
        );
    }
}

/// The rules a config breaks, with the paths they name: what the rule tests below compare.
#[cfg(test)]
fn broken_rules(text: &str) -> Vec<(&'static str, String)> {
    match crate::config::load_bytes(text.as_bytes(), "d.yaml", &|_| None) {
        Ok(loaded) => loaded
            .warnings
            .iter()
            .map(|d| (d.rule, d.path.clone().unwrap_or_default()))
            .collect(),
        Err(e) => e
            .diagnostics
            .iter()
            .map(|d| (d.rule, d.path.clone().unwrap_or_default()))
            .collect(),
    }
}

/// A config with `service` lines after its service's subnets, then `rest` (task, containers).
#[cfg(test)]
fn with_parts(service: &str, rest: &str) -> String {
    format!(
        "app: demo\nimage: {{ source: 'docker://demo:1', tag: v1 }}\nservice:\n  subnets: [subnet-0123456789abcdef0]\n{service}{rest}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_pairs_match_the_published_table() {
        assert_eq!(fargate_memory_options(256), Some(vec![512, 1024, 2048]));
        assert_eq!(
            fargate_memory_options(512),
            Some(vec![1024, 2048, 3072, 4096])
        );
        let big = fargate_memory_options(16384).unwrap();
        assert_eq!(
            (big[0], big[1], *big.last().unwrap()),
            (32768, 40960, 122880)
        );
        assert_eq!(fargate_memory_options(300), None);
    }

    #[test]
    fn name_rules() {
        assert!(ECR_NAME.is_match("multi-stage-app"));
        assert!(ECR_NAME.is_match("team/multi_stage.app"));
        assert!(!ECR_NAME.is_match("Multi-Stage"));
        assert!(!ECR_NAME.is_match("app-"));
        assert!(ECS_NAME.is_match("multi-stage-cluster"));
        assert!(!ECS_NAME.is_match("multi stage"));
        assert!(ROLE_ARN.is_match("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"));
        assert!(!ROLE_ARN.is_match("arn:aws:iam::1234:role/x"));
        assert!(SECRET_ARN.is_match("arn:aws:ssm:us-east-1:123456789012:parameter/app/db"));
        assert!(
            SECRET_ARN.is_match("arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf")
        );
        assert!(crate::aws::is_region("us-east-1"));
        assert!(crate::aws::is_region("us-gov-west-1"));
        assert!(!crate::aws::is_region("useast1"));
    }
}
