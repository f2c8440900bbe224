//! OCI image layouts: a directory (`oci:PATH[:REF]`, as buildx `--output type=oci,tar=false`
//! or `skopeo copy oci:` write) or the same in a tar (`oci-archive:PATH`, and the `docker save`
//! format of Docker 25+). A manifest whose layers are all compressed is pushed byte for byte, so
//! the pushed image has the source's digest.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::archive::TarIndex;
use super::compress::{self, SourceLayer};
use super::{
    Blob, BlobFile, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, Descriptor, Digest, Image, ImageError,
    Index, Manifest, OCI_INDEX, OCI_MANIFEST, ReadOptions,
};

const MAX_JSON_BYTES: u64 = 16 * 1024 * 1024;
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// Where the layout's files are.
pub enum Store {
    Dir(PathBuf),
    Tar(TarIndex, PathBuf),
}

impl Store {
    fn name(&self) -> String {
        match self {
            Store::Dir(p) | Store::Tar(_, p) => p.display().to_string(),
        }
    }

    fn file(&self, name: &str) -> Result<BlobFile, ImageError> {
        match self {
            Store::Dir(dir) => {
                let path = dir.join(name);
                let len = std::fs::metadata(&path)
                    .map_err(|_| ImageError::invalid(dir.display(), format!("has no `{name}`")))?
                    .len();
                Ok(BlobFile::whole(path, len))
            }
            Store::Tar(index, path) => index
                .blob(name)
                .ok_or_else(|| ImageError::invalid(path.display(), format!("has no `{name}`"))),
        }
    }

    fn blob(&self, descriptor: &Descriptor) -> Result<BlobFile, ImageError> {
        let file = self.file(&format!("blobs/sha256/{}", descriptor.digest.hex()))?;
        if file.len != descriptor.size {
            return Err(ImageError::invalid(
                self.name(),
                format!(
                    "blob {} is {} bytes, but its descriptor says {}",
                    descriptor.digest, file.len, descriptor.size
                ),
            ));
        }
        Ok(file)
    }

    pub fn read_json_bytes(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let file = self.file(name)?;
        if file.len > MAX_JSON_BYTES {
            return Err(ImageError::invalid(
                self.name(),
                format!("`{name}` is {} bytes, too large for metadata", file.len),
            ));
        }
        let mut bytes = Vec::with_capacity(file.len as usize);
        file.open_blocking()
            .and_then(|mut r| r.read_to_end(&mut bytes))
            .map_err(ImageError::io(self.name()))?;
        Ok(bytes)
    }

    fn blob_bytes(&self, descriptor: &Descriptor) -> Result<Vec<u8>, ImageError> {
        let bytes = self.read_json_bytes(&format!("blobs/sha256/{}", descriptor.digest.hex()))?;
        if Digest::of_bytes(&bytes) != descriptor.digest {
            return Err(ImageError::invalid(
                self.name(),
                format!("blob {} does not match its digest", descriptor.digest),
            ));
        }
        Ok(bytes)
    }
}

pub async fn read_dir(
    path: &Path,
    reference: Option<&str>,
    options: &ReadOptions,
) -> Result<Image, ImageError> {
    if !path.is_dir() {
        return Err(ImageError::invalid(
            path.display(),
            "is not a directory (an OCI layout has oci-layout, index.json and blobs/)",
        ));
    }
    read_store_compressing(&Store::Dir(path.to_path_buf()), reference, options).await
}

pub async fn read_archive(path: &Path, options: &ReadOptions) -> Result<Image, ImageError> {
    let index = TarIndex::scan(path)?;
    read_store_compressing(&Store::Tar(index, path.to_path_buf()), None, options).await
}

/// Reads the layout with every layer already compressed (the common case): the manifest is
/// pushed byte for byte.
fn read_store(
    store: &Store,
    reference: Option<&str>,
    architecture: &str,
) -> Result<Image, ImageError> {
    let (manifest_bytes, media_type, manifest) = select_manifest(store, reference, architecture)?;
    let config = Blob {
        descriptor: manifest.config.clone(),
        file: store.blob(&manifest.config)?,
    };
    let mut layers = Vec::with_capacity(manifest.layers.len());
    for descriptor in &manifest.layers {
        if !is_compressed_layer(&descriptor.media_type) {
            return Err(ImageError::invalid(
                store.name(),
                format!(
                    "layer {} is uncompressed ({})",
                    descriptor.digest, descriptor.media_type
                ),
            ));
        }
        layers.push(Blob {
            descriptor: descriptor.clone(),
            file: store.blob(descriptor)?,
        });
    }
    Ok(Image {
        manifest: manifest_bytes,
        manifest_media_type: media_type,
        config,
        layers,
        layers_compressed: 0,
    })
}

