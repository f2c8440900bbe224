//! Every malformed config in tests/bad_configs gives exit code 2 and a message that names the
//! line and the rule, with a fix. None panics.

use crate::common;

use crate::common::{fixture, run, shipit};

/// (file, line the first error must name, its rule)
const CASES: &[(&str, usize, &str)] = &[
    ("image-max-size.yaml", 5, "image-size"),
    ("unknown-key-top.yaml", 2, "unknown-key"),
    ("unknown-key-nested.yaml", 9, "unknown-key"),
    ("unknown-key-deep.yaml", 25, "unknown-key"),
    ("wrong-type-number.yaml", 15, "type"),
    ("wrong-type-list.yaml", 9, "type"),
    ("wrong-type-bool.yaml", 8, "type"),
    ("wrong-type-mapping.yaml", 14, "type"),
    ("bad-indentation.yaml", 16, "yaml-syntax"),
    ("tab-indentation.yaml", 15, "tab-indent"),
    ("comments-only.yaml", 1, "empty-file"),
    ("duplicate-key.yaml", 17, "duplicate-key"),
    ("unset-variable.yaml", 5, "unset-variable"),
    ("unclosed-variable.yaml", 5, "bad-interpolation"),
    ("fargate-cpu-memory.yaml", 16, "fargate-cpu-memory"),
    ("fargate-cpu.yaml", 15, "fargate-cpu"),
    ("ecr-name.yaml", 8, "ecr-name"),
    ("ecs-name.yaml", 6, "ecs-name"),
    ("health-interval.yaml", 22, "out-of-range"),
    ("health-timeout.yaml", 23, "out-of-range"),
    ("health-retries.yaml", 24, "out-of-range"),
    ("health-start-period.yaml", 25, "out-of-range"),
    ("health-command.yaml", 21, "health-check-command"),
    ("log-retention.yaml", 26, "log-retention"),
    ("log-stream-prefix.yaml", 27, "log-stream-prefix"),
    ("port-range.yaml", 19, "out-of-range"),
    ("desired-count-negative.yaml", 9, "out-of-range"),
    ("deployment-percent.yaml", 10, "deployment-percent"),
    ("role-arn.yaml", 17, "arn"),
    ("secret-arn.yaml", 21, "arn"),
    ("target-group-arn.yaml", 10, "arn"),
    ("load-balancer-port.yaml", 11, "load-balancer-port"),
    ("kms-without-key.yaml", 8, "kms-key"),
    ("missing-required.yaml", 1, "required"),
    ("missing-execution-role.yaml", 13, "required"),
    ("subnet-id.yaml", 10, "subnet-id"),
    ("security-group-id.yaml", 12, "security-group-id"),
    ("no-subnets.yaml", 9, "required"),
    ("image-source.yaml", 4, "image-source"),
    ("image-tag.yaml", 5, "image-tag"),
    ("region.yaml", 2, "region"),
    ("env-and-secret.yaml", 21, "env-and-secret"),
    ("env-name.yaml", 21, "env-name"),
    ("not-a-mapping.yaml", 1, "not-a-mapping"),
    ("multiple-documents.yaml", 27, "multiple-documents"),
    ("deep-nesting.yaml", 1, "too-deep"),
    ("unknown-alias.yaml", 15, "unknown-alias"),
    ("empty.yaml", 1, "empty-file"),
    ("invalid-utf8.yaml", 6, "not-utf8"),
    (
        "strategy-needs-load-balancer.yaml",
        12,
        "strategy-needs-load-balancer",
    ),
    ("canary-percent.yaml", 20, "traffic-percent"),
    ("hook-pause-stage.yaml", 20, "pause-stage"),
    ("early-success-percent.yaml", 13, "early-success-percent"),
    ("hooks-with-rolling.yaml", 13, "only-with-strategy"),
    ("bake-time-unit.yaml", 18, "duration"),
    ("hook-without-role.yaml", 20, "required"),
    ("hook-container.yaml", 18, "unknown-container"),
    ("autoscaling-range.yaml", 14, "autoscaling-range"),
    ("depends-on-health.yaml", 16, "depends-on"),
    ("sidecar-image.yaml", 18, "image-reference"),
    ("hook-overrides-too-long.yaml", 16, "hook-too-long"),
    ("container-memory-equal.yaml", 20, "container-memory"),
    ("stop-timeout.yaml", 13, "out-of-range"),
    ("ulimit-soft-above-hard.yaml", 14, "ulimit-range"),
    ("ulimit-name.yaml", 12, "ulimit-name"),
    ("mount-unknown-volume.yaml", 15, "mount-volume"),
    (
        "efs-access-point-without-encryption.yaml",
        16,
        "efs-transit-encryption",
    ),
    ("log-buffer-blocking.yaml", 13, "log-buffer"),
    (
        "platform-version-too-old.yaml",
        10,
        "platform-version-too-old",
    ),
    ("alarm-arn.yaml", 12, "alarm-name"),
    ("windows-arm64.yaml", 14, "windows"),
    ("task-tag-reserved.yaml", 13, "tag-key"),
    (
        "capacity-provider-two-bases.yaml",
        12,
        "capacity-provider-base",
    ),
    ("ecs-unknown-field.yaml", 13, "ecs-unknown-field"),
    ("ecs-owned-field.yaml", 12, "ecs-owned"),
    ("port-name.yaml", 14, "port-name"),
    ("system-control.yaml", 13, "system-control"),
    ("extra-target-groups-alone.yaml", 10, "extra-target-groups"),
    ("service-connect-port.yaml", 12, "service-connect-port"),
    (
        "service-connect-request-timeout.yaml",
        14,
        "service-connect-timeout",
    ),
    (
        "service-registry-both-ports.yaml",
        11,
        "service-registry-port",
    ),
    ("ebs-iops-gp2.yaml", 17, "ebs-iops"),
    ("ebs-two-volumes.yaml", 15, "ebs-one-per-task"),
    ("ebs-size.yaml", 17, "out-of-range"),
    ("firelens-without-router.yaml", 14, "log-router"),
    ("log-router-s3-config.yaml", 21, "log-router-config"),
    ("alias-bytes.yaml", 4, "too-large"),
    ("mutable-tags.yaml", 18, "mutable-tags"),
    ("fleet-depends-on.yaml", 14, "fleet-depends-on"),
    ("fleet-circle.yaml", 12, "fleet-depends-on"),
    ("fleet-waves.yaml", 12, "fleet-waves"),
    ("fleet-entry-key.yaml", 14, "unknown-key"),
];

