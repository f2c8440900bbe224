//! Why ECS Exec cannot reach a task, found before connecting, each with its fix. ECS's own
//! errors for these come late and say little ("The execute command failed because execute
//! command was not enabled when the task was run", or a session that opens and dies); the
//! checks follow AWS's ECS Exec prerequisites (ECS developer guide, "Monitor Amazon ECS
//! containers with ECS Exec": platform version 1.4.0 or later on Linux, the task role's
//! `ssmmessages` actions, the managed agent RUNNING).

use aws_sdk_ecs::types::{Service, Task};
use serde::Serialize;

use crate::aws::query_api::{QueryClient, Service as QueryService, texts_of};

/// The actions the agent needs of the task role to open its channels.
pub const SSMMESSAGES_ACTIONS: [&str; 4] = [
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
];

/// One reason ECS Exec cannot work, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Blocker {
    pub problem: String,
    pub fix: String,
}

impl Blocker {
    fn new(problem: impl Into<String>, fix: impl Into<String>) -> Blocker {
        Blocker {
            problem: problem.into(),
            fix: fix.into(),
        }
    }
}

/// The service's own switch.
pub fn check_service(service: &Service, service_name: &str) -> Option<Blocker> {
    (!service.enable_execute_command()).then(|| {
        Blocker::new(
            format!("ECS Exec is off for service {service_name}"),
            "set `service.enable_execute_command: true` in deploy.yaml and run `shipit deploy`: \
             the tasks it starts can be reached",
        )
    })
}

/// The task, its container and its managed agent.
pub fn check_task(task: &Task, container: &str) -> Vec<Blocker> {
    let mut blockers = Vec::new();
    let id = task_id(task.task_arn().unwrap_or_default());
    let status = task.last_status().unwrap_or("UNKNOWN");
    if status != "RUNNING" {
        blockers.push(Blocker::new(
            format!("task {id} is {status}"),
            "pick a running task (`shipit status` lists them) or leave out --task",
        ));
        return blockers;
    }
    if !task.enable_execute_command() {
        blockers.push(Blocker::new(
            format!("task {id} was started without ECS Exec"),
            "ECS Exec applies to tasks started after it was turned on: run `shipit deploy` \
             (or `aws ecs update-service --force-new-deployment`) to replace the tasks",
        ));
    }
    if let Some(version) = task.platform_version()
        && task
            .platform_family()
            .is_none_or(|f| !f.starts_with("WINDOWS"))
        && older_than_1_4(version)
    {
        blockers.push(Blocker::new(
            format!("task {id} runs on Fargate platform version {version}; ECS Exec needs 1.4.0 or later"),
            "set `service.platform_version: LATEST` (or 1.4.0) in deploy.yaml and deploy",
        ));
    }
    let Some(found) = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container))
    else {
        let names: Vec<&str> = task.containers().iter().filter_map(|c| c.name()).collect();
        blockers.push(Blocker::new(
            format!("task {id} has no container {container}"),
            format!(
                "name one of its containers with --container: {}",
                names.join(", ")
            ),
        ));
        return blockers;
    };
    if task.enable_execute_command() {
        match found
            .managed_agents()
            .iter()
            .find(|a| a.name().map(|n| n.as_str()) == Some("ExecuteCommandAgent"))
        {
            Some(agent) if agent.last_status() == Some("RUNNING") => {}
            Some(agent) => {
                let reason = agent
                    .reason()
                    .map(|r| format!(" ({})", crate::redact::printable(r, 200)))
                    .unwrap_or_default();
                blockers.push(Blocker::new(
                    format!(
                        "the ECS Exec agent in container {container} is {}{reason}",
                        agent.last_status().unwrap_or("not started")
                    ),
                    "wait a few seconds after the task starts; if it stays so, the task role \
                     likely lacks the ssmmessages actions or the task cannot reach \
                     ssmmessages (a VPC endpoint or a NAT route), see `shipit doctor`",
                ));
            }
            None => blockers.push(Blocker::new(
                format!("container {container} of task {id} has no ECS Exec agent"),
                "replace the task (`shipit deploy`) so that ECS starts the agent in it",
            )),
        }
    }
    blockers
}

/// The task id: the last part of its ARN.
pub fn task_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn older_than_1_4(version: &str) -> bool {
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap_or(0)).collect();
    // LATEST and other names are resolved by ECS to a version on the task; a name here
    // (which ECS does not report) is not judged.
    if parts.len() < 2 || version.chars().any(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    (parts[0], parts[1]) < (1, 4)
}