/// Reads the layout; uncompressed layers are compressed, and then a new manifest is written.
pub async fn read_store_compressing(
    store: &Store,
    reference: Option<&str>,
    options: &ReadOptions,
) -> Result<Image, ImageError> {
    let (_, _, manifest) = select_manifest(store, reference, &options.architecture)?;
    if manifest
        .layers
        .iter()
        .all(|l| is_compressed_layer(&l.media_type))
    {
        let image = read_store(store, reference, &options.architecture)?;
        let as_is: Vec<&Blob> = std::iter::once(&image.config)
            .chain(&image.layers)
            .collect();
        verify_blobs(&as_is, &options.cache_dir, &store.name()).await?;
        return Ok(image);
    }
    let config_bytes = store.blob_bytes(&manifest.config)?;
    let diff_ids = diff_ids(&config_bytes, &store.name())?;
    if diff_ids.len() != manifest.layers.len() {
        return Err(ImageError::invalid(
            store.name(),
            format!(
                "the config lists {} layers, the manifest {}",
                diff_ids.len(),
                manifest.layers.len()
            ),
        ));
    }
    let mut sources = Vec::new();
    for (descriptor, diff_id) in manifest.layers.iter().zip(diff_ids) {
        sources.push(SourceLayer {
            file: store.blob(descriptor)?,
            diff_id,
            descriptor: is_compressed_layer(&descriptor.media_type).then(|| descriptor.clone()),
        });
    }
    // Layers already compressed are pushed as they are: their bytes must match their digest.
    let as_is: Vec<Blob> = sources
        .iter()
        .filter_map(|s| {
            s.descriptor.clone().map(|descriptor| Blob {
                descriptor,
                file: s.file.clone(),
            })
        })
        .collect();
    verify_blobs(
        &as_is.iter().collect::<Vec<_>>(),
        &options.cache_dir,
        &store.name(),
    )
    .await?;
    let (layers, compressed) = compress::prepare_layers(sources, options).await?;
    let config = Blob {
        descriptor: manifest.config.clone(),
        file: store.blob(&manifest.config)?,
    };
    Ok(compress::build_image(config, layers, compressed))
}

/// Checks that blobs pushed as they are hold what their digests say, before anything is
/// written anywhere: a corrupt layer is bad input (exit 2), not a push that fails after the
/// repository was made. A blob checked once is remembered in the cache by its file's identity
/// (device, inode, size, modification time, range), so a re-push reads nothing again.
async fn verify_blobs(blobs: &[&Blob], cache_dir: &Path, source: &str) -> Result<(), ImageError> {
    let work: Vec<(Blob, PathBuf, String)> = blobs
        .iter()
        .filter_map(|blob| {
            let marker = cache_dir
                .join("verified")
                .join(blob.descriptor.digest.hex());
            let identity = file_identity(&blob.file)?;
            let known = std::fs::read_to_string(&marker).is_ok_and(|k| k == identity);
            (!known).then(|| ((*blob).clone(), marker, identity))
        })
        .collect();
    if work.is_empty() {
        return Ok(());
    }
    let source = source.to_string();
    tokio::task::spawn_blocking(move || {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let next = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads.min(work.len()))
                .map(|_| {
                    scope.spawn(|| -> Result<(), ImageError> {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some((blob, marker, identity)) = work.get(i) else {
                                return Ok(());
                            };
                            let reader = blob
                                .file
                                .open_blocking()
                                .map_err(|e| ImageError::invalid(&source, e.to_string()))?;
                            let (digest, _) = Digest::of_reader(reader)
                                .map_err(|e| ImageError::invalid(&source, e.to_string()))?;
                            if digest != blob.descriptor.digest {
                                return Err(ImageError::invalid(
                                    &source,
                                    format!(
                                        "blob {} does not match its digest (its bytes hash to {digest}): the image is corrupt; build or export it again",
                                        blob.descriptor.digest
                                    ),
                                ));
                            }
                            // A cache that cannot be written only means checking again next time.
                            let _ = crate::cache::write_atomically(marker, identity.as_bytes());
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .try_for_each(|w| w.join().expect("a digest worker panicked"))
        })
    })
    .await
    .expect("the digest check panicked")
}

/// What identifies a blob's bytes on disk without reading them; None where the file system
/// does not say (then the blob is checked every time).
fn file_identity(file: &BlobFile) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&file.path).ok()?;
    Some(format!(
        "{} {} {} {}.{} {} {} {}",
        meta.dev(),
        meta.ino(),
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec(),
        file.offset,
        file.len,
        file.path.display()
    ))
}

