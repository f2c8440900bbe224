//! `docker://NAME[:TAG]`: an image held by the local Docker engine, read through its API on
//! the unix socket (DOCKER_HOST is honoured); no docker CLI is needed. The engine exports the
//! image as a `docker save` stream, which is spooled to a temporary file (blobs need random
//! access and a retried upload reads them again) and read as a docker archive.

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
    let spool = tempfile::Builder::new()
        .prefix("docker-export-")
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
