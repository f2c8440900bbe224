//! The ECR calls the push needs: make the repository match the config, and get registry
//! credentials (kept in memory only).

use anyhow::{Context, bail};
use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
};
use serde::Serialize;

use crate::aws::error_chain;
use crate::config::model::{Encryption, RepositoryConfig, TagMutability};
use crate::registry::{Credentials, Secret};

#[derive(Debug, Clone, Serialize)]
pub struct RepositoryState {
    pub name: String,
    pub uri: String,
    pub arn: String,
    pub created: bool,
    /// Settings changed to match the config, in words ("tag mutability MUTABLE -> IMMUTABLE").
    pub changed: Vec<String>,
}

fn mutability(m: TagMutability) -> ImageTagMutability {
    match m {
        TagMutability::Immutable => ImageTagMutability::Immutable,
        TagMutability::Mutable => ImageTagMutability::Mutable,
    }
}

/// Creates the repository, or brings an existing one in line with the config: what ECR lets
/// change (tag mutability, scan on push, lifecycle policy) is changed and reported; encryption
/// cannot change after creation, so a difference is an error.
pub async fn ensure_repository(
    client: &Client,
    name: &str,
    wanted: &RepositoryConfig,
    dry_run: bool,
) -> anyhow::Result<RepositoryState> {
    let found = client
        .describe_repositories()
        .repository_names(name)
        .send()
        .await;
    let existing = match found {
        Ok(out) => out.repositories().first().cloned(),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_repository_not_found_exception()) =>
        {
            None
        }
        Err(err) => bail!(
            "ECR DescribeRepositories for `{name}` failed: {}",
            error_chain(&err)
        ),
    };

    let mut state = match existing {
        None if dry_run => RepositoryState {
            name: name.to_string(),
            uri: String::new(),
            arn: String::new(),
            created: true,
            changed: Vec::new(),
        },
        None => {
            let mut encryption =
                EncryptionConfiguration::builder().encryption_type(match wanted.encryption {
                    Encryption::Aes256 => EncryptionType::Aes256,
                    Encryption::Kms => EncryptionType::Kms,
                });
            if let Some(key) = &wanted.kms_key {
                encryption = encryption.kms_key(key);
            }
            let created = client
                .create_repository()
                .repository_name(name)
                .image_tag_mutability(mutability(wanted.tag_mutability))
                .image_scanning_configuration(
                    ImageScanningConfiguration::builder()
                        .scan_on_push(wanted.scan_on_push)
                        .build(),
                )
                .encryption_configuration(encryption.build().context("encryption settings")?)
                .send()
                .await
                .map_err(|e| {
                    anyhow::anyhow!("ECR CreateRepository `{name}` failed: {}", error_chain(&e))
                })?;
            let repo = created
                .repository()
                .context("CreateRepository answered without the repository")?;
            RepositoryState {
                name: name.to_string(),
                uri: repo.repository_uri().unwrap_or_default().to_string(),
                arn: repo.repository_arn().unwrap_or_default().to_string(),
                created: true,
                changed: Vec::new(),
            }
        }
        Some(repo) => {
            let mut state = RepositoryState {
                name: name.to_string(),
                uri: repo.repository_uri().unwrap_or_default().to_string(),
                arn: repo.repository_arn().unwrap_or_default().to_string(),
                created: false,
                changed: Vec::new(),
            };
            check_encryption(name, &repo, wanted)?;
            let current = repo
                .image_tag_mutability()
                .cloned()
                .unwrap_or(ImageTagMutability::Mutable);
            let desired = mutability(wanted.tag_mutability);
            if current != desired && !dry_run {
                client
                    .put_image_tag_mutability()
                    .repository_name(name)
                    .image_tag_mutability(desired.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("ECR PutImageTagMutability failed: {}", error_chain(&e))
                    })?;
                state.changed.push(format!(
                    "tag mutability {} -> {}",
                    current.as_str(),
                    desired.as_str()
                ));
            }
            let scanning = repo
                .image_scanning_configuration()
                .is_some_and(|c| c.scan_on_push());
            if scanning != wanted.scan_on_push && !dry_run {
                client
                    .put_image_scanning_configuration()
                    .repository_name(name)
                    .image_scanning_configuration(
                        ImageScanningConfiguration::builder()
                            .scan_on_push(wanted.scan_on_push)
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!(
                            "ECR PutImageScanningConfiguration failed: {}",
                            error_chain(&e)
                        )
                    })?;
                state.changed.push(format!(
                    "scan on push {scanning} -> {}",
                    wanted.scan_on_push
                ));
            }
            state
        }
    };
    if let Some(keep) = wanted.keep_last
        && !(state.created && dry_run)
        && ensure_lifecycle(client, name, keep, dry_run).await?
    {
        state
            .changed
            .push(format!("lifecycle policy: keep the last {keep} images"));
    }
    Ok(state)
}

