//! Image references as Docker and ECS read them: `[host[:port]/]path[:tag][@digest]`, with
//! Docker Hub as the registry when the first part is not a host (`nginx:1.27` is
//! `docker.io/library/nginx:1.27`). Written by hand: the grammar is a few lines, and the crates
//! that parse it (oci-spec's `Reference`, docker_credential's) pull in a whole client or give
//! no way back to the text as written, which a pinned reference must keep.

use std::fmt;

use url::Url;

/// A parsed image reference, keeping the text it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageReference {
    written: String,
    /// `host[:port]` as written, or `docker.io`.
    pub registry: String,
    /// The repository path inside the registry (`library/nginx` on Docker Hub).
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:...` when the reference already names a digest.
    pub digest: Option<String>,
}

/// Why a reference cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{written}` is not an image reference: {why}")]
pub struct BadReference {
    written: String,
    why: &'static str,
}

const DOCKER_HUB: &str = "docker.io";

impl ImageReference {
    pub fn parse(written: &str) -> Result<ImageReference, BadReference> {
        let bad = |why| BadReference {
            written: written.to_string(),
            why,
        };
        if written.is_empty() || written.chars().any(char::is_whitespace) {
            return Err(bad("it is empty or holds spaces"));
        }
        let (name_and_tag, digest) = match written.split_once('@') {
            Some((rest, digest)) => {
                let (algorithm, hex) = digest
                    .split_once(':')
                    .ok_or_else(|| bad("the digest is not `algorithm:hex`"))?;
                if algorithm.is_empty() || hex.is_empty() {
                    return Err(bad("the digest is not `algorithm:hex`"));
                }
                (rest, Some(digest.to_string()))
            }
            None => (written, None),
        };
        // A tag follows the last `:` after the last `/` (a `:` before it is a port).
        let last_slash = name_and_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_and_tag[last_slash..].rfind(':') {
            Some(i) => {
                let at = last_slash + i;
                let tag = &name_and_tag[at + 1..];
                if tag.is_empty() {
                    return Err(bad("the tag after `:` is empty"));
                }
                (&name_and_tag[..at], Some(tag.to_string()))
            }
            None => (name_and_tag, None),
        };
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => {
                (first.to_string(), rest.to_string())
            }
            _ => (DOCKER_HUB.to_string(), name.to_string()),
        };
        if repository.is_empty() || repository.split('/').any(str::is_empty) {
            return Err(bad("the repository name is empty"));
        }
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        Ok(ImageReference {
            written: written.to_string(),
            registry,
            repository,
            tag,
            digest,
        })
    }

    /// The tag a registry is asked for: the one written, or `latest` as Docker assumes.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// The reference as written with `digest` added (`name:tag@sha256:...`): the tag stays for
    /// people reading the task definition, the digest is what runs. ECS itself writes a
    /// task's image this way when it resolves a tag.
    pub fn pinned(&self, digest: &str) -> String {
        let without_digest = self.written.split('@').next().unwrap_or(&self.written);
        format!("{without_digest}@{digest}")
    }

    /// The registry API's base URL: Docker Hub's API host; plain HTTP for a registry on
    /// loopback (as Docker does), HTTPS elsewhere.
    pub fn api_base(&self) -> Url {
        let host = self.registry.as_str();
        let text = if host == DOCKER_HUB {
            "https://registry-1.docker.io".to_string()
        } else if is_loopback(host) {
            format!("http://{host}")
        } else {
            format!("https://{host}")
        };
        Url::parse(&text).unwrap_or_else(|_| Url::parse("https://invalid.invalid").expect("valid"))
    }

    /// `(account, region)` when the registry is a private ECR registry
    /// (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`).
    pub fn ecr_registry(&self) -> Option<(String, String)> {
        let host = self.registry.split(':').next().unwrap_or_default();
        let mut parts = host.split('.');
        let account = parts.next()?;
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if parts.next()? != "dkr" {
            return None;
        }
        let ecr = parts.next()?;
        if ecr != "ecr" && ecr != "ecr-fips" {
            return None;
        }
        let region = parts.next()?;
        let rest: Vec<&str> = parts.collect();
        if rest != ["amazonaws", "com"] && rest != ["amazonaws", "com", "cn"] {
            return None;
        }
        Some((account.to_string(), region.to_string()))
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

fn is_loopback(host_and_port: &str) -> bool {
    let host = match host_and_port.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest),
        None => host_and_port.split(':').next().unwrap_or(host_and_port),
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(text: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ImageReference::parse(text).unwrap();
        (r.registry, r.repository, r.tag, r.digest)
    }

    #[test]
    fn references_read_as_docker_reads_them() {
        let s = |v: &str| v.to_string();
        assert_eq!(
            parts("nginx"),
            (s("docker.io"), s("library/nginx"), None, None)
        );
        assert_eq!(
            parts("grafana/agent:v0.40"),
            (s("docker.io"), s("grafana/agent"), Some(s("v0.40")), None)
        );
        assert_eq!(
            parts("public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4"),
            (
                s("public.ecr.aws"),
                s("aws-observability/aws-for-fluent-bit"),
                Some(s("2.32.4")),
                None
            )
        );
        assert_eq!(
            parts("127.0.0.1:5000/team/proxy"),
            (s("127.0.0.1:5000"), s("team/proxy"), None, None)
        );
        assert_eq!(
            parts("localhost/proxy:1@sha256:abc"),
            (
                s("localhost"),
                s("proxy"),
                Some(s("1")),
                Some(s("sha256:abc"))
            )
        );
    }

    #[test]
    fn bad_references_say_why() {
        for text in ["", "a b", "nginx:", "nginx@sha256", "registry.io/", "a//b"] {
            assert!(ImageReference::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn pinning_keeps_the_tag_and_replaces_a_digest() {
        let r = ImageReference::parse("public.ecr.aws/x/y:2.1").unwrap();
        assert_eq!(r.pinned("sha256:01"), "public.ecr.aws/x/y:2.1@sha256:01");
        let r = ImageReference::parse("nginx").unwrap();
        assert_eq!(r.pinned("sha256:01"), "nginx@sha256:01");
        assert_eq!(r.tag_or_latest(), "latest");
    }

    #[test]
    fn api_hosts_follow_docker() {
        let base = |t: &str| ImageReference::parse(t).unwrap().api_base().to_string();
        assert_eq!(base("nginx"), "https://registry-1.docker.io/");
        assert_eq!(base("127.0.0.1:5000/x"), "http://127.0.0.1:5000/");
        assert_eq!(base("localhost:5000/x"), "http://localhost:5000/");
        assert_eq!(base("ghcr.io/o/x:1"), "https://ghcr.io/");
    }

    #[test]
    fn private_ecr_registries_are_recognised() {
        let ecr = |t: &str| ImageReference::parse(t).unwrap().ecr_registry();
        assert_eq!(
            ecr("123456789012.dkr.ecr.eu-west-1.amazonaws.com/agent:3"),
            Some(("123456789012".into(), "eu-west-1".into()))
        );
        assert_eq!(
            ecr("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/agent"),
            Some(("123456789012".into(), "cn-north-1".into()))
        );
        assert_eq!(ecr("public.ecr.aws/x/agent:3"), None);
        assert_eq!(ecr("12345.dkr.ecr.eu-west-1.amazonaws.com/agent"), None);
    }
}
