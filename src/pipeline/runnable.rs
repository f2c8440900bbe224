//! Whether a task definition can run again, checked before a rollback moves the service to
//! it: the revision must be ACTIVE, and each image in this account's ECR still there and not
//! archived (a lifecycle policy such as `repository.keep_last` expires old images; ECR's
//! archive storage class needs a restore of up to 20 minutes before a pull works). Reads only.

use crate::aws::calls::Clients;
use crate::ecr::{self, ImageState};
use crate::ecs::{self, short_task_definition};
use shipit_oci::registry::reference::ImageReference;

/// What stops `task_definition` from running again: one line each, with the fix; empty when
/// nothing does. `repository` is the config's: the app image is checked there whatever the
/// registry's host (a test endpoint's too); other ECR images in their own repositories.
pub async fn problems(
    clients: &Clients,
    repository: &str,
    task_definition: &str,
) -> anyhow::Result<Vec<String>> {
    let short = short_task_definition(task_definition);
    let Some(td) = ecs::describe_task_definition(&clients.ecs, task_definition).await? else {
        return Ok(vec![format!("task definition {short} no longer exists")]);
    };
    let mut found = Vec::new();
    if let Some(status) = td.status().filter(|s| s.as_str() != "ACTIVE") {
        found.push(format!(
            "task definition {short} is {} (deregistered): ECS starts no new task from it",
            status.as_str()
        ));
    }
    for container in td.container_definitions() {
        let Some(image) = container.image() else {
            continue;
        };
        let Ok(reference) = ImageReference::parse(image) else {
            continue;
        };
        let ours = reference.repository == repository || reference.ecr_registry().is_some();
        if !ours {
            continue;
        }
        let state = ecr::image_state(
            &clients.ecr,
            &reference.repository,
            reference.digest.as_deref(),
            reference.tag.as_deref(),
        )
        .await?;
        let name = container.name().unwrap_or_default();
        match state {
            ImageState::Present => {}
            ImageState::Missing => found.push(format!(
                "container {name}'s image {image} is no longer in repository {} (a lifecycle policy such as repository.keep_last expires old images)",
                reference.repository
            )),
            ImageState::Archived => found.push(format!(
                "container {name}'s image {image} is archived: restore it first (aws ecr update-image-storage-class --repository-name {} --image-id imageDigest={} --target-storage-class STANDARD; up to 20 minutes)",
                reference.repository,
                reference.digest.as_deref().unwrap_or("DIGEST")
            )),
        }
    }
    Ok(found)
}

/// The ACTIVE revisions of `family` older than `revision`, newest first, at most `limit`:
/// where a rollback looks when the recorded revision cannot run.
pub async fn older_revisions(
    client: &aws_sdk_ecs::Client,
    family: &str,
    revision: i32,
    limit: usize,
) -> anyhow::Result<Vec<String>> {
    let out = client
        .list_task_definitions()
        .family_prefix(family)
        .status(aws_sdk_ecs::types::TaskDefinitionStatus::Active)
        .sort(aws_sdk_ecs::types::SortOrder::Desc)
        .max_results(100)
        .send()
        .await
        .map_err(|e| crate::aws::error::AwsError::from_sdk("ECS", "ListTaskDefinitions", &e))?;
    Ok(out
        .task_definition_arns()
        .iter()
        .filter(|arn| {
            // `family:N`: the same family (a prefix also matches longer names), an older N.
            arn.rsplit_once('/')
                .and_then(|(_, tail)| tail.rsplit_once(':'))
                .is_some_and(|(f, n)| f == family && n.parse::<i32>().is_ok_and(|n| n < revision))
        })
        .take(limit)
        .cloned()
        .collect())
}

/// The revision number of a task definition ARN (`family:N`).
pub fn revision_of(arn: &str) -> Option<i32> {
    arn.rsplit_once(':')?.1.parse().ok()
}
