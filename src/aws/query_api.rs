//! The few calls shipit makes outside ECS, ECR, CloudWatch Logs and Application Auto Scaling:
//! doctor's reads of EC2 and IAM (DescribeSubnets, DescribeSecurityGroups, GetRole), exec's
//! IAM SimulatePrincipalPolicy (signed AWS Query requests), exec's KMS GenerateDataKey and
//! rollback's reads of secret metadata (Secrets Manager DescribeSecret, SSM
//! DescribeParameters), signed JSON requests.
//!
//! Written by hand on purpose: the generated aws-sdk-ec2 and aws-sdk-iam crates took 38% of a
//! clean release build (978 s and 433 s of 3,698 s on 2 cores) to serve these three calls. The
//! parts that are hard to get right come from maintained crates: signing from aws-sigv4 (the
//! SDK's own), credentials and region from the same SdkConfig every other call uses, HTTP from
//! reqwest, XML from xmlparser.

use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;

/// A Query-protocol answer: the status and the XML body.
#[derive(Debug)]
pub struct QueryAnswer {
    pub status: u16,
    pub body: String,
}

impl QueryAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The error code and message of a failed call (`InvalidSubnetID.NotFound`, "The subnet
    /// ID ... does not exist"), from either error shape EC2 and IAM use.
    pub fn error(&self) -> (String, String) {
        let code = texts_of(&self.body, "Code").into_iter().next();
        let message = texts_of(&self.body, "Message").into_iter().next();
        (
            code.unwrap_or_else(|| format!("HTTP {}", self.status)),
            message.unwrap_or_default(),
        )
    }
}

/// Signed Query calls with the credentials and region of `sdk`.
pub struct QueryClient {
    http: reqwest::Client,
    sdk: aws_config::SdkConfig,
}

/// The services this module calls, with their API versions and endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Ec2,
    Iam,
    /// JSON protocol (`json_call`), as are the two below.
    Kms,
    SecretsManager,
    Ssm,
}

impl Service {
    fn signing_name(self) -> &'static str {
        match self {
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
            Service::Kms => "kms",
            Service::SecretsManager => "secretsmanager",
            Service::Ssm => "ssm",
        }
    }

    fn version(self) -> &'static str {
        match self {
            Service::Ec2 => "2016-11-15",
            Service::Iam => "2010-05-08",
            Service::Kms => "2014-11-01",
            Service::SecretsManager => "2017-10-17",
            Service::Ssm => "2014-11-06",
        }
    }

    /// The endpoint and the region to sign for. IAM is global: one endpoint per partition,
    /// signed for its first region.
    fn endpoint(self, region: &str) -> (String, String) {
        let (dns, iam_region) = if region.starts_with("cn-") {
            ("amazonaws.com.cn", "cn-north-1")
        } else if region.starts_with("us-gov-") {
            ("amazonaws.com", "us-gov-west-1")
        } else {
            ("amazonaws.com", "us-east-1")
        };
        match self {
            Service::Ec2 => (format!("https://ec2.{region}.{dns}/"), region.to_string()),
            Service::Iam if region.starts_with("us-gov-") => (
                "https://iam.us-gov.amazonaws.com/".to_string(),
                iam_region.to_string(),
            ),
            Service::Iam => (format!("https://iam.{dns}/"), iam_region.to_string()),
            Service::Kms | Service::SecretsManager | Service::Ssm => (
                format!("https://{}.{region}.{dns}/", self.signing_name()),
                region.to_string(),
            ),
        }
    }
}

impl QueryClient {
    pub fn new(sdk: &aws_config::SdkConfig) -> anyhow::Result<QueryClient> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("shipit/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("building the HTTP client")?;
        Ok(QueryClient {
            http,
            sdk: sdk.clone(),
        })
    }

