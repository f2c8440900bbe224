//! A sidecar's image as the task definition gets it: pinned by digest where a lookup (made by
//! `pipeline::sidecar_images` before the plan) or the config gives one, and how.

use serde::Serialize;

use shipit_oci::registry::reference::ImageReference;

/// A sidecar's image as the task definition gets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SidecarImage {
    pub container: String,
    /// As the config writes it.
    pub written: String,
    /// As the task definition gets it.
    pub image: String,
    pub pinning: Pinning,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "how", rename_all = "kebab-case")]
pub enum Pinning {
    /// The config names a digest itself.
    Written,
    /// The tag was looked up now.
    Resolved { digest: String },
    /// The lookup failed; the digest the current revision runs for this reference is kept.
    Kept { digest: String, reason: String },
    /// The lookup failed and there is no digest to keep: the image runs by tag.
    ByTag { reason: String },
}

impl SidecarImage {
    /// A line for people when the image is not pinned by a fresh lookup or by the config.
    pub fn warning(&self) -> Option<String> {
        match &self.pinning {
            Pinning::Written | Pinning::Resolved { .. } => None,
            Pinning::Kept { digest, reason } => Some(format!(
                "container {}: could not look up `{}` ({reason}); keeping {digest}, the digest the current revision runs",
                self.container, self.written
            )),
            Pinning::ByTag { reason } => Some(format!(
                "container {}: `{}` runs by tag, not pinned: could not look up its digest ({reason}). Pin it in the config as `{}`",
                self.container,
                self.written,
                ImageReference::parse(&self.written)
                    .map(|r| r.pinned("sha256:<digest>"))
                    .unwrap_or_else(|_| format!("{}@sha256:<digest>", self.written))
            )),
        }
    }
}
