//! Crashes, re-runs and concurrent deploys (local stack).
//!
//! - `shipit deploy` killed with SIGKILL at 20 points spread over a deploy's stages, each
//!   followed by a re-run: the re-run converges to the same end state as an uninterrupted
//!   deploy (the image under its tag once, exactly one task-definition revision for the change,
//!   the service on it, no stray tags).
//! - SIGINT during the rollout watch stops watching with exit code 130 and says that the
//!   deployment goes on in ECS and how to follow it.
//! - Two deploys of one service at once, with different images: each exits with the truth.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::images::{TarEntry, fs_layer, oci_layout_of_tars};
use common::{require_docker, require_stack, run, shipit_on_stack, unique_name};

/// An image that runs: Debian's static busybox and its shell (the command comes from the
/// config), plus a marker file that makes each image distinct. Returns its digest.
fn image(layout: &Path, marker: &str) -> String {
    let busybox = std::fs::read("/bin/busybox").expect("apt-get install busybox-static");
    let tars = vec![
        fs_layer(&[
            TarEntry::File("bin/busybox", 0o755, &busybox),
            TarEntry::Symlink("bin/sh", "busybox"),
            TarEntry::Symlink("bin/sleep", "busybox"),
        ]),
        fs_layer(&[TarEntry::File("marker", 0o644, marker.as_bytes())]),
    ];
    oci_layout_of_tars(layout, &tars, "v1", marker)
}

fn write_config(dir: &Path, name: &str, layout: &Path, tag: &str, desired: u32) {
    std::fs::write(
        dir.join("deploy.yaml"),
        format!(
            "app: {name}
region: us-east-1
image:
  source: oci:{layout}
  tag: {tag}
service:
  desired_count: {desired}
  subnets: [subnet-00000001]
task:
  execution_role: arn:aws:iam::000000000000:role/ecsTaskExecutionRole
container:
  command: [/bin/sh, -c, 'echo up; exec sleep 3600']
",
            layout = layout.display()
        ),
    )
    .unwrap();
}

struct EndState {
    /// tag -> digest
    tags: BTreeMap<String, String>,
    /// image digest -> task-definition revisions that run it
    revisions: BTreeMap<String, usize>,
    service_image: String,
}

fn end_state(name: &str) -> EndState {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecr = common::ecr_client(&runtime);
    let ecs = common::ecs_client(&runtime);
    let images = runtime
        .block_on(ecr.describe_images().repository_name(name).send())
        .unwrap();
    let mut tags = BTreeMap::new();
    for detail in images.image_details() {
        for tag in detail.image_tags() {
            let previous = tags.insert(
                tag.clone(),
                detail.image_digest().unwrap_or_default().to_string(),
            );
            assert!(previous.is_none(), "tag {tag} names two images");
        }
    }
    let arns = runtime
        .block_on(ecs.list_task_definitions().family_prefix(name).send())
        .unwrap();
    let mut revisions = BTreeMap::new();
    for arn in arns.task_definition_arns() {
        let td = runtime
            .block_on(ecs.describe_task_definition().task_definition(arn).send())
            .unwrap();
        let image = td.task_definition().unwrap().container_definitions()[0]
            .image()
            .unwrap()
            .to_string();
        let digest = image.rsplit('@').next().unwrap().to_string();
        *revisions.entry(digest).or_default() += 1;
    }
    let service = runtime
        .block_on(
            ecs.describe_services()
                .cluster("default")
                .services(name)
                .send(),
        )
        .unwrap();
    let td_arn = service.services()[0].task_definition().unwrap().to_string();
    let td = runtime
        .block_on(
            ecs.describe_task_definition()
                .task_definition(td_arn)
                .send(),
        )
        .unwrap();
    let service_image = td.task_definition().unwrap().container_definitions()[0]
        .image()
        .unwrap()
        .rsplit('@')
        .next()
        .unwrap()
        .to_string();
    EndState {
        tags,
        revisions,
        service_image,
    }
}

/// The stage a deploy was in when it was killed, from the last progress line it printed.
fn stage_of(stderr: &str) -> String {
    let Some(last) = stderr.lines().rev().find(|l| !l.trim().is_empty()) else {
        return "config and credentials".to_string();
    };
    [
        ("deploying", "reading the image"),
        ("reading", "image checks and repository"),
        ("created repository", "push"),
        ("pushing", "push"),
        ("sha256:", "push"),
        ("created cluster", "cluster and log group"),
        ("log group", "task definition"),
        ("registered task definition", "service update"),
        ("image ", "service update"),
        ("+ ", "rollout watch"),
        ("waiting for the rollout", "rollout watch"),
        ("new deployment", "rollout watch"),
        ("deployed", "after the rollout"),
    ]
    .iter()
    .find(|(prefix, _)| last.trim_start().starts_with(prefix))
    .map_or("push", |(_, stage)| stage)
    .to_string()
}

