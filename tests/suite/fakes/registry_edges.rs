//! How the registry client copes with what ECR really does, on a scripted registry (wiremock):
//! PATCH answered 201 instead of 202, parts of at least 5 MiB, a one-shot PUT refused with 413
//! (fall back to parts), 429 and 503 answered with retries.

use crate::common;

use std::sync::Arc;

use shipit::image::compress::Watcher;
use shipit::image::{Compression, ReadOptions, SourceRef};
use shipit::registry::Repository;
use shipit::registry::early_upload::EarlyUploads;
use shipit::registry::push::{MIN_CHUNK, PushOptions, Silent};
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MIB: usize = 1024 * 1024;

struct Fixture {
    server: MockServer,
    runtime: tokio::runtime::Runtime,
    image: shipit::image::Image,
    _dirs: (tempfile::TempDir, tempfile::TempDir),
}

/// A registry that has nothing yet, and an image with one layer of `layer_bytes` of noise.
fn fixture(layer_bytes: usize) -> Fixture {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(MockServer::start());
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    common::images::oci_layout(
        &dir.path().join("layout"),
        &[common::images::noise(layer_bytes, 42)],
        "v1",
        "edges",
    );
    let options = ReadOptions {
        compression: Compression::Gzip,
        architecture: "amd64".into(),
        cache_dir: cache.path().to_path_buf(),
        watcher: None,
    };
    let source = SourceRef::parse(&format!("oci:{}", dir.path().join("layout").display())).unwrap();
    let image = runtime
        .block_on(shipit::image::read(&source, &options))
        .unwrap()
        .image;
    runtime.block_on(async {
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&server)
            .await;
        Mock::given(method("HEAD"))
            .and(path_regex("^/v2/app/(blobs|manifests)/.*"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/app/blobs/uploads/"))
            .respond_with(
                ResponseTemplate::new(202)
                    .insert_header("Location", "/v2/app/blobs/uploads/session-1"),
            )
            .mount(&server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/v2/app/manifests/v1"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&server)
            .await;
    });
    Fixture {
        server,
        runtime,
        image,
        _dirs: (dir, cache),
    }
}

fn push(f: &Fixture, options: PushOptions) -> Result<shipit::registry::push::PushReport, String> {
    let base = url::Url::parse(&f.server.uri()).unwrap();
    let mut repo = Repository::new(base, "app", None).unwrap();
    repo.retry.base_delay = std::time::Duration::from_millis(10);
    let repo = Arc::new(repo);
    f.runtime.block_on(async {
        repo.login().await.map_err(|e| e.to_string())?;
        shipit::registry::push::push(&repo, &f.image, "v1", &options, Arc::new(Silent))
            .await
            .map_err(|e| e.to_string())
    })
}

fn requests(f: &Fixture, verb: &str) -> Vec<Request> {
    f.runtime
        .block_on(f.server.received_requests())
        .unwrap()
        .into_iter()
        .filter(|r| r.method.as_str() == verb)
        .collect()
}

fn header(r: &Request, name: &str) -> String {
    r.headers
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn ecr_style_201_on_patch_is_accepted_and_parts_are_at_least_5_mib() {
    let f = fixture(12 * MIB);
    f.runtime.block_on(async {
        // ECR answers 201 where the distribution spec says 202.
        Mock::given(method("PATCH"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .respond_with(
                ResponseTemplate::new(201)
                    .insert_header("Location", "/v2/app/blobs/uploads/session-1"),
            )
            .mount(&f.server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .and(query_param(
                "digest",
                f.image.layers[0].descriptor.digest.as_str(),
            ))
            .respond_with(ResponseTemplate::new(201))
            .mount(&f.server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .and(query_param(
                "digest",
                f.image.config.descriptor.digest.as_str(),
            ))
            .respond_with(ResponseTemplate::new(201))
            .mount(&f.server)
            .await;
    });
    let report = push(
        &f,
        PushOptions {
            chunk_size: Some(MIN_CHUNK),
            parallel: 1,
            ..PushOptions::default()
        },
    )
    .unwrap();
    assert_eq!(report.blobs_uploaded, 2);

    let layer_size = f.image.layers[0].descriptor.size as usize;
    let patches: Vec<(String, usize)> = requests(&f, "PATCH")
        .iter()
        .map(|r| (header(r, "content-range"), r.body.len()))
        .filter(|(_, len)| *len > 4096) // the config is one small part
        .collect();
    let five = 5 * MIB;
    assert_eq!(
        patches,
        vec![
            (format!("0-{}", five - 1), five),
            (format!("{five}-{}", 2 * five - 1), five),
            (
                format!("{}-{}", 2 * five, layer_size - 1),
                layer_size - 2 * five
            ),
        ]
    );
    // The manifest went last, after every blob.
    let puts = requests(&f, "PUT");
    assert_eq!(puts.last().unwrap().url.path(), "/v2/app/manifests/v1");
}

#[test]
fn a_refused_one_shot_upload_falls_back_to_parts() {
    let f = fixture(6 * MIB);
    f.runtime.block_on(async {
        // One-shot PUTs (with a body) are too large; the closing PUT of a chunked upload is fine.
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .and(|r: &Request| !r.body.is_empty())
            .respond_with(ResponseTemplate::new(413))
            .mount(&f.server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&f.server)
            .await;
        Mock::given(method("PATCH"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .respond_with(ResponseTemplate::new(202))
            .mount(&f.server)
            .await;
    });
    let report = push(&f, PushOptions::default()).unwrap();
    assert_eq!(report.blobs_uploaded, 2);
    let patched: usize = requests(&f, "PATCH").iter().map(|r| r.body.len()).sum();
    let total = f.image.size() as usize;
    assert_eq!(patched, total, "every byte went up in parts after the 413");
}

#[test]
fn throttling_and_server_errors_are_retried_a_bounded_number_of_times() {
    let f = fixture(64 * 1024);
    f.runtime.block_on(async {
        // The first two upload starts are throttled, then the registry recovers.
        Mock::given(method("POST"))
            .and(path("/v2/app/blobs/uploads/"))
            .respond_with(ResponseTemplate::new(429))
            .up_to_n_times(2)
            .with_priority(1)
            .mount(&f.server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&f.server)
            .await;
    });
    let report = push(
        &f,
        PushOptions {
            parallel: 1,
            ..PushOptions::default()
        },
    )
    .unwrap();
    assert_eq!(report.blobs_uploaded, 2);

    // A registry that never recovers: the push gives up after the attempts, naming the status.
    let f = fixture(64 * 1024);
    f.runtime.block_on(async {
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .respond_with(ResponseTemplate::new(503))
            .mount(&f.server)
            .await;
    });
    let err = push(&f, PushOptions::default()).unwrap_err();
    assert!(err.contains("503"), "{err}");
    let attempts = requests(&f, "PUT")
        .iter()
        .filter(|r| r.url.path().contains("/blobs/uploads/"))
        .count();
    // 2 blobs x 5 attempts at most (the other blob may be stopped early).
    assert!((5..=10).contains(&attempts), "{attempts} upload attempts");
}

/// The monolithic uploads of both blobs (config and layer) succeed.
fn accept_uploads(f: &Fixture) {
    f.runtime.block_on(async {
        Mock::given(method("PUT"))
            .and(path("/v2/app/blobs/uploads/session-1"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&f.server)
            .await;
    });
}

#[test]
fn a_refused_mount_falls_back_to_an_upload() {
    let f = fixture(MIB);
    accept_uploads(&f);
    let layer = f.image.layers[0].descriptor.digest.clone();
    f.runtime.block_on(async {
        // ECR without BLOB_MOUNTING, or a source repository without a manifest naming the blob.
        Mock::given(method("POST"))
            .and(path("/v2/app/blobs/uploads/"))
            .and(query_param("mount", layer.as_str()))
            .respond_with(ResponseTemplate::new(404).set_body_string(
                r#"{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry"}]}"#,
            ))
            .with_priority(1)
            .mount(&f.server)
            .await;
    });
    let options = PushOptions {
        mount_sources: [(layer.clone(), "other".to_string())].into_iter().collect(),
        ..PushOptions::default()
    };
    let report = push(&f, options).unwrap();
    assert_eq!((report.blobs_mounted, report.blobs_uploaded), (0, 2));
    let posts = requests(&f, "POST");
    assert!(
        posts
            .iter()
            .any(|r| r.url.query().unwrap_or("").contains("mount="))
    );
    assert!(
        posts.iter().any(|r| r.url.query().is_none()),
        "a plain upload followed"
    );
}

#[test]
fn an_immutable_tag_refused_because_a_concurrent_push_put_the_same_image_is_success() {
    let f = fixture(MIB);
    accept_uploads(&f);
    let digest = f.image.digest();
    f.runtime.block_on(async {
        // Before the push the tag names nothing; after the refused PUT, this very image.
        Mock::given(method("HEAD"))
            .and(path("/v2/app/manifests/v1"))
            .respond_with(ResponseTemplate::new(404))
            .up_to_n_times(1)
            .with_priority(1)
            .mount(&f.server)
            .await;
        Mock::given(method("HEAD"))
            .and(path("/v2/app/manifests/v1"))
            .respond_with(
                ResponseTemplate::new(200).insert_header("Docker-Content-Digest", digest.as_str()),
            )
            .with_priority(2)
            .mount(&f.server)
            .await;
        Mock::given(method("PUT"))
            .and(path("/v2/app/manifests/v1"))
            .respond_with(ResponseTemplate::new(400).set_body_string(
                r#"{"errors":[{"code":"TAG_INVALID","message":"The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the repository is immutable."}]}"#,
            ))
            .with_priority(1)
            .mount(&f.server)
            .await;
    });
    let options = PushOptions {
        immutable: true,
        ..PushOptions::default()
    };
    let report = push(&f, options).unwrap();
    assert_eq!(report.digest, digest);
}

#[test]
fn a_registry_that_refuses_parts_sent_while_compressing_gets_the_layer_after_the_compression() {
    // The fixture's registry; its image is not used: this one is read from a docker archive,
    // whose layer is compressed (and sent while compressed) by the read.
    let f = fixture(1024);
    f.runtime.block_on(async {
        Mock::given(method("PATCH"))
            .respond_with(ResponseTemplate::new(405))
            .mount(&f.server)
            .await;
        Mock::given(method("DELETE"))
            .respond_with(ResponseTemplate::new(204))
            .mount(&f.server)
            .await;
    });
    accept_uploads(&f);
    let dir = tempfile::tempdir().unwrap();
    let text: Vec<u8> = "a layer the source holds uncompressed\n"
        .repeat(20_000)
        .into_bytes();
    common::images::docker_archive(&dir.path().join("app.tar"), &[text], "app:1", "edges");
    let base = url::Url::parse(&f.server.uri()).unwrap();
    let repo = Arc::new(Repository::new(base, "app", None).unwrap());
    let (report, image) = f.runtime.block_on(async {
        repo.login().await.unwrap();
        let uploads = EarlyUploads::new(MIN_CHUNK, 4);
        uploads.start(repo.clone());
        let options = ReadOptions {
            compression: Compression::Gzip,
            architecture: "amd64".into(),
            cache_dir: dir.path().join("cache"),
            watcher: Some(Watcher(uploads.clone())),
        };
        let source = SourceRef::parse(&format!(
            "docker-archive:{}",
            dir.path().join("app.tar").display()
        ))
        .unwrap();
        let image = shipit::image::read(&source, &options).await.unwrap().image;
        let uploaded_early = uploads.finish().await;
        assert!(uploaded_early.is_empty(), "the part was refused");
        let options = PushOptions {
            uploaded_early,
            ..PushOptions::default()
        };
        let report = shipit::registry::push::push(&repo, &image, "v1", &options, Arc::new(Silent))
            .await
            .unwrap();
        (report, image)
    });
    assert_eq!(requests(&f, "PATCH").len(), 1, "the one part, refused");
    assert_eq!(
        requests(&f, "DELETE").len(),
        0,
        "refused, so nothing to cancel"
    );
    assert_eq!(report.blobs_uploaded, 2, "config and layer");
    assert_eq!(report.blobs_uploaded_while_compressed, 0);
    // The layer went up afterwards, whole, in one PUT with its digest.
    let layer = &image.layers[0].descriptor;
    let sent = requests(&f, "PUT").into_iter().any(|r| {
        r.body.len() as u64 == layer.size
            && r.url
                .query()
                .unwrap_or_default()
                .contains(layer.digest.hex())
    });
    assert!(sent, "the layer was sent again after its compression");
}
