//! Guardrails that look inside the image before deploying (local stack): a health check whose
//! program the image lacks is refused at its line with what the image has instead, before
//! anything is pushed; a size budget stops an image that is too large; the size report
//! compares against the image deployed now.

use crate::common;
use crate::common::config::Config;

use std::path::Path;

use crate::common::images::{TarEntry, fs_layer, noise, oci_layout_of_tars};
use crate::common::{require_stack, run, shipit_on_stack, unique_name};

/// A tiny root file system: a shell and wget as busybox applets (as in alpine), and, when
/// `with_curl`, a curl in /usr/bin. Plus `padding` bytes of noise in one more layer.
fn image(dir: &Path, with_curl: bool, padding: usize, marker: &str) -> String {
    let mut base = vec![
        TarEntry::File("bin/busybox", 0o755, b"\x7fELF not really"),
        TarEntry::Symlink("bin/sh", "busybox"),
        TarEntry::Symlink("usr/bin/wget", "/bin/busybox"),
    ];
    if with_curl {
        base.push(TarEntry::File("usr/bin/curl", 0o755, b"\x7fELF curl"));
    }
    let padding = noise(padding, 7);
    let tars = vec![
        fs_layer(&base),
        fs_layer(&[TarEntry::File("app/data", 0o644, &padding)]),
    ];
    oci_layout_of_tars(dir, &tars, "v1", marker)
}

/// A config for `name` with the OCI layout in `layout`, the health check `command`, no tasks
/// (nothing runs: these tests are about what happens before the rollout), and `extra` lines
/// under `image:`.
fn config(name: &str, layout: &Path, command: &str, image_extra: &str) -> String {
    let mut config = Config::new(name, &format!("oci:{}", layout.display())).tag(name);
    if !image_extra.trim().is_empty() {
        config = config.image(image_extra.trim());
    }
    config
        .service("desired_count: 0")
        .container("port: 8080")
        .container(&format!("health_check:\n  command: {command}"))
        .to_string()
}

fn image_tags(name: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = common::ecr_client(&runtime);
    match runtime.block_on(client.list_images().repository_name(name).send()) {
        Ok(out) => out
            .image_ids()
            .iter()
            .filter_map(|i| i.image_tag().map(str::to_string))
            .collect(),
        Err(_) => Vec::new(),
    }
}

