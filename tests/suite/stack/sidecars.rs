//! `containers:`: an app and a sidecar in one task, as real containers on the local stack. The
//! app waits for the sidecar to be healthy; status and logs speak per container; a sidecar that
//! crashes is named in the failure report with its exit code and its own last lines.

use crate::common;
use crate::common::config::Config;

use crate::common::{require_docker, require_stack, run, shipit_on_stack, unique_name};

fn config(name: &str, sidecar_image: &str, sidecar_command: &str) -> String {
    Config::new(name, &format!("docker://{sidecar_image}"))
        .top(&format!("cluster: {name}"))
        .service("desired_count: 1")
        .then(&format!(
            "containers:
  - name: app
    command: [/bin/sh, -c, 'echo app up; exec sleep 3600']
    depends_on: {{ log-router: HEALTHY }}
  - name: log-router
    image: {sidecar_image}
    command: [/bin/sh, -c, '{sidecar_command}']
    memory_reservation: 64
    health_check:
      command: 'true'
      interval: 5
      timeout: 2
      retries: 2
"
        ))
        .to_string()
}

/// Deploys the config in `dir`, then checks the next plan has nothing to change; returns it.
fn deploy_then_plan_clean(dir: &std::path::Path, timeout: &str) -> common::Run {
    let out = run(shipit_on_stack(dir).args(["deploy", "--timeout", timeout]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let clean = run(shipit_on_stack(dir).arg("plan"));
    assert_eq!(
        clean.code,
        Some(0),
        "plan clean after the deploy\n{}",
        clean.dump()
    );
    clean
}

#[test]
fn an_app_and_its_sidecar_deploy_and_a_crashing_sidecar_is_named() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("sidecar");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    // One local image serves both: the app's is pushed, the sidecar's is referenced. Named
    // under `localhost/`, so that the plan's digest lookup for the sidecar's tag stays on
    // loopback (and fails there at once: it runs by tag, with a warning), where a plain name
    // would send it to Docker Hub.
    let image = pulled.built(common::busybox_image(
        &format!("localhost/shipit-sidecar-{name}:v1"),
        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        &[],
    ));
    let write = |command: &str| {
        std::fs::write(
            dir.path().join("deploy.yaml"),
            config(&name, &image, command),
        )
        .unwrap()
    };
    write("echo sidecar up; exec sleep 3600");

    // The plan speaks per container.
    let plan = run(shipit_on_stack(dir.path()).arg("plan"));
    assert_eq!(plan.code, Some(3), "{}", plan.dump());
    for wanted in [
        "+ containers.app.depends_on.log-router: HEALTHY",
        "+ containers.log-router.memory_reservation: 64",
        &format!("+ containers.log-router.image: {image}"),
    ] {
        assert!(plan.stdout.contains(wanted), "{wanted}\n{}", plan.dump());
    }

    deploy_then_plan_clean(dir.path(), "3m");

    let status = run(shipit_on_stack(dir.path()).args(["status", "--output", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let running = doc["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["last_status"] == "RUNNING")
        .unwrap_or_else(|| panic!("a running task\n{}", status.dump()));
    let names: Vec<&str> = running["containers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"app") && names.contains(&"log-router"),
        "{}",
        status.dump()
    );
    // Each container logs to its own stream (the awslogs driver delivers within seconds).
    let wait_for_line = |container: &str, line: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let logs = run(shipit_on_stack(dir.path()).args([
                "logs",
                "--container",
                container,
                "--since",
                "10m",
            ]));
            if logs.stdout.contains(line) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{container}: {}",
                logs.dump()
            );
            std::thread::sleep(std::time::Duration::from_secs(2));
        }
    };
    wait_for_line("app", "app up");
    wait_for_line("log-router", "sidecar up");

    // A sidecar that crashes: the deploy fails, and the report names it with its exit code.
    // (Real ECS reports each container's own exit code, 143/137 for the app it stopped after
    // the sidecar, so the sidecar is the cause and its lines are the report's: see
    // rollout::tests::the_container_that_exited_first_is_named_not_the_one_stopped_after_it.
    // ministack gives every container of the task the same code, so here the report's
    // containers line is what names the sidecar.)
    write("echo cannot reach the log backend; exit 2");
    let out =
        run(shipit_on_stack(dir.path()).args(["deploy", "--timeout", "3m", "--output", "json"]));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let failure = &doc["failure"];
    assert!(
        failure["summary"]
            .as_str()
            .unwrap()
            .contains("exited with code 2"),
        "{}",
        out.dump()
    );
    assert!(
        failure["containers"]
            .as_array()
            .unwrap_or_else(|| panic!("no containers line\n{}", out.dump()))
            .iter()
            .any(|c| c == "log-router exited with code 2"),
        "{}",
        out.dump()
    );
    // The sidecar's own stream holds its last words.
    wait_for_line("log-router", "cannot reach the log backend");
}

/// Pushes a one-layer image built from `seed` with `shipit push` (to `registry_url` when given,
/// else to the stack's ECR) and returns (repository URI, digest).
fn push_image(
    dir: &std::path::Path,
    repository: &str,
    seed: u64,
    registry_url: Option<&str>,
) -> (String, String) {
    let layout = dir.join(format!("layout-{seed}"));
    common::images::oci_layout(
        &layout,
        &[common::images::noise(4096, seed)],
        "v1",
        repository,
    );
    let folder = dir.join(repository);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("deploy.yaml"),
        common::push_config(repository, &format!("oci:{}", layout.display()), "v1"),
    )
    .unwrap();
    let mut push = shipit_on_stack(&folder);
    push.args(["push", "--output", "json"]);
    if let Some(url) = registry_url {
        push.args(["--registry-url", url]);
    }
    let out = run(&mut push);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    (
        doc["repository"]["uri"].as_str().unwrap().to_string(),
        doc["digest"].as_str().unwrap().to_string(),
    )
}

/// Sidecar images named by tag go into the task definition pinned by digest: one from a
/// private ECR repository (looked up with DescribeImages), one from a registry's own API.
/// The next plan is clean; with the registry gone the pinned digest is kept (no flapping);
/// a new tag that cannot be looked up runs by tag, with a warning that says how to pin it.
#[test]
fn sidecar_images_by_tag_are_pinned_by_digest() {
    if !require_stack() {
        return;
    }
    let name = unique_name("pinned");
    let dir = tempfile::tempdir().unwrap();
    let registry = common::registry::LocalRegistry::start(None);
    let (agent_uri, agent_digest) = push_image(dir.path(), &format!("{name}-agent"), 1, None);
    let proxy_repository = format!("{name}-proxy");
    let (_, proxy_digest) = push_image(dir.path(), &proxy_repository, 2, Some(&registry.url));
    let layout = dir.path().join("app-layout");
    common::images::oci_layout(&layout, &[common::images::noise(4096, 3)], "v1", &name);
    let proxy = format!("127.0.0.1:{}/{proxy_repository}", registry.port);
    let write = |proxy_tag: &str| {
        std::fs::write(
            dir.path().join("deploy.yaml"),
            format!(
                "app: {name}
region: us-east-1
image: {{ source: 'oci:{layout}', tag: v1 }}
cluster: {name}
service:
  desired_count: 0
  subnets: [subnet-0123456789abcdef0]
task:
  execution_role: arn:aws:iam::000000000000:role/ecsTaskExecutionRole
containers:
  - name: app
  - name: agent
    image: {agent_uri}:v1
    essential: false
  - name: proxy
    image: {proxy}:{proxy_tag}
    essential: false
",
                layout = layout.display()
            ),
        )
        .unwrap()
    };
    write("v1");

    let plan = run(shipit_on_stack(dir.path()).args(["plan", "--output", "json"]));
    assert_eq!(plan.code, Some(3), "{}", plan.dump());
    let doc: serde_json::Value = serde_json::from_str(&plan.stdout).unwrap();
    let pinned: Vec<(String, String, String)> = doc["sidecar_images"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["container"].as_str().unwrap().to_string(),
                i["image"].as_str().unwrap().to_string(),
                i["pinning"]["how"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pinned,
        [
            (
                "agent".to_string(),
                format!("{agent_uri}:v1@{agent_digest}"),
                "resolved".to_string()
            ),
            (
                "proxy".to_string(),
                format!("{proxy}:v1@{proxy_digest}"),
                "resolved".to_string()
            ),
        ],
        "{}",
        plan.dump()
    );
    let changes = doc["changes"].as_array().unwrap();
    for (field, image) in [
        (
            "containers.agent.image",
            format!("{agent_uri}:v1@{agent_digest}"),
        ),
        (
            "containers.proxy.image",
            format!("{proxy}:v1@{proxy_digest}"),
        ),
    ] {
        assert!(
            changes
                .iter()
                .any(|c| c["field"] == field && c["wanted"] == image.as_str()),
            "{field} = {image}\n{}",
            plan.dump()
        );
    }

    let clean = deploy_then_plan_clean(dir.path(), "2m");
    assert!(!clean.stdout.contains("warning"), "{}", clean.dump());

    // The registry goes away: the digest the revision runs is kept, and the plan stays clean.
    drop(registry);
    let away = run(shipit_on_stack(dir.path()).arg("plan"));
    assert_eq!(away.code, Some(0), "{}", away.dump());
    assert!(
        away.stdout.contains(&format!(
            "warning: container proxy: could not look up `{proxy}:v1`"
        )) && away.stdout.contains(&format!(
            "keeping {proxy_digest}, the digest the current revision runs"
        )),
        "{}",
        away.dump()
    );

    // A new tag that cannot be looked up: used by tag, and the warning says how to pin it.
    write("v2");
    let unpinned = run(shipit_on_stack(dir.path()).arg("plan"));
    assert_eq!(unpinned.code, Some(3), "{}", unpinned.dump());
    for wanted in [
        format!("~ containers.proxy.image: {proxy}:v1@{proxy_digest} -> {proxy}:v2"),
        format!("`{proxy}:v2` runs by tag, not pinned"),
        format!("Pin it in the config as `{proxy}:v2@sha256:<digest>`"),
    ] {
        assert!(
            unpinned.stdout.contains(&wanted),
            "{wanted}\n{}",
            unpinned.dump()
        );
    }
}
