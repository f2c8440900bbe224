//! The hooks phase (and `shipit run`): one-off tasks of a task definition started with
//! another command (RunTask, tagged so that shipit may stop its own tasks and no other), and
//! stopped (StopTask) on a timeout or Ctrl-C. Following them is `one_off`'s job. And `shipit
//! exec`'s one write: an ECS Exec session in a running task (ExecuteCommand); the session
//! itself is `exec`'s.

use std::time::Duration;

use anyhow::bail;

use crate::aws::calls::Clients;
use crate::aws::error::AwsError;

/// What to run.
pub struct OneOff<'a> {
    pub cluster: &'a str,
    pub task_definition: &'a str,
    pub container: &'a str,
    pub command: &'a [String],
    pub network: aws_sdk_ecs::types::NetworkConfiguration,
    /// RunTask's `startedBy`, to tell these tasks from the service's.
    pub started_by: &'a str,
    pub log_group: &'a str,
    pub stream_prefix: &'a str,
    /// Stop the task (and report a timeout) after this long.
    pub timeout: Duration,
    /// The EBS volumes the task definition leaves to launch (`storage::run_task_volume_configurations`).
    pub volumes: Vec<aws_sdk_ecs::types::TaskVolumeConfiguration>,
}

/// The tag every one-off task carries (value: the task family), so that the policy
/// `shipit iam-policy` prints lets shipit stop its own tasks and no other.
pub const ONE_OFF_TAG: &str = "shipit:one-off";

/// `arn:...:task-definition/FAMILY:REVISION` or `FAMILY:REVISION` -> FAMILY.
fn family_of(task_definition: &str) -> &str {
    let name = task_definition
        .rsplit('/')
        .next()
        .unwrap_or(task_definition);
    name.split(':').next().unwrap_or(name)
}

/// Starts the one-off task; returns its ARN, or why ECS did not start it.
pub async fn start(clients: &Clients, job: &OneOff<'_>) -> anyhow::Result<String> {
    let out = clients
        .ecs
        .run_task()
        .cluster(job.cluster)
        .task_definition(job.task_definition)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(job.network.clone())
        .set_volume_configurations((!job.volumes.is_empty()).then(|| job.volumes.clone()))
        .started_by(job.started_by)
        .tags(
            aws_sdk_ecs::types::Tag::builder()
                .key(ONE_OFF_TAG)
                .value(family_of(job.task_definition))
                .build(),
        )
        .overrides(
            aws_sdk_ecs::types::TaskOverride::builder()
                .container_overrides(
                    aws_sdk_ecs::types::ContainerOverride::builder()
                        .name(job.container)
                        .set_command(Some(job.command.to_vec()))
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "RunTask", &e))?;
    let Some(task) = out.tasks().first() else {
        let why = out
            .failures()
            .first()
            .map(|f| {
                format!(
                    "{} {}",
                    f.reason().unwrap_or_default(),
                    f.detail().unwrap_or_default()
                )
            })
            .unwrap_or_else(|| "no reason given".to_string());
        bail!("ECS did not start the task: {}", why.trim());
    };
    Ok(task.task_arn().unwrap_or_default().to_string())
}

/// Stops a one-off task, saying why (ECS shows the reason on the task).
pub async fn stop(
    clients: &Clients,
    cluster: &str,
    task_arn: &str,
    reason: &str,
) -> anyhow::Result<()> {
    clients
        .ecs
        .stop_task()
        .cluster(cluster)
        .task(task_arn)
        .reason(reason)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECS", "StopTask", &e))?;
    Ok(())
}

/// Starts an ECS Exec session running `command` in `container` of `task`; the answer carries
/// the session's stream URL and token (a credential: never printed).
pub async fn execute_command(
    clients: &Clients,
    cluster: &str,
    task_arn: &str,
    container: &str,
    command: &str,
) -> anyhow::Result<aws_sdk_ecs::operation::execute_command::ExecuteCommandOutput> {
    clients
        .ecs
        .execute_command()
        .cluster(cluster)
        .task(task_arn)
        .container(container)
        // ECS runs every Exec session in a terminal; it refuses `interactive: false`.
        .interactive(true)
        .command(command)
        .send()
        .await
        .map_err(|e| {
            AwsError::from_sdk("ECS", "ExecuteCommand", &e)
                .on(task_arn.rsplit('/').next().unwrap_or(task_arn))
                .into()
        })
}