#[test]
fn every_bad_config_is_refused_with_line_rule_and_fix() {
    let dir = fixture("bad_configs");
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    listed.sort();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        listed, on_disk,
        "every file in the corpus has an expectation"
    );
    assert!(CASES.len() >= 30);

    for (file, line, rule) in CASES {
        let out = run(shipit(&dir)
            .args(["validate", "-c", file])
            .env_remove("SHIPIT_TEST_UNSET_VARIABLE"));
        assert_eq!(out.code, Some(2), "{file}: {}", out.dump());
        let wanted = format!("error[{rule}]: {file}:{line}:");
        assert!(
            out.stderr.contains(&wanted),
            "{file}: wanted `{wanted}`\n{}",
            out.dump()
        );
        assert!(
            out.stderr.contains("= fix: "),
            "{file}: no fix\n{}",
            out.dump()
        );
        assert!(!out.stderr.contains("panicked"), "{file}: {}", out.dump());
        assert!(
            out.stdout.is_empty(),
            "{file}: human errors go to stderr\n{}",
            out.dump()
        );
    }
}

#[test]
fn bad_configs_give_json_diagnostics_too() {
    let dir = fixture("bad_configs");
    let out = run(shipit(&dir).args([
        "validate",
        "-c",
        "fargate-cpu-memory.yaml",
        "--output",
        "json",
    ]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["ok"], false);
    let d = &doc["error"]["diagnostics"][0];
    assert_eq!(d["rule"], "fargate-cpu-memory");
    assert_eq!(d["line"], 16);
    assert_eq!(d["path"], "task.memory");
    assert!(d["fix"].as_str().unwrap().contains("512, 1024, 2048"));
}

#[test]
fn a_huge_file_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("app: demo\n");
    while text.len() < 2 * 1024 * 1024 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(dir.path().join("deploy.yaml"), text).unwrap();
    let out = run(shipit(dir.path()).arg("validate"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains("error[too-large]: deploy.yaml:1:"),
        "{}",
        out.dump()
    );
}

#[test]
fn several_problems_are_all_reported_in_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let text = common::GOOD_CONFIG
        .replace(
            "  name: demo-service\n",
            "  nmae: demo-service\n  desired_count: -2\n",
        )
        .replace("task:\n", "task:\n  cpu: 512\n  memory: 512\n");
    std::fs::write(dir.path().join("deploy.yaml"), text).unwrap();
    let out = run(shipit(dir.path()).arg("validate"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    for wanted in [
        "error[unknown-key]: deploy.yaml:8:3: unknown key `nmae` in `service`",
        "= fix: did you mean `name`?",
        "error[out-of-range]: deploy.yaml:9:18:",
        "error[fargate-cpu-memory]: deploy.yaml:14:11:",
        "deploy.yaml: 3 errors found; nothing was changed",
    ] {
        assert!(
            out.stderr.contains(wanted),
            "wanted `{wanted}`\n{}",
            out.dump()
        );
    }
}
