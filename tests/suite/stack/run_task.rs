//! `shipit run -- COMMAND`: one-off tasks of the service's task definition, as real containers
//! on the local stack. The output streams, the exit code comes through, a command that cannot
//! start is explained, and Ctrl-C stops the task.

use crate::common;
use crate::common::config::Config;

use std::path::Path;
use std::process::Stdio;

use crate::common::{require_docker, require_stack, run, shipit_on_stack, unique_name};

fn config(name: &str, image: &str) -> String {
    Config::new(name, &format!("docker://{image}"))
        .top(&format!("cluster: {name}"))
        .service("desired_count: 0")
        .container("name: app")
        .container("command: [/bin/sh, -c, 'exec sleep 3600']")
        .to_string()
}

/// `shipit run` with a two-minute bound, so that a task the local stack loses fails the test in
/// minutes rather than after the default hour. The stack now and then loses a one-off task's
/// container (the task stays RUNNING, nothing is ever printed): then one more task.
fn shipit_run(dir: &Path, args: &[&str]) -> common::Run {
    let once = || {
        run(shipit_on_stack(dir)
            .args(["run", "--timeout", "2m"])
            .args(args))
    };
    let out = once();
    if out.stderr.contains("did not finish within") && out.stdout.is_empty() {
        eprintln!(
            "the stack lost a one-off task; trying again:\n{}",
            out.dump()
        );
        return once();
    }
    out
}

