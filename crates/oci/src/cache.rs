//! shipit's cache folder: compressed layers, blob locations for mounts, Docker exports in
//! progress. Never credentials.

use std::path::{Path, PathBuf};

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

/// Writes `bytes` to `path` whole or not at all: into a temporary file beside it, then renamed
/// over it, so a killed run or a concurrent reader never sees half a file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut temp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut temp, bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}
