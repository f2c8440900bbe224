//! Test images made here, without a Docker engine: OCI layouts (compressed layers) and
//! classic `docker save` archives (uncompressed layers), from file contents the test chooses.

#![allow(dead_code)]

use std::io::Write;
use std::path::Path;

use sha2::{Digest as _, Sha256};

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Random bytes that do not compress (so sizes stay predictable).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..len).map(|_| rng.u8(..)).collect()
}

/// A layer tar holding one file.
pub fn layer_tar(file_name: &str, contents: &[u8]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(contents.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_cksum();
    builder
        .append_data(&mut header, file_name, contents)
        .unwrap();
    builder.into_inner().unwrap()
}

/// One entry of a layer made by `fs_layer`.
pub enum TarEntry<'a> {
    /// Path, mode, contents.
    File(&'a str, u32, &'a [u8]),
    /// Path, target.
    Symlink(&'a str, &'a str),
}

/// A layer tar with the files and symlinks given (a small root file system).
pub fn fs_layer(entries: &[TarEntry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        match entry {
            TarEntry::File(path, mode, contents) => {
                header.set_size(contents.len() as u64);
                header.set_mode(*mode);
                header.set_entry_type(tar::EntryType::Regular);
                builder.append_data(&mut header, path, *contents).unwrap();
            }
            TarEntry::Symlink(path, target) => {
                header.set_size(0);
                header.set_mode(0o777);
                header.set_entry_type(tar::EntryType::Symlink);
                builder.append_link(&mut header, path, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn config_json(diff_ids: &[String], marker: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": { "Cmd": ["/bin/sh"], "Labels": { "test.marker": marker } },
        "rootfs": { "type": "layers", "diff_ids": diff_ids },
        "history": []
    }))
    .unwrap()
}

fn write_blob(dir: &Path, bytes: &[u8]) -> (String, u64) {
    let digest = sha256(bytes);
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&digest["sha256:".len()..]), bytes).unwrap();
    (digest, bytes.len() as u64)
}

/// Writes an OCI layout with gzip layers (one per entry of `layers`), tagged `reference`.
/// Returns the manifest digest: the image's digest wherever it is pushed unchanged.
pub fn oci_layout(dir: &Path, layers: &[Vec<u8>], reference: &str, marker: &str) -> String {
    let tars: Vec<Vec<u8>> = layers
        .iter()
        .enumerate()
        .map(|(i, contents)| layer_tar(&format!("file{i}"), contents))
        .collect();
    oci_layout_of_tars(dir, &tars, reference, marker)
}

/// The same from whole layer tars (`fs_layer`).
pub fn oci_layout_of_tars(dir: &Path, tars: &[Vec<u8>], reference: &str, marker: &str) -> String {
    std::fs::create_dir_all(dir).unwrap();
    let mut diff_ids = Vec::new();
    let mut descriptors = Vec::new();
    for tar in tars {
        diff_ids.push(sha256(tar));
        let (digest, size) = write_blob(dir, &gzip(tar));
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": digest,
            "size": size
        }));
    }
    let (config_digest, config_size) = write_blob(dir, &config_json(&diff_ids, marker));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": config_size
        },
        "layers": descriptors
    }))
    .unwrap();
    let (manifest_digest, manifest_size) = write_blob(dir, &manifest);
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": manifest_size,
                "annotations": { "org.opencontainers.image.ref.name": reference }
            }]
        }))
        .unwrap(),
    )
    .unwrap();
    manifest_digest
}

/// Writes a classic `docker save` archive (uncompressed layer tars, manifest.json).
pub fn docker_archive(path: &Path, layers: &[Vec<u8>], repo_tag: &str, marker: &str) {
    docker_archive_with(path, layers, repo_tag, marker, false);
}

/// The same with gzip layers, as an engine with the containerd image store exports them.
pub fn docker_archive_gzip(path: &Path, layers: &[Vec<u8>], repo_tag: &str, marker: &str) {
    docker_archive_with(path, layers, repo_tag, marker, true);
}

/// Packs a directory (an OCI layout) into an uncompressed tar: an `oci-archive:`.
pub fn tar_dir(dir: &Path, archive: &Path) {
    let mut builder = tar::Builder::new(std::fs::File::create(archive).unwrap());
    builder.append_dir_all(".", dir).unwrap();
    builder.into_inner().unwrap().flush().unwrap();
}

fn docker_archive_with(
    path: &Path,
    layers: &[Vec<u8>],
    repo_tag: &str,
    marker: &str,
    compressed: bool,
) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    let mut append = |name: &str, bytes: &[u8]| {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, name, bytes).unwrap();
    };
    let mut diff_ids = Vec::new();
    let mut layer_paths = Vec::new();
    for (i, contents) in layers.iter().enumerate() {
        let tar = layer_tar(&format!("file{i}"), contents);
        diff_ids.push(sha256(&tar));
        let name = format!("{i:064}/layer.tar");
        if compressed {
            append(&name, &gzip(&tar));
        } else {
            append(&name, &tar);
        }
        layer_paths.push(name);
    }
    let config = config_json(&diff_ids, marker);
    let config_name = format!("{}.json", &sha256(&config)["sha256:".len()..]);
    append(&config_name, &config);
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": [repo_tag],
        "Layers": layer_paths
    }]))
    .unwrap();
    append("manifest.json", &manifest);
    builder.into_inner().unwrap().flush().unwrap();
}
