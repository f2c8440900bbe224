//! A fleet in one run, on the local stack: several services from one deploy.yaml and one
//! image, read and pushed once, deployed in their `depends_on` order, with one report.

use crate::common;
use crate::common::config::Config;
use crate::common::images::{TarEntry, fs_layer, oci_layout_of_tars};
use crate::common::{require_docker, require_stack, run, shipit_on_stack, unique_name};

/// A fleet of one OCI-layout image on a cluster of its own, its services of 0 tasks unless
/// `fleet` (the YAML after the shared settings) says otherwise; written to `dir`.
fn write_fleet(dir: &std::path::Path, name: &str, fleet: &str) {
    let layout = dir.join("layout");
    let tars = vec![fs_layer(&[TarEntry::File("app/version", 0o644, b"v1")])];
    oci_layout_of_tars(&layout, &tars, "v1", name);
    let config = Config::new(name, &format!("oci:{}", layout.display()))
        .top(&format!("cluster: {name}"))
        .service("desired_count: 0")
        .container("command: [/app/run]")
        .then(fleet);
    std::fs::write(dir.join("deploy.yaml"), config.to_string()).unwrap();
}

/// Three services of one image: worker depends on api; cron's command does not exist, so its
/// rollout fails. With --keep-going api and worker are deployed, cron's row names the
/// failure, and shipit exits 1. The image is pushed once.
#[test]
fn three_services_one_image_in_order_one_fails_and_the_others_finish() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("fleet");
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &name,
        &format!(
            "services:\n  - name: {name}-api\n  - name: {name}-worker\n    depends_on: [{name}-api]\n  - name: {name}-cron\n    service: {{ desired_count: 1 }}\n"
        ),
    );

    // The plan covers every service; the matrix puts worker after api.
    let matrix = run(shipit_on_stack(dir.path()).args(["plan", "--matrix"]));
    assert_eq!(matrix.code, Some(0), "{}", matrix.dump());
    let matrix: serde_json::Value = serde_json::from_str(&matrix.stdout).unwrap();
    assert_eq!(matrix["waves"], 2, "{matrix}");
    assert_eq!(
        matrix["wave1"]["include"][0]["service"],
        format!("{name}-worker")
    );

    let out = run(shipit_on_stack(dir.path()).args([
        "deploy",
        "--no-preflight",
        "--keep-going",
        "--timeout",
        "3m",
        "--output",
        "json",
    ]));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    let doc: serde_json::Value =
        serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", out.dump()));
    assert_eq!(doc["ok"], false);
    let rows = doc["services"].as_array().unwrap();
    let row = |service: &str| {
        rows.iter()
            .find(|r| r["service"] == format!("{name}-{service}"))
            .unwrap_or_else(|| panic!("no row for {service}: {doc}"))
    };
    assert_eq!(row("api")["result"], "deployed", "{}", out.dump());
    assert_eq!(row("worker")["result"], "deployed", "{}", out.dump());
    assert_eq!(row("cron")["result"], "failed", "{}", out.dump());
    assert!(
        row("cron")["cause"].as_str().is_some_and(|c| !c.is_empty()),
        "{}",
        out.dump()
    );
    // Read and pushed once; each service's own push found it there.
    assert_eq!(out.stderr.matches("] pushed ").count(), 1, "{}", out.dump());
    for service in ["api", "worker", "cron"] {
        assert_eq!(
            row(service)["deploy"]["push"]["unchanged"],
            true,
            "{}",
            out.dump()
        );
    }
    // worker started after api was deployed: its first line comes after api's verdict.
    let api_done = out
        .stderr
        .find(&format!("[{name}-api] "))
        .and_then(|_| out.stderr.rfind(&format!("[{name}-api] ")))
        .unwrap();
    let worker_first = out.stderr.find(&format!("[{name}-worker] plan")).unwrap();
    assert!(worker_first > api_done, "{}", out.dump());
    // Each service exists with its own task family.
    for service in ["api", "worker"] {
        let described = common::describe_service(&name, &format!("{name}-{service}"));
        assert!(
            described
                .task_definition()
                .unwrap()
                .contains(&format!("task-definition/{name}-{service}:")),
            "{described:?}"
        );
    }
    scale_to_zero(&name, &format!("{name}-cron"));
}

