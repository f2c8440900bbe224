//! `docker://NAME[:TAG]`: an image held by the local Docker engine, read through its API on
//! the unix socket (DOCKER_HOST is honoured); no docker CLI is needed.
//!
//! A classic engine hands out an image only as a `docker save` stream of uncompressed layers.
//! Three things keep that off a deploy's critical path:
//! - an image whose config and compressed layers are all in the cache (a re-run, a re-push) is
//!   read without exporting anything: the engine's inspect names the config (the image id) and
//!   the layers' uncompressed digests, the cache has the rest;
//! - otherwise layers are compressed as the export streams by, on every core, while the
//!   export goes on (a layer the cache already holds is only passed over), and the config is
//!   picked out of the stream by its digest: the image is then read from the cache, and the
//!   export is never written to disk;
//! - where that cannot work (the containerd image store exports layers compressed; a layer
//!   passed over by mistake), the export is spooled to a temporary file and read as a docker
//!   archive, which finds in the cache every layer the streaming pass did compress.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bollard::Docker;
use bytes::Bytes;
use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;

use super::compress::{self, Written};
use super::{
    Blob, BlobFile, Digest, Image, ImageError, ReadImage, ReadOptions, docker_archive, layout,
};

pub async fn read(name: &str, options: &ReadOptions) -> Result<ReadImage, ImageError> {
    let docker = Docker::connect_with_defaults().map_err(|e| {
        ImageError::Engine(format!(
            "cannot connect ({e}); is the engine running, and is DOCKER_HOST right?"
        ))
    })?;
    // A clear "not found" before streaming anything.
    let inspected = docker.inspect_image(name).await.map_err(|e| match e {
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        } => ImageError::Engine(format!(
            "the engine has no image `{name}`: build it first (docker build -t {name} .)"
        )),
        other => ImageError::Engine(format!("cannot inspect `{name}`: {other}")),
    })?;
    let known = KnownImage::from_inspect(&inspected);
    if let Some(image) = known.as_ref().and_then(|k| k.read_from_cache(options)) {
        tracing::debug!(%name, "config and every layer found in the cache: nothing exported");
        return Ok(ReadImage {
            image,
            _spool: None,
        });
    }
    std::fs::create_dir_all(&options.cache_dir)
        .map_err(ImageError::io(options.cache_dir.display()))?;

    // The classic image store exports layers uncompressed and names the config by the image
    // id; the containerd store (the one inspect gives a descriptor for) exports the layers as
    // it pulled them, compressed, which only the docker-archive reader passes on as they are.
    let classic_store = inspected.descriptor.is_none();
    if let Some(known) = known.as_ref().filter(|_| classic_store) {
        let streamed = export(&docker, name, Some(known), options, None).await?;
        if let Some(config) = &streamed.config {
            known.keep_config(config, options);
        }
        if let Some(image) = known.read_from_cache(options) {
            tracing::debug!(%name, "read from the export as it streamed: nothing spooled");
            return Ok(ReadImage {
                image,
                _spool: None,
            });
        }
        tracing::debug!(%name, "the export left layers to compress: exporting again, to a spool");
    }

    remove_stale_spools(&options.cache_dir, STALE_AFTER);
    let spool = tempfile::Builder::new()
        .prefix(SPOOL_PREFIX)
        .suffix(".tar")
        .tempfile_in(&options.cache_dir)
        .map_err(ImageError::io(options.cache_dir.display()))?;
    let (file, path) = spool.into_parts();
    let streamed = export(&docker, name, known.as_ref(), options, Some((file, &path))).await?;
    if let (Some(known), Some(config)) = (&known, &streamed.config) {
        known.keep_config(config, options);
    }
    let image = docker_archive::read(&path, options).await?;
    Ok(ReadImage {
        image,
        _spool: Some(path),
    })
}

/// What the streaming pass took out of an export.
#[derive(Default)]
struct Streamed {
    /// Layers compressed into the cache as they streamed by.
    layers_compressed: usize,
    /// The image's config, found by its digest (the classic store's image id).
    config: Option<Vec<u8>>,
}

