//! The image stage: what to push (source, tag, registry, read options, checked before any AWS
//! call), reading it, and the guardrails (size budget, health-check programs), so that a refused
//! image leaves nothing behind.

use anyhow::bail;

use crate::aws::calls::Clients;
use crate::config::LoadedConfig;
use crate::config::model::parse_size;
use crate::ecr;
use crate::exit::BadInput;
use crate::preflight::{self, SizeReport};
use crate::printer::Printer;
use shipit_oci::image::{self, ReadOptions, SourceRef};
use shipit_oci::registry::early_upload::EarlyUploads;
use std::sync::Arc;

/// What a health check the image cannot run does to the push stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preflight {
    /// Refuse (deploy): the tasks would be replaced as unhealthy, again and again.
    Enforce,
    /// Warn (push): the image may be meant for another config.
    Warn,
}

/// What a push needs besides AWS, resolved from the flags and the config and checked before
/// any call (`commands::push::PushArgs::resolve`): bad input exits 2 there.
#[derive(Clone)]
pub struct PushInputs {
    pub source: SourceRef,
    /// The source came from `--source`, not `image.source` (errors say which to fix).
    pub source_from_flag: bool,
    pub tag: String,
    pub registry_override: Option<String>,
    pub options: ReadOptions,
    /// Blobs uploaded at once.
    pub parallel: usize,
    /// Upload parts in MiB (at least 5), where `--chunk-size` names them.
    pub chunk_size_mib: Option<u64>,
    /// Look inside the image for the programs the health check runs (not with --no-preflight).
    pub check_health_check: bool,
}

/// An image read from its source and checked against the config, before any AWS call: a
/// refused image leaves nothing behind.
pub struct PreparedImage {
    pub read: image::ReadImage,
    pub size: SizeReport,
    /// Layers uploaded while they were compressed (deploy and push), for the push to complete.
    pub early_uploads: Option<Arc<EarlyUploads>>,
}

/// Reads (maybe compresses) the image, then the guardrails: the size budget, and the health
/// check's programs (refused or warned about, per `preflight`).
pub async fn prepare_image(
    loaded: &LoadedConfig,
    inputs: &PushInputs,
    preflight: Preflight,
    printer: &Printer,
) -> anyhow::Result<PreparedImage> {
    let source = &inputs.source;
    printer.info(&format!("reading {source}"));
    let read = image::read(source, &inputs.options)
        .await
        .map_err(|err| unreadable_image(err, source, loaded, inputs.source_from_flag))?;
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
    if inputs.check_health_check {
        check_health_check(loaded, &read.image, source, preflight, printer).await?;
    }
    Ok(PreparedImage {
        read,
        size,
        early_uploads: None,
    })
}

/// Why the image could not be read. A damaged or missing file is bad input (exit 2) with the
/// way to write it again; a Docker engine that fails is a failure like any other.
fn unreadable_image(
    err: image::ImageError,
    source: &SourceRef,
    loaded: &LoadedConfig,
    source_from_flag: bool,
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
    let (given_by, origin) = match source_from_flag {
        true => ("--source", "--source".to_string()),
        false => (
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

/// Looks inside the image for the programs the health check runs (none configured: nothing to
/// do). A missing one is a config problem pointing at the health check's line.
async fn check_health_check(
    loaded: &LoadedConfig,
    image: &image::Image,
    source: &SourceRef,
    preflight: Preflight,
    printer: &Printer,
) -> anyhow::Result<()> {
    // The container that runs the pushed image: the `container:` shorthand, or the entry of
    // `containers:` without an image of its own; and where its health check is written.
    let config = &loaded.config;
    let (app, health_check_path) = if config.containers.is_empty() {
        let mut specs = config.container_specs(&loaded.names.container);
        (
            specs.remove(0),
            "container.health_check.command".to_string(),
        )
    } else {
        let Some(i) = config.containers.iter().position(|c| c.image.is_none()) else {
            return Ok(());
        };
        (
            config.containers[i].clone(),
            format!("containers[{i}].health_check.command"),
        )
    };
    let Some(health_check) = &app.health_check else {
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
    let port = app.port.and_then(|p| u16::try_from(p).ok()).unwrap_or(80);
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
                &health_check_path,
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
        // Without them ECR may leave OCI manifests out of the answer.
        .set_accepted_media_types(Some(
            shipit_oci::image::ACCEPTED_MANIFEST_TYPES
                .iter()
                .map(|t| t.to_string())
                .collect(),
        ))
        .send()
        .await
        .ok()?;
    let manifest = found.images().first()?.image_manifest()?;
    let manifest: image::Manifest = serde_json::from_str(manifest).ok()?;
    Some(manifest.config.size + manifest.layers.iter().map(|l| l.size).sum::<u64>())
}
