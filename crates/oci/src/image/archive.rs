//! Random access to the files of an uncompressed tar (a `docker save` or OCI archive): one scan
//! records where each entry's bytes are, then blobs are read in place, never extracted.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::{BlobFile, ImageError};

/// Metadata files (manifest.json, index.json, configs) are small; blobs are not read whole.
const MAX_METADATA_BYTES: u64 = 16 * 1024 * 1024;

pub struct TarIndex {
    path: PathBuf,
    entries: HashMap<String, (u64, u64)>,
}

impl TarIndex {
    pub fn scan(path: &Path) -> Result<TarIndex, ImageError> {
        let file = std::fs::File::open(path).map_err(ImageError::io(path.display()))?;
        let mut archive = tar::Archive::new(file);
        let mut entries = HashMap::new();
        // Seeking past each entry's bytes: a 1 GiB `docker save` is indexed by reading its few
        // headers, not the whole file (a re-push with every blob in the registry waits on this).
        let iter = archive
            .entries_with_seek()
            .map_err(|e| ImageError::invalid(path.display(), format!("not a tar archive: {e}")))?;
        for entry in iter {
            let entry = entry.map_err(|e| {
                ImageError::invalid(path.display(), format!("broken tar entry: {e}"))
            })?;
            if !entry.header().entry_type().is_file() {
                continue;
            }
            let name = entry
                .path()
                .map_err(|e| ImageError::invalid(path.display(), format!("bad entry name: {e}")))?
                .to_string_lossy()
                .trim_start_matches("./")
                .to_string();
            entries.insert(name, (entry.raw_file_position(), entry.size()));
        }
        Ok(TarIndex {
            path: path.to_path_buf(),
            entries,
        })
    }

    pub fn blob(&self, name: &str) -> Option<BlobFile> {
        let name = name.trim_start_matches("./");
        self.entries.get(name).map(|&(offset, len)| BlobFile {
            path: self.path.clone(),
            offset,
            len,
        })
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name.trim_start_matches("./"))
    }

    /// Reads a small file of the archive (JSON metadata).
    pub fn read_small(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let blob = self
            .blob(name)
            .ok_or_else(|| ImageError::invalid(self.path.display(), format!("has no `{name}`")))?;
        if blob.len > MAX_METADATA_BYTES {
            return Err(ImageError::invalid(
                self.path.display(),
                format!("`{name}` is {} bytes, too large for metadata", blob.len),
            ));
        }
        let mut bytes = Vec::with_capacity(blob.len as usize);
        blob.open_blocking()
            .and_then(|mut r| r.read_to_end(&mut bytes))
            .map_err(ImageError::io(self.path.display()))?;
        Ok(bytes)
    }
}
