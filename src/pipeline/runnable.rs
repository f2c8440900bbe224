//! Whether a task definition can run again, checked before a rollback moves the service to
//! it: the revision must be ACTIVE, each image in this account's ECR still there and not
//! archived (a lifecycle policy such as `repository.keep_last` expires old images; ECR's
//! archive storage class needs a restore of up to 20 minutes before a pull works), and each
//! secret its containers read at start still there (ECS stops a task whose secret is gone
//! with ResourceInitializationError). Reads only, and of secrets only their metadata: never a
//! value.

use aws_sdk_ecs::types::TaskDefinition;

use crate::aws::calls::Clients;
use crate::aws::query_api::{QueryClient, Service};
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
    found.extend(secret_problems(&clients.sdk, &td).await);
    Ok(found)
}

/// Where a container's secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SecretSource {
    /// The secret's ARN without a JSON key or version suffix.
    SecretsManager { id: String, region: Option<String> },
    /// The parameter's name.
    Parameter {
        name: String,
        region: Option<String>,
    },
}

/// A `valueFrom` as ECS reads it: a Secrets Manager ARN (perhaps with
/// `:json-key:version-stage:version-id`), an SSM parameter ARN, or a parameter's name in the
/// task's region.
fn secret_source(value_from: &str) -> SecretSource {
    let parts: Vec<&str> = value_from.split(':').collect();
    if value_from.starts_with("arn:") && parts.len() >= 6 {
        let region = Some(parts[3].to_string()).filter(|r| !r.is_empty());
        if parts[2] == "secretsmanager" && parts.len() >= 7 {
            return SecretSource::SecretsManager {
                id: parts[..7].join(":"),
                region,
            };
        }
        if parts[2] == "ssm" {
            let resource = parts[5..].join(":");
            let tail = resource.strip_prefix("parameter").unwrap_or(&resource);
            // `parameter/app/db` names `/app/db`; `parameter/db` names `db`.
            let name = match tail.strip_prefix('/') {
                Some(rest) if rest.contains('/') => format!("/{rest}"),
                Some(rest) => rest.to_string(),
                None => tail.to_string(),
            };
            return SecretSource::Parameter { name, region };
        }
    }
    SecretSource::Parameter {
        name: value_from.to_string(),
        region: None,
    }
}

/// Every secret reference of the revision: container secrets, log driver secret options, and
/// private registry credentials.
fn secret_references(td: &TaskDefinition) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for container in td.container_definitions() {
        let name = container.name().unwrap_or_default();
        for secret in container.secrets() {
            found.push((
                format!("container {name}'s secret {}", secret.name()),
                secret.value_from().to_string(),
            ));
        }
        if let Some(logs) = container.log_configuration() {
            for option in logs.secret_options() {
                found.push((
                    format!("container {name}'s log option {}", option.name()),
                    option.value_from().to_string(),
                ));
            }
        }
        if let Some(credentials) = container.repository_credentials() {
            found.push((
                format!("container {name}'s registry credentials"),
                credentials.credentials_parameter().to_string(),
            ));
        }
    }
    found.sort();
    found.dedup();
    found
}

/// The secrets that are gone, one line each with the fix. A reference that cannot be checked
/// (denied, another region, an unreachable service) is not counted against the revision.
async fn secret_problems(sdk: &aws_config::SdkConfig, td: &TaskDefinition) -> Vec<String> {
    let references = secret_references(td);
    if references.is_empty() {
        return Vec::new();
    }
    let Ok(query) = QueryClient::new(sdk) else {
        return Vec::new();
    };
    let here = sdk.region().map(|r| r.to_string());
    let mut found = Vec::new();
    for (what, value_from) in references {
        let source = secret_source(&value_from);
        let region = match &source {
            SecretSource::SecretsManager { region, .. }
            | SecretSource::Parameter { region, .. } => region.clone(),
        };
        if region.is_some() && region != here {
            tracing::debug!("{what}: {value_from} is in another region; not checked");
            continue;
        }
        let (service, target, body) = match &source {
            SecretSource::SecretsManager { id, .. } => (
                Service::SecretsManager,
                "secretsmanager.DescribeSecret",
                serde_json::json!({ "SecretId": id }),
            ),
            SecretSource::Parameter { name, .. } => (
                Service::Ssm,
                "AmazonSSM.DescribeParameters",
                serde_json::json!({ "ParameterFilters": [
                    { "Key": "Name", "Option": "Equals", "Values": [name] }
                ] }),
            ),
        };
        let answer = match query.json_call(service, target, &body).await {
            Ok(answer) => answer,
            Err(err) => {
                tracing::warn!("could not check {what} ({value_from}): {err:#}");
                continue;
            }
        };
        let doc: serde_json::Value = serde_json::from_str(&answer.body).unwrap_or_default();
        let gone = match (&source, answer.is_success()) {
            (SecretSource::SecretsManager { .. }, true) if doc.get("DeletedDate").is_some() => {
                Some(
                    "is scheduled for deletion: restore it first (aws secretsmanager restore-secret)",
                )
            }
            (SecretSource::SecretsManager { .. }, false)
                if doc["__type"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("ResourceNotFoundException")) =>
            {
                Some("no longer exists in Secrets Manager")
            }
            (SecretSource::Parameter { .. }, true)
                if doc["Parameters"].as_array().is_some_and(|p| p.is_empty()) =>
            {
                Some("no longer exists in SSM Parameter Store")
            }
            (_, true) => None,
            (_, false) => {
                tracing::warn!(
                    "could not check {what} ({value_from}): HTTP {} {}",
                    answer.status,
                    crate::redact::printable(doc["__type"].as_str().unwrap_or(""), 100)
                );
                None
            }
        };
        if let Some(why) = gone {
            found.push(format!(
                "{what} ({}) {why}: ECS would stop each new task with ResourceInitializationError",
                crate::redact::printable(&value_from, 200)
            ));
        }
    }
    found
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_references_name_their_store_as_ecs_reads_them() {
        assert_eq!(
            secret_source(
                "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:password::"
            ),
            SecretSource::SecretsManager {
                id: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf".into(),
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            secret_source("arn:aws:ssm:eu-west-1:123456789012:parameter/app/db"),
            SecretSource::Parameter {
                name: "/app/db".into(),
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            secret_source("arn:aws:ssm:eu-west-1:123456789012:parameter/db"),
            SecretSource::Parameter {
                name: "db".into(),
                region: Some("eu-west-1".into())
            }
        );
        assert_eq!(
            secret_source("/app/db"),
            SecretSource::Parameter {
                name: "/app/db".into(),
                region: None
            }
        );
    }
}
