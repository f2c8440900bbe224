//! `shipit push` against real parts: the local stack's ECR and registry, Debian's
//! docker-registry with htpasswd, skopeo for round trips, the machine's Docker engine, and a
//! proxy that cuts uploads mid-blob.

use crate::common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use crate::common::images::{docker_archive, docker_archive_gzip, noise, oci_layout, tar_dir};
use crate::common::{
    Run, ecr_client, push_config, require_docker, require_stack, run, shipit_on_stack, unique_name,
};

const MIB: usize = 1024 * 1024;

/// Runs `shipit push --output json` in `dir` with its own cache; returns the run and its JSON.
fn push(dir: &Path, cache: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    let out = run(shipit_on_stack(dir)
        .env("SHIPIT_CACHE_DIR", cache)
        .args(["push", "--output", "json"])
        .args(extra));
    let doc = serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, doc)
}

fn skopeo_digest(reference: &str, creds: Option<&str>) -> String {
    let mut cmd = Command::new("skopeo");
    cmd.args(["inspect", "--format", "{{.Digest}}"]);
    if reference.starts_with("docker://") {
        cmd.arg("--tls-verify=false");
    }
    if let Some(creds) = creds {
        cmd.args(["--creds", creds]);
    }
    let out = cmd
        .arg(reference)
        .output()
        .expect("skopeo runs (apt-get install skopeo)");
    assert!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn host_of_endpoint() -> String {
    let url = url::Url::parse(&common::endpoint()).unwrap();
    format!(
        "{}:{}",
        url.host_str().unwrap(),
        url.port_or_known_default().unwrap()
    )
}

#[test]
fn an_oci_layout_is_pushed_as_is_and_a_re_push_uploads_nothing() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("oci");
    let digest = oci_layout(
        &dir.path().join("layout"),
        &[noise(MIB, 1), noise(MIB / 2, 2)],
        "v1",
        &name,
    );
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "oci:layout:v1", "t1"),
    )
    .unwrap();

    let (out, doc) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(
        doc["digest"],
        digest.as_str(),
        "the manifest is pushed byte for byte"
    );
    assert_eq!(doc["blobs_uploaded"], 3);
    assert_eq!(doc["layers"], 2);
    assert_eq!(doc["repository"]["created"], true);
    assert_eq!(
        doc["image"],
        format!("{}/{name}@{digest}", host_of_endpoint()).as_str()
    );

    // ECR itself knows the image under the tag, and the repository has the config's settings.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecr = ecr_client(&runtime);
    let images = runtime
        .block_on(
            ecr.describe_images()
                .repository_name(&name)
                .image_ids(
                    aws_sdk_ecr::types::ImageIdentifier::builder()
                        .image_tag("t1")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(
        images.image_details()[0].image_digest(),
        Some(digest.as_str())
    );
    let got = runtime
        .block_on(
            ecr.batch_get_image()
                .repository_name(&name)
                .image_ids(
                    aws_sdk_ecr::types::ImageIdentifier::builder()
                        .image_tag("t1")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(
        got.images()[0].image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    let repo = runtime
        .block_on(ecr.describe_repositories().repository_names(&name).send())
        .unwrap();
    let repo = &repo.repositories()[0];
    assert_eq!(repo.image_tag_mutability().unwrap().as_str(), "IMMUTABLE");
    assert!(repo.image_scanning_configuration().unwrap().scan_on_push());
    assert_eq!(
        repo.encryption_configuration()
            .unwrap()
            .encryption_type()
            .as_str(),
        "AES256"
    );

    // skopeo reads back the same digest.
    assert_eq!(
        skopeo_digest(&format!("docker://{}/{name}:t1", host_of_endpoint()), None),
        digest
    );

    // The same tag again: a no-op that uploads nothing.
    let (out, doc) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["unchanged"], true, "{}", out.dump());
    assert_eq!(doc["blobs_uploaded"], 0);
    assert_eq!(doc["bytes_uploaded"], 0);
    assert_eq!(doc["repository"]["created"], false);

    // A new tag for the same image: every blob is already there.
    let (out, doc) = push(dir.path(), cache.path(), &["--tag", "t2"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["unchanged"], false);
    assert_eq!(doc["blobs_existing"], 3);
    assert_eq!(doc["blobs_uploaded"], 0);

    // As a GitHub Actions step: the image by digest in the step outputs.
    let gh = tempfile::tempdir().unwrap();
    let out = run(shipit_on_stack(dir.path())
        .env("SHIPIT_CACHE_DIR", cache.path())
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", gh.path().join("output"))
        .args(["push", "--tag", "t2"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(
        std::fs::read_to_string(gh.path().join("output")).unwrap(),
        format!(
            "image-uri={}/{name}@{digest}\nimage-digest={digest}\nresult=unchanged\n",
            host_of_endpoint()
        )
    );
}

#[test]
fn two_first_pushes_to_one_new_repository_at_once_both_succeed() {
    if !require_stack() {
        return;
    }
    // Two services of one repository, deployed together for the first time: each reads "no
    // repository" and creates it; the create that loses the race is success, not an error.
    let dir = tempfile::tempdir().unwrap();
    oci_layout(&dir.path().join("a"), &[noise(16 * 1024, 5)], "v1", "a");
    oci_layout(&dir.path().join("b"), &[noise(16 * 1024, 6)], "v1", "b");
    for round in 0..3 {
        let name = unique_name("race");
        let children: Vec<_> = ["a", "b"]
            .iter()
            .map(|which| {
                let work = dir.path().join(format!("{which}-{round}"));
                std::fs::create_dir_all(&work).unwrap();
                std::fs::write(
                    work.join("deploy.yaml"),
                    push_config(
                        &name,
                        &format!("oci:../{which}"),
                        &format!("{which}-{round}"),
                    ),
                )
                .unwrap();
                let cache = dir.path().join(format!("cache-{which}-{round}"));
                shipit_on_stack(&work)
                    .env("SHIPIT_CACHE_DIR", &cache)
                    .arg("push")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn a_layer_whose_bytes_do_not_match_its_digest_is_refused_before_the_repository_is_made() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("corrupt");
    oci_layout(
        &dir.path().join("layout"),
        &[noise(32 * 1024, 9)],
        "v1",
        "c",
    );
    // Flip one byte of the layer blob (the largest file), keeping its size.
    let blobs = dir.path().join("layout/blobs/sha256");
    let layer = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&layer).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&layer, bytes).unwrap();
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "oci:layout", "v1"),
    )
    .unwrap();
    let (out, _) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains("does not match its digest"),
        "{}",
        out.dump()
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ecr = ecr_client(&rt);
    let found = rt.block_on(ecr.describe_repositories().repository_names(&name).send());
    assert!(found.is_err(), "nothing was created: {found:?}");
}

#[test]
fn tags_named_in_mutable_tags_move_while_release_tags_stay_fixed() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("exclusion");
    let first = oci_layout(&dir.path().join("a"), &[noise(16 * 1024, 11)], "v1", "a");
    let second = oci_layout(&dir.path().join("b"), &[noise(16 * 1024, 12)], "v1", "b");
    let calls = dir.path().join("calls.jsonl");
    let config = |tag: &str| {
        format!(
            "{}repository:\n  mutable_tags: [latest, 'dev-*']\n",
            push_config(&name, "oci:a", tag)
        )
    };
    let push_as = |tag: &str, source: &str| {
        std::fs::write(dir.path().join("deploy.yaml"), config(tag)).unwrap();
        run(shipit_on_stack(dir.path())
            .env("SHIPIT_CACHE_DIR", cache.path())
            .env("SHIPIT_RECORD_AWS_CALLS", &calls)
            .args(["push", "--output", "json", "--source", source]))
    };
    // `latest` moves from one image to the next...
    assert_eq!(push_as("latest", "oci:a").code, Some(0));
    let moved = push_as("latest", "oci:b");
    assert_eq!(moved.code, Some(0), "{}", moved.dump());
    // ...a release tag does not.
    assert_eq!(push_as("release-1", "oci:a").code, Some(0));
    let refused = push_as("release-1", "oci:b");
    assert_eq!(refused.code, Some(1), "{}", refused.dump());
    for wanted in ["tag `release-1` already names image ", &first, &second] {
        assert!(
            refused.stderr.contains(wanted),
            "{wanted}\n{}",
            refused.dump()
        );
    }
    // The repository was made IMMUTABLE_WITH_EXCLUSION with both filters, as ECR takes them.
    let recorded = std::fs::read_to_string(&calls).unwrap();
    let create = recorded
        .lines()
        .find(|l| l.contains("\"CreateRepository\""))
        .expect("CreateRepository was recorded");
    assert!(
        create.contains("\"imageTagMutability\":\"IMMUTABLE_WITH_EXCLUSION\"")
            && create.contains(
                "\"imageTagMutabilityExclusionFilters\":[{\"filterType\":\"WILDCARD\",\"filter\":\"latest\"},{\"filterType\":\"WILDCARD\",\"filter\":\"dev-*\"}]"
            ),
        "{create}"
    );
    let checked = common::check_aws_calls(&calls, None);
    assert_eq!(checked.code, Some(0), "{}", checked.dump());
}

#[test]
fn another_image_under_an_immutable_tag_is_refused_naming_both_digests() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("conflict");
    let first = oci_layout(&dir.path().join("a"), &[noise(64 * 1024, 3)], "v1", "a");
    let second = oci_layout(&dir.path().join("b"), &[noise(64 * 1024, 4)], "v1", "b");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "oci:a", "release-1"),
    )
    .unwrap();
    let (out, _) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());

    let (out, doc) = push(dir.path(), cache.path(), &["--source", "oci:b"]);
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert_eq!(doc["ok"], false);
    for wanted in [
        "tag `release-1` already names image ",
        first.as_str(),
        second.as_str(),
        "Push under a new tag",
    ] {
        assert!(
            out.stderr.contains(wanted),
            "wanted `{wanted}`\n{}",
            out.dump()
        );
    }
}

#[test]
fn a_docker_archive_is_compressed_once_in_gzip_or_zstd_and_reads_back_intact() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("archive");
    // Text compresses: the pushed layers must be smaller than the tars.
    let text: Vec<u8> = "shipit pushes layers compressed\n"
        .repeat(40_000)
        .into_bytes();
    docker_archive(
        &dir.path().join("app.tar"),
        &[text.clone(), noise(256 * 1024, 5)],
        "app:1",
        &name,
    );
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "docker-archive:app.tar", "gz"),
    )
    .unwrap();
    let (out, doc) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["layers_compressed"], 2);
    assert!(
        doc["size"].as_u64().unwrap() < text.len() as u64,
        "{}",
        out.dump()
    );
    let digest = doc["digest"].as_str().unwrap().to_string();

    // Round trip: skopeo copies the pushed image out and it has the same digest.
    let copy = dir.path().join("copy");
    let status = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--preserve-digests"])
        .arg(format!("docker://{}/{name}:gz", host_of_endpoint()))
        .arg(format!("oci:{}:gz", copy.display()))
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(
        skopeo_digest(&format!("oci:{}:gz", copy.display()), None),
        digest
    );

    // Pushing it again under another tag recompresses nothing (the cache answers).
    let (out, doc) = push(dir.path(), cache.path(), &["--tag", "gz2"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["digest"], digest.as_str());
    assert_eq!(doc["blobs_uploaded"], 0);

    // zstd: other layer blobs, zstd media types.
    let (out, doc) = push(
        dir.path(),
        cache.path(),
        &["--tag", "zst", "--compression", "zstd"],
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_ne!(doc["digest"], digest.as_str());
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{}/{name}:zst", host_of_endpoint()))
        .output()
        .unwrap();
    let manifest: serde_json::Value = serde_json::from_slice(&raw.stdout).unwrap();
    for layer in manifest["layers"].as_array().unwrap() {
        assert_eq!(
            layer["mediaType"],
            "application/vnd.oci.image.layer.v1.tar+zstd"
        );
    }
}

#[test]
fn an_oci_archive_and_a_containerd_style_docker_archive_push_their_layers_as_they_are() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("archives");
    let layout = dir.path().join("layout");
    let digest = oci_layout(&layout, &[noise(MIB, 12), noise(MIB / 4, 13)], "v1", &name);
    tar_dir(&layout, &dir.path().join("app.oci.tar"));
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "oci-archive:app.oci.tar", "oci-archive"),
    )
    .unwrap();
    let (out, doc) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(
        doc["digest"],
        digest.as_str(),
        "the archive's manifest, byte for byte"
    );
    assert_eq!(doc["layers_compressed"], 0);

    // Layers already gzip-compressed in a docker save archive: pushed as they are.
    docker_archive_gzip(
        &dir.path().join("containerd.tar"),
        &[noise(MIB / 2, 14), noise(MIB / 2, 15)],
        "app:2",
        &name,
    );
    let (out, doc) = push(
        dir.path(),
        cache.path(),
        &[
            "--source",
            "docker-archive:containerd.tar",
            "--tag",
            "containerd",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["layers_compressed"], 0, "{}", out.dump());
    assert_eq!(doc["blobs_uploaded"], 3);
    let pushed = doc["digest"].as_str().unwrap();
    assert_eq!(
        skopeo_digest(
            &format!("docker://{}/{name}:containerd", host_of_endpoint()),
            None
        ),
        pushed
    );
}

