//! The prepare phase, repository part: the ECR repository created with its settings, or
//! brought to them (tag mutability, scan on push, the lifecycle policy).

use anyhow::Context;
use aws_sdk_ecr::Client;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
};

use crate::aws::error::AwsError;
use crate::config::model::{Encryption, RepositoryConfig, TagMutability};
use crate::plan::repository::keep_last_policy;
use crate::plan::{Operation, RepositoryPlan};

/// The repository's mutability as ECR takes it, and its exclusion filters (none unless
/// IMMUTABLE_WITH_EXCLUSION).
fn mutability(
    wanted: &RepositoryConfig,
) -> (
    ImageTagMutability,
    Option<Vec<ImageTagMutabilityExclusionFilter>>,
) {
    match (wanted.tag_mutability, wanted.mutable_tags.as_slice()) {
        (TagMutability::Mutable, _) => (ImageTagMutability::Mutable, None),
        (TagMutability::Immutable, []) => (ImageTagMutability::Immutable, None),
        (TagMutability::Immutable, filters) => (
            ImageTagMutability::ImmutableWithExclusion,
            Some(
                filters
                    .iter()
                    .map(|filter| {
                        ImageTagMutabilityExclusionFilter::builder()
                            .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
                            .filter(filter)
                            .build()
                            .expect("both fields are set")
                    })
                    .collect(),
            ),
        ),
    }
}

/// Applies the repository's planned changes; returns its URI and ARN.
pub async fn apply(client: &Client, plan: &RepositoryPlan) -> anyhow::Result<(String, String)> {
    let name = &plan.name;
    let wanted = &plan.wanted;
    let (mut uri, mut arn) = (plan.uri.clone(), plan.arn.clone());
    // Settings that a create sets; re-applied where a create lost a race to another deploy
    // (two services of one repository deployed at once for the first time).
    let mut fix_mutability = plan.has(Operation::PutImageTagMutability);
    let mut fix_scanning = plan.has(Operation::PutImageScanningConfiguration);
    if plan.has(Operation::CreateRepository) {
        let mut encryption =
            EncryptionConfiguration::builder().encryption_type(match wanted.encryption {
                Encryption::Aes256 => EncryptionType::Aes256,
                Encryption::Kms => EncryptionType::Kms,
            });
        if let Some(key) = &wanted.kms_key {
            encryption = encryption.kms_key(key);
        }
        let (tag_mutability, exclusions) = mutability(wanted);
        let created = client
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(tag_mutability)
            .set_image_tag_mutability_exclusion_filters(exclusions)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(wanted.scan_on_push)
                    .build(),
            )
            .encryption_configuration(encryption.build().context("encryption settings")?)
            .send()
            .await;
        match created {
            Ok(created) => {
                let repo = created
                    .repository()
                    .context("CreateRepository answered without the repository")?;
                uri = repo.repository_uri().unwrap_or_default().to_string();
                arn = repo.repository_arn().unwrap_or_default().to_string();
            }
            // Another run created it between our read and our create: the repository exists,
            // which is what was wanted. Its settings are read and brought to the config's.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_repository_already_exists_exception()) =>
            {
                let state = crate::ecr::read_repository(client, name)
                    .await?
                    .with_context(|| format!("ECR said `{name}` exists, then that it does not"))?;
                fix_mutability = state.mutability_shown() != wanted.mutability_shown();
                fix_scanning = state.scan_on_push != wanted.scan_on_push;
                uri = state.uri;
                arn = state.arn;
            }
            Err(err) => {
                return Err(AwsError::from_sdk("ECR", "CreateRepository", &err)
                    .on(name)
                    .into());
            }
        }
    }
    if fix_mutability {
        let (tag_mutability, exclusions) = mutability(wanted);
        client
            .put_image_tag_mutability()
            .repository_name(name)
            .image_tag_mutability(tag_mutability)
            .set_image_tag_mutability_exclusion_filters(exclusions)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ECR", "PutImageTagMutability", &e))?;
    }
    if fix_scanning {
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
            .map_err(|e| AwsError::from_sdk("ECR", "PutImageScanningConfiguration", &e))?;
    }
    if plan.has(Operation::PutLifecyclePolicy)
        && let Some(keep) = wanted.keep_last
    {
        client
            .put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(keep_last_policy(keep).to_string())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ECR", "PutLifecyclePolicy", &e))?;
    }
    if plan.has(Operation::DeleteLifecyclePolicy) {
        client
            .delete_lifecycle_policy()
            .repository_name(name)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ECR", "DeleteLifecyclePolicy", &e))?;
    }
    Ok((uri, arn))
}