    /// `Action` with its parameters, signed with SigV4, POSTed as a form.
    pub async fn call(
        &self,
        service: Service,
        action: &str,
        params: &[(String, String)],
    ) -> anyhow::Result<QueryAnswer> {
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("Action", action)
            .append_pair("Version", service.version())
            .extend_pairs(params)
            .finish();
        self.signed_post(
            service,
            action,
            &[(
                "content-type",
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body,
        )
        .await
    }

    /// A JSON-protocol call (`TrentService.GenerateDataKey`), signed with SigV4.
    pub async fn json_call(
        &self,
        service: Service,
        target: &str,
        body: &serde_json::Value,
    ) -> anyhow::Result<QueryAnswer> {
        let action = target.rsplit('.').next().unwrap_or(target);
        self.signed_post(
            service,
            action,
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", target),
            ],
            body.to_string(),
        )
        .await
    }

    async fn signed_post(
        &self,
        service: Service,
        action: &str,
        headers: &[(&str, &str)],
        body: String,
    ) -> anyhow::Result<QueryAnswer> {
        let region = self
            .sdk
            .region()
            .map(|r| r.as_ref().to_string())
            .context("no region")?;
        let (default_endpoint, signing_region) = service.endpoint(&region);
        // With an endpoint override (the local stack) every service answers there, signed for
        // the configured region.
        let (url, signing_region) = match self.sdk.endpoint_url() {
            Some(url) => (url.to_string(), region.clone()),
            None => (default_endpoint, signing_region),
        };
        let credentials = self
            .sdk
            .credentials_provider()
            .context("no AWS credentials")?
            .provide_credentials()
            .await
            .context("reading the AWS credentials")?;
        let identity = credentials.into();
        let signing_params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&signing_region)
            .name(service.signing_name())
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .context("signing parameters")?
            .into();
        let signable = SignableRequest::new(
            "POST",
            url.as_str(),
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .context("the request to sign")?;
        let (instructions, _signature) = sign(signable, &signing_params)
            .context("signing the request")?
            .into_parts();
        let (signed_headers, _) = instructions.into_parts();
        let mut request = self.http.post(&url).body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        for header in signed_headers {
            request = request.header(header.name(), header.value());
        }
        let response = request.send().await.map_err(|e| {
            anyhow::anyhow!(
                "{} {action} at {url} failed: {}",
                service.signing_name().to_uppercase(),
                crate::aws::error_chain(&e)
            )
        })?;
        let status = response.status().as_u16();
        let body = bounded_text(response).await;
        if status >= 500 {
            bail!(
                "{} {action} failed: HTTP {status}",
                service.signing_name().to_uppercase()
            );
        }
        Ok(QueryAnswer { status, body })
    }
}

/// The answer's body, at most `MAX_ANSWER` bytes of it: these answers are a few KiB.
async fn bounded_text(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER {
            body.truncate(MAX_ANSWER);
            break;
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// The most of an answer these calls read.
const MAX_ANSWER: usize = 1 << 20;

/// The text of every element named `tag` (by its local name), in document order.
pub fn texts_of(xml: &str, tag: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = 0usize;
    let mut text = String::new();
    for token in xmlparser::Tokenizer::from(xml) {
        let Ok(token) = token else { break };
        match token {
            xmlparser::Token::ElementStart { local, .. } if local.as_str() == tag => {
                inside += 1;
                text.clear();
            }
            xmlparser::Token::Text { text: t } if inside > 0 => text.push_str(t.as_str()),
            xmlparser::Token::ElementEnd {
                end: xmlparser::ElementEnd::Close(_, local),
                ..
            } if local.as_str() == tag && inside > 0 => {
                inside -= 1;
                out.push(unescape(text.trim()));
            }
            _ => {}
        }
    }
    out
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// `Name.1=a&Name.2=b`: how the Query protocol spells a list.
pub fn list_params(name: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("{name}.{}", i + 1), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_read_by_local_name_at_any_depth() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<DescribeSubnetsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <subnetSet>
    <item><subnetId>subnet-1</subnetId><vpcId>vpc-a</vpcId></item>
    <item><subnetId>subnet-2</subnetId><vpcId>vpc-a</vpcId></item>
  </subnetSet>
</DescribeSubnetsResponse>"#;
        assert_eq!(texts_of(xml, "subnetId"), vec!["subnet-1", "subnet-2"]);
        assert_eq!(texts_of(xml, "vpcId"), vec!["vpc-a", "vpc-a"]);
    }

    #[test]
    fn both_error_shapes_give_code_and_message() {
        let ec2 = QueryAnswer {
            status: 400,
            body: "<Response><Errors><Error><Code>InvalidSubnetID.NotFound</Code><Message>The subnet ID 'subnet-0' does not exist</Message></Error></Errors></Response>".into(),
        };
        assert_eq!(
            ec2.error(),
            (
                "InvalidSubnetID.NotFound".to_string(),
                "The subnet ID 'subnet-0' does not exist".to_string()
            )
        );
        let iam = QueryAnswer {
            status: 404,
            body: "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>The role with name x cannot be found.</Message></Error></ErrorResponse>".into(),
        };
        assert_eq!(iam.error().0, "NoSuchEntity");
    }

    #[test]
    fn endpoints_follow_the_partition() {
        assert_eq!(
            Service::Ec2.endpoint("eu-west-1"),
            (
                "https://ec2.eu-west-1.amazonaws.com/".into(),
                "eu-west-1".into()
            )
        );
        assert_eq!(
            Service::Iam.endpoint("eu-west-1"),
            ("https://iam.amazonaws.com/".into(), "us-east-1".into())
        );
        assert_eq!(
            Service::Iam.endpoint("cn-northwest-1").0,
            "https://iam.amazonaws.com.cn/"
        );
        assert_eq!(
            list_params("SubnetId", &["a".into(), "b".into()]),
            vec![
                ("SubnetId.1".to_string(), "a".to_string()),
                ("SubnetId.2".to_string(), "b".to_string())
            ]
        );
    }
}
