//! An OCI distribution client tuned for ECR: what oci-client and docker get wrong there
//! (whole layers in memory, 4 MiB chunks under ECR's 5 MiB minimum, 202 expected where ECR
//! answers 201) is done right here. Written on reqwest because no maintained crate streams
//! blobs, checks existence first, and follows ECR's rules.
//!
//! One `Repository` talks to one repository of one registry. `push` holds the push algorithm.

pub mod auth;
pub mod early_upload;
pub mod mount_cache;
pub mod push;
pub mod reference;

use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, Response, StatusCode};
use tokio::sync::RwLock;
use url::Url;

pub use auth::{Credentials, Secret};

use crate::image::Digest;
use auth::Challenge;

/// Who hears of each registry request (its method and URL, never its headers): shipit's call
/// record, when there is one. Set once, before the first request.
static OBSERVER: std::sync::OnceLock<fn(&str, &url::Url)> = std::sync::OnceLock::new();

/// Has `observer` told of every registry request from now on (the first caller wins).
pub fn observe_requests(observer: fn(&str, &url::Url)) {
    let _ = OBSERVER.set(observer);
}

fn observe(method: &str, url: &url::Url) {
    if let Some(observer) = OBSERVER.get() {
        observer(method, url);
    }
}

/// Manifest types shipit asks for (ECR answers 404 to a HEAD that accepts none of them).
const MANIFEST_ACCEPT: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json";

/// Bounded retries with exponential backoff and full jitter.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long one attempt of a request without a streaming body may take, its answer read
    /// included (a stalled connection never answers). Uploads are bounded by the client's
    /// read timeout instead: a large blob takes long, a silent connection does not.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

/// The most of an error answer's body that is read (for its message): a registry that
/// answers 500 with gigabytes is not read to the end.
const MAX_ERROR_BODY: usize = 64 * 1024;
/// The most of a token server's answer that is read.
const MAX_TOKEN_BODY: usize = 1024 * 1024;

impl RetryPolicy {
    /// The pause before retry number `attempt` (1-based): random in [0, min(max, base*2^n)].
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        ceiling.mul_f64(fastrand::f64())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{registry} refused the credentials (401): {detail}")]
    Unauthorized { registry: String, detail: String },
    #[error("{registry} answered {status} to {what}: {detail}")]
    Status {
        registry: String,
        what: String,
        status: StatusCode,
        detail: String,
    },
    #[error("cannot reach {registry} for {what}: {detail}")]
    Network {
        registry: String,
        what: String,
        detail: String,
    },
    #[error(
        "tag `{tag}` already names image {existing} in the immutable repository {repository}; this image is {new}. Push under a new tag (leave image.tag unset to use the git commit)"
    )]
    TagConflict {
        repository: String,
        tag: String,
        existing: Digest,
        new: Digest,
    },
    #[error("reading {what} failed: {detail}")]
    Source { what: String, detail: String },
    /// A retryable failure that was already retried `attempts` times: not to be retried again
    /// by an outer loop (attempts would multiply).
    #[error("{source} (tried {attempts} times)")]
    GaveUp {
        attempts: u32,
        source: Box<RegistryError>,
    },
}

impl RegistryError {
    /// Worth another try: the network, 5xx, 429, or a 408.
    pub fn is_retryable(&self) -> bool {
        match self {
            RegistryError::Network { .. } => true,
            RegistryError::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            _ => false,
        }
    }
}

/// A client for one repository of one registry.
pub struct Repository {
    http: reqwest::Client,
    base: Url,
    name: String,
    credentials: Option<Credentials>,
    authorization: RwLock<Option<HeaderValue>>,
    /// What a bearer token is asked for: `pull,push` to push, `pull` to read.
    token_actions: &'static str,
    pub retry: RetryPolicy,
}