/// Streams the export of `name` through the streaming pass and, when given one, into a spool
/// file. Without a spool a pass that stops early ends the export: what it did not do is left
/// for the spooled export.
async fn export(
    docker: &Docker,
    name: &str,
    known: Option<&KnownImage>,
    options: &ReadOptions,
    spool: Option<(std::fs::File, &Path)>,
) -> Result<Streamed, ImageError> {
    // Large writes: each one is a hop to a blocking thread.
    let mut spool = spool.map(|(file, path)| {
        let out = tokio::io::BufWriter::with_capacity(BATCH_BYTES, tokio::fs::File::from_std(file));
        (out, path)
    });

    // The streaming pass reads the export through a short queue: the export waits for the
    // compressor rather than buffering the image in memory. The queue holds a few batches of
    // the compressor's blocks, so the export goes on while it compresses one.
    let (to_compressor, queue) = tokio::sync::mpsc::channel::<Bytes>(QUEUED_BATCHES);
    let mut batch = bytes::BytesMut::with_capacity(BATCH_BYTES);
    let streaming = StreamingPass::new(known, options);
    let compressor = tokio::task::spawn_blocking(move || streaming.run(queue));
    let mut to_compressor = Some(to_compressor);

    let mut stream = docker.export_image(name);
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ImageError::Engine(format!("exporting `{name}` failed: {e}")))?;
        if let Some((out, path)) = &mut spool {
            out.write_all(&chunk)
                .await
                .map_err(ImageError::io(path.display()))?;
        }
        if let Some(sender) = &to_compressor {
            batch.extend_from_slice(&chunk);
            // A pass that stopped (its error is logged) leaves the work to the spool.
            if batch.len() >= BATCH_BYTES && sender.send(batch.split().freeze()).await.is_err() {
                to_compressor = None;
            }
        }
        if to_compressor.is_none() && spool.is_none() {
            break;
        }
    }
    if let Some(sender) = to_compressor
        && !batch.is_empty()
    {
        let _ = sender.send(batch.freeze()).await;
    }
    if let Some((mut out, path)) = spool {
        out.flush().await.map_err(ImageError::io(path.display()))?;
    }
    let streamed = compressor.await.expect("the streaming pass does not panic");
    tracing::debug!(
        layers = streamed.layers_compressed,
        "compressed while the export streamed"
    );
    Ok(streamed)
}

/// What the engine says of an image before exporting it.
struct KnownImage {
    /// The image id: the digest of its config on a classic engine, of its manifest or index on
    /// the containerd image store. Either way it names one content, so it keys the cache.
    id: Digest,
    /// The layers' uncompressed digests, in order (`RootFS.Layers`).
    diff_ids: Vec<Digest>,
}

impl KnownImage {
    fn from_inspect(inspected: &bollard::models::ImageInspect) -> Option<KnownImage> {
        let id = Digest::parse(inspected.id.as_deref()?).ok()?;
        let diff_ids = inspected
            .root_fs
            .as_ref()?
            .layers
            .as_ref()?
            .iter()
            .map(|d| Digest::parse(d).ok())
            .collect::<Option<Vec<_>>>()?;
        Some(KnownImage { id, diff_ids })
    }

    /// Where the config of this image, as its export held it, is kept for the next read.
    fn config_path(&self, options: &ReadOptions) -> PathBuf {
        options.cache_dir.join("engine-configs").join(format!(
            "{}-{}.json",
            self.id.hex(),
            options.architecture
        ))
    }

    /// The image built from the cache alone: its config as a past export held it, and every
    /// layer compressed. The same manifest the export would give, since both are made by
    /// `build_image` from the same blobs.
    fn read_from_cache(&self, options: &ReadOptions) -> Option<Image> {
        let path = self.config_path(options);
        let config = std::fs::read(&path).ok()?;
        if layout::diff_ids(&config, &path.display().to_string()).ok()? != self.diff_ids {
            return None;
        }
        let folder = compress::cache_folder(&options.cache_dir, options.compression);
        let layers = self
            .diff_ids
            .iter()
            .map(|diff_id| compress::cached(&folder, diff_id, options.compression).map(|c| c.blob))
            .collect::<Option<Vec<_>>>()?;
        let config = Blob::config(&config, BlobFile::whole(path, config.len() as u64));
        // Counted as the export's read counts them: every layer the engine holds uncompressed.
        let layers_compressed = layers.len();
        Some(compress::build_image(config, layers, layers_compressed))
    }

    /// Keeps the config the export held, if its layers are the ones the engine named (best
    /// effort: a config not kept only means the next read exports again).
    fn keep_config(&self, config: &[u8], options: &ReadOptions) {
        let path = self.config_path(options);
        if layout::diff_ids(config, &path.display().to_string())
            .ok()
            .as_ref()
            != Some(&self.diff_ids)
        {
            return;
        }
        if let Err(err) = crate::cache::write_atomically(&path, config) {
            tracing::debug!(%err, "the image config was not kept in the cache");
        }
    }
}

