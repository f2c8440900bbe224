//! The ECR reads: the repository, the registry's scanning, and registry credentials (kept in
//! memory only). The repository's changes are applied by `apply::repository`.

use crate::aws::error::AwsError;
use crate::aws::error_chain;
use crate::plan::RepositoryState;
use anyhow::Context;
use aws_sdk_ecr::Client;
use shipit_oci::registry::{Credentials, Secret};

/// The repository as ECR reports it (settings and lifecycle policy), or None when it does not
/// exist.
pub async fn read_repository(
    client: &Client,
    name: &str,
) -> anyhow::Result<Option<RepositoryState>> {
    let found = client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await;
    let repo = match found {
        Ok(out) => match out.repositories().first() {
            Some(repo) => repo.clone(),
            None => return Ok(None),
        },
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_repository_not_found_exception()) =>
        {
            return Ok(None);
        }
        Err(err) => {
            return Err(AwsError::from_sdk("ECR DescribeRepositories", "for", &err)
                .on(name)
                .into());
        }
    };
    let lifecycle_policy = match client
        .get_lifecycle_policy()
        .repository_name(name)
        .send()
        .await
    {
        Ok(out) => out.lifecycle_policy_text().map(str::to_string),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_lifecycle_policy_not_found_exception()) =>
        {
            None
        }
        Err(err) => return Err(AwsError::from_sdk("ECR", "GetLifecyclePolicy", &err).into()),
    };
    let encryption = repo.encryption_configuration();
    Ok(Some(RepositoryState {
        uri: repo.repository_uri().unwrap_or_default().to_string(),
        arn: repo.repository_arn().unwrap_or_default().to_string(),
        tag_mutability: repo
            .image_tag_mutability()
            .map_or("MUTABLE", |m| m.as_str())
            .to_string(),
        mutable_tags: repo
            .image_tag_mutability_exclusion_filters()
            .iter()
            .map(|f| f.filter().to_string())
            .collect(),
        scan_on_push: repo
            .image_scanning_configuration()
            .is_some_and(|c| c.scan_on_push()),
        encryption: encryption
            .map(|c| c.encryption_type().as_str().to_string())
            .unwrap_or_else(|| "AES256".to_string()),
        kms_key: encryption.and_then(|c| c.kms_key()).map(str::to_string),
        lifecycle_policy,
    }))
}

/// Whether the registry's own scanning configuration scans `repository`'s images when they
/// are pushed (a SCAN_ON_PUSH or CONTINUOUS_SCAN rule whose filter matches it): its
/// description (`the registry's BASIC scanning, SCAN_ON_PUSH for `*``), or None when no rule
/// does. Repository-level scan on push is deprecated in favour of this (ECR user guide, "Image
/// scanning"); where a rule covers the repository, ECR ignores the repository's own flag.
/// An unreadable configuration (an older policy, an endpoint without it) is None too: the
/// repository's own flag then keeps the promise, as before.
pub async fn registry_scanning(client: &Client, repository: &str) -> Option<String> {
    let answer = match client.get_registry_scanning_configuration().send().await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::debug!(
                "GetRegistryScanningConfiguration failed: {}",
                error_chain(&err)
            );
            return None;
        }
    };
    let configuration = answer.scanning_configuration()?;
    let scan_type = configuration
        .scan_type()
        .map_or("BASIC", |t| t.as_str())
        .to_string();
    configuration.rules().iter().find_map(|rule| {
        let frequency = rule.scan_frequency().as_str();
        if frequency == "MANUAL" {
            return None;
        }
        let filter = rule
            .repository_filters()
            .iter()
            .map(|f| f.filter())
            .find(|f| crate::config::model::wildcard_matches(f, repository))?;
        Some(format!(
            "the registry's {scan_type} scanning, {frequency} for `{filter}`"
        ))
    })
}

/// Registry credentials from GetAuthorizationToken: the proxy endpoint and the login. The
/// token stays in memory; it is never logged or written anywhere.
pub async fn registry_login(client: &Client) -> anyhow::Result<(String, Credentials)> {
    let out = client
        .get_authorization_token()
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("ECR", "GetAuthorizationToken", &e))?;
    let data = out
        .authorization_data()
        .first()
        .context("GetAuthorizationToken returned no authorization data")?;
    let token = Secret::new(
        data.authorization_token()
            .context("GetAuthorizationToken returned no token")?,
    );
    let endpoint = data
        .proxy_endpoint()
        .context("GetAuthorizationToken returned no proxy endpoint")?
        .to_string();
    let credentials = Credentials::from_ecr_token(&token).map_err(anyhow::Error::msg)?;
    Ok((endpoint, credentials))
}

