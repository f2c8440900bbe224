//! Which repository of a registry already holds a blob, remembered between runs, so that the
//! next push to another repository mounts the blob instead of uploading it. It holds digests
//! and repository names only (no credentials) in the cache folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::image::Digest;

pub struct MountCache {
    path: PathBuf,
    /// registry host -> digest -> repository
    entries: BTreeMap<String, BTreeMap<String, String>>,
}

impl MountCache {
    /// Loads the cache; a missing or unreadable one starts empty (it is only a hint).
    pub fn load(cache_dir: &Path) -> MountCache {
        let path = cache_dir.join("blob-locations.json");
        let entries = std::fs::read(&path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        MountCache { path, entries }
    }

    /// Another repository of `registry` known to hold `digest`.
    pub fn source_for(&self, registry: &str, digest: &Digest, target: &str) -> Option<String> {
        self.entries
            .get(registry)?
            .get(digest.as_str())
            .filter(|repo| *repo != target)
            .cloned()
    }

    pub fn record(&mut self, registry: &str, repository: &str, digests: &[Digest]) {
        let known = self.entries.entry(registry.to_string()).or_default();
        for digest in digests {
            known.insert(digest.to_string(), repository.to_string());
        }
    }

    /// Saves atomically (write beside, then rename).
    pub fn save(&self) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(&self.entries).map_err(std::io::Error::other)?;
        crate::cache::write_atomically(&self.path, &bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_blobs_per_registry_and_survives_a_reload() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digest::of_bytes(b"layer");
        let mut cache = MountCache::load(dir.path());
        assert_eq!(cache.source_for("r:5000", &d, "b"), None);
        cache.record("r:5000", "a", std::slice::from_ref(&d));
        cache.save().unwrap();
        let cache = MountCache::load(dir.path());
        assert_eq!(cache.source_for("r:5000", &d, "b"), Some("a".into()));
        assert_eq!(
            cache.source_for("r:5000", &d, "a"),
            None,
            "never from itself"
        );
        assert_eq!(cache.source_for("other:5000", &d, "b"), None);
    }
}
