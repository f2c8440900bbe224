//! shipit's cache folder: compressed layers, blob locations for mounts, Docker exports in
//! progress. Never credentials.

use std::path::PathBuf;

/// `SHIPIT_CACHE_DIR`, else `$XDG_CACHE_HOME/shipit`, else `~/.cache/shipit`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SHIPIT_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("shipit");
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(home) => PathBuf::from(home).join(".cache").join("shipit"),
        None => std::env::temp_dir().join("shipit-cache"),
    }
}
