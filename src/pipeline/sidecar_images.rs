//! Sidecar images named by tag are pinned by digest before the plan is made, so that a task
//! definition names exactly the image it runs and a tag moved later changes nothing until
//! the next deploy shows it in the plan.
//!
//! Each tag is looked up where it lives: a private ECR repository through ECR's DescribeImages
//! (the deploy's own credentials; no registry login), any other registry through its API, with
//! an anonymous pull token where it asks for one (Docker Hub, public ECR, ghcr.io). A lookup
//! that fails never stops a plan: the digest the current revision runs for that same
//! reference is kept (so an unreachable registry does not make the plan flap), and failing
//! that the image is used by tag, with a warning that says how to pin it.

use std::time::Duration;

use aws_sdk_ecr::types::ImageIdentifier;

use crate::config::model::DeployConfig;
use crate::plan::sidecar_image::{Pinning, SidecarImage};
use shipit_oci::registry::Repository;
use shipit_oci::registry::reference::ImageReference;

/// How long one lookup may take before the image is used without it.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(10);

/// Looks a tag up; `Err` carries the reason for people.
pub trait DigestLookup {
    fn digest(
        &self,
        reference: &ImageReference,
    ) -> impl std::future::Future<Output = Result<String, String>> + Send;
}

/// Looks tags up in ECR (DescribeImages) or in the registry's API.
pub struct RegistryLookup {
    pub ecr: aws_sdk_ecr::Client,
    /// The deploy's region: another region's ECR gets a client of its own.
    pub region: String,
}

impl DigestLookup for RegistryLookup {
    async fn digest(&self, reference: &ImageReference) -> Result<String, String> {
        let lookup = async {
            match reference.ecr_registry() {
                Some((account, region)) => self.ecr_digest(reference, &account, &region).await,
                None => registry_digest(reference).await,
            }
        };
        match tokio::time::timeout(LOOKUP_TIMEOUT, lookup).await {
            Ok(answer) => answer,
            Err(_) => Err(format!("no answer within {}s", LOOKUP_TIMEOUT.as_secs())),
        }
    }
}

impl RegistryLookup {
    async fn ecr_digest(
        &self,
        reference: &ImageReference,
        account: &str,
        region: &str,
    ) -> Result<String, String> {
        let client = if region == self.region {
            self.ecr.clone()
        } else {
            aws_sdk_ecr::Client::from_conf(
                self.ecr
                    .config()
                    .to_builder()
                    .region(aws_sdk_ecr::config::Region::new(region.to_string()))
                    .build(),
            )
        };
        let tag = reference.tag_or_latest();
        let answer = client
            .describe_images()
            .registry_id(account)
            .repository_name(&reference.repository)
            .image_ids(ImageIdentifier::builder().image_tag(tag).build())
            .send()
            .await
            .map_err(|e| {
                let e = e.into_service_error();
                if e.is_image_not_found_exception() {
                    format!(
                        "tag `{tag}` is not in ECR repository {}",
                        reference.repository
                    )
                } else if e.is_repository_not_found_exception() {
                    format!("ECR repository {} does not exist", reference.repository)
                } else {
                    format!("ECR DescribeImages: {}", crate::aws::error_chain(&e))
                }
            })?;
        answer
            .image_details()
            .first()
            .and_then(|d| d.image_digest())
            .map(str::to_string)
            .ok_or_else(|| format!("ECR knows no image tagged `{tag}`"))
    }
}

