//! Faults on the wire (local stack): a proxy between shipit and the stack resets connections,
//! delays, answers 500/503, throttles, or cuts responses short, at one stage of a deploy (or of
//! `shipit logs`) at a time. A fault that happens once is retried and the run completes, or the
//! run fails naming the stage and a re-run completes; a fault that persists fails the run after
//! exactly `--max-attempts` tries, naming the stage, and a re-run without it completes.

use crate::common;
use crate::common::config::Config;

use std::time::Duration;

use crate::common::faults::{Fault, FaultProxy, Rule};
use crate::common::images::{TarEntry, fs_layer, oci_layout_of_tars};
use crate::common::{require_stack, run, shipit_on_stack, unique_name};

struct Stage {
    name: &'static str,
    /// What identifies its requests.
    matches: &'static [&'static str],
    /// Matching requests that pass before the fault (DescribeServices is also asked before
    /// the service is created: the rollout's polls come after).
    skip: usize,
    /// What a failure at this stage must name.
    named_by: &'static str,
    logs: bool,
    /// Requests of this stage that run at once (the image's two blobs upload in parallel).
    parallel: usize,
    /// Times the failing call is made before the run gives up, each with its own attempts
    /// (the rollout watch polls again: it gives up after 3 failed polls in a row).
    calls: usize,
}

const STAGES: &[Stage] = &[
    Stage {
        name: "repository",
        matches: &["DescribeRepositories"],
        skip: 0,
        named_by: "DescribeRepositories",
        logs: false,
        parallel: 1,
        calls: 1,
    },
    Stage {
        name: "blob upload",
        matches: &["/blobs/uploads/"],
        skip: 0,
        named_by: "upload",
        logs: false,
        parallel: 2,
        calls: 1,
    },
    Stage {
        name: "manifest",
        matches: &["PUT /v2/", "/manifests/"],
        skip: 0,
        named_by: "manifest",
        logs: false,
        parallel: 1,
        calls: 1,
    },
    Stage {
        name: "task definition",
        matches: &["RegisterTaskDefinition"],
        skip: 0,
        named_by: "RegisterTaskDefinition",
        logs: false,
        parallel: 1,
        calls: 1,
    },
    Stage {
        name: "service update",
        matches: &["CreateService"],
        skip: 0,
        named_by: "CreateService",
        logs: false,
        parallel: 1,
        calls: 1,
    },
    Stage {
        name: "rollout polling",
        matches: &["DescribeServices"],
        skip: 1,
        named_by: "DescribeServices",
        logs: false,
        parallel: 1,
        calls: 3,
    },
    Stage {
        name: "log reading",
        matches: &["FilterLogEvents"],
        skip: 0,
        named_by: "FilterLogEvents",
        logs: true,
        parallel: 1,
        calls: 1,
    },
];

const FAULTS: &[(&str, Fault)] = &[
    ("connection reset", Fault::Reset),
    ("500", Fault::Status(500)),
    ("503", Fault::Status(503)),
    ("throttling", Fault::Throttle),
    ("3 s delay", Fault::Delay(Duration::from_secs(3))),
    ("truncated response", Fault::Truncate),
];

/// A config with its own image (an OCI layout), no tasks to run (the rollout completes at once),
/// and a log group that `shipit logs` can read once deployed.
fn setup(dir: &std::path::Path, name: &str) {
    let tars = vec![fs_layer(&[TarEntry::File(
        "app/marker",
        0o644,
        name.as_bytes(),
    )])];
    oci_layout_of_tars(&dir.join("layout"), &tars, "v1", name);
    std::fs::write(
        dir.join("deploy.yaml"),
        Config::new(name, &format!("oci:{}", dir.join("layout").display()))
            .service("desired_count: 0")
            .to_string(),
    )
    .unwrap();
}

fn command(stage: &Stage) -> Vec<&'static str> {
    if stage.logs {
        vec!["logs", "--since", "1h"]
    } else {
        vec!["deploy", "--timeout", "60s"]
    }
}

