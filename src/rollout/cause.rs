//! Why tasks stopped: ECS's stop reasons and container exit codes sorted into causes, each
//! with the fix to try, compared with the ids taken out (so that the same failure in two tasks
//! is one cause).

use serde::Serialize;

use super::*;

/// Why tasks fail, classified, with what to try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Cause {
    ContainerExited {
        container: String,
        exit_code: i32,
    },
    OutOfMemory {
        container: String,
    },
    HealthCheckFailed,
    LoadBalancerHealthCheckFailed,
    CannotPullImage {
        detail: String,
    },
    ResourceInitialization {
        detail: String,
    },
    CannotStartContainer {
        detail: String,
    },
    NoCapacity {
        detail: String,
    },
    StuckPending,
    LifecycleHookFailed {
        hook: String,
        stage: String,
        status: String,
    },
    Other {
        detail: String,
    },
}

impl Cause {
    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Cause::ContainerExited {
                container,
                exit_code,
            } => format!("essential container `{container}` exited with code {exit_code}"),
            Cause::OutOfMemory { container } => {
                format!(
                    "container `{container}` was killed for using more memory than the task has"
                )
            }
            Cause::HealthCheckFailed => "the container health check kept failing".to_string(),
            Cause::LoadBalancerHealthCheckFailed => {
                "the load balancer's health checks kept failing".to_string()
            }
            Cause::CannotPullImage { detail } => format!("the image could not be pulled: {detail}"),
            Cause::ResourceInitialization { detail } => {
                format!("the task could not be initialised: {detail}")
            }
            Cause::CannotStartContainer { detail } => {
                format!("the container could not start: {detail}")
            }
            Cause::NoCapacity { detail } => format!("ECS could not place the tasks: {detail}"),
            Cause::StuckPending => "tasks stayed in PENDING".to_string(),
            Cause::LifecycleHookFailed {
                hook,
                stage,
                status,
            } => {
                let status = if status == "TIMED_OUT" {
                    "timed out"
                } else {
                    "answered FAILED"
                };
                format!("the lifecycle {hook} {status} at stage {stage}")
            }
            Cause::Other { detail } => detail.clone(),
        }
    }

    /// What to try.
    pub fn fix(&self) -> &'static str {
        match self {
            Cause::ContainerExited { .. } => {
                "the application stopped by itself: read its last log lines below, and run the image locally with the same command and environment"
            }
            Cause::OutOfMemory { .. } => {
                "raise task.memory (with a cpu it pairs with), or find the leak"
            }
            Cause::HealthCheckFailed => {
                "check that the health check's program exists in the image (slim and alpine images have no curl), that the app listens on container.port, and that start_period covers its start-up"
            }
            Cause::LoadBalancerHealthCheckFailed => {
                "check the target group's health check path and port, the security groups between the load balancer and the tasks, and health_check_grace_period"
            }
            Cause::CannotPullImage { .. } => {
                "check the image reference, that the execution role may pull from ECR (AmazonECSTaskExecutionRolePolicy), and that the subnets reach ECR (a NAT gateway, VPC endpoints, or assign_public_ip in a public subnet)"
            }
            Cause::ResourceInitialization { .. } => {
                "check that the execution role may read the secrets (ssm:GetParameters, secretsmanager:GetSecretValue) and write to the log group, and that the subnets reach those services"
            }
            Cause::CannotStartContainer { .. } => {
                "check container.command and the image's entrypoint, and that the task's memory fits the container"
            }
            Cause::NoCapacity { .. } => {
                "check the subnets (free IP addresses, an existing VPC), the account's Fargate quotas, and the cluster's capacity providers"
            }
            Cause::StuckPending => {
                "tasks usually stay PENDING while the image is pulled: check the network path to ECR and the image size"
            }
            Cause::LifecycleHookFailed { .. } => {
                "read the hook function's own logs (CloudWatch Logs group /aws/lambda/NAME): it decides whether the new revision may go on; a pause that timed out waited for `shipit continue` (ContinueServiceDeployment) before its timeout"
            }
            Cause::Other { .. } => "read the service events and the task's stopped reason below",
        }
    }
}

