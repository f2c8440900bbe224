//! The push: check the tag, then every blob (HEAD and skip; else mount from a repository that
//! has it; else stream it), a bounded number at once, and the manifest last.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use futures_util::StreamExt;
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Serialize;
use url::Url;

use super::{RegistryError, Repository, check, retryable_status, status_error};
use crate::image::{Blob, Digest, Image};

/// ECR refuses upload parts under 5 MiB (except the last).
pub const MIN_CHUNK: u64 = 5 * 1024 * 1024;
const READ_BUFFER: usize = 256 * 1024;

/// What happened to one blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BlobOutcome {
    /// The registry had it.
    Exists,
    /// Linked from another repository of the same registry, no bytes sent.
    Mounted,
    Uploaded,
    /// Sent while it was compressed; the push completed the upload.
    UploadedWhileCompressed,
}

/// Progress callbacks; the CLI draws bars or prints lines, tests count.
pub trait Progress: Send + Sync {
    fn blob_started(&self, _digest: &Digest, _size: u64) {}
    /// Bytes of this blob sent so far in the current attempt.
    fn blob_sent(&self, _digest: &Digest, _sent: u64) {}
    fn blob_retrying(&self, _digest: &Digest, _attempt: u32, _error: &RegistryError) {}
    fn blob_finished(&self, _digest: &Digest, _outcome: BlobOutcome) {}
}

/// For callers that want no progress.
pub struct Silent;
impl Progress for Silent {}

#[derive(Debug, Clone)]
pub struct PushOptions {
    /// Blobs uploaded at once.
    pub parallel: usize,
    /// Upload in parts of this size (at least 5 MiB) instead of one streaming PUT.
    pub chunk_size: Option<u64>,
    /// The repository refuses to move tags: a tag on another digest is an error, not a move.
    pub immutable: bool,
    /// Blobs known to be in other repositories of this registry: digest -> repository.
    pub mount_sources: HashMap<Digest, String>,
    /// Open uploads that already hold a whole blob (sent while it was compressed): the push
    /// completes them instead of sending the bytes again.
    pub uploaded_early: HashMap<Digest, Url>,
}

