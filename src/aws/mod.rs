//! The floor every AWS call stands on: the settings and the SDK configuration (here), the
//! clients with their call counter and interceptors (`calls`), doctor's signed Query calls
//! (`query_api`), and errors typed by what a caller can do about them (`error`).

pub mod calls;
pub mod error;
pub mod query_api;
pub mod rate;

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig, timeout::TimeoutConfig};
use serde::Serialize;

use crate::exit::BadInput;

/// How to reach AWS, as the command line resolved it (`commands::AwsArgs`).
#[derive(Debug, Clone, Default)]
pub struct AwsSettings {
    /// Wins over `region:` in deploy.yaml and over AWS_REGION.
    pub region: Option<String>,
    /// A named profile from ~/.aws/config.
    pub profile: Option<String>,
    /// Every AWS call goes to this endpoint (else AWS_ENDPOINT_URL, else AWS's own).
    pub endpoint_url: Option<String>,
    /// A plain-HTTP endpoint off loopback is allowed.
    pub allow_insecure_http: bool,
    /// Attempts per AWS call and per registry request (default `DEFAULT_MAX_ATTEMPTS`).
    pub max_attempts: Option<u32>,
    /// Seconds one attempt may take, its answer included (default `DEFAULT_CALL_TIMEOUT`).
    pub call_timeout: Option<u64>,
}

/// Attempts per call when `--max-attempts` is not given.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;
/// Seconds per attempt when `--call-timeout` is not given: ECS and ECR answer in well under a
/// second; the AWS CLI waits 60 s for a read, which a CI log feels as a hang.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The SDK's standard retry mode backs off at most 20 s between attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(20);

/// Where the region came from, for `doctor` and error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RegionSource {
    Flag,
    Config,
    /// AWS_REGION, AWS_DEFAULT_REGION or the profile, as the SDK resolves them.
    Environment,
}

pub struct Aws {
    pub sdk: SdkConfig,
    /// For the registry client, which retries on its own.
    pub max_attempts: u32,
    /// One attempt of a call or a registry request, its answer included.
    pub call_timeout: Duration,
    pub region_source: Option<RegionSource>,
    pub endpoint: Option<String>,
    pub allow_insecure_http: bool,
}

impl Aws {
    pub fn region(&self) -> String {
        self.sdk
            .region()
            .map(|r| r.to_string())
            .unwrap_or_else(|| "us-east-1".to_string())
    }
}

impl AwsSettings {
    /// The endpoint override from the flag or AWS_ENDPOINT_URL, checked: HTTPS, or plain HTTP
    /// on loopback only (unless explicitly allowed).
    pub fn endpoint(&self) -> Result<Option<String>, BadInput> {
        let from_env = std::env::var("AWS_ENDPOINT_URL")
            .ok()
            .filter(|v| !v.is_empty());
        let Some(text) = self.endpoint_url.clone().or(from_env) else {
            return Ok(None);
        };
        check_transport(&text, self.allow_insecure_http)?;
        Ok(Some(text.trim_end_matches('/').to_string()))
    }

    /// `--region`, refused unless it is a region name (`*` would print wildcard ARNs).
    pub fn checked_region(&self) -> Result<Option<&str>, BadInput> {
        match &self.region {
            Some(region) if !is_region(region) => Err(BadInput::new(format!(
                "--region `{}` is not an AWS region name; write one such as eu-west-1",
                crate::redact::printable(region, 100)
            ))),
            region => Ok(region.as_deref()),
        }
    }

