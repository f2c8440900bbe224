//! Crashes, re-runs and concurrent deploys (local stack).
//!
//! - `shipit deploy` of a service with two real tasks, killed with SIGKILL twice in each of its
//!   five stages (the stage each kill landed in is checked from the groups it printed), each
//!   followed by a re-run: the re-run converges to the same end state as an uninterrupted
//!   deploy (the image under its tag once, exactly one task-definition revision for the change,
//!   the service on it, no stray tags), and tells the truth: after a kill in the rollout it
//!   changes nothing and watches the deployment the killed run started.
//! - SIGINT during the rollout watch stops watching with exit code 130 and says that the
//!   deployment goes on in ECS and how to follow it.
//! - Two deploys of one service at once, with different images: each exits with the truth.

use crate::common;
use crate::common::config::Config;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::images::{TarEntry, fs_layer, oci_layout_of_tars};
use crate::common::{require_docker, require_stack, run, shipit_on_stack, unique_name};

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

/// The same image built by the Docker engine (`docker://`): reading it is an export and a
/// compression, long enough for a kill to land inside that stage.
fn engine_image(pulled: &common::PulledImages, name: &str, marker: &str) -> String {
    pulled.built(common::busybox_image(
        &format!("shipit-{name}:{marker}"),
        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY marker /marker\n",
        &[("marker", marker)],
    ))
}

fn oci(layout: &Path) -> String {
    format!("oci:{}", layout.display())
}

fn write_config(dir: &Path, name: &str, source: &str, tag: &str, desired: u32) {
    std::fs::write(
        dir.join("deploy.yaml"),
        Config::new(name, source)
            .tag(tag)
            .subnets("[subnet-00000001]")
            .service(&format!("desired_count: {desired}"))
            .container("command: [/bin/sh, -c, 'echo up; exec sleep 3600']")
            .to_string(),
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

/// A deploy's stages, as it names them in GitHub Actions' folded groups (`::group::TITLE`).
const STAGES: [&str; 5] = [
    "read and check the image",
    "plan",
    "push the image; cluster and log group",
    "task definition and service",
    "rollout",
];

/// The stage a killed deploy was in: the group it opened last and did not close, from
/// everything it printed before the kill (None: between stages).
fn stage_at_kill(stderr: &str) -> Option<&str> {
    let mut open = None;
    for line in stderr.lines() {
        if let Some(title) = line.strip_prefix("::group::") {
            open = STAGES.iter().copied().find(|s| *s == title);
        } else if line == "::endgroup::" {
            open = None;
        }
    }
    open
}

/// The last stage a deploy opened, closed or not.
fn last_stage_opened(stderr: &str) -> Option<&'static str> {
    stderr
        .lines()
        .rev()
        .filter_map(|line| line.strip_prefix("::group::"))
        .find_map(|title| STAGES.iter().copied().find(|s| *s == title))
}

/// The later of two stages in a deploy's order.
fn later(a: &'static str, b: &'static str) -> &'static str {
    let position = |stage| STAGES.iter().position(|s| *s == stage);
    if position(b) > position(a) { b } else { a }
}

/// Starts a deploy (as an Actions step, for the stage groups), waits until it opens `stage`,
/// lets it work `delay` into it, kills it with SIGKILL, and returns all it printed.
fn kill_in(dir: &Path, stage: &str, delay: Duration) -> String {
    let mut child = shipit_on_stack(dir)
        .arg("deploy")
        // A kill leaves the engine export's spool behind: in the test's folder, not the cache.
        .env("SHIPIT_CACHE_DIR", dir.join("cache"))
        .env("GITHUB_ACTIONS", "true")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    let wanted = format!("::group::{stage}\n");
    while !seen.ends_with(&wanted) {
        if stderr.read_line(&mut seen).unwrap() == 0 {
            break;
        }
    }
    std::thread::sleep(delay);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    stderr.read_to_string(&mut seen).unwrap();
    seen
}