impl Default for PushOptions {
    fn default() -> Self {
        PushOptions {
            parallel: 4,
            chunk_size: None,
            immutable: true,
            mount_sources: HashMap::new(),
            uploaded_early: HashMap::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PushReport {
    pub digest: Digest,
    /// Config and layers, compressed.
    pub size: u64,
    pub layers: usize,
    pub blobs_uploaded: usize,
    pub blobs_existing: usize,
    pub blobs_mounted: usize,
    pub bytes_uploaded: u64,
    /// Of the blobs uploaded, those sent while they were compressed (the push completed them).
    pub blobs_uploaded_while_compressed: usize,
    /// The tag already named this image: nothing was pushed.
    pub unchanged: bool,
    pub seconds: f64,
}

pub async fn push(
    repo: &Arc<Repository>,
    image: &Image,
    tag: &str,
    options: &PushOptions,
    progress: Arc<dyn Progress>,
) -> Result<PushReport, RegistryError> {
    let started = Instant::now();
    let digest = image.digest();
    let mut report = PushReport {
        digest: digest.clone(),
        size: image.size(),
        layers: image.layers.len(),
        blobs_uploaded: 0,
        blobs_existing: 0,
        blobs_mounted: 0,
        bytes_uploaded: 0,
        blobs_uploaded_while_compressed: 0,
        unchanged: false,
        seconds: 0.0,
    };

    // An immutable tag that already names this image: a re-run, nothing to do. Another image:
    // refuse before uploading a byte.
    match repo.manifest_digest(tag).await? {
        Some(existing) if existing == digest => {
            report.unchanged = true;
            report.blobs_existing = image.blobs().count();
            report.seconds = started.elapsed().as_secs_f64();
            return Ok(report);
        }
        Some(existing) if options.immutable => {
            return Err(RegistryError::TagConflict {
                repository: repo.name().to_string(),
                tag: tag.to_string(),
                existing,
                new: digest,
            });
        }
        _ => {}
    }

    // The same digest twice (two equal layers) is pushed once.
    let mut seen = BTreeSet::new();
    let unique: Vec<Blob> = image
        .blobs()
        .filter(|b| seen.insert(b.descriptor.digest.clone()))
        .cloned()
        .collect();
    let gate = Arc::new(tokio::sync::Semaphore::new(options.parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for blob in unique {
        let gate = gate.clone();
        let progress = progress.clone();
        let options = options.clone();
        let repo = repo.clone();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("never closed");
            let outcome = push_blob(&repo, &blob, &options, &progress).await;
            (blob.descriptor.size, outcome)
        });
    }
    let mut failure = None;
    while let Some(joined) = tasks.join_next().await {
        let (size, outcome) = match joined {
            Ok(done) => done,
            // Stopped by `abort_all` below, after another blob failed.
            Err(err) if err.is_cancelled() => continue,
            Err(err) => std::panic::resume_unwind(err.into_panic()),
        };
        match outcome {
            Ok(BlobOutcome::Exists) => report.blobs_existing += 1,
            Ok(BlobOutcome::Mounted) => report.blobs_mounted += 1,
            Ok(outcome @ (BlobOutcome::Uploaded | BlobOutcome::UploadedWhileCompressed)) => {
                report.blobs_uploaded += 1;
                report.bytes_uploaded += size;
                if outcome == BlobOutcome::UploadedWhileCompressed {
                    report.blobs_uploaded_while_compressed += 1;
                }
            }
            Err(err) => {
                // Stop the others: the push failed, and a re-run skips what did arrive.
                tasks.abort_all();
                failure.get_or_insert(err);
            }
        }
    }
    if let Some(err) = failure {
        return Err(err);
    }

    // The manifest last: a tag never names an image whose blobs are not all there.
    if let Err(err) = repo
        .put_manifest(tag, &image.manifest, &image.manifest_media_type)
        .await
    {
        // Lost a race with another push of the same tag (ECR answers TAG_INVALID /
        // ImageTagAlreadyExistsException): the same image under it is a success, another
        // image an error that says which won.
        match repo.manifest_digest(tag).await {
            Ok(Some(existing)) if existing == digest => {
                tracing::info!(%tag, "the tag already names this image (a concurrent push)");
            }
            Ok(Some(existing)) if options.immutable => {
                return Err(RegistryError::TagConflict {
                    repository: repo.name().to_string(),
                    tag: tag.to_string(),
                    existing,
                    new: digest,
                });
            }
            _ => return Err(err),
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// One blob, with retries: each attempt starts over from the existence check, so an upload
/// that did arrive before the connection broke is not sent again.
async fn push_blob(
    repo: &Repository,
    blob: &Blob,
    options: &PushOptions,
    progress: &Arc<dyn Progress>,
) -> Result<BlobOutcome, RegistryError> {
    let digest = &blob.descriptor.digest;
    progress.blob_started(digest, blob.descriptor.size);
    if let Some(session) = options.uploaded_early.get(digest) {
        match complete_early_upload(repo, blob, session.clone(), progress).await {
            Ok(outcome) => {
                progress.blob_finished(digest, outcome);
                return Ok(outcome);
            }
            Err(err) => tracing::info!(
                %digest, %err,
                "the upload made while compressing was not accepted; uploading again"
            ),
        }
    }
    let mut attempt = 1;
    loop {
        match push_blob_once(repo, blob, options, progress).await {
            Ok(outcome) => {
                progress.blob_finished(digest, outcome);
                return Ok(outcome);
            }
            Err(err) if err.is_retryable() && attempt < repo.retry.attempts => {
                progress.blob_retrying(digest, attempt, &err);
                tokio::time::sleep(repo.retry.delay(attempt)).await;
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

async fn push_blob_once(
    repo: &Repository,
    blob: &Blob,
    options: &PushOptions,
    progress: &Arc<dyn Progress>,
) -> Result<BlobOutcome, RegistryError> {
    let digest = &blob.descriptor.digest;
    if repo.blob_exists(digest).await? {
        return Ok(BlobOutcome::Exists);
    }
    let session = match options.mount_sources.get(digest) {
        Some(from) => match start_upload(repo, Some((digest, from))).await {
            Ok(Started::Mounted) => return Ok(BlobOutcome::Mounted),
            Ok(Started::Session(url)) => url,
            // A mount never fails a push. ECR mounts only where the registry's BLOB_MOUNTING
            // setting is on, the encryption matches and the source repository holds a manifest
            // naming the blob; otherwise it may refuse: upload the blob instead.
            Err(RegistryError::Status { status, detail, .. }) if !retryable_status(status) => {
                tracing::info!(%digest, %status, %detail, "mount refused; uploading");
                match start_upload(repo, None).await? {
                    Started::Session(url) => url,
                    Started::Mounted => return Ok(BlobOutcome::Mounted),
                }
            }
            Err(err) => return Err(err),
        },
        None => match start_upload(repo, None).await? {
            Started::Session(url) => url,
            Started::Mounted => return Ok(BlobOutcome::Mounted),
        },
    };
    match options.chunk_size {
        Some(chunk) => upload_chunked(repo, blob, session, chunk.max(MIN_CHUNK), progress).await?,
        None => match upload_monolithic(repo, blob, session, progress).await {
            // Some registries (or proxies in front of them) refuse one large PUT: fall back to
            // parts, in a new upload session.
            Err(RegistryError::Status { status, .. })
                if matches!(
                    status,
                    StatusCode::PAYLOAD_TOO_LARGE
                        | StatusCode::METHOD_NOT_ALLOWED
                        | StatusCode::NOT_IMPLEMENTED
                ) =>
            {
                tracing::info!(%digest, %status, "one-shot upload refused; uploading in parts");
                let Started::Session(session) = start_upload(repo, None).await? else {
                    return Ok(BlobOutcome::Mounted);
                };
                upload_chunked(repo, blob, session, MIN_CHUNK * 2, progress).await?
            }
            other => other?,
        },
    }
    Ok(BlobOutcome::Uploaded)
}

/// A blob whose bytes were all sent while it was compressed: unless the registry has it by now,
/// the PUT with its digest completes the open upload.
async fn complete_early_upload(
    repo: &Repository,
    blob: &Blob,
    session: Url,
    progress: &Arc<dyn Progress>,
) -> Result<BlobOutcome, RegistryError> {
    let digest = &blob.descriptor.digest;
    if repo.blob_exists(digest).await? {
        return Ok(BlobOutcome::Exists);
    }
    finish_upload(repo, session, digest).await?;
    progress.blob_sent(digest, blob.descriptor.size);
    Ok(BlobOutcome::UploadedWhileCompressed)
}

pub(super) enum Started {
    Session(Url),
    Mounted,
}

/// `POST /blobs/uploads/`, optionally asking to mount the blob from another repository.
pub(super) async fn start_upload(
    repo: &Repository,
    mount: Option<(&Digest, &String)>,
) -> Result<Started, RegistryError> {
    let mut url = repo.url("blobs/uploads/");
    if let Some((digest, from)) = mount {
        url.query_pairs_mut()
            .append_pair("mount", digest.as_str())
            .append_pair("from", from);
    }
    let what = "starting an upload";
    let response = repo
        .send(Method::POST, url, HeaderMap::new(), Some(&[]), what)
        .await?;
    match response.status() {
        StatusCode::CREATED if mount.is_some() => Ok(Started::Mounted),
        StatusCode::ACCEPTED | StatusCode::CREATED => {
            Ok(Started::Session(repo.location(&response, what)?))
        }
        _ => Err(status_error(repo, response, what).await),
    }
}

fn with_digest(mut session: Url, digest: &Digest) -> Url {
    session
        .query_pairs_mut()
        .append_pair("digest", digest.as_str());
    session
}

/// A body that streams `len` bytes of the blob from `offset`, reporting progress.
async fn body_for(
    blob: &Blob,
    offset: u64,
    len: u64,
    sent_before: u64,
    progress: &Arc<dyn Progress>,
) -> Result<reqwest::Body, RegistryError> {
    let source_error = |e: std::io::Error| RegistryError::Source {
        what: blob.file.path.display().to_string(),
        detail: e.to_string(),
    };
    let file = tokio::fs::File::open(&blob.file.path)
        .await
        .map_err(source_error)?;
    let digest = blob.descriptor.digest.clone();
    let sent = AtomicU64::new(sent_before);
    // The stream is read later, by the HTTP client: it owns its handle on the callbacks.
    let progress = progress.clone();
    let stream = file_range(file, blob.file.offset + offset, len)
        .await
        .map_err(source_error)?
        .inspect(move |chunk| {
            if let Ok(bytes) = chunk {
                let total =
                    sent.fetch_add(bytes.len() as u64, Ordering::Relaxed) + bytes.len() as u64;
                progress.blob_sent(&digest, total);
            }
        });
    Ok(reqwest::Body::wrap_stream(stream))
}

/// `len` bytes of `file` from `offset`, as a stream of chunks for a request body.
pub(super) async fn file_range(
    mut file: tokio::fs::File,
    offset: u64,
    len: u64,
) -> std::io::Result<tokio_util::io::ReaderStream<tokio::io::Take<tokio::fs::File>>> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    file.seek(std::io::SeekFrom::Start(offset)).await?;
    Ok(tokio_util::io::ReaderStream::with_capacity(
        file.take(len),
        READ_BUFFER,
    ))
}

/// One streaming PUT with the whole blob and its digest.
async fn upload_monolithic(
    repo: &Repository,
    blob: &Blob,
    session: Url,
    progress: &Arc<dyn Progress>,
) -> Result<(), RegistryError> {
    let size = blob.descriptor.size;
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let what = format!("the upload of {}", blob.descriptor.digest.short());
    let body = body_for(blob, 0, size, 0, progress).await?;
    let response = repo
        .send_once(
            Method::PUT,
            with_digest(session, &blob.descriptor.digest),
            headers,
            Some(body),
            &what,
        )
        .await?;
    check(repo, response, &what).await.map(|_| ())
}

/// PATCH parts of `chunk` bytes (ECR: at least 5 MiB but the last; it answers 201 where the
/// spec says 202, and both are fine), then PUT the digest.
async fn upload_chunked(
    repo: &Repository,
    blob: &Blob,
    mut session: Url,
    chunk: u64,
    progress: &Arc<dyn Progress>,
) -> Result<(), RegistryError> {
    let size = blob.descriptor.size;
    let digest = &blob.descriptor.digest;
    let mut offset = 0;
    while offset < size {
        let len = chunk.min(size - offset);
        let what = format!("part {}-{} of {}", offset, offset + len - 1, digest.short());
        let body = body_for(blob, offset, len, offset, progress).await?;
        session = send_part(repo, session, offset, len, body, &what).await?;
        offset += len;
    }
    finish_upload(repo, session, digest).await
}

/// PATCH one part of an upload: `len` bytes from `offset`, in `body`. Returns where the upload
/// goes on (ECR answers 201 where the spec says 202; both pass).
pub(super) async fn send_part(
    repo: &Repository,
    session: Url,
    offset: u64,
    len: u64,
    body: reqwest::Body,
    what: &str,
) -> Result<Url, RegistryError> {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(
        header::CONTENT_RANGE,
        HeaderValue::from_str(&format!("{}-{}", offset, offset + len - 1)).expect("ascii"),
    );
    let response = repo
        .send_once(Method::PATCH, session.clone(), headers, Some(body), what)
        .await?;
    let response = check(repo, response, what).await?;
    if response.headers().contains_key(header::LOCATION) {
        return repo.location(&response, what);
    }
    Ok(session)
}

/// The PUT with the digest, no body, that ends an upload sent in parts.
async fn finish_upload(
    repo: &Repository,
    session: Url,
    digest: &Digest,
) -> Result<(), RegistryError> {
    let what = format!("completing the upload of {}", digest.short());
    let response = repo
        .send(
            Method::PUT,
            with_digest(session, digest),
            HeaderMap::new(),
            Some(&[]),
            &what,
        )
        .await?;
    check(repo, response, &what).await.map(|_| ())
}