#[test]
fn one_off_tasks_stream_their_output_and_exit_with_the_containers_code() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("run");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    let image = pulled.built(common::busybox_image(
        &format!("shipit-run-{name}:v1"),
        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        &[],
    ));
    std::fs::write(dir.path().join("deploy.yaml"), config(&name, &image)).unwrap();
    let out = run(shipit_on_stack(dir.path()).arg("deploy"));
    assert_eq!(out.code, Some(0), "{}", out.dump());

    // The container's exit code, its output on stdout.
    let out = shipit_run(
        dir.path(),
        &[
            "--",
            "/bin/sh",
            "-c",
            "echo migrating 42 rows; echo to stderr >&2; exit 3",
        ],
    );
    assert_eq!(out.code, Some(3), "{}", out.dump());
    assert!(out.stdout.contains("migrating 42 rows\n"), "{}", out.dump());
    assert!(out.stdout.contains("to stderr\n"), "{}", out.dump());
    assert!(out.stderr.contains("exited with code 3"), "{}", out.dump());

    // Success, as JSON.
    let out = shipit_run(
        dir.path(),
        &["--output", "json", "--", "/bin/sh", "-c", "echo all good"],
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(
        out.stdout
            .rsplit_once("all good\n")
            .map_or(&out.stdout[..], |(_, json)| json),
    )
    .unwrap_or_else(|e| panic!("{e}: {}", out.dump()));
    assert_eq!(doc["exit_code"], 0, "{doc}");
    assert_eq!(doc["ok"], true);
    assert!(doc["log_lines"].as_u64().unwrap() >= 1, "{doc}");

    // A container that is not the app's: bad input, exit 2, nothing started.
    let out = shipit_run(dir.path(), &["--container", "sidecar", "--", "true"]);
    assert_eq!(out.code, Some(2), "{}", out.dump());

    // Ctrl-C: the task is stopped, and shipit says so. The local stack now and then loses a
    // task's container (the task stays RUNNING with no output); one more task is tried then,
    // since what is tested here is the interrupt, not the emulator.
    let mut child = None;
    for attempt in 1..=2 {
        let mut started = shipit_on_stack(dir.path())
            .args(["run", "--", "/bin/sh", "-c", "echo waiting; exec sleep 300"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = common::OutputReader::new(started.stdout.take().unwrap());
        let seen = stdout.read_until("waiting", std::time::Duration::from_secs(90));
        if seen.contains("waiting") {
            child = Some(started);
            break;
        }
        let (_, stderr) = common::interrupt(started);
        assert!(
            attempt < 2,
            "the output streams while it runs; twice nothing came: {seen}\n{stderr}"
        );
        eprintln!("no output from the one-off task in 90 s (the stack lost it?); trying again");
    }
    let child = child.expect("a task that printed");
    let (status, stderr) = common::interrupt(child);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("stopped task"), "{stderr}");
    let task_id = stderr
        .split("running `")
        .nth(1)
        .and_then(|rest| rest.split(" in task ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("no task id in {stderr}"))
        .to_string();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let described = runtime
        .block_on(
            common::ecs_client(&runtime)
                .describe_tasks()
                .cluster(&name)
                .tasks(&task_id)
                .send(),
        )
        .unwrap();
    assert_eq!(
        described.tasks()[0].desired_status(),
        Some("STOPPED"),
        "StopTask was sent"
    );
}

/// Before-deploy hooks run as one-off tasks of the new revision before the service is
/// updated: a failing one stops the deploy with the service on its previous revision and the
/// hook's output in the report; plan lists them; `--skip-hooks` goes on without them; a
/// passing one lets the deploy through; a deploy with nothing to change runs none.
#[test]
fn before_deploy_hooks_gate_the_service_update() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("hook");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    let image = pulled.built(common::busybox_image(
        &format!("shipit-hook-{name}:v1"),
        "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\n",
        &[],
    ));
    let write = |release: &str, hook: &str| {
        let text = config(&name, &image).replace(
            "  command: [/bin/sh, -c, 'exec sleep 3600']\n",
            &format!(
                "  command: [/bin/sh, -c, 'exec sleep 3600']\n  environment: {{ RELEASE: '{release}' }}\nhooks:\n  before_deploy:\n    - run: [/bin/sh, -c, '{hook}']\n      timeout: 2m\n"
            ),
        );
        std::fs::write(dir.path().join("deploy.yaml"), text).unwrap();
    };
    let deploy = |extra: &[&str]| {
        let out = run(shipit_on_stack(dir.path())
            .args(["deploy", "--output", "json"])
            .args(extra));
        let doc: serde_json::Value =
            serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.dump()));
        (out, doc)
    };

    // The first deploy creates the service: the hook runs before CreateService.
    write("1", "echo first migration");
    let (out, doc) = deploy(&[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["hooks"]["ran"][0]["exit_code"], 0, "{}", out.dump());
    assert!(out.stderr.contains("  | first migration"), "{}", out.dump());
    let first_td = doc["task_definition"]["arn"].as_str().unwrap().to_string();

    // A failing hook: exit 1, the service untouched, the hook's output in the report.
    write(
        "2",
        "echo applying 0042_add_index; echo relation already exists >&2; exit 3",
    );
    let plan = run(shipit_on_stack(dir.path()).arg("plan"));
    assert_eq!(plan.code, Some(3), "{}", plan.dump());
    assert!(
        plan.stdout.contains("before-deploy hooks: ECS RunTask")
            && plan
                .stdout
                .contains("  run `/bin/sh -c echo applying 0042_add_index;"),
        "{}",
        plan.dump()
    );
    let (out, doc) = deploy(&[]);
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert_eq!(doc["result"], "hook-failed", "{}", out.dump());
    let failure = &doc["failure"];
    assert!(
        failure["summary"]
            .as_str()
            .unwrap()
            .contains("exited with code 3; the service was not updated: it still runs"),
        "{}",
        out.dump()
    );
    let lines: Vec<&str> = failure["log_lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(
        lines.contains(&"applying 0042_add_index") && lines.contains(&"relation already exists"),
        "{}",
        out.dump()
    );
    let service_td = || {
        common::describe_service(&name, &name)
            .task_definition()
            .unwrap()
            .to_string()
    };
    assert_eq!(service_td(), first_td, "the service still runs revision 1");

    // --skip-hooks: the update goes through without the hook, and the result says so.
    let (out, doc) = deploy(&["--skip-hooks"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["hooks"]["skipped"], true);
    assert_eq!(doc["hooks"]["ran"], serde_json::json!([]));
    assert!(out.stderr.contains("(--skip-hooks)"), "{}", out.dump());
    assert_ne!(service_td(), first_td);

    // Nothing to change: no hook runs, even with a failing one configured.
    let (out, doc) = deploy(&[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["result"], "unchanged", "{}", out.dump());
    assert_eq!(doc["hooks"]["ran"], serde_json::json!([]));
}