#[test]
fn blobs_known_in_another_repository_are_mounted_not_uploaded() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let first = unique_name("mount-a");
    let second = unique_name("mount-b");
    oci_layout(
        &dir.path().join("layout"),
        &[noise(MIB, 6), noise(MIB, 7)],
        "v1",
        "m",
    );
    std::fs::write(
        dir.path().join("a.yaml"),
        push_config(&first, "oci:layout", "v1"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.yaml"),
        push_config(&second, "oci:layout", "v1"),
    )
    .unwrap();
    let (out, _) = push(dir.path(), cache.path(), &["-c", "a.yaml"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let (out, doc) = push(dir.path(), cache.path(), &["-c", "b.yaml"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["blobs_mounted"], 3, "{}", out.dump());
    assert_eq!(doc["bytes_uploaded"], 0);
}

#[test]
fn an_existing_repository_is_brought_in_line_and_encryption_differences_are_refused() {
    if !require_stack() {
        return;
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecr = ecr_client(&runtime);
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("existing");
    runtime
        .block_on(
            ecr.create_repository()
                .repository_name(&name)
                .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Mutable)
                .send(),
        )
        .unwrap();
    oci_layout(&dir.path().join("layout"), &[noise(1024, 8)], "v1", "e");
    let config = push_config(&name, "oci:layout", "v1") + "repository:\n  keep_last: 30\n";
    std::fs::write(dir.path().join("deploy.yaml"), config).unwrap();
    let (out, doc) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let changed: Vec<String> = doc["repository"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            format!(
                "{} {}: {} -> {}",
                c["operation"].as_str().unwrap(),
                c["field"].as_str().unwrap(),
                c["current"].as_str().unwrap_or("(none)"),
                c["wanted"].as_str().unwrap_or("(none)")
            )
        })
        .collect();
    assert_eq!(
        changed,
        vec![
            "PutImageTagMutability tag_mutability: MUTABLE -> IMMUTABLE",
            "PutImageScanningConfiguration scan_on_push: false -> true",
            "PutLifecyclePolicy lifecycle_policy: (none) -> keep the last 30 images"
        ]
    );
    // What it printed, as people read it.
    assert!(
        out.stderr.contains(&format!(
            "repository {name}: ~ tag_mutability: MUTABLE -> IMMUTABLE"
        )),
        "{}",
        out.dump()
    );
    let policy = runtime
        .block_on(ecr.get_lifecycle_policy().repository_name(&name).send())
        .unwrap();
    let policy: serde_json::Value =
        serde_json::from_str(policy.lifecycle_policy_text().unwrap()).unwrap();
    assert_eq!(policy["rules"][0]["selection"]["countNumber"], 30);

    // Nothing to change the second time.
    let (_, doc) = push(dir.path(), cache.path(), &[]);
    assert_eq!(doc["repository"]["changes"], serde_json::json!([]));

    // ECR cannot re-encrypt: a clear error, before anything is pushed.
    let kms = push_config(&name, "oci:layout", "v2")
        + "repository:\n  encryption: KMS\n  kms_key: alias/shipit\n";
    std::fs::write(dir.path().join("deploy.yaml"), kms).unwrap();
    let (out, _) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        out.stderr
            .contains("is encrypted with AES256, but deploy.yaml asks for KMS")
            && out
                .stderr
                .contains("cannot change a repository's encryption"),
        "{}",
        out.dump()
    );
}

#[test]
fn an_upload_cut_mid_blob_is_retried_and_completes_with_the_right_digest() {
    if !require_stack() {
        return;
    }
    let upstream = common::endpoint_addr();
    // Cut the first two connections that carry more than 1 MiB: the blob uploads.
    let proxy = common::proxy::CuttingProxy::start(upstream, MIB as u64, 2);
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("cut");
    let digest = oci_layout(&dir.path().join("layout"), &[noise(3 * MIB, 9)], "v1", "c");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "oci:layout", "v1"),
    )
    .unwrap();
    let (out, doc) = push(dir.path(), cache.path(), &["--registry-url", &proxy.url]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(proxy.cuts_done.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert!(
        out.stderr.contains("retry 1: "),
        "the retry is shown\n{}",
        out.dump()
    );
    assert_eq!(doc["digest"], digest.as_str());
    assert_eq!(
        skopeo_digest(&format!("docker://{}/{name}:v1", host_of_endpoint()), None),
        digest
    );
}

#[test]
fn layers_are_uploaded_while_they_are_compressed_where_the_repository_exists() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("early");
    // A first image creates the repository (nothing can be uploaded before it exists).
    oci_layout(&dir.path().join("layout"), &[noise(1024, 3)], "v1", "e");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "oci:layout", "base"),
    )
    .unwrap();
    let (out, doc) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["blobs_uploaded_while_compressed"], 0, "{}", out.dump());

    // Then a docker archive: 12 MiB that does not compress (3 parts of 5 MiB, the last
    // short) and a layer of text, both sent while compressed and completed by the push.
    let text: Vec<u8> = "sent while it is compressed\n".repeat(50_000).into_bytes();
    docker_archive(
        &dir.path().join("app.tar"),
        &[noise(12 * MIB, 21), text],
        "app:1",
        &name,
    );
    let (out, doc) = push(
        dir.path(),
        cache.path(),
        &[
            "--source",
            "docker-archive:app.tar",
            "--tag",
            "v1",
            "--chunk-size",
            "5",
        ],
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["layers_compressed"], 2);
    assert_eq!(
        doc["blobs_uploaded"],
        3,
        "config and two layers: {}",
        out.dump()
    );
    assert_eq!(doc["blobs_uploaded_while_compressed"], 2, "{}", out.dump());
    let digest = doc["digest"].as_str().unwrap().to_string();

    // What the registry holds reads back whole: skopeo copies it out, checking every digest.
    let copy = dir.path().join("copy");
    let copied = Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--preserve-digests"])
        .arg(format!("docker://{}/{name}:v1", host_of_endpoint()))
        .arg(format!("oci:{}:v1", copy.display()))
        .output()
        .unwrap();
    assert!(
        copied.status.success(),
        "{}",
        String::from_utf8_lossy(&copied.stderr)
    );
    assert_eq!(
        skopeo_digest(&format!("oci:{}:v1", copy.display()), None),
        digest
    );

    // The layers are in the cache now: a push under another tag compresses nothing, so
    // nothing is sent early, and every blob is already there.
    let (out, doc) = push(
        dir.path(),
        cache.path(),
        &["--source", "docker-archive:app.tar", "--tag", "v2"],
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["digest"].as_str(), Some(digest.as_str()));
    assert_eq!(doc["blobs_uploaded"], 0, "{}", out.dump());
}

