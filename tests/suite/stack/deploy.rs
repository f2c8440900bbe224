//! `shipit deploy`, `plan` and `rollback` against the local stack, with ECS tasks running as
//! real containers on the machine's Docker engine (ministack's Docker mode): a healthy
//! busybox image rolls out to COMPLETED, a broken one fails fast with its exit code and leaves
//! the service on the previous revision.

use crate::common;
use crate::common::config::Config;

use std::path::Path;

use crate::common::{
    Run, ecr_client, require_docker, require_stack, run, shipit_on_stack, unique_name,
};

/// Builds a FROM-scratch busybox image that serves HTTP on port 5000 (or exits 1 when
/// `broken`) and returns its engine name.
fn build_image(name: &str, version: &str, broken: bool) -> String {
    let command = if broken {
        r#"["/bin/sh", "-c", "echo 'starting the broken build'; echo 'fatal: configuration missing' >&2; exit 1"]"#
    } else {
        r#"["/bin/sh", "-c", "echo 'serving on 5000'; exec /bin/busybox httpd -f -p 5000 -h /www"]"#
    };
    common::busybox_image(
        &format!("shipit-deploy-{name}:{version}"),
        &format!(
            "RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]\nCOPY www /www\nENV VERSION={version}\nCMD {command}\n"
        ),
        &[("www/index.html", &format!("{name} {version}\n"))],
    )
}

fn config(name: &str, image: &str, tag: &str, desired: u32) -> String {
    Config::new(name, &format!("docker://{image}"))
        .tag(tag)
        .top(&format!("cluster: {name}-cluster"))
        .service(&format!("name: {name}-service\ndesired_count: {desired}"))
        .task(&format!("family: {name}-task"))
        .container("name: web\nport: 5000")
        .container(
            "health_check:
  command: wget -q -O /dev/null http://localhost:5000/ || exit 1
  interval: 5
  timeout: 2
  retries: 2",
        )
        .logs("retention_days: 7")
        .to_string()
}

fn deploy(dir: &Path, cache: &Path, extra: &[&str]) -> (Run, serde_json::Value) {
    let out = run(shipit_on_stack(dir)
        .env("SHIPIT_CACHE_DIR", cache)
        .args(["deploy", "--output", "json", "--timeout", "4m"])
        .args(extra));
    let doc = serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, doc)
}

/// `deploy` as a GitHub Actions step: the output and summary files live in `gh`.
fn deploy_in_actions(dir: &Path, cache: &Path, gh: &Path) -> (Run, serde_json::Value) {
    let out = run(shipit_on_stack(dir)
        .env("SHIPIT_CACHE_DIR", cache)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", gh.join("output"))
        .env("GITHUB_STEP_SUMMARY", gh.join("summary.md"))
        .args(["deploy", "--output", "json", "--timeout", "4m"]));
    let doc = serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, doc)
}

fn service_task_definition(name: &str) -> String {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecs = common::ecs_client(&runtime);
    let out = runtime
        .block_on(
            ecs.describe_services()
                .cluster(format!("{name}-cluster"))
                .services(format!("{name}-service"))
                .send(),
        )
        .unwrap();
    out.services()[0].task_definition().unwrap().to_string()
}

