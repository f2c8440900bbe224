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

mod containers;
mod deployment;
mod discovery;
mod log_routing;
mod service;
mod storage;
mod task;

use containers::*;
use deployment::*;
use service::*;
use task::*;

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