fn scale_to_zero(cluster: &str, service: &str) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _ = runtime.block_on(
        common::ecs_client(&runtime)
            .update_service()
            .cluster(cluster)
            .service(service)
            .desired_count(0)
            .send(),
    );
}

/// Two regions in two waves: every service in the first region is deployed before the second
/// region starts, and each region's repository gets the image.
#[test]
fn regions_deploy_in_waves() {
    if !require_stack() {
        return;
    }
    let name = unique_name("waves");
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &name,
        &format!(
            "regions: [us-east-1, us-west-2]\nwaves: [[us-east-1], [us-west-2]]\nservices:\n  - name: {name}-api\n  - name: {name}-worker\n    depends_on: [{name}-api]\n"
        ),
    );
    let out = run(shipit_on_stack(dir.path()).args([
        "deploy",
        "--no-preflight",
        "--timeout",
        "2m",
        "--output",
        "json",
    ]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = doc["services"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{doc}");
    assert!(rows.iter().all(|r| r["result"] == "deployed"), "{doc}");
    // Once per region: each region's repository made and given the image (the local stack
    // keeps one registry store for every region, so the second finds the blobs there).
    for region in ["us-east-1", "us-west-2"] {
        assert!(
            out.stderr.contains(&format!(
                "created repository 000000000000.dkr.ecr.{region}.amazonaws.com/{name}"
            )),
            "{}",
            out.dump()
        );
    }
    assert_eq!(
        out.stderr.matches("] pushed ").count() + out.stderr.matches("] already there: ").count(),
        2,
        "{}",
        out.dump()
    );
    // The second wave's first plan comes after the first wave's last line.
    let east_last = out.stderr.rfind("@us-east-1] ").unwrap();
    let west_plan = out.stderr.find("@us-west-2] plan").unwrap();
    assert!(west_plan > east_last, "{}", out.dump());

    // One service of the fleet: --service and --region pick it.
    let one = run(shipit_on_stack(dir.path()).args([
        "status",
        "--service",
        &format!("{name}-worker"),
        "--region",
        "us-west-2",
        "--output",
        "json",
    ]));
    assert!(
        one.stdout.contains(&format!("{name}-worker")),
        "{}",
        one.dump()
    );
    // status takes the whole fleet; a command for one service asks which.
    let all = run(shipit_on_stack(dir.path()).args(["status"]));
    assert_eq!(all.code, Some(0), "{}", all.dump());
    assert!(
        all.stdout
            .contains(&format!("== {name}-worker@us-west-2\n")),
        "{}",
        all.dump()
    );
    let unnamed = run(shipit_on_stack(dir.path()).args(["iam-policy"]));
    assert_eq!(unnamed.code, Some(2), "{}", unnamed.dump());
    assert!(
        unnamed
            .stderr
            .contains("pass --service NAME and --region REGION"),
        "{}",
        unnamed.dump()
    );
}

/// A throttling storm: a proxy in front of the stack answers ECS as ECS does when an account
/// goes over its request rate (a token bucket, here 6 a second). Eight services deployed at
/// once all finish, and no row reports throttling: the watches share their reads of the
/// cluster, and the ECS clients share a rate limiter that backs off for all of them.
#[test]
fn a_throttling_storm_does_not_fail_a_fleet() {
    if !require_stack() {
        return;
    }
    let name = unique_name("storm");
    let dir = tempfile::tempdir().unwrap();
    let services: String = (1..=8)
        .map(|n| format!("  - name: {name}-s{n}\n"))
        .collect();
    write_fleet(
        dir.path(),
        &name,
        &format!("concurrency: 8\nservices:\n{services}"),
    );
    let proxy = common::faults::FaultProxy::start(
        common::endpoint_addr(),
        common::faults::Rule {
            matches: vec!["AmazonEC2ContainerServiceV20141113"],
            fault: common::faults::Fault::RateLimit {
                per_second: 6.0,
                burst: 10.0,
            },
            skip: 0,
            times: 0,
        },
    );
    let out = run(shipit_on_stack(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args([
            "deploy",
            "--no-preflight",
            "--timeout",
            "3m",
            "--output",
            "json",
        ]));
    let throttled = proxy.injected.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(out.code, Some(0), "{throttled} throttled\n{}", out.dump());
    assert!(throttled > 0, "the storm happened: {}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let rows = doc["services"].as_array().unwrap();
    assert_eq!(rows.len(), 8);
    for row in rows {
        assert_eq!(row["result"], "deployed", "{row}");
        assert!(row["cause"].is_null(), "{row}");
    }
    assert!(!out.stdout.contains("Throttling"), "{}", out.dump());
}

/// Where the registry replicates to the next region (ECR's replication rule, which the local
/// stack does not model: a proxy answers DescribeRegistry with one), the fleet pushes once
/// and waits in the second region for the replica instead of pushing again. The test plays
/// ECR's replication by pushing to the second region once shipit waits.
#[test]
fn a_replicating_registry_is_waited_for_not_pushed_to_twice() {
    if !require_stack() {
        return;
    }
    let name = unique_name("replica");
    let dir = tempfile::tempdir().unwrap();
    write_fleet(
        dir.path(),
        &name,
        &format!(
            "regions: [us-east-1, us-west-2]\nwaves: [[us-east-1], [us-west-2]]\nservices:\n  - name: {name}-api\n"
        ),
    );
    let proxy = common::faults::FaultProxy::start(
        common::endpoint_addr(),
        common::faults::Rule {
            matches: vec!["AmazonEC2ContainerRegistry_V20150921.DescribeRegistry"],
            fault: common::faults::Fault::Json(
                r#"{"registryId":"000000000000","replicationConfiguration":{"rules":[{"destinations":[{"region":"us-west-2","registryId":"000000000000"}]}]}}"#,
            ),
            skip: 0,
            times: usize::MAX,
        },
    );
    let mut child = shipit_on_stack(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(["deploy", "--no-preflight", "--timeout", "2m"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = common::OutputReader::new(child.stderr.take().unwrap());
    let waiting = stderr.read_until(
        "waiting for the replica",
        std::time::Duration::from_secs(60),
    );
    assert!(waiting.contains("waiting for the replica"), "{waiting}");
    // ECR's replication, played here: the image's manifest, read in the first region, put
    // into a repository of the same name in the second.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sdk = common::sdk_config(&runtime);
    let east = common::ecr_client(&runtime);
    let west = aws_sdk_ecr::Client::from_conf(
        aws_sdk_ecr::config::Builder::from(&sdk)
            .region(aws_sdk_ecr::config::Region::new("us-west-2"))
            .build(),
    );
    runtime.block_on(async {
        let image = east
            .batch_get_image()
            .repository_name(&name)
            .image_ids(
                aws_sdk_ecr::types::ImageIdentifier::builder()
                    .image_tag("v1")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let manifest = image.images()[0].image_manifest().unwrap().to_string();
        let _ = west.create_repository().repository_name(&name).send().await;
        west.put_image()
            .repository_name(&name)
            .image_manifest(manifest)
            .image_tag("v1")
            .send()
            .await
            .unwrap();
    });
    let rest = stderr.rest(std::time::Duration::from_secs(60));
    let status = child.wait().unwrap();
    let all = format!("{waiting}{rest}");
    assert_eq!(status.code(), Some(0), "{all}");
    assert!(all.contains("the replica arrived in us-west-2"), "{all}");
    assert_eq!(all.matches("] pushed ").count(), 1, "one push: {all}");
    assert!(!all.contains("@us-west-2] already there"), "{all}");
}