/// Compresses the layers of an export as its bytes stream by, and picks out the image's
/// config. Only an optimisation: what it keeps is the cache's usual content under the layer's
/// real digest; what it skips or fails on is done from a spooled export afterwards.
struct StreamingPass {
    compression: compress::Compression,
    cache: PathBuf,
    /// The image's layers: anything else in the export is not kept.
    wanted: HashSet<Digest>,
    /// The config's digest (the classic store's image id).
    config: Option<Digest>,
    /// Uncompressed sizes of this image's layers the cache holds: a large entry of such a size
    /// is passed over unread (if it was another layer after all, the image read from the cache
    /// lacks it and the export is spooled).
    cached_sizes: HashSet<u64>,
    watcher: Option<compress::Watcher>,
}

/// Entries smaller than this (metadata, the config, small layers) are read whole and told
/// apart by their digest; larger ones are compressed as they stream, or passed over by size.
const SMALL_ENTRY_BYTES: u64 = 1024 * 1024;

impl StreamingPass {
    fn new(known: Option<&KnownImage>, options: &ReadOptions) -> StreamingPass {
        let cache = compress::cache_folder(&options.cache_dir, options.compression);
        let diff_ids = known.map(|k| k.diff_ids.clone()).unwrap_or_default();
        let cached_sizes = diff_ids
            .iter()
            .filter_map(|d| compress::cached(&cache, d, options.compression)?.uncompressed)
            .collect();
        StreamingPass {
            compression: options.compression,
            cache,
            wanted: diff_ids.into_iter().collect(),
            config: known.map(|k| k.id.clone()),
            cached_sizes,
            watcher: options.watcher.clone(),
        }
    }

    fn run(self, queue: tokio::sync::mpsc::Receiver<Bytes>) -> Streamed {
        let mut streamed = Streamed::default();
        if self.wanted.is_empty() {
            return streamed;
        }
        let mut archive = tar::Archive::new(QueueReader {
            queue,
            current: Bytes::new(),
        });
        let result = (|| -> std::io::Result<()> {
            for entry in archive.entries()? {
                let mut entry = entry?;
                let size = entry.size();
                if !entry.header().entry_type().is_file() {
                    continue;
                }
                if size < SMALL_ENTRY_BYTES {
                    let mut bytes = Vec::with_capacity(size as usize);
                    entry.read_to_end(&mut bytes)?;
                    self.take_small(bytes, &mut streamed)?;
                    continue;
                }
                if self.cached_sizes.contains(&size) {
                    continue;
                }
                let mut head = [0u8; 4];
                entry.read_exact(&mut head)?;
                if compress::LayerFormat::of_head(head) != compress::LayerFormat::Tar {
                    continue; // already compressed (the containerd image store's export)
                }
                if self.compress((&head[..]).chain(entry), |diff_id| {
                    self.wanted.contains(diff_id)
                })? {
                    streamed.layers_compressed += 1;
                }
            }
            Ok(())
        })();
        if let Err(err) = result {
            tracing::debug!(%err, "compressing the export as it streamed stopped; a spooled export finishes");
        }
        streamed
    }

    /// A small entry: the config (kept), a small layer of the image not yet cached
    /// (compressed), or anything else (dropped).
    fn take_small(&self, bytes: Vec<u8>, streamed: &mut Streamed) -> std::io::Result<()> {
        let digest = Digest::of_bytes(&bytes);
        if self.config.as_ref() == Some(&digest) {
            streamed.config = Some(bytes);
            return Ok(());
        }
        let is_tar = bytes
            .first_chunk::<4>()
            .is_none_or(|head| compress::LayerFormat::of_head(*head) == compress::LayerFormat::Tar);
        if !is_tar
            || !self.wanted.contains(&digest)
            || compress::cached(&self.cache, &digest, self.compression).is_some()
        {
            return Ok(());
        }
        if self.compress(&bytes[..], |diff_id| *diff_id == digest)? {
            streamed.layers_compressed += 1;
        }
        Ok(())
    }

    /// Compresses a layer into the cache; true if it was one of the image's.
    fn compress(
        &self,
        input: impl Read,
        wanted: impl FnOnce(&Digest) -> bool,
    ) -> std::io::Result<bool> {
        let written = compress::compress_into_cache(
            input,
            self.compression,
            &self.cache,
            self.watcher.as_ref(),
            wanted,
        )?;
        Ok(matches!(written, Written::Kept(_)))
    }
}

/// The export's bytes as a `Read`, for the tar reader on a blocking thread.
struct QueueReader {
    queue: tokio::sync::mpsc::Receiver<Bytes>,
    current: Bytes,
}

impl Read for QueueReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.queue.blocking_recv() {
                Some(next) => self.current = next,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// The export goes to the streaming pass in batches of this size, at most this many queued:
/// 8 MiB waiting, while the compressor works on the 1 MiB blocks of another.
const BATCH_BYTES: usize = 1024 * 1024;
const QUEUED_BATCHES: usize = 8;

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