/// What IAM says of the task role's `ssmmessages` actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum RoleCheck {
    Allowed,
    Missing {
        actions: Vec<String>,
    },
    /// The check itself could not run (no iam:SimulatePrincipalPolicy, the local stack).
    Unknown {
        why: String,
    },
}

/// Asks IAM's policy simulator whether `role_arn` may do the `ssmmessages` actions.
pub async fn check_task_role(query: &QueryClient, role_arn: &str) -> RoleCheck {
    let mut params = vec![("PolicySourceArn".to_string(), role_arn.to_string())];
    for (i, action) in SSMMESSAGES_ACTIONS.iter().enumerate() {
        params.push((format!("ActionNames.member.{}", i + 1), action.to_string()));
    }
    let answer = match query
        .call(QueryService::Iam, "SimulatePrincipalPolicy", &params)
        .await
    {
        Ok(answer) => answer,
        Err(err) => {
            return RoleCheck::Unknown {
                why: format!("{err:#}"),
            };
        }
    };
    if !answer.is_success() {
        let (code, message) = answer.error();
        return RoleCheck::Unknown {
            why: crate::redact::printable(&format!("{code}: {message}"), 300),
        };
    }
    let names = texts_of(&answer.body, "EvalActionName");
    let decisions = texts_of(&answer.body, "EvalDecision");
    if names.len() != SSMMESSAGES_ACTIONS.len() || decisions.len() != names.len() {
        return RoleCheck::Unknown {
            why: "IAM's answer did not list each action".into(),
        };
    }
    let missing: Vec<String> = names
        .into_iter()
        .zip(decisions)
        .filter(|(_, decision)| decision != "allowed")
        .map(|(name, _)| name)
        .collect();
    if missing.is_empty() {
        RoleCheck::Allowed
    } else {
        RoleCheck::Missing { actions: missing }
    }
}

/// The blocker a role check found, if any.
pub fn role_blocker(role_arn: &str, check: &RoleCheck) -> Option<Blocker> {
    match check {
        RoleCheck::Missing { actions } => Some(Blocker::new(
            format!(
                "task role {} may not do {}",
                role_arn.rsplit('/').next().unwrap_or(role_arn),
                actions.join(", ")
            ),
            format!(
                "allow {} on \"*\" in the task role's policy (`shipit iam-policy` prints the deployer's, not the task's)",
                SSMMESSAGES_ACTIONS.join(", ")
            ),
        )),
        _ => None,
    }
}

pub fn no_task_role() -> Blocker {
    Blocker::new(
        "the task has no task role; the ECS Exec agent opens its channels with it",
        format!(
            "set `task.task_role` in deploy.yaml to a role that allows {} and deploy",
            SSMMESSAGES_ACTIONS.join(", ")
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Container, ManagedAgent, ManagedAgentName};

    fn task(exec: bool, platform: &str, agent_status: Option<&str>) -> Task {
        let mut container = Container::builder().name("web");
        if let Some(status) = agent_status {
            container = container.managed_agents(
                ManagedAgent::builder()
                    .name(ManagedAgentName::ExecuteCommandAgent)
                    .last_status(status)
                    .build(),
            );
        }
        Task::builder()
            .task_arn("arn:aws:ecs:us-east-1:123456789012:task/demo/0f1e2d")
            .last_status("RUNNING")
            .enable_execute_command(exec)
            .platform_version(platform)
            .containers(container.build())
            .build()
    }

    #[test]
    fn a_ready_task_has_no_blockers() {
        assert!(check_task(&task(true, "1.4.0", Some("RUNNING")), "web").is_empty());
    }

    #[test]
    fn each_prerequisite_names_its_fix() {
        let blockers = check_task(&task(false, "1.3.0", None), "web");
        assert_eq!(blockers.len(), 2, "{blockers:?}");
        assert!(blockers[0].problem.contains("started without ECS Exec"));
        assert!(blockers[1].problem.contains("1.3.0"), "{blockers:?}");
        assert!(blockers[1].fix.contains("platform_version"));

        let pending = check_task(&task(true, "1.4.0", Some("PENDING")), "web");
        assert!(pending[0].problem.contains("is PENDING"), "{pending:?}");

        let other = check_task(&task(true, "1.4.0", Some("RUNNING")), "worker");
        assert!(other[0].fix.contains("--container: web"), "{other:?}");
    }

    #[test]
    fn platform_versions_compare_as_numbers() {
        assert!(older_than_1_4("1.3.0"));
        assert!(!older_than_1_4("1.4.0"));
        assert!(!older_than_1_4("1.10.0"));
        assert!(!older_than_1_4("LATEST"));
    }
}