/// An image of a repository named by its digest (`sha256:...`).
pub fn by_digest(digest: &str) -> aws_sdk_ecr::types::ImageIdentifier {
    aws_sdk_ecr::types::ImageIdentifier::builder()
        .image_digest(digest)
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wiremock::matchers::{header, method};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    /// An ECR client against a scripted endpoint that answers GetRegistryScanningConfiguration.
    async fn answering(body: serde_json::Value) -> (MockServer, Client) {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(header(
                "x-amz-target",
                "AmazonEC2ContainerRegistry_V20150921.GetRegistryScanningConfiguration",
            ))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", "application/x-amz-json-1.1")
                    .set_body_json(body),
            )
            .mount(&server)
            .await;
        let config = aws_sdk_ecr::Config::builder()
            .behavior_version(aws_sdk_ecr::config::BehaviorVersion::latest())
            .region(aws_sdk_ecr::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_ecr::config::Credentials::new(
                "test", "test", None, None, "test",
            ))
            .endpoint_url(server.uri())
            .build();
        (server, Client::from_conf(config))
    }

    #[tokio::test]
    async fn a_registry_rule_that_matches_the_repository_is_named() {
        let (_server, client) = answering(serde_json::json!({
            "registryId": "123456789012",
            "scanningConfiguration": {
                "scanType": "ENHANCED",
                "rules": [
                    { "scanFrequency": "MANUAL", "repositoryFilters": [{ "filter": "*", "filterType": "WILDCARD" }] },
                    { "scanFrequency": "CONTINUOUS_SCAN", "repositoryFilters": [{ "filter": "prod-*", "filterType": "WILDCARD" }] }
                ]
            }
        }))
        .await;
        assert_eq!(
            registry_scanning(&client, "prod-shop").await.as_deref(),
            Some("the registry's ENHANCED scanning, CONTINUOUS_SCAN for `prod-*`")
        );
        // A MANUAL rule scans nothing on push; no other rule matches.
        assert_eq!(registry_scanning(&client, "dev-shop").await, None);
    }
}

/// Where an image stands in its repository, for a rollback to run it again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageState {
    Present,
    /// In ECR's archive storage class: a pull fails until it is restored.
    Archived,
    /// Deleted (a lifecycle policy expires old images), or its repository is.
    Missing,
}

/// The state of the image `digest` (else `tag`) in `repository`.
pub async fn image_state(
    client: &Client,
    repository: &str,
    digest: Option<&str>,
    tag: Option<&str>,
) -> anyhow::Result<ImageState> {
    let id = aws_sdk_ecr::types::ImageIdentifier::builder()
        .set_image_digest(digest.map(str::to_string))
        .set_image_tag(
            digest
                .is_none()
                .then(|| tag.unwrap_or("latest").to_string()),
        )
        .build();
    match client
        .describe_images()
        .repository_name(repository)
        .image_ids(id)
        .send()
        .await
    {
        Ok(out) => Ok(match out.image_details().first() {
            None => ImageState::Missing,
            Some(detail)
                if detail.image_status() == Some(&aws_sdk_ecr::types::ImageStatus::Archived) =>
            {
                ImageState::Archived
            }
            Some(_) => ImageState::Present,
        }),
        Err(err)
            if err.as_service_error().is_some_and(|e| {
                e.is_image_not_found_exception() || e.is_repository_not_found_exception()
            }) =>
        {
            Ok(ImageState::Missing)
        }
        Err(err) => Err(AwsError::from_sdk("ECR", "DescribeImages", &err)
            .on(repository)
            .into()),
    }
}

/// How many images of `repository` were pushed after the one with `digest` (None when it is
/// not there): where it stands for a lifecycle policy that keeps the newest N.
pub async fn images_pushed_after(
    client: &Client,
    repository: &str,
    digest: &str,
) -> anyhow::Result<Option<usize>> {
    let mut pushed = Vec::new();
    let mut pages = client
        .describe_images()
        .repository_name(repository)
        .max_results(1000)
        .into_paginator()
        .send();
    // At most 10 pages (10,000 images): enough for any keep_last, bounded for any repository.
    for _ in 0..10 {
        let Some(page) = pages.next().await else {
            break;
        };
        let page =
            page.map_err(|e| AwsError::from_sdk("ECR", "DescribeImages", &e).on(repository))?;
        for detail in page.image_details() {
            pushed.push((
                detail.image_digest().unwrap_or_default().to_string(),
                detail
                    .image_pushed_at()
                    .map(|t| t.as_secs_f64())
                    .unwrap_or_default(),
            ));
        }
    }
    let Some(at) = pushed.iter().find(|(d, _)| d == digest).map(|(_, at)| *at) else {
        return Ok(None);
    };
    Ok(Some(pushed.iter().filter(|(_, t)| *t > at).count()))
}

/// The regions this account's registry replicates `repository` to (ECR's replication rules,
/// DescribeRegistry): its own account's destinations whose rule has no filter or a prefix the
/// name starts with. Empty when there is no rule or it cannot be read.
pub async fn replicated_to(client: &Client, repository: &str) -> Vec<String> {
    let registry = match client.describe_registry().send().await {
        Ok(out) => out,
        Err(err) => {
            tracing::debug!(
                "DescribeRegistry: {}: pushing to each region",
                crate::aws::error_chain(&err)
            );
            return Vec::new();
        }
    };
    let own = registry.registry_id().unwrap_or_default();
    let mut regions = Vec::new();
    for rule in registry
        .replication_configuration()
        .map(|c| c.rules())
        .unwrap_or_default()
    {
        let filters = rule.repository_filters();
        let covered = filters.is_empty()
            || filters.iter().any(|f| {
                f.filter_type().as_str() == "PREFIX_MATCH" && repository.starts_with(f.filter())
            });
        if !covered {
            continue;
        }
        for destination in rule.destinations() {
            if destination.registry_id() == own
                && !regions.contains(&destination.region().to_string())
            {
                regions.push(destination.region().to_string());
            }
        }
    }
    regions
}

/// Whether the image `digest` is in `repository` (a replica that arrived).
pub async fn has_image(client: &Client, repository: &str, digest: &str) -> anyhow::Result<bool> {
    Ok(matches!(
        image_state(client, repository, Some(digest), None).await?,
        ImageState::Present | ImageState::Archived
    ))
}
