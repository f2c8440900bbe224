//! The push stage: the registry the image goes to (logged in with ECR's token, kept in memory),
//! and the upload itself.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use serde::Serialize;
use url::Url;

use super::image::{PreparedImage, PushInputs};
use crate::aws::calls::Clients;
use crate::aws::{self, Aws};
use crate::config::LoadedConfig;
use crate::ecr;
use crate::plan::Change;
use crate::preflight::SizeReport;
use crate::printer::Printer;
use crate::progress::{Mode, PushProgress, mib};
use shipit_oci::image::Digest;
use shipit_oci::registry::Repository;
use shipit_oci::registry::mount_cache::MountCache;
use shipit_oci::registry::push::{self, MIN_CHUNK, PushOptions, PushReport};

#[derive(Debug, Serialize)]
pub struct PushResult {
    pub ok: bool,
    pub repository: RepositoryOutcome,
    pub registry: String,
    pub tag: String,
    /// `REGISTRY/REPOSITORY@sha256:...`: the reference a task definition should pin.
    pub image: String,
    pub tagged_image: String,
    pub layers_compressed: usize,
    /// Compressed size, largest layers, the change against the deployed image, the budget.
    pub size_report: SizeReport,
    #[serde(flatten)]
    pub report: PushReport,
}

/// The registry the image goes to, logged in with ECR's token (kept in memory only).
pub struct RegistryTarget {
    pub repo: Arc<Repository>,
    /// `host[:port]`, as image references name it.
    pub host: String,
}

impl RegistryTarget {
    /// The registry of the repository named `repository` (whose URI is empty until it exists),
    /// logged in: the login is registry-wide, so it works before the repository exists, and the
    /// plan's tag check and the push share it.
    pub async fn connect(
        aws: &Aws,
        clients: &Clients,
        inputs: &PushInputs,
        repository: &str,
        repository_uri: &str,
    ) -> anyhow::Result<RegistryTarget> {
        let (proxy_endpoint, credentials) = ecr::registry_login(&clients.ecr).await?;
        // Until the repository exists, its URI is the registry's host and its name.
        let uri = if repository_uri.is_empty() {
            format!(
                "{}/{repository}",
                proxy_endpoint
                    .trim_start_matches("https://")
                    .trim_start_matches("http://")
            )
        } else {
            repository_uri.to_string()
        };
        let base = registry_base(
            inputs.registry_override.as_deref(),
            aws.endpoint.as_deref(),
            &uri,
            &proxy_endpoint,
        )?;
        aws::check_transport(base.as_str(), aws.allow_insecure_http)?;
        let mut repo =
            Repository::new(base, repository, Some(credentials)).map_err(anyhow::Error::from)?;
        repo.retry.attempts = aws.max_attempts;
        repo.retry.attempt_timeout = aws.call_timeout;
        repo.login().await?;
        let host = repo.registry_host();
        Ok(RegistryTarget {
            repo: Arc::new(repo),
            host,
        })
    }

    /// `HOST/REPOSITORY@sha256:...`: what a task definition pins.
    pub fn pinned(&self, digest: &Digest) -> String {
        format!("{}/{}@{digest}", self.host, self.repo.name())
    }
}

/// The repository as the push left it.
#[derive(Debug, Clone, Serialize)]
pub struct RepositoryOutcome {
    pub name: String,
    pub uri: String,
    pub arn: String,
    pub created: bool,
    /// The planned changes applied to it.
    pub changes: Vec<Change>,
}