/// The digest a registry's API gives for the tag (of the index for a multi-platform image).
async fn registry_digest(reference: &ImageReference) -> Result<String, String> {
    let mut repository = Repository::for_reading(reference.api_base(), &reference.repository, None)
        .map_err(|e| e.to_string())?;
    // One retry: a plan must not wait out the push's backoff for a registry that is down.
    repository.retry.attempts = 2;
    repository.login().await.map_err(|e| e.to_string())?;
    match repository.manifest_digest(reference.tag_or_latest()).await {
        Ok(Some(digest)) => Ok(digest.to_string()),
        Ok(None) => Err(format!(
            "tag `{}` does not exist there",
            reference.tag_or_latest()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// Every sidecar's image as the task definition gets it, in the config's order. `running`
/// is the current revision's (container, image) pairs.
pub async fn pin(
    config: &DeployConfig,
    app_name: &str,
    running: &[(String, String)],
    lookup: &impl DigestLookup,
) -> Vec<SidecarImage> {
    let sidecars: Vec<(String, String)> = config
        .container_specs(app_name)
        .into_iter()
        .filter_map(|c| Some((c.name, c.image?)))
        .collect();
    let lookups = sidecars.iter().map(|(container, written)| async move {
        let pinning = match ImageReference::parse(written) {
            Err(e) => Pinning::ByTag {
                reason: e.to_string(),
            },
            Ok(reference) if reference.digest.is_some() => Pinning::Written,
            Ok(reference) => match lookup.digest(&reference).await {
                Ok(digest) => Pinning::Resolved { digest },
                Err(reason) => match kept_digest(running, container, &reference) {
                    Some(digest) => Pinning::Kept { digest, reason },
                    None => Pinning::ByTag { reason },
                },
            },
        };
        let image = match &pinning {
            Pinning::Resolved { digest } | Pinning::Kept { digest, .. } => {
                ImageReference::parse(written)
                    .map(|r| r.pinned(digest))
                    .unwrap_or_else(|_| written.clone())
            }
            Pinning::Written | Pinning::ByTag { .. } => written.clone(),
        };
        SidecarImage {
            container: container.clone(),
            written: written.clone(),
            image,
            pinning,
        }
    });
    futures_util::future::join_all(lookups).await
}

/// The digest the current revision runs in `container` when it pinned this same reference.
fn kept_digest(
    running: &[(String, String)],
    container: &str,
    reference: &ImageReference,
) -> Option<String> {
    let (_, image) = running.iter().find(|(name, _)| name == container)?;
    let (pinned_from, digest) = image.split_once('@')?;
    (pinned_from == reference.to_string()).then(|| digest.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Answers from a table; a reference missing from it fails as an unreachable registry.
    struct Table(BTreeMap<&'static str, &'static str>);

    impl DigestLookup for Table {
        async fn digest(&self, reference: &ImageReference) -> Result<String, String> {
            self.0
                .get(reference.to_string().as_str())
                .map(|d| d.to_string())
                .ok_or_else(|| "registry unreachable".to_string())
        }
    }

    fn config(sidecars: &[(&str, &str)]) -> DeployConfig {
        let mut yaml = String::from(
            "app: demo\nimage: { source: 'docker://demo:1', tag: v1 }\nservice: { subnets: [subnet-0123456789abcdef0] }\ntask: { execution_role: 'arn:aws:iam::123456789012:role/exec' }\ncontainers:\n  - name: demo\n    port: 8080\n",
        );
        for (name, image) in sidecars {
            yaml.push_str(&format!("  - name: {name}\n    image: '{image}'\n"));
        }
        crate::config::load_bytes(yaml.as_bytes(), "d.yaml", &|_| None)
            .unwrap()
            .config
    }

    #[tokio::test]
    async fn tags_are_pinned_kept_or_left_with_a_warning() {
        let config = config(&[
            ("router", "public.ecr.aws/x/router:2"),
            ("agent", "agent:7"),
            ("proxy", "proxy:1"),
            ("fixed", "fixed:3@sha256:ff"),
        ]);
        let lookup = Table(BTreeMap::from([("public.ecr.aws/x/router:2", "sha256:aa")]));
        let running = vec![
            ("agent".to_string(), "agent:7@sha256:bb".to_string()),
            // Pinned from another tag: nothing to keep for proxy:1.
            ("proxy".to_string(), "proxy:0@sha256:cc".to_string()),
        ];
        let images = pin(&config, "demo", &running, &lookup).await;
        let shown: Vec<(&str, &str)> = images
            .iter()
            .map(|i| (i.container.as_str(), i.image.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("router", "public.ecr.aws/x/router:2@sha256:aa"),
                ("agent", "agent:7@sha256:bb"),
                ("proxy", "proxy:1"),
                ("fixed", "fixed:3@sha256:ff"),
            ]
        );
        assert!(matches!(images[0].pinning, Pinning::Resolved { .. }));
        assert!(images[0].warning().is_none());
        assert!(
            images[1]
                .warning()
                .unwrap()
                .contains("keeping sha256:bb, the digest the current revision runs")
        );
        let by_tag = images[2].warning().unwrap();
        assert!(by_tag.contains("registry unreachable"), "{by_tag}");
        assert!(by_tag.contains("`proxy:1@sha256:<digest>`"), "{by_tag}");
        assert_eq!(images[3].pinning, Pinning::Written);
    }

    /// Docker Hub, public ECR and ghcr.io answer `/v2/` with a bearer challenge and hand out
    /// pull tokens without credentials: the lookup asks for `pull` only, with no
    /// Authorization header, and reads the digest of the tag's manifest.
    #[tokio::test]
    async fn public_registries_are_read_with_an_anonymous_pull_token() {
        use wiremock::matchers::{header, method, path, query_param};
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        let realm = format!("{}/token", server.uri());
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .respond_with(ResponseTemplate::new(401).insert_header(
                "www-authenticate",
                format!(r#"Bearer realm="{realm}",service="registry.test""#).as_str(),
            ))
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/token"))
            .and(query_param("scope", "repository:team/agent:pull"))
            .and(query_param("service", "registry.test"))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"token":"anon"}"#))
            .mount(&server)
            .await;
        let digest = format!("sha256:{}", "ab".repeat(32));
        Mock::given(method("HEAD"))
            .and(path("/v2/team/agent/manifests/3.1"))
            .and(header("authorization", "Bearer anon"))
            .respond_with(
                ResponseTemplate::new(200).insert_header("docker-content-digest", digest.as_str()),
            )
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path("/v2/team/agent/manifests/9"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;

        let host = server.uri().trim_start_matches("http://").to_string();
        let found = ImageReference::parse(&format!("{host}/team/agent:3.1")).unwrap();
        assert_eq!(registry_digest(&found).await, Ok(digest));
        let missing = ImageReference::parse(&format!("{host}/team/agent:9")).unwrap();
        assert_eq!(
            registry_digest(&missing).await,
            Err("tag `9` does not exist there".to_string())
        );
        // The token request carried no credentials.
        let token_requests: Vec<_> = server
            .received_requests()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.url.path() == "/token")
            .collect();
        assert!(!token_requests.is_empty());
        assert!(
            token_requests
                .iter()
                .all(|r| !r.headers.contains_key("authorization"))
        );
    }

    #[tokio::test]
    async fn a_single_container_has_no_sidecars_to_pin() {
        let config = crate::config::load_bytes(
            b"app: demo\nimage: { source: 'docker://demo:1', tag: v1 }\nservice: { subnets: [subnet-0123456789abcdef0] }\ntask: { execution_role: 'arn:aws:iam::123456789012:role/exec' }\ncontainer: { port: 8080 }\n",
            "d.yaml",
            &|_| None,
        )
        .unwrap()
        .config;
        let images = pin(&config, "demo", &[], &Table(BTreeMap::new())).await;
        assert!(images.is_empty());
    }
}