#[test]
fn sigkill_in_every_stage_then_a_re_run_converges_and_tells_the_truth() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("crash");
    let pulled = common::PulledImages::of(&name);
    let deploy = || {
        let out = run(shipit_on_stack(dir.path())
            .env("SHIPIT_CACHE_DIR", dir.path().join("cache"))
            .args(["deploy", "--output", "json"]));
        let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_default();
        (out, doc)
    };
    // A first, uninterrupted deploy: the service exists, with two real tasks.
    let source = format!("docker://{}", engine_image(&pulled, &name, "v0"));
    write_config(dir.path(), &name, &source, "v0", 2);
    let (out, doc) = deploy();
    assert_eq!(out.code, Some(0), "{}", out.dump());

    // Two kill points in every stage: as it opens, and a moment into it (the rollout: with
    // the new tasks starting).
    let mut points = Vec::new();
    for stage in STAGES {
        let into = if stage == "rollout" { 1500 } else { 15 };
        points.push((stage, Duration::ZERO));
        points.push((stage, Duration::from_millis(into)));
    }
    let mut tags = BTreeMap::from([("v0".to_string(), doc["push"]["digest"].clone())]);
    for (i, (stage, delay)) in points.into_iter().enumerate() {
        let i = i + 1;
        let tag = format!("v{i}");
        let source = format!("docker://{}", engine_image(&pulled, &name, &tag));
        write_config(dir.path(), &name, &source, &tag, 2);
        // A short stage can end within the delay: then the point is taken again as it opens.
        // The first try got further, though, and what it did is there for the re-run to find:
        // the re-run is judged by the furthest stage either kill reached.
        let mut printed = kill_in(dir.path(), stage, delay);
        let mut reached = stage;
        if stage_at_kill(&printed) != Some(stage) && !delay.is_zero() {
            reached = last_stage_opened(&printed).map_or(stage, |first| later(stage, first));
            printed = kill_in(dir.path(), stage, Duration::ZERO);
        }
        assert_eq!(
            stage_at_kill(&printed),
            Some(stage),
            "kill {i} was meant to land in `{stage}`; the deploy printed:\n{printed}"
        );

        let (again, doc) = deploy();
        assert_eq!(
            again.code,
            Some(0),
            "re-run after kill {i} ({stage}): {}",
            again.dump()
        );
        let result = doc["result"].as_str().unwrap_or_default();
        let writes = common::write_calls(&doc);
        match reached {
            // Killed before anything reached ECS: the re-run starts the deployment itself.
            "read and check the image" | "plan" | "push the image; cluster and log group" => {
                assert_eq!(result, "deployed", "kill {i}: {}", again.dump());
                assert_eq!(doc["watched"], "started", "kill {i}: {}", again.dump());
                assert!(writes.contains("ECS:UpdateService"), "kill {i}: {writes:?}");
            }
            // Killed after UpdateService: the re-run changes nothing and watches the
            // deployment the killed run started (or finds it completed).
            "rollout" => {
                assert!(
                    (result == "deployed" && doc["watched"] == "existing") || result == "unchanged",
                    "kill {i}: {}",
                    again.dump()
                );
                assert!(
                    !writes.contains("ECS:UpdateService")
                        && !writes.contains("ECS:RegisterTaskDefinition"),
                    "kill {i}: the re-run wrote {writes:?}"
                );
            }
            // In between: the revision may be registered, the service maybe updated.
            _ => assert!(
                result == "deployed" || result == "unchanged",
                "kill {i}: {}",
                again.dump()
            ),
        }
        if result == "deployed" {
            assert_eq!(
                doc["rollout"]["verdict"],
                "succeeded",
                "kill {i}: the re-run saw every task run: {}",
                again.dump()
            );
            assert_eq!(doc["rollout"]["counts"]["running"], 2, "kill {i}");
        } else {
            // Unchanged: ECS had completed it on every task; status says so too.
            let status = run(shipit_on_stack(dir.path()).args(["status", "--output", "json"]));
            let status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
            assert_eq!(status["verdict"], "healthy", "kill {i}: {status}");
            assert_eq!(status["running"], 2, "kill {i}: {status}");
        }
        let state = end_state(&name);
        let digest = doc["push"]["digest"].as_str().unwrap().to_string();
        tags.insert(tag.clone(), doc["push"]["digest"].clone());
        assert_eq!(
            state.tags.get(&tag),
            Some(&digest),
            "kill {i}: the tag names the image"
        );
        assert_eq!(
            state.tags.len(),
            i + 1,
            "kill {i}: no stray tags: {:?}",
            state.tags
        );
        assert_eq!(
            state.revisions.get(&digest),
            Some(&1),
            "kill {i}: one revision for the change: {:?}",
            state.revisions
        );
        assert_eq!(state.service_image, digest, "kill {i}: the service runs it");
    }
    assert_eq!(tags.len(), 11);
}

#[test]
fn sigint_during_the_watch_exits_130_and_says_the_deployment_goes_on() {
    if !require_stack() || !require_docker() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("sigint");
    let _pulled = common::PulledImages::of(&name);
    image(&dir.path().join("v1"), "v1");
    write_config(dir.path(), &name, &oci(&dir.path().join("v1")), "v1", 1);
    let mut child = shipit_on_stack(dir.path())
        .arg("deploy")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt as soon as the watch began.
    let stderr = common::OutputReader::new(child.stderr.take().unwrap());
    let mut seen = stderr.read_until("waiting until the rollout", Duration::from_secs(120));
    assert!(seen.contains("waiting until the rollout"), "{seen}");
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    seen.push_str(&stderr.rest(Duration::from_secs(30)));
    let output = child.wait_with_output().unwrap();
    seen.push_str(&String::from_utf8_lossy(&output.stdout));
    assert_eq!(output.status.code(), Some(130), "{seen}");
    assert!(seen.contains("goes on in ECS"), "{seen}");
    assert!(
        seen.contains("shipit status"),
        "says how to follow it: {seen}"
    );
}

#[test]
fn two_deploys_of_one_service_at_once_each_exit_with_the_truth() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("race");
    let _pulled = common::PulledImages::of(&name);
    let base = tempfile::tempdir().unwrap();
    // The service exists first (with one task), so both runs update it.
    let first = base.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    image(&first.join("v0"), "v0");
    write_config(&first, &name, &oci(&first.join("v0")), "v0", 1);
    let out = run(shipit_on_stack(&first).arg("deploy"));
    assert_eq!(out.code, Some(0), "{}", out.dump());

    let mut children = Vec::new();
    let mut digests = Vec::new();
    for tag in ["a", "b"] {
        let dir = base.path().join(tag);
        std::fs::create_dir_all(&dir).unwrap();
        digests.push(image(&dir.join("layout"), tag));
        write_config(&dir, &name, &oci(&dir.join("layout")), tag, 1);
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
}
