//! Container images as shipit reads them, independent of any registry (the registry module
//! knows nothing of where an image came from, and this module nothing of registries).
//!
//! An image is a manifest, a config blob and layers. Every blob is a byte range of a file on
//! disk (a file in an OCI layout, an entry of a tar, a compressed layer in the cache), so a
//! push streams it and a retry simply reopens it: no blob is ever held in memory whole.

pub mod archive;
pub mod compress;
pub mod digest;
pub mod docker_archive;
pub mod engine;
pub mod files;
pub mod layout;
pub mod source;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use compress::Compression;
pub use digest::Digest;
pub use source::SourceRef;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// The image manifests shipit reads back from a registry (ECR's BatchGetImage leaves out the
/// kinds a request does not name).
pub const ACCEPTED_MANIFEST_TYPES: [&str; 2] = [OCI_MANIFEST, DOCKER_MANIFEST];

/// A content descriptor, as in OCI manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// The bytes of a blob: `len` bytes at `offset` of `path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobFile {
    pub path: PathBuf,
    pub offset: u64,
    pub len: u64,
}

impl BlobFile {
    pub fn whole(path: PathBuf, len: u64) -> Self {
        BlobFile {
            path,
            offset: 0,
            len,
        }
    }

    /// Opens the range for streaming.
    pub async fn open(&self) -> std::io::Result<tokio::io::Take<tokio::fs::File>> {
        use tokio::io::{AsyncReadExt, AsyncSeekExt};
        let mut file = tokio::fs::File::open(&self.path).await?;
        file.seek(std::io::SeekFrom::Start(self.offset)).await?;
        Ok(file.take(self.len))
    }

    /// Opens the range for blocking reads (compression runs on blocking threads).
    pub fn open_blocking(&self) -> std::io::Result<std::io::Take<std::fs::File>> {
        use std::io::{Read, Seek};
        let mut file = std::fs::File::open(&self.path)?;
        file.seek(std::io::SeekFrom::Start(self.offset))?;
        Ok(file.take(self.len))
    }
}

/// A blob ready to push: what the registry will be told, and where its bytes are.
#[derive(Debug, Clone)]
pub struct Blob {
    pub descriptor: Descriptor,
    pub file: BlobFile,
}

impl Blob {
    /// An image config, whose bytes (already read) are in `file`.
    pub fn config(bytes: &[u8], file: BlobFile) -> Blob {
        Blob {
            descriptor: Descriptor {
                media_type: OCI_CONFIG.to_string(),
                digest: Digest::of_bytes(bytes),
                size: bytes.len() as u64,
                annotations: None,
                platform: None,
            },
            file,
        }
    }
}

/// An image ready to push: all layers compressed, the manifest's bytes fixed.
#[derive(Debug, Clone)]
pub struct Image {
    /// The manifest exactly as it will be pushed (its digest is the image's digest).
    pub manifest: Vec<u8>,
    pub manifest_media_type: String,
    pub config: Blob,
    pub layers: Vec<Blob>,
    /// How many layers had to be compressed (classic Docker engines keep them uncompressed).
    pub layers_compressed: usize,
}

impl Image {
    pub fn digest(&self) -> Digest {
        Digest::of_bytes(&self.manifest)
    }

    /// Compressed size: config and layers, as the registry stores them.
    pub fn size(&self) -> u64 {
        self.config.descriptor.size + self.layers.iter().map(|l| l.descriptor.size).sum::<u64>()
    }

    /// Every blob the manifest refers to: the config first, then the layers.
    pub fn blobs(&self) -> impl Iterator<Item = &Blob> {
        std::iter::once(&self.config).chain(self.layers.iter())
    }
}

/// An OCI or Docker v2 image manifest (the two share this shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// An OCI index or Docker manifest list.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    pub manifests: Vec<Descriptor>,
}

/// What reading an image needs besides its source.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// For uncompressed layers (classic Docker engine, some archives).
    pub compression: Compression,
    /// Picks the manifest of a multi-platform image: `amd64` or `arm64`.
    pub architecture: String,
    /// Where compressed layers are kept between runs, so a re-push recompresses nothing.
    pub cache_dir: PathBuf,
    /// Told of each layer as it is compressed (a push that uploads while compressing).
    pub watcher: Option<compress::Watcher>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("Docker engine: {0}")]
    Engine(String),
}

impl ImageError {
    pub fn invalid(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        ImageError::Invalid {
            path: path.to_string(),
            message: message.into(),
        }
    }

    pub fn io(path: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.to_string();
        move |source| ImageError::Io { path, source }
    }
}

/// Reads an image from any source, compressing what needs it.
pub async fn read(source: &SourceRef, options: &ReadOptions) -> Result<ReadImage, ImageError> {
    match source {
        SourceRef::Oci { path, reference } => {
            let image = layout::read_dir(path, reference.as_deref(), options).await?;
            Ok(ReadImage {
                image,
                _spool: None,
            })
        }
        SourceRef::OciArchive { path } => {
            let image = layout::read_archive(path, options).await?;
            Ok(ReadImage {
                image,
                _spool: None,
            })
        }
        SourceRef::DockerArchive { path } => {
            let image = docker_archive::read(path, options).await?;
            Ok(ReadImage {
                image,
                _spool: None,
            })
        }
        SourceRef::Docker { name } => engine::read(name, options).await,
    }
}

/// An image and, for the Docker engine source, the spooled export its blobs point into
/// (deleted when this is dropped).
pub struct ReadImage {
    pub image: Image,
    pub _spool: Option<tempfile::TempPath>,
}
