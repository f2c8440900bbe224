//! `shipit push`: make the ECR repository match the config, read the image (compressing what
//! needs it) and push it under its tag. `deploy` runs the same stage.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::Args;
use serde::Serialize;
use url::Url;

use crate::aws::{self, Aws, AwsArgs};
use crate::calls::Clients;
use crate::cli::GlobalArgs;
use crate::config::model::{CpuArchitecture, TagMutability, parse_size};
use crate::config::{self, LoadedConfig};
use crate::ecr::{self, RepositoryState};
use crate::exit::{BadInput, ExitStatus};
use crate::image::{self, Compression, Digest, ReadOptions, SourceRef};
use crate::preflight::{self, SizeReport};
use crate::printer::Printer;
use crate::progress::{Mode, PushProgress, mib};
use crate::registry::Repository;
use crate::registry::mount_cache::MountCache;
use crate::registry::push::{self, MIN_CHUNK, PushOptions, PushReport};

#[derive(Debug, Clone, Default, Args)]
pub struct PushArgs {
    /// The image to push, instead of `image.source` (docker://NAME:TAG, docker-archive:PATH,
    /// oci:PATH[:REF], oci-archive:PATH).
    #[arg(long, value_name = "SOURCE")]
    pub source: Option<String>,
    /// The tag to push, instead of `image.tag` or the git commit.
    #[arg(long)]
    pub tag: Option<String>,
    /// Push to this registry URL instead of `repository.registry_url` or the default.
    #[arg(long, value_name = "URL")]
    pub registry_url: Option<String>,
    /// Blobs uploaded at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=32))]
    pub parallel: u16,
    /// Compression for layers the source holds uncompressed, instead of `image.compression`.
    #[arg(long, value_enum)]
    pub compression: Option<Compression>,
    /// Upload each blob in parts of this many MiB (at least 5) instead of one streaming request.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(5..=4096))]
    pub chunk_size: Option<u64>,
    /// Do not look inside the image for the programs the health check runs.
    #[arg(long)]
    pub no_preflight: bool,
}

/// What a health check the image cannot run does to the push stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preflight {
    /// Refuse (deploy): the tasks would be replaced as unhealthy, again and again.
    Enforce,
    /// Warn (push): the image may be meant for another config.
    Warn,
}