#[test]
fn sigkill_at_any_stage_then_a_re_run_converges() {
    if !require_stack() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("crash");
    // A first, uninterrupted deploy: the service exists, and its duration sets the kill points.
    let digest0 = image(&dir.path().join("v0"), "v0");
    write_config(dir.path(), &name, &dir.path().join("v0"), "v0", 0);
    let out = run(shipit_on_stack(dir.path()).arg("deploy"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    // Kill points follow the progress lines a deploy prints (one per step), each a little
    // after its line, so that they land in every stage, mid-step included.
    let lines = out.stderr.lines().count().max(1);

    let mut stages = BTreeMap::<String, usize>::new();
    let mut digests = vec![digest0];
    for i in 1..=20u32 {
        let tag = format!("v{i}");
        let layout = dir.path().join(&tag);
        digests.push(image(&layout, &tag));
        write_config(dir.path(), &name, &layout, &tag, 0);
        let mut child = shipit_on_stack(dir.path())
            .arg("deploy")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let after_line = (i as usize - 1) % lines;
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        for _ in 0..after_line {
            if stderr.read_line(&mut seen).unwrap() == 0 {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(u64::from(i % 4) * 15));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        *stages.entry(stage_of(&seen)).or_default() += 1;

        let again = run(shipit_on_stack(dir.path()).arg("deploy"));
        assert_eq!(
            again.code,
            Some(0),
            "re-run after kill {i}: {}",
            again.dump()
        );
        let state = end_state(&name);
        let digest = &digests[i as usize];
        assert_eq!(
            state.tags.get(&tag),
            Some(digest),
            "kill {i}: the tag names the image"
        );
        assert_eq!(
            state.tags.len(),
            i as usize + 1,
            "kill {i}: no stray tags: {:?}",
            state.tags
        );
        assert_eq!(
            state.revisions.get(digest),
            Some(&1),
            "kill {i}: one revision for the change: {:?}",
            state.revisions
        );
        assert_eq!(
            &state.service_image, digest,
            "kill {i}: the service runs it"
        );
    }
    eprintln!("SIGKILL points by stage reached: {stages:?}");
    assert!(
        stages.len() >= 4,
        "kill points spread over the stages: {stages:?}"
    );
}

#[test]
fn sigint_during_the_watch_exits_130_and_says_the_deployment_goes_on() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("sigint");
    image(&dir.path().join("v1"), "v1");
    write_config(dir.path(), &name, &dir.path().join("v1"), "v1", 1);
    let mut child = shipit_on_stack(dir.path())
        .arg("deploy")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt as soon as the watch began.
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut buf = [0u8; 4096];
    while !seen.contains("waiting for the rollout") && Instant::now() < deadline {
        let n = stderr.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(seen.contains("waiting for the rollout"), "{seen}");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    let output = child.wait_with_output().unwrap();
    seen.push_str(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(output.status.code(), Some(130), "{seen}");
    assert!(seen.contains("goes on in ECS"), "{seen}");
    assert!(
        seen.contains("shipit status"),
        "says how to follow it: {seen}"
    );
    scale_to_zero(&name);
}

fn scale_to_zero(name: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecs = common::ecs_client(&runtime);
    let _ = runtime.block_on(
        ecs.update_service()
            .cluster("default")
            .service(name)
            .desired_count(0)
            .send(),
    );
}

#[test]
fn two_deploys_of_one_service_at_once_each_exit_with_the_truth() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("race");
    let base = tempfile::tempdir().unwrap();
    // The service exists first (with one task), so both runs update it.
    let first = base.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    image(&first.join("v0"), "v0");
    write_config(&first, &name, &first.join("v0"), "v0", 1);
    let out = run(shipit_on_stack(&first).arg("deploy"));
    assert_eq!(out.code, Some(0), "{}", out.dump());

    let mut children = Vec::new();
    let mut digests = Vec::new();
    for tag in ["a", "b"] {
        let dir = base.path().join(tag);
        std::fs::create_dir_all(&dir).unwrap();
        digests.push(image(&dir.join("layout"), tag));
        write_config(&dir, &name, &dir.join("layout"), tag, 1);
        children.push(
            shipit_on_stack(&dir)
                .args(["deploy", "--output", "json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
    }
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let state = end_state(&name);
    let winner = digests
        .iter()
        .position(|d| *d == state.service_image)
        .expect("the service runs one of the two images");
    for (i, out) in outputs.iter().enumerate() {
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        let result = doc["result"].as_str().unwrap_or_default();
        eprintln!(
            "concurrent deploy {}: exit {:?}, {result}{}",
            ["a", "b"][i],
            out.status.code(),
            if i == winner {
                " (the service runs it)"
            } else {
                ""
            }
        );
        if i == winner {
            assert_eq!(out.status.code(), Some(0), "the winner: {doc}");
            assert_eq!(result, "deployed");
        } else {
            // Either it finished before the other began, or it says who superseded it.
            assert!(
                (out.status.code() == Some(0) && result == "deployed")
                    || (out.status.code() == Some(1) && result == "superseded"),
                "the other: {doc}"
            );
        }
        assert_eq!(
            state.revisions.get(&digests[i]),
            Some(&1),
            "one revision each"
        );
    }
    assert_eq!(state.tags.len(), 3, "{:?}", state.tags);
    scale_to_zero(&name);
}