#[test]
fn chunked_uploads_use_parts_of_at_least_five_mib() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("chunked");
    let digest = oci_layout(
        &dir.path().join("layout"),
        &[noise(12 * MIB, 10)],
        "v1",
        "k",
    );
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "oci:layout", "v1"),
    )
    .unwrap();
    let (out, doc) = push(dir.path(), cache.path(), &["--chunk-size", "5"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["digest"], digest.as_str());
    assert_eq!(
        skopeo_digest(&format!("docker://{}/{name}:v1", host_of_endpoint()), None),
        digest
    );
    let out = run(shipit_on_stack(dir.path()).args(["push", "--chunk-size", "4"]));
    assert_eq!(
        out.code,
        Some(2),
        "parts under 5 MiB are refused\n{}",
        out.dump()
    );
}

#[test]
fn an_image_built_by_the_docker_engine_is_pushed_from_the_engine() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("engine");
    let pulled = common::PulledImages::of(&name);
    // busybox is over 1 MiB: its layer is compressed while the export streams by.
    let image = pulled.built(common::busybox_image(
        &format!("shipit-test-{name}:1"),
        "CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"5000\"]\n",
        &[],
    ));

    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, &format!("docker://{image}"), "v1"),
    )
    .unwrap();
    let (out, doc) = push(dir.path(), cache.path(), &["-vv"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stderr
            .contains("compressed while the export streamed layers=1"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr.contains("nothing spooled"),
        "the image is read from the cache the export filled: {}",
        out.dump()
    );
    assert_eq!(doc["layers"], 1);
    assert_eq!(doc["layers_compressed"], 1);
    let digest = doc["digest"].as_str().unwrap();
    assert_eq!(
        skopeo_digest(&format!("docker://{}/{name}:v1", host_of_endpoint()), None),
        digest
    );

    // The same image again under another tag: the cache holds its config and its compressed
    // layer, so the engine exports nothing, and the image is byte for byte the same.
    let again_doc = push_exporting_nothing(dir.path(), cache.path(), "v2", digest);
    assert_eq!(again_doc["layers_compressed"], 1);
    assert_eq!(again_doc["blobs_uploaded"], 0, "{again_doc}");

    // Without the cache's config (an older cache, or another architecture), it is exported
    // again and the layer found in the cache: again the same image.
    std::fs::remove_dir_all(cache.path().join("engine-configs")).unwrap();
    let (exported, exported_doc) = push(dir.path(), cache.path(), &["-vv", "--tag", "v3"]);
    assert_eq!(exported.code, Some(0), "{}", exported.dump());
    assert!(
        exported
            .stderr
            .contains("compressed while the export streamed layers=0"),
        "the cached layer is passed over: {}",
        exported.dump()
    );
    assert!(
        exported.stderr.contains("nothing spooled"),
        "{}",
        exported.dump()
    );
    assert_eq!(exported_doc["digest"].as_str(), Some(digest));
}

#[test]
fn an_engine_layer_passed_over_by_mistake_is_compressed_from_a_spooled_export() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("engine-spool");
    let pulled = common::PulledImages::of(&name);
    // Two layers of the same size (same file name length and file size): once the first is in
    // the cache, the streaming pass passes over the second too, as if it were the first.
    let same_size = 1024 * 1024 + 4096;
    let first = pulled.built(common::busybox_image(
        &format!("shipit-test-{name}:1"),
        "COPY a.txt /a.txt\n",
        &[("a.txt", &"a".repeat(same_size))],
    ));
    let context = tempfile::tempdir().unwrap();
    std::fs::write(context.path().join("b.txt"), "b".repeat(same_size)).unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        format!("FROM {first}\nCOPY b.txt /b.txt\n"),
    )
    .unwrap();
    let second = pulled.built(format!("shipit-test-{name}:2"));
    let built = Command::new("docker")
        .args(["build", "-q", "-t", &second])
        .arg(context.path())
        .output()
        .unwrap();
    assert!(
        built.status.success(),
        "{}",
        String::from_utf8_lossy(&built.stderr)
    );

    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let config = |image: &str| {
        std::fs::write(
            dir.path().join("deploy.yaml"),
            push_config(&name, &format!("docker://{image}"), "v1"),
        )
        .unwrap()
    };
    config(&first);
    let (out, _) = push(dir.path(), cache.path(), &["-vv"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());

    config(&second);
    let (out, doc) = push(dir.path(), cache.path(), &["-vv", "--tag", "v2"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stderr
            .contains("the export left layers to compress: exporting again, to a spool"),
        "{}",
        out.dump()
    );
    assert_eq!(doc["layers"], 3);
    let digest = doc["digest"].as_str().unwrap();
    assert_eq!(
        skopeo_digest(&format!("docker://{}/{name}:v2", host_of_endpoint()), None),
        digest,
        "every layer is in the registry, under the digests of the manifest"
    );

    // Every layer is cached now: the next push exports nothing and gives the same image.
    push_exporting_nothing(dir.path(), cache.path(), "v3", digest);
}

/// Pushes an engine image again under `tag`, with everything in the cache: nothing is
/// exported and the image is byte for byte the one pushed before (`digest`).
fn push_exporting_nothing(dir: &Path, cache: &Path, tag: &str, digest: &str) -> serde_json::Value {
    let (again, again_doc) = push(dir, cache, &["-vv", "--tag", tag]);
    assert_eq!(again.code, Some(0), "{}", again.dump());
    assert!(
        again.stderr.contains("nothing exported"),
        "{}",
        again.dump()
    );
    assert_eq!(again_doc["digest"].as_str(), Some(digest));
    again_doc
}

#[test]
fn a_missing_engine_image_is_named_with_the_fix() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let name = unique_name("noimage");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        push_config(&name, "docker://shipit-no-such-image:1", "v1"),
    )
    .unwrap();
    let (out, _) = push(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        out.stderr
            .contains("the engine has no image `shipit-no-such-image:1`: build it first"),
        "{}",
        out.dump()
    );
}

