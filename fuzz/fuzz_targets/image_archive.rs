//! Any bytes read as a `docker save` archive or an OCI archive end in an image or an error,
//! never in a panic: the tar index, manifest.json, index.json, the image config and its
//! diff_ids all come from the archive.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shipit::image::{Compression, ReadOptions, SourceRef};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("image.tar");
    std::fs::write(&path, data).unwrap();
    let options = ReadOptions {
        compression: Compression::Gzip,
        architecture: "amd64".to_string(),
        cache_dir: dir.path().join("cache"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for source in [
        SourceRef::DockerArchive { path: path.clone() },
        SourceRef::OciArchive { path: path.clone() },
    ] {
        let _ = runtime.block_on(shipit::image::read(&source, &options));
    }
});
