//! Counts the AWS API calls a command makes, per operation, through an SDK interceptor: a
//! no-op re-deploy must make reads only, and `--output json` shows the count.
//!
//! With `SHIPIT_RECORD_AWS_CALLS=FILE` it also appends every request it sends to FILE, one
//! JSON line each: SDK calls with their serialized input, registry calls with their method
//! and path. The tests check those records against AWS's service models and against the
//! policy `shipit iam-policy` prints. Inputs are recorded before signing: no credentials, no
//! tokens (the registry's Authorization header is never recorded).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeSerializationInterceptorContextRef,
    BeforeTransmitInterceptorContextMut, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    calls: Arc<Mutex<BTreeMap<String, u32>>>,
}

impl CallCounter {
    /// `service:Operation` -> count.
    pub fn counts(&self) -> BTreeMap<String, u32> {
        self.calls.lock().expect("not poisoned").clone()
    }

    /// Operations that change something (everything but Describe, List, Get, BatchGet and
    /// BatchCheck calls).
    pub fn writes(&self) -> Vec<String> {
        self.counts()
            .into_keys()
            .filter(|op| {
                let name = op.rsplit(':').next().unwrap_or(op);
                !["Describe", "List", "Get", "BatchGet", "BatchCheck"]
                    .iter()
                    .any(|read| name.starts_with(read))
            })
            .collect()
    }

    pub fn total(&self) -> u32 {
        self.counts().values().sum()
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "shipit-call-counter"
    }

    // Not `read_before_execution`: for client-level interceptors that runs before the operation's
    // metadata is in the bag. This runs once per operation (retries are not counted twice).
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(meta) = cfg.load::<Metadata>() {
            let key = format!("{}:{}", meta.service(), meta.name());
            *self
                .calls
                .lock()
                .expect("not poisoned")
                .entry(key)
                .or_default() += 1;
        }
        Ok(())
    }

    // After serialization the request body holds the input exactly as sent; this runs once
    // per operation, not per retry.
    fn read_after_serialization(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if RECORD.is_none() {
            return Ok(());
        }
        if let Some(meta) = cfg.load::<Metadata>() {
            let input = context
                .request()
                .body()
                .bytes()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok())
                .unwrap_or(serde_json::Value::Null);
            record(serde_json::json!({
                "service": meta.service(),
                "operation": meta.name(),
                "input": input,
            }));
        }
        Ok(())
    }
}

/// The largest AWS answer shipit reads. The biggest it asks for (a page of log events,
/// DescribeTaskDefinition with many containers) stay well under 2 MiB; an answer of gigabytes
/// from a broken or hostile endpoint must not take all memory.
pub const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Bounds the body of every AWS answer to `MAX_ANSWER_BYTES` (Live Tail's stream excepted: it
/// is long by design and read event by event).
#[derive(Debug, Clone, Copy)]
pub struct BoundedAnswers;

impl Intercept for BoundedAnswers {
    fn name(&self) -> &'static str {
        "shipit-bounded-answers"
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg
            .load::<Metadata>()
            .is_some_and(|meta| meta.name() == "StartLiveTail")
        {
            return Ok(());
        }
        let response = context.response_mut();
        let declared = response
            .headers()
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(length) = declared
            && length > MAX_ANSWER_BYTES as u64
        {
            return Err(format!(
                "the answer is {length} bytes, more than the {MAX_ANSWER_BYTES} shipit reads"
            )
            .into());
        }
        let body = std::mem::replace(response.body_mut(), SdkBody::taken());
        *response.body_mut() =
            SdkBody::from_body_1_x(http_body_util::Limited::new(body, MAX_ANSWER_BYTES));
        Ok(())
    }
}

/// StartLiveTail is modelled with the host prefix `stream-` (`stream-logs.REGION.amazonaws.com`),
/// and the SDK puts it in front of an endpoint override too: `stream-127.0.0.1` does not
/// resolve. With an override (the local stack, a proxy), this interceptor takes the prefix off
/// again before the request is signed. Without one the SDK's AWS host is left alone.
#[derive(Debug, Clone)]
pub struct KeepEndpointHost;

impl Intercept for KeepEndpointHost {
    fn name(&self) -> &'static str {
        "shipit-keep-endpoint-host"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if let Some(unprefixed) = without_stream_prefix(request.uri()) {
            request.set_uri(unprefixed)?;
        }
        Ok(())
    }
}

/// `http://stream-127.0.0.1:4566/` -> `http://127.0.0.1:4566/`; None when there is no prefix.
fn without_stream_prefix(uri: &str) -> Option<String> {
    let (scheme, rest) = uri.split_once("://")?;
    let rest = rest.strip_prefix("stream-")?;
    Some(format!("{scheme}://{rest}"))
}

/// The call record's file, when `SHIPIT_RECORD_AWS_CALLS` names one.
static RECORD: std::sync::LazyLock<Option<Mutex<std::fs::File>>> = std::sync::LazyLock::new(|| {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let path = std::env::var_os("SHIPIT_RECORD_AWS_CALLS")?;
    // The record holds every value sent (environment values included): readable by its owner
    // only, also when the file was there before with wider permissions.
    let opened = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(&path)
        .and_then(|file| {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            Ok(file)
        });
    match opened {
        Ok(file) => Some(Mutex::new(file)),
        Err(err) => {
            tracing::warn!(
                "cannot record AWS calls to {}: {err}",
                path.to_string_lossy()
            );
            None
        }
    }
});

