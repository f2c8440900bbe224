//! A rollback that can run: before `shipit rollback` moves the service, it checks the revision
//! it would go to. Here the previous revision's image was deleted from ECR (as a lifecycle
//! policy expires old images) and the Secrets Manager secret its container reads was deleted:
//! rollback refuses, naming both, and changes nothing; `--force` goes anyway. Two deploys of
//! an OCI layout to a service of 0 tasks (no engine).

use crate::common;
use crate::common::config::Config;
use crate::common::images::{TarEntry, fs_layer, oci_layout_of_tars};
use crate::common::{require_stack, run, shipit_on_stack, unique_name};

/// One Secrets Manager call on the stack (the tests have no Secrets Manager SDK).
fn secrets_manager(
    runtime: &tokio::runtime::Runtime,
    operation: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let answer = runtime.block_on(async {
        reqwest::Client::new()
            .post(common::endpoint())
            .header("content-type", "application/x-amz-json-1.1")
            .header("x-amz-target", format!("secretsmanager.{operation}"))
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20261206/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0",
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    serde_json::from_str(&answer).unwrap()
}

#[test]
fn rollback_refuses_a_revision_whose_image_or_secret_is_gone_unless_forced() {
    if !require_stack() {
        return;
    }
    let name = unique_name("rbtarget");
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let secret = secrets_manager(
        &runtime,
        "CreateSecret",
        serde_json::json!({ "Name": format!("{name}-db"), "SecretString": "not read by shipit" }),
    );
    let secret_arn = secret["ARN"].as_str().unwrap().to_string();
    let write = |version: &str, keep_last: u32| {
        let layout = dir.path().join(format!("layout-{version}"));
        let tars = vec![fs_layer(&[TarEntry::File(
            "app/version",
            0o644,
            version.as_bytes(),
        )])];
        oci_layout_of_tars(&layout, &tars, version, &name);
        let config = Config::new(&name, &format!("oci:{}", layout.display()))
            .tag(version)
            .repository(&format!("keep_last: {keep_last}"))
            .top(&format!("cluster: {name}"))
            .service("desired_count: 0")
            .container(&format!(
                "command: [/app/run]\nsecrets: {{ DB_PASSWORD: '{secret_arn}' }}"
            ));
        std::fs::write(dir.path().join("deploy.yaml"), config.to_string()).unwrap();
    };
    let deploy = |version: &str| -> serde_json::Value {
        write(version, 10);
        let out = run(shipit_on_stack(dir.path()).args([
            "deploy",
            "--no-preflight",
            "--timeout",
            "2m",
            "--output",
            "json",
        ]));
        assert_eq!(out.code, Some(0), "{}", out.dump());
        serde_json::from_str(&out.stdout).unwrap()
    };
    let first = deploy("v1");
    deploy("v2");

    // The first revision's image, gone from the repository, and its secret deleted.
    let digest = first["push"]["digest"].as_str().unwrap().to_string();
    runtime
        .block_on(
            common::ecr_client(&runtime)
                .batch_delete_image()
                .repository_name(&name)
                .image_ids(
                    aws_sdk_ecr::types::ImageIdentifier::builder()
                        .image_digest(&digest)
                        .build(),
                )
                .send(),
        )
        .unwrap();

    secrets_manager(
        &runtime,
        "DeleteSecret",
        serde_json::json!({ "SecretId": secret_arn, "ForceDeleteWithoutRecovery": true }),
    );

    let before = common::describe_service(&name, &name)
        .task_definition()
        .unwrap()
        .to_string();
    let refused = run(shipit_on_stack(dir.path()).args(["rollback", "--no-wait"]));
    assert_eq!(refused.code, Some(1), "{}", refused.dump());
    assert!(
        refused.stderr.contains("is no longer in repository")
            && refused.stderr.contains(&format!(
                "container {name}'s secret DB_PASSWORD ({secret_arn}) no longer exists in Secrets Manager"
            ))
            && refused.stderr.contains("no earlier revision can run")
            && refused.stderr.contains("--force"),
        "{}",
        refused.dump()
    );
    assert_eq!(
        common::describe_service(&name, &name).task_definition(),
        Some(before.as_str()),
        "nothing changed"
    );

    // --force: the recorded revision anyway (shown with --dry-run).
    let forced = run(shipit_on_stack(dir.path()).args([
        "rollback",
        "--force",
        "--dry-run",
        "--output",
        "json",
    ]));
    assert_eq!(forced.code, Some(0), "{}", forced.dump());
    let doc: serde_json::Value = serde_json::from_str(&forced.stdout).unwrap();
    assert_eq!(doc["plan"]["to"], first["task_definition"]["arn"], "{doc}");

    // keep_last 1: the next push would expire the image the service runs now, the way back.
    write("v3", 1);
    let plan = run(shipit_on_stack(dir.path()).args(["plan", "--no-preflight"]));
    assert_eq!(plan.code, Some(3), "{}", plan.dump());
    assert!(
        plan.stdout
            .contains("warning: after this deploy, repository.keep_last (1) expires the image the service runs now"),
        "{}",
        plan.dump()
    );
}
