//! Uploading layers while they are compressed. A layer the source holds uncompressed is sent
//! in parts as its compressed file grows (PATCH; each part at least ECR's 5 MiB but the last,
//! at most the part size), so that when the compression ends only the last part is left to
//! send. The upload is left open: no blob exists in the registry until the push completes it
//! (PUT with the digest), after the plan, so reading and checking the image still changes
//! nothing. An upload the push does not complete (the deploy stopped before it, a registry
//! that refused a part) holds nothing visible, and the registry discards it; the push then
//! uploads the layer as usual.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use reqwest::Method;
use reqwest::header::HeaderMap;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use url::Url;

use super::push::{self, MIN_CHUNK, Started, start_upload};
use super::{RegistryError, Repository};
use crate::image::Digest;
use crate::image::compress::{Growth, LayerWatcher};

/// A layer's digest and the open upload that holds all its bytes.
type OpenUpload = (Digest, Url);

/// Where the uploads go, once known: the repository is looked up while the image is read.
#[derive(Clone)]
enum Target {
    Pending,
    Ready(Arc<Repository>),
    /// No upload now: the repository does not exist yet, or the tag already names an image.
    Off,
}

/// The uploads of one read of an image: a `LayerWatcher` for the compressor.
pub struct EarlyUploads {
    target: watch::Sender<Target>,
    part: u64,
    /// Uploads under way at once, as in the push (`--parallel`): the others wait their turn.
    gate: Arc<tokio::sync::Semaphore>,
    runtime: tokio::runtime::Handle,
    running: Mutex<Vec<JoinHandle<Option<OpenUpload>>>>,
}

impl EarlyUploads {
    /// Parts of at most `part` bytes (raised to 5 MiB if under), `parallel` layers at once.
    /// Call within the tokio runtime.
    pub fn new(part: u64, parallel: usize) -> Arc<EarlyUploads> {
        Arc::new(EarlyUploads {
            target: watch::Sender::new(Target::Pending),
            part: part.max(MIN_CHUNK),
            gate: Arc::new(tokio::sync::Semaphore::new(parallel.max(1))),
            runtime: tokio::runtime::Handle::current(),
            running: Mutex::new(Vec::new()),
        })
    }

    /// Uploads go to `repo` (layers compressed before this wait for it).
    pub fn start(&self, repo: Arc<Repository>) {
        self.target.send_replace(Target::Ready(repo));
    }

    /// No uploads: layers are uploaded by the push, after their compression.
    pub fn off(&self) {
        self.target.send_replace(Target::Off);
    }

    /// Waits for the uploads under way; returns the open uploads that hold a whole layer, by
    /// the layer's digest, for the push to complete.
    pub async fn finish(&self) -> HashMap<Digest, Url> {
        let running = std::mem::take(&mut *self.running.lock().expect("not poisoned"));
        let mut ready = HashMap::new();
        for upload in running {
            if let Ok(Some((digest, session))) = upload.await {
                ready.insert(digest, session);
            }
        }
        ready
    }
}

impl LayerWatcher for EarlyUploads {
    fn compressing(&self, file: std::fs::File, growth: watch::Receiver<Growth>) {
        let mut target = self.target.subscribe();
        let part = self.part;
        let gate = self.gate.clone();
        let upload = self.runtime.spawn(async move {
            let repo = loop {
                match target.borrow_and_update().clone() {
                    Target::Ready(repo) => break repo,
                    Target::Off => return None,
                    Target::Pending => {}
                }
                if target.changed().await.is_err() {
                    return None;
                }
            };
            let _permit = gate.acquire_owned().await.expect("never closed");
            match upload_growing(&repo, file, growth, part).await {
                Ok(done) => done,
                Err(err) => {
                    tracing::info!(%err, "a layer was not uploaded while compressed; the push uploads it");
                    None
                }
            }
        });
        self.running.lock().expect("not poisoned").push(upload);
    }
}

/// Sends the layer in parts as `growth` reports its file growing; returns its digest and the
/// open upload once every byte is sent, or None if the compressor abandoned the layer.
async fn upload_growing(
    repo: &Repository,
    file: std::fs::File,
    mut growth: watch::Receiver<Growth>,
    part: u64,
) -> Result<Option<OpenUpload>, RegistryError> {
    let Started::Session(mut session) = start_upload(repo, None).await? else {
        return Ok(None);
    };
    let mut sent = 0u64;
    loop {
        let (available, finished) = match &*growth.borrow_and_update() {
            Growth::Written(n) => (*n, None),
            Growth::Finished(descriptor) => (descriptor.size, Some(descriptor.digest.clone())),
        };
        // While the file grows, a part as soon as ECR's minimum is there, with all there is up
        // to `part` (the link never waits for a whole part to fill); what is left once it is
        // complete.
        while available - sent >= MIN_CHUNK || (finished.is_some() && sent < available) {
            let len = part.min(available - sent);
            session = send_file_part(repo, &file, session, sent, len).await?;
            sent += len;
        }
        if let Some(digest) = finished {
            return Ok(Some((digest, session)));
        }
        if growth.changed().await.is_err() && !matches!(*growth.borrow(), Growth::Finished(_)) {
            // Abandoned (damaged, or not one of the image's layers): the open upload is
            // cancelled, best effort.
            let _ = repo
                .send_once(
                    Method::DELETE,
                    session,
                    HeaderMap::new(),
                    None,
                    "cancelling",
                )
                .await;
            return Ok(None);
        }
    }
}

/// Sends `len` bytes of the file from `offset` as the next part; returns where the upload goes
/// on.
async fn send_file_part(
    repo: &Repository,
    file: &std::fs::File,
    session: Url,
    offset: u64,
    len: u64,
) -> Result<Url, RegistryError> {
    let source_error = |e: std::io::Error| RegistryError::Source {
        what: "a compressed layer".to_string(),
        detail: e.to_string(),
    };
    let reader = tokio::fs::File::from_std(file.try_clone().map_err(source_error)?);
    let stream = push::file_range(reader, offset, len)
        .await
        .map_err(source_error)?;
    let what = format!("part {}-{} of a layer", offset, offset + len - 1);
    push::send_part(
        repo,
        session,
        offset,
        len,
        reqwest::Body::wrap_stream(stream),
        &what,
    )
    .await
}
