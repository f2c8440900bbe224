//! `docker://NAME[:TAG]`: an image held by the local Docker engine, read through its API on
//! the unix socket (DOCKER_HOST is honoured); no docker CLI is needed. The engine exports the
//! image as a `docker save` stream, which is spooled to a temporary file (blobs need random
//! access and a retried upload reads them again) and read as a docker archive.

use std::path::Path;
use std::time::Duration;

use bollard::Docker;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::{ImageError, ReadImage, ReadOptions, docker_archive};

pub async fn read(name: &str, options: &ReadOptions) -> Result<ReadImage, ImageError> {
    let docker = Docker::connect_with_defaults().map_err(|e| {
        ImageError::Engine(format!(
            "cannot connect ({e}); is the engine running, and is DOCKER_HOST right?"
        ))
    })?;
    // A clear "not found" before streaming anything.
    docker.inspect_image(name).await.map_err(|e| match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => ImageError::Engine(format!(
            "the engine has no image `{name}`: build it first (docker build -t {name} .)"
        )),
        other => ImageError::Engine(format!("cannot inspect `{name}`: {other}")),
    })?;

    std::fs::create_dir_all(&options.cache_dir)
        .map_err(ImageError::io(options.cache_dir.display()))?;
    remove_stale_spools(&options.cache_dir, STALE_AFTER);
    let spool = tempfile::Builder::new()
        .prefix(SPOOL_PREFIX)
        .suffix(".tar")
        .tempfile_in(&options.cache_dir)
        .map_err(ImageError::io(options.cache_dir.display()))?;
    let (file, path) = spool.into_parts();
    let mut out = tokio::io::BufWriter::new(tokio::fs::File::from_std(file));
    let mut stream = docker.export_image(name);
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ImageError::Engine(format!("exporting `{name}` failed: {e}")))?;
        out.write_all(&chunk)
            .await
            .map_err(ImageError::io(path.display()))?;
    }
    out.flush().await.map_err(ImageError::io(path.display()))?;
    drop(out);
    let image = docker_archive::read(&path, options).await?;
    Ok(ReadImage {
        image,
        _spool: Some(path),
    })
}

const SPOOL_PREFIX: &str = "docker-export-";

/// A spool lives as long as one command. One this old was left by a process that was killed
/// (SIGKILL, a power cut: nothing runs to delete it).
const STALE_AFTER: Duration = Duration::from_secs(6 * 3600);

/// Deletes the export spools in `cache` not written to for `stale_after`. Best effort: a spool
/// that cannot be read or deleted is left for the next run.
fn remove_stale_spools(cache: &Path, stale_after: Duration) {
    let Ok(entries) = std::fs::read_dir(cache) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(SPOOL_PREFIX) || !name.ends_with(".tar") {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|modified| modified.elapsed().ok());
        if age.is_some_and(|age| age >= stale_after) {
            tracing::debug!(spool = %name, "removing an export left by a killed run");
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spools_left_by_killed_runs_are_removed_and_nothing_else() {
        let cache = tempfile::tempdir().unwrap();
        let write = |name: &str, age: Duration| {
            let path = cache.path().join(name);
            let file = std::fs::File::create(&path).unwrap();
            file.set_modified(std::time::SystemTime::now() - age)
                .unwrap();
            path
        };
        let stale = write(
            "docker-export-AbC123.tar",
            STALE_AFTER + Duration::from_secs(60),
        );
        let fresh = write("docker-export-XyZ789.tar", Duration::from_secs(60));
        let layer = write("sha256-old.tar", STALE_AFTER * 2);
        remove_stale_spools(cache.path(), STALE_AFTER);
        assert!(!stale.exists());
        assert!(fresh.exists(), "a spool of a run going on now stays");
        assert!(layer.exists(), "only spools are touched");
    }
}