#[test]
fn a_health_check_program_missing_from_the_image_is_refused_before_anything_is_pushed() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("nocurl");
    image(&dir.path().join("layout"), false, 1024, "a");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        config(
            &name,
            &dir.path().join("layout"),
            "curl -f http://localhost:8080/health || exit 1",
            "",
        ),
    )
    .unwrap();

    // plan and deploy --dry-run answer as deploy does: exit 2, not "changes pending".
    for dry in [vec!["plan"], vec!["deploy", "--dry-run"]] {
        let out = run(shipit_on_stack(dir.path()).args(&dry));
        assert_eq!(out.code, Some(2), "{dry:?}: {}", out.dump());
        assert!(
            out.stderr.contains("error[health-check-program]"),
            "{dry:?}: {}",
            out.dump()
        );
    }
    let out = run(shipit_on_stack(dir.path()).arg("deploy"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    // The file, the line of the health check's command, the program, the fix with what the
    // image does have.
    assert!(
        out.stderr
            .contains("error[health-check-program]: deploy.yaml:14:14"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr
            .contains("runs `curl`, which is not in the image")
    );
    assert!(
        out.stderr
            .contains("`wget -q -O /dev/null http://localhost:8080/health || exit 1`"),
        "{}",
        out.dump()
    );
    assert!(image_tags(&name).is_empty(), "nothing was pushed");

    // `push` only warns: the image may be meant for another config.
    let out = run(shipit_on_stack(dir.path()).arg("push"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(out.stderr.contains("warning: the health check runs `curl`"));
    assert_eq!(image_tags(&name), vec![name.clone()]);

    // And --no-preflight is the way around it for deploy.
    let out = run(shipit_on_stack(dir.path()).args(["deploy", "--no-preflight", "--no-wait"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
}

/// With `containers:`, the container that runs the pushed image is the one checked, and the
/// error names its line in the list; a sidecar's health check is not (its image is not read).
#[test]
fn with_sidecars_the_app_containers_health_check_is_the_one_checked() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("nocurl-list");
    image(&dir.path().join("layout"), false, 1024, "list");
    let shorthand = config(
        &name,
        &dir.path().join("layout"),
        "curl -f http://localhost:8080/health || exit 1",
        "",
    );
    let (head, _) = shorthand.split_once("container:\n").unwrap();
    std::fs::write(
        dir.path().join("deploy.yaml"),
        format!(
            "{head}containers:
  - name: agent
    image: public.ecr.aws/example/agent@sha256:{zeros}
    health_check: {{ command: 'agent-ctl ping' }}
  - name: app
    port: 8080
    health_check:
      command: curl -f http://localhost:8080/health || exit 1
",
            zeros = "0".repeat(64)
        ),
    )
    .unwrap();
    let out = run(shipit_on_stack(dir.path()).arg("deploy"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr
            .contains("error[health-check-program]: deploy.yaml:18:16"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr
            .contains("runs `curl`, which is not in the image"),
        "{}",
        out.dump()
    );
    assert!(!out.stderr.contains("agent-ctl"), "{}", out.dump());
    assert!(image_tags(&name).is_empty(), "nothing was pushed");
}

#[test]
fn an_image_that_has_the_program_deploys_and_the_size_is_compared_with_the_deployed_one() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("withcurl");
    let curl = "curl -fsS http://localhost:8080/health";
    image(&dir.path().join("v1"), true, 100 * 1024, "v1");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        config(&name, &dir.path().join("v1"), curl, ""),
    )
    .unwrap();
    let out = run(shipit_on_stack(dir.path()).args(["deploy", "--no-wait", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let first: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let first_size = first["push"]["size_report"]["bytes"].as_u64().unwrap();
    assert_eq!(first["push"]["size_report"]["layers"], 2);
    assert!(first["push"]["size_report"].get("deployed_bytes").is_none());

    // A bigger image: the report says how much bigger than the one deployed.
    image(&dir.path().join("v2"), true, 300 * 1024, "v2");
    let text = config(&name, &dir.path().join("v2"), curl, "")
        .replace(&format!("tag: {name}"), &format!("tag: {name}-2"));
    std::fs::write(dir.path().join("deploy.yaml"), text).unwrap();
    let out = run(shipit_on_stack(dir.path()).args(["deploy", "--no-wait", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let second: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let size = &second["push"]["size_report"];
    assert_eq!(size["deployed_bytes"].as_u64(), Some(first_size));
    assert!(size["bytes"].as_u64().unwrap() > first_size + 150 * 1024);
    assert_eq!(
        size["largest"][0]["bytes"].as_u64(),
        second["push"]["size_report"]["largest"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["bytes"].as_u64().unwrap())
            .max()
    );
    assert!(
        out.stderr.contains("against the deployed image"),
        "{}",
        out.dump()
    );
}

#[test]
fn an_image_over_its_size_budget_is_refused_before_it_is_pushed() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("budget");
    image(&dir.path().join("layout"), true, 200 * 1024, "b");
    let layout = dir.path().join("layout");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        config(
            &name,
            &layout,
            "curl -f http://localhost:8080/",
            "\n  max_size: 100KiB",
        ),
    )
    .unwrap();
    let out = run(shipit_on_stack(dir.path()).arg("push"));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        out.stderr.contains("over its size budget")
            && out.stderr.contains("budget 100.0 KiB")
            && out.stderr.contains("deploy.yaml:6"),
        "{}",
        out.dump()
    );
    assert!(image_tags(&name).is_empty(), "nothing was pushed");

    // Within budget: pushed, and the budget is in the report.
    std::fs::write(
        dir.path().join("deploy.yaml"),
        config(
            &name,
            &layout,
            "curl -f http://localhost:8080/",
            "\n  max_size: 1MiB",
        ),
    )
    .unwrap();
    let out = run(shipit_on_stack(dir.path()).args(["push", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["size_report"]["max_bytes"], 1024 * 1024);
}

#[test]
fn a_damaged_image_file_is_bad_input_naming_the_file_the_line_and_the_fix() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("damaged");
    let curl = "curl -fsS http://localhost:8080/health";
    let layout = dir.path().join("layout");
    image(&layout, true, 1024, "d");
    std::fs::write(
        dir.path().join("deploy.yaml"),
        config(&name, &layout, curl, ""),
    )
    .unwrap();

    // An OCI layout whose index is gone: refused at image.source's line (line 4).
    std::fs::remove_file(layout.join("index.json")).unwrap();
    let out = run(shipit_on_stack(dir.path()).arg("deploy"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains("(image.source, deploy.yaml:4)"),
        "{}",
        out.dump()
    );
    assert!(out.stderr.contains("index.json"), "{}", out.dump());
    assert!(out.stderr.contains("nothing was pushed"), "{}", out.dump());
    assert!(
        out.stderr.contains("skopeo copy docker-daemon:IMAGE oci:"),
        "{}",
        out.dump()
    );

    // A docker archive cut in half, given by flag: the flag is named, and so is the fix.
    let archive = dir.path().join("image.tar");
    common::images::docker_archive(
        &archive,
        &[common::images::layer_tar("data", &noise(64 * 1024, 3))],
        "app:1",
        "d",
    );
    let bytes = std::fs::read(&archive).unwrap();
    std::fs::write(&archive, &bytes[..bytes.len() / 2]).unwrap();
    let source = format!("docker-archive:{}", archive.display());
    let out = run(shipit_on_stack(dir.path()).args(["push", "--source", &source]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(out.stderr.contains(&source), "{}", out.dump());
    assert!(out.stderr.contains("(--source)"), "{}", out.dump());
    assert!(out.stderr.contains("docker save -o"), "{}", out.dump());

    // JSON says bad input too, and nothing reached ECR.
    let out =
        run(shipit_on_stack(dir.path()).args(["push", "--source", &source, "--output", "json"]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["error"]["kind"], "bad-input", "{}", out.dump());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecr = common::ecr_client(&runtime);
    let found = runtime.block_on(ecr.describe_repositories().repository_names(&name).send());
    assert!(found.is_err(), "no repository was created: {found:?}");
}