/// The registry client against a registry that wants a login (htpasswd), through the library.
#[test]
fn a_registry_behind_htpasswd_answers_the_challenge_and_refuses_wrong_credentials() {
    use shipit::image::{Compression, ReadOptions, SourceRef};
    use shipit::registry::push::{PushOptions, Silent};
    use shipit::registry::{Credentials, Repository, Secret};

    let registry = common::registry::LocalRegistry::start(Some(("alice", "s3cret-pass")));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let base = url::Url::parse(&registry.url).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let digest = oci_layout(&dir.path().join("layout"), &[noise(2 * MIB, 11)], "v1", "h");

    // No credentials: the 401 is explained.
    let anonymous = Repository::new(base.clone(), "team/app", None).unwrap();
    let err = runtime.block_on(anonymous.login()).unwrap_err().to_string();
    assert!(
        err.contains("asks for credentials and none were given"),
        "{err}"
    );

    // Wrong password: refused, by name, without the password in the message.
    let wrong = Repository::new(
        base.clone(),
        "team/app",
        Some(Credentials::new("alice", Secret::new("wrong-password"))),
    )
    .unwrap();
    let err = runtime.block_on(wrong.login()).unwrap_err().to_string();
    assert!(err.contains("refused the credentials (401)"), "{err}");
    assert!(
        err.contains("alice") && !err.contains("wrong-password"),
        "{err}"
    );

    // Right password: the push goes through and skopeo (logged in) reads the same digest.
    let repo = Arc::new(
        Repository::new(
            base,
            "team/app",
            Some(Credentials::new("alice", Secret::new("s3cret-pass"))),
        )
        .unwrap(),
    );
    runtime.block_on(repo.login()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let options = ReadOptions {
        compression: Compression::Gzip,
        architecture: "amd64".into(),
        cache_dir: cache.path().to_path_buf(),
        watcher: None,
    };
    let source = SourceRef::parse(&format!("oci:{}", dir.path().join("layout").display())).unwrap();
    let read = runtime
        .block_on(shipit::image::read(&source, &options))
        .unwrap();
    let report = runtime
        .block_on(shipit::registry::push::push(
            &repo,
            &read.image,
            "v1",
            &PushOptions::default(),
            Arc::new(Silent),
        ))
        .unwrap();
    assert_eq!(report.digest.as_str(), digest);
    assert_eq!(report.blobs_uploaded, 2);
    assert_eq!(
        skopeo_digest(
            &format!("docker://127.0.0.1:{}/team/app:v1", registry.port),
            Some("alice:s3cret-pass")
        ),
        digest
    );
}