/// The push stage: the upload of every blob the registry lacks, then the manifest under its
/// tag. The repository exists by now (applied from the plan).
pub async fn push_stage(
    loaded: &LoadedConfig,
    inputs: &PushInputs,
    prepared: &PreparedImage,
    registry: &RegistryTarget,
    repository: RepositoryOutcome,
    printer: &Printer,
) -> anyhow::Result<PushResult> {
    let config = &loaded.config;
    let PushInputs { tag, options, .. } = inputs;
    let tag = tag.clone();
    let image = &prepared.read.image;
    let repo = &registry.repo;

    let host = registry.host.clone();
    let mut mounts = MountCache::load(&options.cache_dir);
    let mount_sources: HashMap<Digest, String> = image
        .blobs()
        .filter_map(|b| {
            let digest = &b.descriptor.digest;
            mounts
                .source_for(&host, digest, &repository.name)
                .map(|from| (digest.clone(), from))
        })
        .collect();
    let push_options = PushOptions {
        parallel: inputs.parallel,
        chunk_size: inputs
            .chunk_size_mib
            .map(|m| (m * 1024 * 1024).max(MIN_CHUNK)),
        immutable: config.repository.tag_is_immutable(&inputs.tag),
        mount_sources,
        uploaded_early: match &prepared.early_uploads {
            Some(uploads) => uploads.finish().await,
            None => HashMap::new(),
        },
    };
    printer.info(&format!(
        "pushing {host}/{}:{tag} ({}, {} blobs)",
        repository.name,
        mib(image.size()),
        image.blobs().count()
    ));
    let progress = Arc::new(PushProgress::new(
        printer,
        Mode::detect(printer.is_quiet()),
        image.size(),
        image.blobs().count(),
    ));
    let report = push::push(repo, image, &tag, &push_options, progress).await?;

    let digests: Vec<Digest> = image.blobs().map(|b| b.descriptor.digest.clone()).collect();
    mounts.record(&host, &repository.name, &digests);
    if let Err(err) = mounts.save() {
        tracing::warn!("could not save the blob location cache: {err}");
    }
    Ok(PushResult {
        ok: true,
        registry: host.clone(),
        image: format!("{host}/{}@{}", repository.name, report.digest),
        tagged_image: format!("{host}/{}:{tag}", repository.name),
        layers_compressed: image.layers_compressed,
        size_report: prepared.size.clone(),
        tag,
        repository,
        report,
    })
}

/// Where to push: an explicit URL; else, with an endpoint override whose repository URIs name
/// the real AWS host (ministack), the endpoint itself; else the registry ECR names.
pub fn registry_base(
    explicit: Option<&str>,
    endpoint: Option<&str>,
    repository_uri: &str,
    proxy_endpoint: &str,
) -> anyhow::Result<Url> {
    let text = match (explicit, endpoint) {
        (Some(url), _) => url.to_string(),
        (None, Some(endpoint)) if repository_uri.contains(".amazonaws.com") => endpoint.to_string(),
        _ if proxy_endpoint.starts_with("http") => proxy_endpoint.to_string(),
        _ => format!("https://{proxy_endpoint}"),
    };
    Url::parse(&text).with_context(|| format!("registry URL `{text}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_is_the_override_then_the_local_endpoint_then_ecr() {
        let uri = "000000000000.dkr.ecr.us-east-1.amazonaws.com/app";
        let proxy = "https://000000000000.dkr.ecr.us-east-1.amazonaws.com";
        let pick = |explicit, endpoint| {
            registry_base(explicit, endpoint, uri, proxy)
                .unwrap()
                .to_string()
        };
        assert_eq!(
            pick(Some("http://127.0.0.1:5000"), Some("http://127.0.0.1:4566")),
            "http://127.0.0.1:5000/"
        );
        assert_eq!(
            pick(None, Some("http://127.0.0.1:4566")),
            "http://127.0.0.1:4566/"
        );
        assert_eq!(
            pick(None, None),
            "https://000000000000.dkr.ecr.us-east-1.amazonaws.com/"
        );
        // LocalStack Pro names its own registry host: use it.
        let local = registry_base(
            None,
            Some("http://127.0.0.1:4566"),
            "localhost.localstack.cloud:4510/app",
            "http://localhost.localstack.cloud:4510",
        )
        .unwrap();
        assert_eq!(local.as_str(), "http://localhost.localstack.cloud:4510/");
    }
}