#[derive(Debug, Serialize)]
pub struct PushResult {
    pub ok: bool,
    pub repository: RepositoryState,
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

pub async fn run(
    args: &PushArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let inputs = PushInputs::resolve(&loaded, args, &global.aws)?;
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let prepared = prepare_image(&loaded, &inputs, args, Preflight::Warn, printer).await?;
    let mut result = push_stage(&loaded, &inputs, &prepared, &aws, &clients, args, printer).await?;
    result.size_report.deployed_bytes = deployed_image_size(&clients, &loaded).await;
    let report = &result.report;
    let human = if report.unchanged {
        format!(
            "{} already names this image: nothing pushed\n  image   {}\n",
            result.tagged_image, result.image
        )
    } else {
        format!(
            "pushed {}\n  image   {}\n  size    {}{}\n  blobs   {} uploaded ({}), {} already there, {} mounted, in {:.1} s\n",
            result.tagged_image,
            result.image,
            result.size_report.summary(),
            if result.layers_compressed > 0 {
                format!(", {} compressed here", result.layers_compressed)
            } else {
                String::new()
            },
            report.blobs_uploaded,
            mib(report.bytes_uploaded),
            report.blobs_existing,
            report.blobs_mounted,
            report.seconds
        )
    };
    if let Some(gh) = crate::github::GitHub::detect() {
        gh.outputs(&[
            ("image-uri", result.image.clone()),
            ("image-digest", report.digest.to_string()),
            (
                "result",
                if report.unchanged {
                    "unchanged"
                } else {
                    "pushed"
                }
                .to_string(),
            ),
        ])?;
    }
    printer.result(&result, &human)?;
    Ok(ExitStatus::Success)
}

/// What a push needs besides AWS, checked before any call: bad input exits 2 here.
pub struct PushInputs {
    pub source: SourceRef,
    pub tag: String,
    pub registry_override: Option<String>,
    pub options: ReadOptions,
}

impl PushInputs {
    pub fn resolve(
        loaded: &LoadedConfig,
        args: &PushArgs,
        aws_args: &AwsArgs,
    ) -> anyhow::Result<Self> {
        let config = &loaded.config;
        let source_text = args.source.as_deref().unwrap_or(&config.image.source);
        let source = SourceRef::parse(source_text).map_err(|e| {
            BadInput::new(format!(
                "{e}: write docker://NAME:TAG, docker-archive:PATH, oci:PATH[:REF] or oci-archive:PATH"
            ))
        })?;
        let tag = match &args.tag {
            Some(tag) => tag.clone(),
            None => {
                config::resolve_tag(loaded, &|n| std::env::var(n).ok())
                    .map_err(|e| BadInput::new(e.to_string()))?
                    .0
            }
        };
        let registry_override = args
            .registry_url
            .clone()
            .or_else(|| config.repository.registry_url.clone());
        if let Some(url) = &registry_override {
            aws::check_transport(url, aws_args.allow_insecure_http)?;
        }
        let options = ReadOptions {
            compression: args.compression.unwrap_or(config.image.compression),
            architecture: match config.task.cpu_architecture {
                CpuArchitecture::X86_64 => "amd64",
                CpuArchitecture::Arm64 => "arm64",
            }
            .to_string(),
            cache_dir: crate::cache::cache_dir(),
        };
        Ok(PushInputs {
            source,
            tag,
            registry_override,
            options,
        })
    }
}

/// An image read from its source and checked against the config, before any AWS call: a
/// refused image leaves nothing behind.
pub struct PreparedImage {
    read: image::ReadImage,
    pub size: SizeReport,
}

/// Reads (maybe compresses) the image, then the guardrails: the size budget, and the health
/// check's programs (refused or warned about, per `preflight`).
pub async fn prepare_image(
    loaded: &LoadedConfig,
    inputs: &PushInputs,
    args: &PushArgs,
    preflight: Preflight,
    printer: &Printer,
) -> anyhow::Result<PreparedImage> {
    let source = &inputs.source;
    printer.info(&format!("reading {source}"));
    let read = image::read(source, &inputs.options)
        .await
        .map_err(|err| unreadable_image(err, source, loaded, args))?;
    let size = SizeReport::of(
        &read.image,
        loaded.config.image.max_size.as_deref().and_then(parse_size),
    );
    if size.over_budget() {
        let line = loaded.line_of("image.max_size");
        bail!(
            "the image is over its size budget: {} (image.max_size, {}:{line}); nothing was pushed. Make the image smaller (a multi-stage build, a slim base, fewer build tools in the final stage) or raise the budget",
            size.summary(),
            loaded.path.display()
        );
    }
    if !args.no_preflight {
        check_health_check(loaded, &read.image, source, preflight, printer).await?;
    }
    Ok(PreparedImage { read, size })
}

/// Why the image could not be read. A damaged or missing file is bad input (exit 2) with the
/// way to write it again; a Docker engine that fails is a failure like any other.
fn unreadable_image(
    err: image::ImageError,
    source: &SourceRef,
    loaded: &LoadedConfig,
    args: &PushArgs,
) -> anyhow::Error {
    let fix = match source {
        SourceRef::Docker { .. } => {
            return anyhow::Error::new(err).context(format!("cannot read the image {source}"));
        }
        SourceRef::DockerArchive { path } => format!(
            "write the archive again with `docker save -o {} IMAGE`",
            path.display()
        ),
        SourceRef::OciArchive { path } => format!(
            "write the archive again, e.g. `skopeo copy docker-daemon:IMAGE oci-archive:{}`",
            path.display()
        ),
        SourceRef::Oci { path, .. } => format!(
            "write the layout again, e.g. `skopeo copy docker-daemon:IMAGE oci:{}:TAG`",
            path.display()
        ),
    };
    // Where the source was given: the flag, or the config's line.
    let (given_by, origin) = match &args.source {
        Some(_) => ("--source", "--source".to_string()),
        None => (
            "image.source",
            format!(
                "image.source, {}:{}",
                loaded.path.display(),
                loaded.line_of("image.source")
            ),
        ),
    };
    BadInput::new(format!(
        "cannot read the image {source} ({origin}): {err}; nothing was pushed. Fix: {fix}, or point {given_by} at the image you built"
    ))
    .into()
}

/// The push stage: repository, registry, push.
pub async fn push_stage(
    loaded: &LoadedConfig,
    inputs: &PushInputs,
    prepared: &PreparedImage,
    aws: &Aws,
    clients: &Clients,
    args: &PushArgs,
    printer: &Printer,
) -> anyhow::Result<PushResult> {
    let config = &loaded.config;
    let PushInputs {
        tag,
        registry_override,
        options,
        ..
    } = inputs;
    let tag = tag.clone();
    let client = &clients.ecr;
    let repository =
        ecr::ensure_repository(client, &loaded.names.repository, &config.repository, false).await?;
    let image = &prepared.read.image;
    if repository.created {
        printer.info(&format!("created repository {}", repository.uri));
    }
    for change in &repository.changed {
        printer.info(&format!("repository {}: {change}", repository.name));
    }

    let (proxy_endpoint, credentials) = ecr::registry_login(client).await?;
    let base = registry_base(
        registry_override.as_deref(),
        aws.endpoint.as_deref(),
        &repository.uri,
        &proxy_endpoint,
    )?;
    aws::check_transport(base.as_str(), aws.allow_insecure_http)?;
    let mut repo =
        Repository::new(base, &repository.name, Some(credentials)).map_err(anyhow::Error::from)?;
    repo.retry.attempts = aws.max_attempts;
    let repo = Arc::new(repo);
    repo.login().await?;

    let host = repo.registry_host();
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
        parallel: args.parallel as usize,
        chunk_size: args.chunk_size.map(|m| (m * 1024 * 1024).max(MIN_CHUNK)),
        immutable: config.repository.tag_mutability == TagMutability::Immutable,
        mount_sources,
    };
    printer.info(&format!(
        "pushing {host}/{}:{tag} ({}, {} blobs)",
        repository.name,
        mib(image.size()),
        image.blobs().count()
    ));
    let progress = Arc::new(PushProgress::new(
        Mode::detect(printer.is_quiet()),
        image.size(),
        image.blobs().count(),
    ));
    let report = push::push(&repo, image, &tag, &push_options, progress).await?;

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

/// Looks inside the image for the programs the health check runs (none configured: nothing to
/// do). A missing one is a config problem pointing at the health check's line.
async fn check_health_check(
    loaded: &LoadedConfig,
    image: &image::Image,
    source: &SourceRef,
    preflight: Preflight,
    printer: &Printer,
) -> anyhow::Result<()> {
    let Some(health_check) = &loaded.config.container.health_check else {
        return Ok(());
    };
    let layers = image.layers.clone();
    let config_file = image.config.file.clone();
    let (tree, path_var) = tokio::task::spawn_blocking(move || {
        let mut config_bytes = Vec::new();
        std::io::Read::read_to_end(
            &mut config_file
                .open_blocking()
                .map_err(image::ImageError::io(config_file.path.display()))?,
            &mut config_bytes,
        )
        .map_err(image::ImageError::io(config_file.path.display()))?;
        let tree = image::files::FileTree::read(&layers)?;
        Ok::<_, image::ImageError>((tree, preflight::image_path(&config_bytes)))
    })
    .await??;
    let port = u16::try_from(loaded.config.container.port).unwrap_or(80);
    let Err(missing) = preflight::check_health_check(&health_check.command, &tree, &path_var, port)
    else {
        tracing::debug!("health check preflight: every program is in the image");
        return Ok(());
    };
    let message = format!(
        "the health check runs `{}`, which is not in the image {source} (looked along {}): ECS would mark every task unhealthy and replace it, again and again",
        missing.program, missing.searched
    );
    let fix = match missing.alternatives.as_slice() {
        [] => format!(
            "install {} in the image, or run the health check with a program the image has",
            missing.program
        ),
        [first, ..] => format!(
            "install {} in the image, or use a program it has: `{first}`",
            missing.program
        ),
    };
    match preflight {
        Preflight::Enforce => Err(loaded
            .problem(
                "health-check-program",
                "container.health_check.command",
                message,
                format!("{fix} (or deploy with --no-preflight)"),
            )
            .into()),
        Preflight::Warn => {
            printer.warn(&format!("{message}; {fix}"));
            Ok(())
        }
    }
}

/// The compressed size of the image the service runs now (ECS, then ECR DescribeImages), or
/// None when there is no service yet or its image is not a digest in this repository.
pub async fn deployed_image_size(clients: &Clients, loaded: &LoadedConfig) -> Option<u64> {
    let names = &loaded.names;
    let service = crate::ecs::describe_service(&clients.ecs, &names.cluster, &names.service)
        .await
        .ok()??;
    let task_definition = service.task_definition()?;
    let td = crate::ecs::describe_task_definition(&clients.ecs, task_definition)
        .await
        .ok()??;
    let image = crate::ecs::container_image(&td, &names.container)?.to_string();
    image_size_in_ecr(clients, loaded, &image).await
}

/// The compressed size (config and layers, as `SizeReport` counts) of
/// `REGISTRY/REPOSITORY@sha256:...` when it is in this config's repository, from its manifest
/// (ECR BatchGetImage). Not DescribeImages' `imageSizeInBytes`: that leaves out the config, and
/// emulators fill it in differently.
pub async fn image_size_in_ecr(
    clients: &Clients,
    loaded: &LoadedConfig,
    image: &str,
) -> Option<u64> {
    let (name, digest) = image.split_once('@')?;
    let repository = &loaded.names.repository;
    if !name.ends_with(&format!("/{repository}")) {
        return None;
    }
    let found = clients
        .ecr
        .batch_get_image()
        .repository_name(repository)
        .image_ids(ecr::by_digest(digest))
        .send()
        .await
        .ok()?;
    let manifest = found.images().first()?.image_manifest()?;
    let manifest: image::Manifest = serde_json::from_str(manifest).ok()?;
    Some(manifest.config.size + manifest.layers.iter().map(|l| l.size).sum::<u64>())
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