/// A stop reason with what differs from task to task taken out (task, container and ENI ids,
/// digests, times), so that two tasks failing for one reason compare equal: ECS and the
/// runtimes put the task's own ids in their messages.
pub fn normalize_reason(detail: &str) -> String {
    use std::sync::LazyLock;
    static PATTERNS: LazyLock<Vec<(regex::Regex, &'static str)>> = LazyLock::new(|| {
        [
            (r"sha256:[0-9a-f]{64}", "sha256:<digest>"),
            (
                r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                "<id>",
            ),
            (r"\beni-[0-9a-f]+", "eni-<id>"),
            (r"\b[0-9a-f]{12,64}\b", "<id>"),
            (
                r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?",
                "<time>",
            ),
        ]
        .into_iter()
        .map(|(p, r)| (regex::Regex::new(p).expect("valid pattern"), r))
        .collect()
    });
    // Short ids: the first 8 hex digits of a task id in a container name
    // (`/ministack-ecs-5c316c33-web`, `ecs-app-1-web-e2f0a1b2c3d4`). Only tokens with a digit, so
    // that words made of the letters a-f ("facade", "decade") stay.
    static SHORT_ID: LazyLock<regex::Regex> =
        LazyLock::new(|| regex::Regex::new(r"\b[0-9a-f]{7,11}\b").expect("valid pattern"));
    let text = PATTERNS
        .iter()
        .fold(detail.to_string(), |text, (re, with)| {
            re.replace_all(&text, *with).into_owned()
        });
    SHORT_ID
        .replace_all(&text, |m: &regex::Captures| {
            let token = &m[0];
            if token.bytes().any(|b| b.is_ascii_digit()) {
                "<id>".to_string()
            } else {
                token.to_string()
            }
        })
        .into_owned()
}

impl Cause {
    /// The same failure: the same kind, and the same detail once ids and times are taken out.
    pub fn same_as(&self, other: &Cause) -> bool {
        let detail = |c: &Cause| match c {
            Cause::CannotPullImage { detail }
            | Cause::ResourceInitialization { detail }
            | Cause::CannotStartContainer { detail }
            | Cause::NoCapacity { detail }
            | Cause::Other { detail } => Some(normalize_reason(detail)),
            _ => None,
        };
        std::mem::discriminant(self) == std::mem::discriminant(other)
            && match (detail(self), detail(other)) {
                (Some(a), Some(b)) => a == b,
                _ => self == other,
            }
    }
}

/// Classifies why a stopped task stopped.
pub fn classify(task: &TaskView) -> Cause {
    let reason = task.stopped_reason.clone().unwrap_or_default();
    let lower = reason.to_ascii_lowercase();
    // When one essential container exits, ECS stops the others (SIGTERM, then SIGKILL): their
    // 143 and 137 are the consequence. The cause is the container that exited otherwise.
    let failed = |c: &&ContainerView| c.exit_code.is_some_and(|code| code != 0);
    let exited = task
        .containers
        .iter()
        .filter(failed)
        .find(|c| !matches!(c.exit_code, Some(137 | 143)))
        .or_else(|| task.containers.iter().find(failed));
    if let Some(c) = task.containers.iter().find(|c| {
        c.reason
            .as_deref()
            .is_some_and(|r| r.contains("OutOfMemory"))
    }) {
        return Cause::OutOfMemory {
            container: c.name.clone(),
        };
    }
    if lower.contains("cannotpullcontainer") || lower.contains("pull image") {
        return Cause::CannotPullImage { detail: reason };
    }
    if lower.contains("resourceinitializationerror") {
        return Cause::ResourceInitialization { detail: reason };
    }
    if lower.contains("elb health checks") || lower.contains("load balancer health") {
        return Cause::LoadBalancerHealthCheckFailed;
    }
    if lower.contains("container health checks")
        || lower.contains("health check")
        || task.health_status.as_deref() == Some("UNHEALTHY")
    {
        return Cause::HealthCheckFailed;
    }
    if lower.contains("cannotstartcontainer") || lower.contains("cannotcreatecontainer") {
        return Cause::CannotStartContainer { detail: reason };
    }
    if let Some(c) = exited {
        return Cause::ContainerExited {
            container: c.name.clone(),
            exit_code: c.exit_code.unwrap_or_default(),
        };
    }
    if lower.contains("essential container") {
        // Exited, but ECS did not report a code (it was 0, or unknown).
        let container = task
            .containers
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default();
        return Cause::ContainerExited {
            container,
            exit_code: task
                .containers
                .first()
                .and_then(|c| c.exit_code)
                .unwrap_or(0),
        };
    }
    // ECS's stop code for a task that never ran, whatever the runtime's words.
    if task.stop_code.as_deref() == Some("TaskFailedToStart") {
        return Cause::CannotStartContainer {
            detail: if reason.is_empty() {
                "the task failed to start".to_string()
            } else {
                reason
            },
        };
    }
    if reason.is_empty() {
        return Cause::Other {
            detail: "stopped without a reason".to_string(),
        };
    }
    Cause::Other { detail: reason }
}