    /// Builds the SDK configuration: flag region > config region > the SDK's own chain.
    pub async fn load(&self, config_region: Option<&str>) -> Result<Aws, BadInput> {
        let endpoint = self.endpoint()?;
        // The SDK reads the service-specific variables (AWS_ENDPOINT_URL_ECS, ..._ECR, ...)
        // itself: each is checked like the shared one, so none sends credentials in clear text.
        for (name, url) in std::env::vars() {
            if name.starts_with("AWS_ENDPOINT_URL_") && !url.is_empty() {
                check_transport(&url, self.allow_insecure_http)
                    .map_err(|err| BadInput::new(format!("{name}: {}", err.message)))?;
            }
        }
        let max_attempts = self.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        let call_timeout = self
            .call_timeout
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_CALL_TIMEOUT);
        // Standard retry mode: throttling, 5xx and transient I/O errors, exponential backoff
        // with jitter capped at 20 s; the attempts bound the total time. Each attempt has a
        // deadline (a stalled connection never answers), and so does the whole call.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5).min(call_timeout))
                    .operation_attempt_timeout(call_timeout)
                    .operation_timeout(
                        call_timeout * max_attempts + MAX_BACKOFF * (max_attempts - 1),
                    )
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts));
        self.checked_region()?;
        let (region, mut region_source) = match (&self.region, config_region) {
            (Some(r), _) => (Some(r.clone()), Some(RegionSource::Flag)),
            (None, Some(r)) => (Some(r.to_string()), Some(RegionSource::Config)),
            (None, None) => (None, None),
        };
        if let Some(region) = region {
            loader = loader.region(Region::new(region));
        }
        if let Some(profile) = &self.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &endpoint {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        if region_source.is_none() && sdk.region().is_some() {
            region_source = Some(RegionSource::Environment);
        }
        Ok(Aws {
            sdk,
            max_attempts,
            call_timeout,
            region_source,
            endpoint,
            allow_insecure_http: self.allow_insecure_http,
        })
    }
}

/// An AWS region name (`eu-west-1`, `us-gov-west-1`), as the config and `--region` take it.
pub fn is_region(text: &str) -> bool {
    static REGION: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$").expect("valid")
    });
    REGION.is_match(text)
}

/// The AWS SDKs' service-specific endpoint variable for Application Auto Scaling.
pub const AUTOSCALING_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_APPLICATION_AUTO_SCALING";

/// HTTPS, or plain HTTP to loopback only (unless `allow_insecure_http`): credentials and
/// registry tokens never cross a network unencrypted by accident.
pub fn check_transport(text: &str, allow_insecure_http: bool) -> Result<(), BadInput> {
    let url = url::Url::parse(text).map_err(|err| {
        BadInput::new(format!(
            "endpoint URL `{text}` is not a URL ({err}); write it as http://127.0.0.1:4566 or https://HOST"
        ))
    })?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) || allow_insecure_http => Ok(()),
        "http" => Err(BadInput::new(format!(
            "endpoint `{text}` uses plain HTTP on a host that is not loopback: credentials and tokens would cross the network unencrypted; use https, or pass --allow-insecure-http if you really mean it"
        ))),
        other => Err(BadInput::new(format!(
            "endpoint `{text}` has scheme `{other}`; use http (loopback only) or https"
        ))),
    }
}

/// An error and its causes on one line (shared with the images crate).
pub use shipit_oci::error_chain;
use shipit_oci::transport::is_loopback;

#[cfg(test)]
mod tests {
    use super::*;

    fn with_endpoint(url: &str, allow: bool) -> Result<Option<String>, BadInput> {
        AwsSettings {
            endpoint_url: Some(url.to_string()),
            allow_insecure_http: allow,
            ..AwsSettings::default()
        }
        .endpoint()
    }

    #[test]
    fn plain_http_only_on_loopback_unless_allowed() {
        assert_eq!(
            with_endpoint("http://127.0.0.1:4566/", false).unwrap(),
            Some("http://127.0.0.1:4566".into())
        );
        assert!(with_endpoint("http://localhost:4566", false).is_ok());
        assert!(with_endpoint("http://[::1]:4566", false).is_ok());
        assert!(with_endpoint("https://ecs.example.com", false).is_ok());
        let err = with_endpoint("http://10.0.0.5:4566", false).unwrap_err();
        assert!(
            err.message.contains("--allow-insecure-http"),
            "{}",
            err.message
        );
        assert!(with_endpoint("http://10.0.0.5:4566", true).is_ok());
        assert!(with_endpoint("ftp://127.0.0.1", false).is_err());
        let region = |r: &str| {
            AwsSettings {
                region: Some(r.to_string()),
                ..AwsSettings::default()
            }
            .checked_region()
            .is_ok()
        };
        assert!(region("eu-west-1") && region("us-gov-west-1"));
        assert!(!region("*") && !region("eu-west-1; rm") && !region(""));
        assert!(with_endpoint("not a url", false).is_err());
    }
}