fn check_encryption(
    name: &str,
    repo: &aws_sdk_ecr::types::Repository,
    wanted: &RepositoryConfig,
) -> anyhow::Result<()> {
    let current = repo.encryption_configuration();
    let current_type = current
        .map(|c| c.encryption_type().as_str().to_string())
        .unwrap_or_else(|| "AES256".to_string());
    let wanted_type = wanted.encryption.to_string();
    let key_differs = wanted.encryption == Encryption::Kms
        && wanted.kms_key.as_deref().is_some_and(|key| {
            current
                .and_then(|c| c.kms_key())
                .is_some_and(|have| have != key && !have.ends_with(key))
        });
    if current_type != wanted_type || key_differs {
        bail!(
            "repository `{name}` is encrypted with {current_type}{}, but deploy.yaml asks for {wanted_type}{}. ECR cannot change a repository's encryption after creation: set repository.encryption to match, or use a new repository name",
            current
                .and_then(|c| c.kms_key())
                .map(|k| format!(" (key {k})"))
                .unwrap_or_default(),
            wanted
                .kms_key
                .as_deref()
                .map(|k| format!(" (key {k})"))
                .unwrap_or_default(),
        );
    }
    Ok(())
}

/// The lifecycle policy text for "keep the last N images".
pub fn keep_last_policy(keep: i64) -> serde_json::Value {
    serde_json::json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("shipit: keep the last {keep} images"),
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": keep
            },
            "action": { "type": "expire" }
        }]
    })
}

/// Puts the policy unless the repository already has exactly it. Returns whether it changed
/// (or, with `dry_run`, would).
async fn ensure_lifecycle(
    client: &Client,
    name: &str,
    keep: i64,
    dry_run: bool,
) -> anyhow::Result<bool> {
    let wanted = keep_last_policy(keep);
    match client
        .get_lifecycle_policy()
        .repository_name(name)
        .send()
        .await
    {
        Ok(out) => {
            let current: Option<serde_json::Value> = out
                .lifecycle_policy_text()
                .and_then(|t| serde_json::from_str(t).ok());
            if current.as_ref() == Some(&wanted) {
                return Ok(false);
            }
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_lifecycle_policy_not_found_exception()) => {}
        Err(err) => bail!("ECR GetLifecyclePolicy failed: {}", error_chain(&err)),
    }
    if dry_run {
        return Ok(true);
    }
    client
        .put_lifecycle_policy()
        .repository_name(name)
        .lifecycle_policy_text(wanted.to_string())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("ECR PutLifecyclePolicy failed: {}", error_chain(&e)))?;
    Ok(true)
}

/// Registry credentials from GetAuthorizationToken: the proxy endpoint and the login. The
/// token stays in memory; it is never logged or written anywhere.
pub async fn registry_login(client: &Client) -> anyhow::Result<(String, Credentials)> {
    let out =
        client.get_authorization_token().send().await.map_err(|e| {
            anyhow::anyhow!("ECR GetAuthorizationToken failed: {}", error_chain(&e))
        })?;
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