impl Repository {
    /// `base` is the registry's URL (`https://ACCOUNT.dkr.ecr.REGION.amazonaws.com`, or the local
    /// stack's `http://127.0.0.1:4566`).
    pub fn new(
        base: Url,
        name: &str,
        credentials: Option<Credentials>,
    ) -> Result<Repository, RegistryError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Large blobs take long; a stalled connection is caught by the read timeout.
            .read_timeout(Duration::from_secs(120))
            .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError::Network {
                registry: base.to_string(),
                what: "building the HTTP client".into(),
                detail: e.to_string(),
            })?;
        Ok(Repository {
            http,
            base,
            name: name.to_string(),
            credentials,
            authorization: RwLock::new(None),
            token_actions: "pull,push",
            retry: RetryPolicy::default(),
        })
    }

    /// A client that only reads, anonymously where the registry allows it (Docker Hub, public
    /// ECR and ghcr.io hand out pull tokens to anyone).
    pub fn for_reading(
        base: Url,
        name: &str,
        credentials: Option<Credentials>,
    ) -> Result<Repository, RegistryError> {
        let mut repository = Repository::new(base, name, credentials)?;
        repository.token_actions = "pull";
        Ok(repository)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `host[:port]` as it appears in image references.
    pub fn registry_host(&self) -> String {
        let host = self.base.host_str().unwrap_or("registry");
        match self.base.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }

    fn registry_label(&self) -> String {
        self.registry_host()
    }

    fn url(&self, path: &str) -> Url {
        self.base
            .join(&format!("/v2/{}/{path}", self.name))
            .expect("registry paths are valid")
    }

    /// Resolves a `Location` header, which may be relative.
    fn location(&self, response: &Response, what: &str) -> Result<Url, RegistryError> {
        let value = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| self.protocol_error(what, "no Location header in the answer"))?;
        let url = self
            .base
            .join(value)
            .map_err(|e| self.protocol_error(what, &format!("bad Location `{value}`: {e}")))?;
        // Uploads go on where the registry says; never in plain text to another host.
        if !self.same_origin(&url) && !crate::transport::encrypted_or_loopback(&url) {
            return Err(self.protocol_error(
                what,
                &format!(
                    "the registry sent the upload to `{}`, plain HTTP on another host; refused",
                    crate::printable(url.as_str(), 200)
                ),
            ));
        }
        Ok(url)
    }

    /// The registry's own scheme, host and port: the only place its credentials go.
    fn same_origin(&self, url: &Url) -> bool {
        url.origin() == self.base.origin()
    }

    fn protocol_error(&self, what: &str, detail: &str) -> RegistryError {
        RegistryError::Status {
            registry: self.registry_label(),
            what: what.to_string(),
            status: StatusCode::BAD_GATEWAY,
            detail: detail.to_string(),
        }
    }

    /// Learns how to authenticate: `GET /v2/` and answer its 401 challenge.
    pub async fn login(&self) -> Result<(), RegistryError> {
        let ping = self.base.join("/v2/").expect("valid");
        let response = self
            .send_once(
                Method::GET,
                ping.clone(),
                HeaderMap::new(),
                None,
                "the /v2/ ping",
            )
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return check(self, response, "the /v2/ ping").await.map(|_| ());
        }
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(Challenge::parse);
        let value = match (challenge, &self.credentials) {
            (Some(Challenge::Bearer { realm, service }), credentials) => {
                self.bearer_token(credentials.as_ref(), &realm, service.as_deref())
                    .await?
            }
            // Basic, or an unknown scheme: Basic is what ECR and htpasswd registries take.
            (_, Some(credentials)) => credentials.basic_header(),
            (_, None) => {
                return Err(RegistryError::Unauthorized {
                    registry: self.registry_label(),
                    detail: "the registry asks for credentials and none were given".into(),
                });
            }
        };
        *self.authorization.write().await = Some(value);
        let Some(credentials) = &self.credentials else {
            // An anonymous token is scoped to one repository: some registries still refuse
            // it on `/v2/`, so the first real request is its proof.
            return Ok(());
        };
        // Prove the credentials now, with a clear error, rather than at the first blob.
        let response = self
            .send_once(Method::GET, ping, HeaderMap::new(), None, "the /v2/ ping")
            .await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(RegistryError::Unauthorized {
                registry: self.registry_label(),
                detail: format!("user `{}` was not accepted", credentials.username),
            });
        }
        check(self, response, "the /v2/ ping").await.map(|_| ())
    }

    async fn bearer_token(
        &self,
        credentials: Option<&Credentials>,
        realm: &str,
        service: Option<&str>,
    ) -> Result<HeaderValue, RegistryError> {
        let mut url = Url::parse(realm).map_err(|e| self.protocol_error("auth", &e.to_string()))?;
        if credentials.is_some() && !self.same_origin(&url) {
            return Err(RegistryError::Unauthorized {
                registry: self.registry_label(),
                detail: format!(
                    "the registry asks for a token from `{}`, another host; shipit sends the registry's credentials only to the registry itself",
                    crate::printable(realm, 200)
                ),
            });
        }
        if !crate::transport::encrypted_or_loopback(&url) {
            return Err(self.protocol_error(
                "auth",
                &format!(
                    "the token server `{}` is plain HTTP on a host that is not loopback; refused",
                    crate::printable(realm, 200)
                ),
            ));
        }
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = service {
                query.append_pair("service", service);
            }
            query.append_pair(
                "scope",
                &format!("repository:{}:{}", self.name, self.token_actions),
            );
        }
        let mut request = self.http.get(url).timeout(self.retry.attempt_timeout);
        if let Some(credentials) = credentials {
            request = request.header(header::AUTHORIZATION, credentials.basic_header());
        }
        let response = request
            .send()
            .await
            .map_err(|e| self.network_error("the token server", &e))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(RegistryError::Unauthorized {
                registry: self.registry_label(),
                detail: match credentials {
                    Some(c) => format!("the token server did not accept user `{}`", c.username),
                    None => {
                        "the token server gives no anonymous token: the image is private".into()
                    }
                },
            });
        }
        let answer = check(self, response, "the token request").await?;
        let text = read_bounded(answer, MAX_TOKEN_BODY)
            .await
            .map_err(|detail| RegistryError::Network {
                registry: self.registry_label(),
                what: "the token request".into(),
                detail,
            })?;
        let body: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| self.protocol_error("the token request", &e.to_string()))?;
        let token = body["token"]
            .as_str()
            .or_else(|| body["access_token"].as_str())
            .ok_or_else(|| self.protocol_error("the token request", "no token in the answer"))?;
        Ok(auth::sensitive(&format!("Bearer {token}")))
    }

    fn network_error(&self, what: &str, err: &reqwest::Error) -> RegistryError {
        RegistryError::Network {
            registry: self.registry_label(),
            what: what.to_string(),
            detail: crate::error_chain(err),
        }
    }

    /// One request, with the credentials, no retry.
    async fn send_once(
        &self,
        method: Method,
        url: Url,
        mut headers: HeaderMap,
        body: Option<reqwest::Body>,
        what: &str,
    ) -> Result<Response, RegistryError> {
        // Credentials go to the registry itself only, never to a host a Location names.
        if self.same_origin(&url)
            && let Some(auth) = self.authorization.read().await.clone()
        {
            headers.insert(header::AUTHORIZATION, auth);
        }
        observe(method.as_str(), &url);
        let streaming = body.as_ref().is_some_and(|b| b.as_bytes().is_none());
        let mut request = self.http.request(method, url).headers(headers);
        if !streaming {
            request = request.timeout(self.retry.attempt_timeout);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        request
            .send()
            .await
            .map_err(|e| self.network_error(what, &e))
    }

    /// A request without a streaming body, retried on network errors, 5xx and 429.
    async fn send(
        &self,
        method: Method,
        url: Url,
        headers: HeaderMap,
        body: Option<&[u8]>,
        what: &str,
    ) -> Result<Response, RegistryError> {
        let mut attempt = 1;
        loop {
            let result = self
                .send_once(
                    method.clone(),
                    url.clone(),
                    headers.clone(),
                    body.map(|b| reqwest::Body::from(b.to_vec())),
                    what,
                )
                .await;
            let result = match result {
                Ok(response) if retryable_status(response.status()) => {
                    Err(status_error(self, response, what).await)
                }
                other => other,
            };
            match result {
                Err(err) if err.is_retryable() && attempt < self.retry.attempts => {
                    tracing::warn!(attempt, "{err}; retrying");
                    tokio::time::sleep(self.retry.delay(attempt)).await;
                    attempt += 1;
                }
                Err(err) if err.is_retryable() => {
                    return Err(RegistryError::GaveUp {
                        attempts: attempt,
                        source: Box::new(err),
                    });
                }
                other => return other,
            }
        }
    }

    /// The digest a tag points at, or None when the tag does not exist.
    pub async fn manifest_digest(&self, reference: &str) -> Result<Option<Digest>, RegistryError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static(MANIFEST_ACCEPT));
        let what = format!("the manifest check of `{reference}`");
        let response = self
            .send(
                Method::HEAD,
                self.url(&format!("manifests/{reference}")),
                headers,
                None,
                &what,
            )
            .await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let response = check(self, response, &what).await?;
        let digest = response
            .headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Digest::parse(v).ok())
            .ok_or_else(|| self.protocol_error(&what, "no Docker-Content-Digest header"))?;
        Ok(Some(digest))
    }

    pub async fn blob_exists(&self, digest: &Digest) -> Result<bool, RegistryError> {
        let what = format!("the existence check of {}", digest.short());
        let response = self
            .send(
                Method::HEAD,
                self.url(&format!("blobs/{digest}")),
                HeaderMap::new(),
                None,
                &what,
            )
            .await?;
        match response.status() {
            StatusCode::OK => Ok(true),
            StatusCode::NOT_FOUND => Ok(false),
            _ => Err(status_error(self, response, &what).await),
        }
    }

    /// Pushes a manifest under `reference` (a tag or a digest).
    pub async fn put_manifest(
        &self,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<(), RegistryError> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(media_type).map_err(|_| {
                self.protocol_error("the manifest", "the media type is not header text")
            })?,
        );
        let what = format!("the manifest push of `{reference}`");
        let response = self
            .send(
                Method::PUT,
                self.url(&format!("manifests/{reference}")),
                headers,
                Some(bytes),
                &what,
            )
            .await?;
        check(self, response, &what).await.map(|_| ())
    }
}