/// One run through the proxy; returns what happened, for the table.
fn one(stage: &Stage, fault_name: &str, fault: Fault, times: usize, max_attempts: u32) -> String {
    let dir = tempfile::tempdir().unwrap();
    let name = unique_name("fault");
    setup(dir.path(), &name);
    if stage.logs {
        // Something to read: the log group exists once deployed.
        let out = run(shipit_on_stack(dir.path()).arg("deploy"));
        assert_eq!(out.code, Some(0), "{}", out.dump());
    }
    let proxy = FaultProxy::start(
        common::endpoint_addr(),
        Rule {
            matches: stage.matches.to_vec(),
            fault,
            skip: stage.skip,
            times,
        },
    );
    let out = run(shipit_on_stack(dir.path())
        .env("AWS_ENDPOINT_URL", &proxy.url)
        .args(["--max-attempts", &max_attempts.to_string()])
        .args(command(stage)));
    let injected = proxy.injected.load(std::sync::atomic::Ordering::SeqCst);
    let context = format!("{} / {fault_name} x{times}:\n{}", stage.name, out.dump());
    assert!(injected >= 1, "the fault was injected: {context}");
    let outcome = if out.code == Some(0) {
        "completed".to_string()
    } else {
        assert_eq!(out.code, Some(1), "{context}");
        assert!(
            out.stderr.contains(stage.named_by),
            "the failure names the stage ({}): {context}",
            stage.named_by
        );
        if times > 1 {
            // Bounded: each call was tried --max-attempts times, no more.
            let max = max_attempts as usize * stage.calls;
            assert!(
                (max..=max * stage.parallel).contains(&injected),
                "{injected} tries: {context}"
            );
        }
        // A re-run without the fault completes.
        let again = run(shipit_on_stack(dir.path()).args(command(stage)));
        assert_eq!(
            again.code,
            Some(0),
            "re-run after {context}\n{}",
            again.dump()
        );
        format!("failed naming it, re-run completed ({injected} tries)")
    };
    if !stage.logs && out.code == Some(0) {
        let stderr = &out.stderr;
        assert!(
            stderr.contains("deployed") || out.stdout.contains("deployed"),
            "{context}"
        );
    }
    outcome
}

#[test]
fn a_fault_that_happens_once_at_any_stage_is_survived() {
    if !require_stack() {
        return;
    }
    let mut table = Vec::new();
    for stage in STAGES {
        for (fault_name, fault) in FAULTS {
            let outcome = one(stage, fault_name, *fault, 1, 5);
            // A fault that happens once is retried and the run completes. The one documented
            // exception: a CreateService answer cut off halfway (the service was created, the
            // answer lost), which fails naming CreateService, and the re-run completes.
            let exception = stage.name == "service update" && *fault_name == "truncated response";
            if exception {
                assert!(
                    outcome.starts_with("failed naming it"),
                    "{}: {outcome}",
                    stage.name
                );
            } else {
                assert_eq!(outcome, "completed", "{} / {fault_name}", stage.name);
            }
            table.push(format!("| {} | {fault_name} | {outcome} |", stage.name));
        }
    }
    eprintln!(
        "| stage | fault once | outcome |\n|---|---|---|\n{}",
        table.join("\n")
    );
}

#[test]
fn a_fault_that_persists_fails_after_max_attempts_naming_the_stage() {
    if !require_stack() {
        return;
    }
    let mut table = Vec::new();
    for stage in STAGES {
        for (fault_name, fault) in [
            ("503", Fault::Status(503)),
            ("connection reset", Fault::Reset),
        ] {
            let outcome = one(stage, fault_name, fault, 100, 3);
            assert!(
                outcome.starts_with("failed"),
                "{}: {fault_name}: {outcome}",
                stage.name
            );
            table.push(format!(
                "| {} | {fault_name}, always | {outcome} |",
                stage.name
            ));
        }
    }
    eprintln!(
        "| stage | fault | outcome |\n|---|---|---|\n{}",
        table.join("\n")
    );
}