/// Appends one request to the call record, if there is one. One `write` per line, on a file
/// opened for appending, so that processes recording to one file do not mix their lines.
pub fn record(entry: serde_json::Value) {
    use std::io::Write;
    if let Some(file) = RECORD.as_ref() {
        let mut line = entry.to_string();
        line.push('\n');
        let _ = file
            .lock()
            .expect("not poisoned")
            .write_all(line.as_bytes());
    }
}

/// Records a registry request: what it did (method) to which host and path, and the
/// repository a blob mount reads from; never its headers or other query parameters (upload
/// state). Costs nothing when there is no record.
pub fn record_registry(method: &str, url: &url::Url) {
    if RECORD.is_none() {
        return;
    }
    let host = match url.port() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    };
    let mount_from = url
        .query_pairs()
        .find(|(k, _)| k == "from")
        .map(|(_, v)| v.into_owned());
    record(serde_json::json!({
        "service": "registry",
        "registry": host,
        "method": method,
        "path": url.path(),
        "mount_from": mount_from,
    }));
}

/// The SDK clients a deploy uses, all counting their calls.
#[derive(Debug, Clone)]
pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub calls: CallCounter,
    /// The configuration the clients were made from, for the few signed calls outside them
    /// (`query_api`).
    pub sdk: aws_config::SdkConfig,
    /// One service of a fleet: watches read through `cluster_reads` (one look at a cluster
    /// serves all), and the calls a fleet multiplies are paced (`aws::rate`) in this region.
    pub fleet_region: Option<String>,
}

impl Clients {
    /// For one service of a fleet, whose services run at once in one account and region:
    /// watches share their reads of each cluster (`cluster_reads`), and ECS calls share one
    /// client-side rate limiter per region. That limiter is the SDK's adaptive retry mode,
    /// which AWS recommends where clients share a throttling scope: after a throttled answer
    /// it slows every ECS client of this region in the process down to the rate ECS accepts,
    /// and the standard retries resend the throttled call, so a throttle does not surface as
    /// a failed deploy. ECS throttles per account and region ("Request throttling for the
    /// Amazon ECS API" in ECS's API reference: a token bucket per group of actions).
    pub fn share_for_fleet(&mut self) {
        use aws_sdk_ecs::config::retry::{RetryConfig, RetryPartition};
        let config = self.ecs.config();
        let region = config.region().map(|r| r.to_string()).unwrap_or_default();
        let standard = config
            .retry_config()
            .cloned()
            .unwrap_or_else(RetryConfig::standard);
        let adaptive = RetryConfig::adaptive()
            .with_max_attempts(standard.max_attempts())
            .with_max_backoff(standard.max_backoff());
        self.ecs = aws_sdk_ecs::Client::from_conf(
            config
                .to_builder()
                .retry_config(adaptive)
                .retry_partition(RetryPartition::new(format!("shipit-ecs-{region}")))
                .build(),
        );
        self.fleet_region = Some(region);
    }

    /// In a fleet, waits until one call of `set` may go (see `aws::rate`); else at once.
    pub async fn pace(&self, set: crate::aws::rate::ApiSet) {
        if let Some(region) = &self.fleet_region {
            crate::aws::rate::acquire(region, set).await;
        }
    }

    pub fn new(sdk: &aws_config::SdkConfig) -> Clients {
        // The registry's requests go in the same record (the images crate knows no record).
        shipit_oci::registry::observe_requests(record_registry);
        let calls = CallCounter::default();
        Clients {
            ecr: aws_sdk_ecr::Client::from_conf(
                aws_sdk_ecr::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .interceptor(BoundedAnswers)
                    .build(),
            ),
            ecs: aws_sdk_ecs::Client::from_conf(
                aws_sdk_ecs::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .interceptor(BoundedAnswers)
                    .build(),
            ),
            logs: aws_sdk_cloudwatchlogs::Client::from_conf({
                let mut logs = aws_sdk_cloudwatchlogs::config::Builder::from(sdk);
                logs.push_interceptor(SharedInterceptor::new(calls.clone()));
                logs.push_interceptor(SharedInterceptor::new(BoundedAnswers));
                if sdk.endpoint_url().is_some() {
                    logs.push_interceptor(SharedInterceptor::new(KeepEndpointHost));
                }
                logs.build()
            }),
            autoscaling: aws_sdk_applicationautoscaling::Client::from_conf({
                let mut config = aws_sdk_applicationautoscaling::config::Builder::from(sdk)
                    .interceptor(calls.clone())
                    .interceptor(BoundedAnswers);
                // The AWS SDKs' service-specific endpoint variable wins over the shared one
                // (the local stack has no Application Auto Scaling; the tests point this one
                // at moto_server).
                // `AwsSettings::load` checked its transport.
                if let Ok(url) = std::env::var(crate::aws::AUTOSCALING_ENDPOINT_VAR) {
                    config = config.endpoint_url(url);
                }
                config.build()
            }),
            calls,
            sdk: sdk.clone(),
            fleet_region: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_prefix_comes_off_the_overridden_host_only() {
        assert_eq!(
            without_stream_prefix("http://stream-127.0.0.1:4566/").as_deref(),
            Some("http://127.0.0.1:4566/")
        );
        assert_eq!(
            without_stream_prefix("https://stream-logs.example.com/x?y=1").as_deref(),
            Some("https://logs.example.com/x?y=1")
        );
        assert_eq!(without_stream_prefix("http://127.0.0.1:4566/"), None);
        assert_eq!(without_stream_prefix("http://streams.local/"), None);
    }
}