/// How long the rest of an answer's body may take to arrive once its headers came.
const BODY_DEADLINE: Duration = Duration::from_secs(10);

/// Reads at most `max` bytes of an answer's body, for at most `BODY_DEADLINE`. A body that
/// is larger is an error; one still trickling at the deadline is an error too.
async fn read_bounded(mut response: Response, max: usize) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let read = async {
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            if bytes.len() + chunk.len() > max {
                return Err(format!("the answer is larger than {max} bytes"));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(())
    };
    match tokio::time::timeout(BODY_DEADLINE, read).await {
        Ok(Ok(())) => Ok(bytes),
        Ok(Err(err)) => Err(err),
        Err(_) => Err(format!(
            "the answer did not arrive within {}s",
            BODY_DEADLINE.as_secs()
        )),
    }
}

pub(crate) fn retryable_status(status: StatusCode) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
}

/// Passes 2xx answers through; turns others into an error with the registry's own message.
async fn check(
    repo: &Repository,
    response: Response,
    what: &str,
) -> Result<Response, RegistryError> {
    if response.status().is_success() {
        return Ok(response);
    }
    Err(status_error(repo, response, what).await)
}

async fn status_error(repo: &Repository, response: Response, what: &str) -> RegistryError {
    let status = response.status();
    // What the registry says about its error, bounded in size and time: a huge or trickled
    // body gives no detail rather than a hang or all memory.
    let bytes = read_bounded(response, MAX_ERROR_BODY)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes);
    let detail = registry_message(&text).unwrap_or_else(|| {
        let trimmed: String = text.chars().take(300).collect();
        if trimmed.is_empty() {
            status.canonical_reason().unwrap_or("no detail").to_string()
        } else {
            trimmed
        }
    });
    // Remote text: no escape sequences reach the terminal.
    let detail = crate::printable(&detail, 1000);
    if status == StatusCode::UNAUTHORIZED {
        return RegistryError::Unauthorized {
            registry: repo.registry_label(),
            detail,
        };
    }
    RegistryError::Status {
        registry: repo.registry_label(),
        what: what.to_string(),
        status,
        detail,
    }
}

/// The distribution spec's error body: `{"errors":[{"code":"...","message":"..."}]}`.
pub fn registry_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    let errors = value["errors"].as_array()?;
    let parts: Vec<String> = errors
        .iter()
        .map(|e| {
            format!(
                "{}: {}",
                e["code"].as_str().unwrap_or("ERROR"),
                e["message"].as_str().unwrap_or("")
            )
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_its_ceiling_with_jitter() {
        let policy = RetryPolicy::default();
        for attempt in 1..10 {
            let d = policy.delay(attempt);
            assert!(d <= policy.max_delay);
            let ceiling = policy
                .base_delay
                .saturating_mul(1 << attempt)
                .min(policy.max_delay);
            assert!(d <= ceiling);
        }
    }

    #[test]
    fn registry_errors_read_as_their_messages() {
        assert_eq!(
            registry_message(
                r#"{"errors":[{"code":"TAG_INVALID","message":"tag 'v1' is immutable","detail":{}}]}"#
            ),
            Some("TAG_INVALID: tag 'v1' is immutable".to_string())
        );
        assert_eq!(registry_message("<html>"), None);
    }
}