#[test]
fn deploy_rolls_out_re_runs_as_a_no_op_plans_changes_and_fails_fast_on_a_broken_image() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("dep");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let v1 = pulled.built(build_image(&name, "v1", false));
    std::fs::write(dir.path().join("deploy.yaml"), config(&name, &v1, "v1", 2)).unwrap();

    // First deploy, as a GitHub Actions step: repository, image, cluster, log group, task
    // definition, service, 2 tasks.
    let gh = tempfile::tempdir().unwrap();
    let (out, doc) = deploy_in_actions(dir.path(), cache.path(), gh.path());
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["result"], "deployed");
    assert_eq!(doc["cluster_created"], true);
    assert_eq!(doc["log_group"]["create"], true);
    assert_eq!(doc["task_definition"]["registered"], true);
    assert_eq!(doc["service"]["created"], true);
    assert_eq!(doc["rollout"]["verdict"], "succeeded", "{}", out.dump());
    assert_eq!(doc["rollout"]["counts"]["running"], 2);
    let first_td = doc["task_definition"]["arn"].as_str().unwrap().to_string();
    assert!(first_td.ends_with(&format!("{name}-task:1")), "{first_td}");
    // The step outputs, in the exact format GitHub reads.
    let outputs = std::fs::read_to_string(gh.path().join("output")).unwrap();
    assert_eq!(
        outputs,
        format!(
            "image-uri={}\nimage-digest={}\ntask-definition-arn={first_td}\nservice-arn={}\ndeployment-id={}\nservice-deployment-arn=\nresult=deployed\n",
            doc["push"]["image"].as_str().unwrap(),
            doc["push"]["digest"].as_str().unwrap(),
            doc["service"]["arn"].as_str().unwrap(),
            doc["deployment_id"].as_str().unwrap(),
        )
    );
    let summary = std::fs::read_to_string(gh.path().join("summary.md")).unwrap();
    assert!(
        summary.starts_with("## shipit deploy: deployed\n"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!(
            "| task definition | `{name}-task:1` (new revision) |"
        )),
        "{summary}"
    );
    for wanted in [
        "::group::push the image; cluster and log group\n",
        "::group::task definition and service\n",
        "::group::rollout\n",
        "::endgroup::\n",
    ] {
        assert!(
            out.stderr.contains(wanted),
            "wanted `{wanted}`\n{}",
            out.dump()
        );
    }
    assert!(
        !out.stderr.contains("\x1b["),
        "no colour codes in Actions\n{}",
        out.dump()
    );
    // The task definition pins the image by digest on a registry the engine can pull from.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let repos = runtime
        .block_on(
            ecr_client(&runtime)
                .describe_repositories()
                .repository_names(&name)
                .send(),
        )
        .unwrap();
    assert_eq!(repos.repositories().len(), 1);
    assert!(doc["push"]["image"].as_str().unwrap().contains("@sha256:"));

    // status: healthy, as a user sees it and as JSON.
    let status = run(shipit_on_stack(dir.path()).arg("status"));
    assert_eq!(status.code, Some(0), "{}", status.dump());
    assert!(
        status
            .stdout
            .starts_with(&format!("HEALTHY: {name}-task:1: 2/2 tasks running\n")),
        "{}",
        status.dump()
    );
    assert!(
        status
            .stdout
            .contains("\ndeployments:\n  PRIMARY  COMPLETED"),
        "{}",
        status.dump()
    );
    let status = run(shipit_on_stack(dir.path()).args(["status", "--output", "json"]));
    let doc_status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(doc_status["verdict"], "healthy");
    assert_eq!(doc_status["running"], 2);
    assert_eq!(
        doc_status["deployments"][0]["image"], doc["push"]["image"],
        "the deployment's image, pinned by digest"
    );
    assert_eq!(
        doc_status["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["last_status"] == "RUNNING")
            .count(),
        2
    );

    // The same again: nothing registered, no write call at all.
    let (out, doc) = deploy(dir.path(), cache.path(), &[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["result"], "unchanged", "{}", out.dump());
    assert_eq!(doc["task_definition"]["registered"], false);
    assert_eq!(
        common::write_calls(&doc),
        std::collections::BTreeSet::<String>::new(),
        "{}",
        out.dump()
    );
    let calls: u64 = doc["api_calls"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(
        (5..=10).contains(&calls),
        "reads only, at most 10: {}",
        out.dump()
    );
    assert_eq!(
        doc["api_calls"]["ECS:RegisterTaskDefinition"],
        serde_json::Value::Null
    );

    // plan shows exactly the pending change, and changes nothing.
    std::fs::write(dir.path().join("deploy.yaml"), config(&name, &v1, "v1", 3)).unwrap();
    let out = run(shipit_on_stack(dir.path())
        .env("SHIPIT_CACHE_DIR", cache.path())
        .args(["plan", "--output", "json"]));
    assert_eq!(out.code, Some(3), "changes pending\n{}", out.dump());
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(plan["image"]["changes"], serde_json::json!([]), "no push");
    assert_eq!(plan["task_definition"]["changes"], serde_json::json!([]));
    assert_eq!(
        plan["changes"],
        serde_json::json!([{
            "resource": "service",
            "name": format!("{name}-service"),
            "field": "desired_count",
            "current": "2",
            "wanted": "3",
            "secret": false,
            "operation": "UpdateService",
            "argument": "desiredCount"
        }])
    );
    assert_eq!(plan["writes"], serde_json::json!(["ECS:UpdateService"]));
    assert_eq!(
        common::write_calls(&plan),
        std::collections::BTreeSet::<String>::new()
    );
    let human = run(shipit_on_stack(dir.path())
        .env("SHIPIT_CACHE_DIR", cache.path())
        .arg("plan"));
    assert_eq!(human.code, Some(3));
    assert!(
        human.stdout.contains(&format!(
            "service {name}-service: ECS UpdateService\n  ~ desired_count: 2 -> 3\n"
        )),
        "{}",
        human.dump()
    );
    std::fs::write(dir.path().join("deploy.yaml"), config(&name, &v1, "v1", 2)).unwrap();

    // A new image: a new revision and a new deployment, with early success, waited for until
    // stable: when deploy returns, no task of revision 1 is left.
    let early = |text: String| {
        text.replace(
            "  subnets:",
            "  deployment: { early_success: { healthy_percent: 100 } }\n  subnets:",
        )
    };
    let v2 = pulled.built(build_image(&name, "v2", false));
    std::fs::write(
        dir.path().join("deploy.yaml"),
        early(config(&name, &v2, "v2", 2)),
    )
    .unwrap();
    let (out, doc) = deploy(dir.path(), cache.path(), &["--wait-until", "stable"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(doc["result"], "deployed");
    assert!(out.stderr.contains("is stable (timeout"), "{}", out.dump());
    let status = run(shipit_on_stack(dir.path()).args(["status", "--output", "json"]));
    let doc_status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    let running: Vec<&str> = doc_status["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["last_status"] == "RUNNING")
        .map(|t| t["revision"].as_str().unwrap())
        .collect();
    assert_eq!(
        running,
        vec![format!("{name}-task:2"); 2],
        "stable: only the new revision runs\n{}",
        status.dump()
    );
    let second_td = doc["task_definition"]["arn"].as_str().unwrap().to_string();
    assert!(
        second_td.ends_with(&format!("{name}-task:2")),
        "{second_td}"
    );
    assert_eq!(
        doc["service"]["previous_task_definition"],
        first_td.as_str()
    );

    // A broken image: exit 1 fast, the exit code named, the service back on revision 2.
    let broken = pulled.built(build_image(&name, "v3", true));
    std::fs::write(
        dir.path().join("deploy.yaml"),
        early(config(&name, &broken, "v3", 2)),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let gh = tempfile::tempdir().unwrap();
    let (out, doc) = deploy_in_actions(dir.path(), cache.path(), gh.path());
    let took = started.elapsed();
    assert!(
        out.stderr
            .contains("::error title=shipit deploy failed::deploy failed"),
        "an error annotation\n{}",
        out.dump()
    );
    let summary = std::fs::read_to_string(gh.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("### Failure\n\ndeploy failed"),
        "{summary}"
    );
    assert!(
        summary.contains("configuration missing"),
        "the log lines are in the summary\n{summary}"
    );
    let outputs = std::fs::read_to_string(gh.path().join("output")).unwrap();
    assert!(
        outputs.ends_with(&format!("result={}\n", doc["result"].as_str().unwrap())),
        "{outputs}"
    );
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(
        ["rolled-back", "failed"].contains(&doc["result"].as_str().unwrap()),
        "{}",
        out.dump()
    );
    let failure = &doc["failure"];
    assert!(
        failure["summary"]
            .as_str()
            .unwrap()
            .contains("exited with code 1"),
        "{}",
        out.dump()
    );
    assert!(took.as_secs() < 120, "failed fast: {took:?}");
    assert_eq!(
        failure["rolled_back_to"],
        second_td.as_str(),
        "{}",
        out.dump()
    );
    assert_eq!(service_task_definition(&name), second_td);
    assert!(
        failure["log_lines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l.as_str().unwrap().contains("configuration missing")),
        "the failing container's last log lines are in the report\n{}",
        out.dump()
    );

    // status: the service runs revision 2 again. When ECS's breaker rolled back, the FAILED
    // deployment of revision 3 is the verdict; when shipit rolled back first, ECS keeps no
    // failure and the service is simply on revision 2.
    let status = run(shipit_on_stack(dir.path()).args(["status", "--output", "json"]));
    let doc_status: serde_json::Value = serde_json::from_str(&status.stdout).unwrap();
    assert_eq!(
        doc_status["task_definition"],
        second_td.as_str(),
        "{}",
        status.dump()
    );
    if doc_status["verdict"] == "failing" {
        assert_eq!(status.code, Some(1));
        assert!(
            doc_status["why"]
                .as_str()
                .unwrap()
                .starts_with(&format!("the deployment of {name}-task:3 failed")),
            "{}",
            status.dump()
        );
    } else {
        assert!(
            ["healthy", "deploying"].contains(&doc_status["verdict"].as_str().unwrap()),
            "{}",
            status.dump()
        );
    }

    // rollback --dry-run: the plan, and nothing changes.
    let before = service_task_definition(&name);
    let dry = run(shipit_on_stack(dir.path()).args(["rollback", "--dry-run"]));
    assert_eq!(dry.code, Some(0), "{}", dry.dump());
    assert!(
        dry.stdout.starts_with(&format!(
            "shipit rollback would service {name}-service: task definition {} -> {name}-task:1 (UpdateService); nothing changed (--dry-run)"
            , before.rsplit('/').next().unwrap()
        )),
        "{}",
        dry.dump()
    );
    let dry_json =
        run(shipit_on_stack(dir.path()).args(["rollback", "--dry-run", "--output", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&dry_json.stdout).unwrap();
    assert_eq!(doc["plan"]["kind"], "revision", "{doc}");
    assert_eq!(doc["plan"]["to"], first_td, "{doc}");
    assert_eq!(
        service_task_definition(&name),
        before,
        "a dry run changes nothing"
    );

    // rollback: back to what ran before the last successful deploy (revision 1).
    let out = run(shipit_on_stack(dir.path())
        .env("SHIPIT_CACHE_DIR", cache.path())
        .args(["rollback", "--output", "json", "--timeout", "4m"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(service_task_definition(&name), first_td);

    // A service that does not exist: said so, exit 1.
    std::fs::write(
        dir.path().join("other.yaml"),
        config(&unique_name("none"), &v1, "v1", 2),
    )
    .unwrap();
    let status = run(shipit_on_stack(dir.path()).args(["status", "-c", "other.yaml"]));
    assert_eq!(status.code, Some(1), "{}", status.dump());
    assert!(
        status.stdout.starts_with("MISSING: service "),
        "{}",
        status.dump()
    );
}

/// A command that does not exist, two tasks: every task stops for one reason, which the
/// runtime words with the task's own ids (container names, ids). Fail-fast must see one cause
/// (ids taken out) and stop at the second stop, naming it, instead of printing stopped tasks
/// until ECS's breaker or the timeout.
#[test]
fn a_command_that_does_not_exist_fails_fast_on_the_second_stop() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("nocmd");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let image = pulled.built(build_image(&name, "v1", false));
    let text = config(&name, &image, "v1", 2).replace(
        "  port: 5000\n",
        "  port: 5000\n  command: [/usr/local/bin/no-such-program, --serve]\n",
    );
    std::fs::write(dir.path().join("deploy.yaml"), text).unwrap();
    let started = std::time::Instant::now();
    let (out, doc) = deploy(dir.path(), cache.path(), &[]);
    let took = started.elapsed();
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert_eq!(doc["result"], "failed", "{}", out.dump());
    let verdict = &doc["rollout"];
    // Every stopped task a poll sees is printed before the verdict. The local runtime can stop
    // several in one poll interval (when it words the failure as a 409 name conflict, no
    // container ever starts: seen with 5 in 12 s), so the bound leaves room for that; waiting
    // for ECS's breaker or the timeout would print many more, and take minutes.
    let stopped = out.stderr.matches(" stopped: ").count();
    assert!(
        took.as_secs() < 90 && stopped <= 8,
        "failed fast: {took:?}, {stopped} stopped tasks printed\n{}",
        out.dump()
    );
    assert_eq!(verdict["verdict"], "failed", "{}", out.dump());
    assert_eq!(
        verdict["tasks"].as_array().map(Vec::len),
        Some(2),
        "two stops for one cause\n{}",
        out.dump()
    );
    let kind = verdict["cause"]["kind"].as_str().unwrap_or_default();
    assert!(
        [
            "cannot-start-container",
            "resource-initialization",
            "cannot-pull-image",
            "container-exited"
        ]
        .contains(&kind),
        "{}",
        out.dump()
    );
    scale_to_zero(&name);
}

fn scale_to_zero(name: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _ = runtime.block_on(
        common::ecs_client(&runtime)
            .update_service()
            .cluster(format!("{name}-cluster"))
            .service(format!("{name}-service"))
            .desired_count(0)
            .send(),
    );
}

/// `shipit wait`: a deployment started elsewhere (`deploy --no-wait`, as another CI job would)
/// is watched to its end with deploy's verdicts and exit codes: a healthy one succeeds, a
/// broken one fails fast with its cause, and a deployment id the service does not have is bad
/// input. It writes nothing (no record, no rollback of its own).
#[test]
fn wait_watches_a_deployment_started_elsewhere_to_its_end() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("wait");
    let pulled = common::PulledImages::of(&name);
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let wait = |extra: &[&str]| {
        let out = run(shipit_on_stack(dir.path())
            .args(["wait", "--timeout", "4m", "--output", "json"])
            .args(extra));
        let doc = serde_json::from_str(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out, doc)
    };

    let v1 = pulled.built(build_image(&name, "v1", false));
    std::fs::write(dir.path().join("deploy.yaml"), config(&name, &v1, "v1", 1)).unwrap();
    let (out, started) = deploy(dir.path(), cache.path(), &["--no-wait"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(started["result"], "accepted", "{}", out.dump());
    let (out, waited) = wait(&[]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(waited["result"], "deployed", "{}", out.dump());
    assert_eq!(waited["deployment_id"], started["deployment_id"]);

    let (out, _) = wait(&["ecs-svc/0000000000000000000"]);
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(out.stderr.contains("has no deployment"), "{}", out.dump());

    let v2 = pulled.built(build_image(&name, "v2", true));
    std::fs::write(dir.path().join("deploy.yaml"), config(&name, &v2, "v2", 1)).unwrap();
    let (out, started) = deploy(dir.path(), cache.path(), &["--no-wait"]);
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let (out, waited) = wait(&[]);
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert_eq!(waited["deployment_id"], started["deployment_id"]);
    assert!(
        ["failed", "rolled-back"].contains(&waited["result"].as_str().unwrap_or_default()),
        "{}",
        out.dump()
    );
    let summary = waited["failure"]["summary"].as_str().unwrap_or_default();
    assert!(summary.contains("exit"), "{}", out.dump());
    scale_to_zero(&name);
}
