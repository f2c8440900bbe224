//! Where a built image is read from, as written in `image.source` or on the command line.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SourceRef {
    /// `docker://NAME[:TAG]`: an image held by the local Docker engine.
    Docker { name: String },
    /// `docker-archive:PATH`: a `docker save` tar.
    DockerArchive { path: PathBuf },
    /// `oci:PATH[:REF]`: an OCI image layout directory; REF picks a manifest by its
    /// `org.opencontainers.image.ref.name` annotation.
    Oci {
        path: PathBuf,
        reference: Option<String>,
    },
    /// `oci-archive:PATH`: an OCI image layout in a tar.
    OciArchive { path: PathBuf },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceRefError {
    #[error("`{0}` names no image source")]
    UnknownScheme(String),
    #[error("`{0}` names no image after its prefix")]
    Empty(String),
}

impl SourceRef {
    /// The same source with a relative file path taken from `base` (the config file's folder:
    /// a path in deploy.yaml means the same wherever shipit is run from).
    pub fn relative_to(self, base: &std::path::Path) -> SourceRef {
        let join = |path: PathBuf| {
            if path.is_relative() {
                base.join(path)
            } else {
                path
            }
        };
        match self {
            SourceRef::Docker { name } => SourceRef::Docker { name },
            SourceRef::DockerArchive { path } => SourceRef::DockerArchive { path: join(path) },
            SourceRef::Oci { path, reference } => SourceRef::Oci {
                path: join(path),
                reference,
            },
            SourceRef::OciArchive { path } => SourceRef::OciArchive { path: join(path) },
        }
    }

    pub fn parse(text: &str) -> Result<SourceRef, SourceRefError> {
        let empty = || SourceRefError::Empty(text.to_string());
        if let Some(name) = text.strip_prefix("docker://") {
            if name.is_empty() {
                return Err(empty());
            }
            return Ok(SourceRef::Docker {
                name: name.to_string(),
            });
        }
        if let Some(path) = text.strip_prefix("docker-archive:") {
            if path.is_empty() {
                return Err(empty());
            }
            return Ok(SourceRef::DockerArchive { path: path.into() });
        }
        if let Some(path) = text.strip_prefix("oci-archive:") {
            if path.is_empty() {
                return Err(empty());
            }
            return Ok(SourceRef::OciArchive { path: path.into() });
        }
        if let Some(rest) = text.strip_prefix("oci:") {
            // As in skopeo: `oci:PATH:REF`, where REF holds no `/` or `:` (a Windows-style or
            // URL-like path keeps its colons).
            let (path, reference) = match rest.rsplit_once(':') {
                Some((path, reference))
                    if !path.is_empty() && !reference.is_empty() && !reference.contains('/') =>
                {
                    (path, Some(reference.to_string()))
                }
                _ => (rest, None),
            };
            if path.is_empty() {
                return Err(empty());
            }
            return Ok(SourceRef::Oci {
                path: path.into(),
                reference,
            });
        }
        Err(SourceRefError::UnknownScheme(text.to_string()))
    }
}

impl fmt::Display for SourceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceRef::Docker { name } => write!(f, "docker://{name}"),
            SourceRef::DockerArchive { path } => write!(f, "docker-archive:{}", path.display()),
            SourceRef::Oci {
                path,
                reference: None,
            } => write!(f, "oci:{}", path.display()),
            SourceRef::Oci {
                path,
                reference: Some(r),
            } => write!(f, "oci:{}:{r}", path.display()),
            SourceRef::OciArchive { path } => write!(f, "oci-archive:{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_taken_from_the_config_folder() {
        let folder = std::path::Path::new("deploy");
        let layout = SourceRef::parse("oci:build/layout:v1").unwrap();
        assert_eq!(
            layout.relative_to(folder),
            SourceRef::Oci {
                path: PathBuf::from("deploy/build/layout"),
                reference: Some("v1".into())
            }
        );
        let absolute = SourceRef::parse("docker-archive:/tmp/a.tar").unwrap();
        assert_eq!(absolute.clone().relative_to(folder), absolute);
        let engine = SourceRef::parse("docker://app:1").unwrap();
        assert_eq!(engine.clone().relative_to(folder), engine);
    }

    #[test]
    fn parses_each_kind_and_prints_it_back() {
        for text in [
            "docker://multi-stage-app:latest",
            "docker-archive:build/app.tar",
            "oci:build/layout",
            "oci:build/layout:v1",
            "oci-archive:/tmp/app.oci.tar",
        ] {
            let parsed = SourceRef::parse(text).unwrap();
            assert_eq!(parsed.to_string(), text);
        }
        assert_eq!(
            SourceRef::parse("oci:build/layout:v1").unwrap(),
            SourceRef::Oci {
                path: "build/layout".into(),
                reference: Some("v1".into())
            }
        );
    }

    #[test]
    fn rejects_unknown_schemes_and_empty_names() {
        assert_eq!(
            SourceRef::parse("multi-stage-app:latest"),
            Err(SourceRefError::UnknownScheme(
                "multi-stage-app:latest".into()
            ))
        );
        assert_eq!(
            SourceRef::parse("docker://"),
            Err(SourceRefError::Empty("docker://".into()))
        );
    }
}