/// The `rootfs.diff_ids` of an image config.
pub fn diff_ids(config: &[u8], source: &str) -> Result<Vec<Digest>, ImageError> {
    #[derive(serde::Deserialize)]
    struct Config {
        rootfs: RootFs,
    }
    #[derive(serde::Deserialize)]
    struct RootFs {
        diff_ids: Vec<Digest>,
    }
    serde_json::from_slice::<Config>(config)
        .map(|c| c.rootfs.diff_ids)
        .map_err(|e| ImageError::invalid(source, format!("image config: {e}")))
}

fn is_compressed_layer(media_type: &str) -> bool {
    media_type.ends_with("+gzip")
        || media_type.ends_with("+zstd")
        || media_type == "application/vnd.docker.image.rootfs.diff.tar.gzip"
        || media_type == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
}

fn is_index(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// Picks the image manifest: by reference, or the only one, then by platform in an index.
fn select_manifest(
    store: &Store,
    reference: Option<&str>,
    architecture: &str,
) -> Result<(Vec<u8>, String, Manifest), ImageError> {
    let name = store.name();
    let layout = store.read_json_bytes("oci-layout")?;
    let layout: serde_json::Value = serde_json::from_slice(&layout)
        .map_err(|e| ImageError::invalid(&name, format!("oci-layout: {e}")))?;
    if layout["imageLayoutVersion"] != "1.0.0" {
        return Err(ImageError::invalid(
            &name,
            format!(
                "unsupported layout version {}",
                layout["imageLayoutVersion"]
            ),
        ));
    }
    let index: Index = serde_json::from_slice(&store.read_json_bytes("index.json")?)
        .map_err(|e| ImageError::invalid(&name, format!("index.json: {e}")))?;
    let chosen = match reference {
        Some(wanted) => index
            .manifests
            .iter()
            .find(|d| {
                ref_name(d).is_some_and(|r| r == wanted || r.ends_with(&format!(":{wanted}")))
            })
            .ok_or_else(|| {
                ImageError::invalid(
                    &name,
                    format!(
                        "has no image named `{wanted}` (it has: {})",
                        ref_names(&index)
                    ),
                )
            })?,
        None => match index.manifests.as_slice() {
            [only] => only,
            [] => return Err(ImageError::invalid(&name, "index.json lists no image")),
            _ => {
                return Err(ImageError::invalid(
                    &name,
                    format!(
                        "holds {} images; name one with oci:PATH:REF (refs: {})",
                        index.manifests.len(),
                        ref_names(&index)
                    ),
                ));
            }
        },
    };
    let chosen = if is_index(&chosen.media_type) {
        let nested: Index = serde_json::from_slice(&store.blob_bytes(chosen)?)
            .map_err(|e| ImageError::invalid(&name, format!("image index: {e}")))?;
        let found = nested.manifests.into_iter().find(|d| {
            d.platform
                .as_ref()
                .is_some_and(|p| p.os == "linux" && p.architecture == architecture)
        });
        found.ok_or_else(|| {
            ImageError::invalid(
                &name,
                format!("the image index has no linux/{architecture} image"),
            )
        })?
    } else {
        chosen.clone()
    };
    if chosen.media_type != OCI_MANIFEST && chosen.media_type != DOCKER_MANIFEST {
        return Err(ImageError::invalid(
            &name,
            format!("unsupported manifest type {}", chosen.media_type),
        ));
    }
    let bytes = store.blob_bytes(&chosen)?;
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| ImageError::invalid(&name, format!("manifest {}: {e}", chosen.digest)))?;
    Ok((bytes, chosen.media_type, manifest))
}

fn ref_name(d: &Descriptor) -> Option<&str> {
    let annotations = d.annotations.as_ref()?;
    annotations
        .get(REF_NAME)
        .or_else(|| annotations.get("io.containerd.image.name"))
        .map(String::as_str)
}

fn ref_names(index: &Index) -> String {
    let names: Vec<&str> = index.manifests.iter().filter_map(ref_name).collect();
    if names.is_empty() {
        "none named".to_string()
    } else {
        names.join(", ")
    }
}
