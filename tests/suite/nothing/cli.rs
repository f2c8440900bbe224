//! The commands that need no AWS: validate, init, schema, completions, and the CLI's own
//! contract (exit codes, JSON output), checked as a user sees them.

use std::path::Path;
use std::process::Command;

use crate::common::{GOOD_CONFIG, fixture, run, shipit};

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn validate_summarises_a_good_config_on_stdout() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deploy.yaml", GOOD_CONFIG);
    let out = run(shipit(dir.path()).arg("validate"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    for wanted in [
        "deploy.yaml: valid\n",
        "  repository  demo-api (IMMUTABLE, scan on push on, AES256)\n",
        "  image       docker://demo-api:1.0 -> tag v1.0.0\n",
        "  service     demo-service: 2 task(s) on Fargate, 1 subnet(s), public IP no\n",
        "  task        demo-task: 256 CPU units, 512 MiB, X86_64\n",
        "  logs        /ecs/demo-task (kept forever, stream prefix `ecs`)\n",
    ] {
        assert!(
            out.stdout.contains(wanted),
            "wanted `{wanted}`\n{}",
            out.dump()
        );
    }
}

#[test]
fn validate_json_is_one_document_with_the_resolved_config() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deploy.yaml", GOOD_CONFIG);
    let out = run(shipit(dir.path()).args(["validate", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["names"]["log_group"], "/ecs/demo-task");
    assert_eq!(doc["image_tag"], "v1.0.0");
    assert_eq!(doc["config"]["service"]["desired_count"], 2);
    assert_eq!(doc["config"]["container"]["port"], 5000);
    assert_eq!(doc["config"]["repository"]["tag_mutability"], "IMMUTABLE");
}

#[test]
fn warnings_are_shown_but_do_not_fail() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD_CONFIG.replace("tag: v1.0.0", "tag: latest")
        + "container:\n  environment:\n    API_TOKEN: abc123\n";
    write(dir.path(), "deploy.yaml", &text);
    let out = run(shipit(dir.path()).arg("validate"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stderr.contains("warning[moving-tag]: deploy.yaml:5:8:"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr
            .contains("warning[secret-in-environment]: deploy.yaml:16:"),
        "{}",
        out.dump()
    );
    assert!(out.stdout.contains("valid (2 warnings)"), "{}", out.dump());
}

#[test]
fn variables_are_interpolated_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let text = GOOD_CONFIG
        .replace("tag: v1.0.0", "tag: ${SHIPIT_T_VERSION}")
        .replace("region: us-east-1", "region: ${SHIPIT_T_REGION:-eu-west-1}");
    write(dir.path(), "deploy.yaml", &text);
    let out = run(shipit(dir.path())
        .args(["validate", "--output", "json"])
        .env("SHIPIT_T_VERSION", "v2.3.4")
        .env_remove("SHIPIT_T_REGION"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["image_tag"], "v2.3.4");
    assert_eq!(doc["config"]["region"], "eu-west-1");

    let out = run(shipit(dir.path())
        .arg("validate")
        .env_remove("SHIPIT_T_VERSION"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains(
            "error[unset-variable]: deploy.yaml:5:8: environment variable `SHIPIT_T_VERSION` is not set and has no default"
        ),
        "{}",
        out.dump()
    );
}

#[test]
fn the_tag_defaults_to_github_sha_then_the_git_commit() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deploy.yaml",
        &GOOD_CONFIG.replace("  tag: v1.0.0\n", ""),
    );
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(status.status.success(), "git {args:?}");
        String::from_utf8(status.stdout).unwrap().trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "deploy.yaml"]);
    git(&["commit", "-qm", "first"]);
    let head = git(&["rev-parse", "--short", "HEAD"]);

    let out = run(shipit(dir.path()).args(["validate", "--output", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["image_tag"], head.as_str(), "{}", out.dump());
    assert_eq!(doc["image_tag_origin"], "git-head");

    let out = run(shipit(dir.path())
        .args(["validate", "--output", "json"])
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"));
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["image_tag"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(doc["image_tag_origin"], "github-sha");
}

#[test]
fn a_missing_config_says_how_to_make_one() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(shipit(dir.path()).arg("validate"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr
            .contains("error[no-config]: deploy.yaml:1:1: cannot read the config"),
        "{}",
        out.dump()
    );
    assert!(out.stderr.contains("run `shipit init`"), "{}", out.dump());
}

#[test]
fn init_writes_a_valid_starter_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(shipit(dir.path()).args(["init", "--app", "orders-api"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stdout
            .contains("wrote deploy.yaml for app `orders-api`"),
        "{}",
        out.dump()
    );
    let text = std::fs::read_to_string(dir.path().join("deploy.yaml")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema="));
    assert!(text.contains("app: orders-api\n"));

    let out = run(shipit(dir.path()).arg("validate"));
    assert_eq!(out.code, Some(0), "the starter validates\n{}", out.dump());

    write(dir.path(), "deploy.yaml", "app: mine\n");
    let out = run(shipit(dir.path()).args(["init", "--app", "orders-api"]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr
            .contains("deploy.yaml already exists; pass --force"),
        "{}",
        out.dump()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("deploy.yaml")).unwrap(),
        "app: mine\n"
    );

    let out = run(shipit(dir.path()).args(["init", "--app", "orders-api", "--force"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        std::fs::read_to_string(dir.path().join("deploy.yaml"))
            .unwrap()
            .contains("orders-api")
    );
}

#[test]
fn schema_is_json_schema_and_matches_the_committed_copy() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(shipit(dir.path()).arg("schema"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["additionalProperties"], false);
    let required: Vec<_> = schema["required"].as_array().unwrap().iter().collect();
    assert!(required.contains(&&serde_json::json!("app")));
    assert!(schema["properties"]["service"].is_object());
    let committed = std::fs::read_to_string(fixture("../schema/deploy.schema.json")).unwrap();
    assert_eq!(
        out.stdout, committed,
        "schema/deploy.schema.json is stale: run `cargo run -- schema > schema/deploy.schema.json`"
    );
}

#[test]
fn the_example_config_validates_and_points_at_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("deploy.yaml.example")).unwrap();
    assert!(text.starts_with("# yaml-language-server: $schema=./schema/deploy.schema.json\n"));
    let out = run(shipit(root).args(["validate", "-c", "deploy.yaml.example", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["names"]["cluster"], "multi-stage-cluster");
    assert_eq!(doc["names"]["family"], "multi-stage-app-task");
    assert_eq!(doc["names"]["log_group"], "/ecs/multi-stage-app-task");
    assert_eq!(doc["config"]["task"]["cpu"], 256);
    assert_eq!(doc["config"]["task"]["memory"], 512);
    assert_eq!(doc["config"]["service"]["desired_count"], 2);
    assert_eq!(doc["config"]["container"]["health_check"]["interval"], 30);
}

#[test]
fn completions_are_generated_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let out = run(shipit(dir.path()).args(["completions", shell]));
        assert_eq!(out.code, Some(0), "{}", out.dump());
        assert!(out.stdout.contains("validate"), "{shell}: {}", out.dump());
    }
}

#[test]
fn every_command_that_needs_no_aws_answers_json_with_output_json() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for args in [
        &["validate"][..],
        &["schema"],
        &["completions", "bash"],
        &["man"],
        &["iam-policy"],
        &["cost"],
    ] {
        let out = run(shipit(root)
            .args(["-c", "deploy.yaml.example", "--output", "json"])
            .args(args));
        assert_eq!(out.code, Some(0), "{args:?}\n{}", out.dump());
        let doc: Result<serde_json::Value, _> = serde_json::from_str(&out.stdout);
        assert!(
            doc.is_ok(),
            "{args:?} is not one JSON document\n{}",
            out.dump()
        );
    }
}

#[test]
fn bad_flags_exit_2_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(shipit(dir.path()).arg("--no-such-flag"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    let out = run(shipit(dir.path()).args(["--output", "yaml", "validate"]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    let out = run(shipit(dir.path()).arg("--help"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stdout
            .contains("Exit codes: 0 success, 1 failure, 2 bad input"),
        "{}",
        out.dump()
    );
}

#[test]
fn plain_http_to_a_remote_endpoint_is_refused_as_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(shipit(dir.path()).args([
        "doctor",
        "--region",
        "us-east-1",
        "--endpoint-url",
        "http://192.0.2.10:4566",
    ]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains("--allow-insecure-http"),
        "{}",
        out.dump()
    );
}

#[test]
fn cost_estimates_the_example_at_list_prices() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run(shipit(root).args([
        "-c",
        "deploy.yaml.example",
        "cost",
        "--image-mib",
        "145",
        "--log-gb",
        "2",
    ]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stdout
            .contains("2 task(s) x 0.25 vCPU, 0.5 GB x 730 h   $   18.02   ($9.01 per task)"),
        "{}",
        out.dump()
    );
    assert!(out.stdout.contains("an estimate"), "{}", out.dump());
    let out = run(shipit(root).args(["-c", "deploy.yaml.example", "cost", "--output", "json"]));
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(doc["tasks"], 2);
    assert_eq!(doc["prices_for_region"], true);
}

#[test]
fn iam_policy_is_a_policy_document_scoped_to_the_config() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = run(shipit(root).args(["-c", "deploy.yaml.example", "iam-policy"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stdout.starts_with("{\n  \"Version\": \"2012-10-17\""),
        "{}",
        out.dump()
    );
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = doc.to_string();
    assert!(text.contains(
        "arn:aws:ecs:us-east-1:123456789012:service/multi-stage-cluster/multi-stage-app-service"
    ));
    assert!(text.contains("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"));
}

#[test]
fn the_man_page_documents_the_commands() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(shipit(dir.path()).arg("man"));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert!(
        out.stdout.starts_with(".ie \\n(.g .ds Aq \\(aq"),
        "roff\n{}",
        &out.stdout[..200.min(out.stdout.len())]
    );
    for command in ["deploy", "plan", "rollback", "status", "logs", "push"] {
        assert!(out.stdout.contains(command), "{command}");
    }
}

#[test]
fn config_errors_become_github_annotations_on_their_lines() {
    let dir = fixture("bad_configs");
    let out = run(shipit(&dir).env("GITHUB_ACTIONS", "true").args([
        "validate",
        "-c",
        "fargate-cpu-memory.yaml",
    ]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains(
            "::error file=fargate-cpu-memory.yaml,line=16,col=11,title=fargate-cpu-memory::Fargate does not pair 4096 MiB of memory with 256 CPU units"
        ),
        "{}",
        out.dump()
    );
}

/// `--wait-until`: an unknown value is a flag error; a traffic-shift stage with a rolling
/// strategy is bad input before any AWS call (no endpoint is reachable here).
#[test]
fn wait_until_refuses_what_the_strategy_never_reaches() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "deploy.yaml", GOOD_CONFIG);
    let out = run(shipit(dir.path()).args(["deploy", "--wait-until", "baked"]));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains("bake-time") && out.stderr.contains("stable"),
        "{}",
        out.dump()
    );
    for command in ["deploy", "rollback"] {
        let out = run(shipit(dir.path())
            .args([command, "--wait-until", "post-test-traffic-shift"])
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9"));
        assert_eq!(out.code, Some(2), "{command}: {}", out.dump());
        assert!(
            out.stderr
                .contains("a rolling deployment shifts no load-balancer traffic"),
            "{command}: {}",
            out.dump()
        );
    }
}

/// docs/config.md's reference names every key of the config's schema (two levels below each
/// list), so a new key cannot ship undocumented. A key is named as `path`, within a row that
/// names its sibling (`containers[].cpu`, `.memory`), or as a container entry's "as under
/// `container`"; a mapping is named through its keys.
#[test]
fn the_config_reference_names_every_key_of_the_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("../schema/deploy.schema.json")).unwrap(),
    )
    .unwrap();
    let docs = std::fs::read_to_string(fixture("../docs/config.md")).unwrap();
    let rows: Vec<&str> = docs.lines().filter(|l| l.starts_with("| `")).collect();
    let defs = schema["$defs"].clone();
    fn resolve<'a>(
        mut node: &'a serde_json::Value,
        defs: &'a serde_json::Value,
    ) -> &'a serde_json::Value {
        for _ in 0..8 {
            if let Some(r) = node["$ref"].as_str() {
                node = &defs[r.rsplit('/').next().unwrap()];
            } else if let Some(any) = node["anyOf"].as_array() {
                let not_null: Vec<_> = any.iter().filter(|n| n["type"] != "null").collect();
                if not_null.len() != 1 {
                    break;
                }
                node = not_null[0];
            } else {
                break;
            }
        }
        node
    }
    fn walk(
        node: &serde_json::Value,
        prefix: &str,
        defs: &serde_json::Value,
        out: &mut Vec<(String, bool)>,
    ) {
        let node = resolve(node, defs);
        if node["type"] == "array" {
            return walk(&node["items"], &format!("{prefix}[]"), defs, out);
        }
        let Some(props) = node["properties"].as_object() else {
            return;
        };
        for (key, value) in props {
            let path = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            let inner = resolve(value, defs);
            let inner = if inner["type"] == "array" {
                resolve(&inner["items"], defs)
            } else {
                inner
            };
            out.push((path.clone(), inner["properties"].is_object()));
            if prefix.matches('.').count() < 3 {
                walk(value, &path, defs, out);
            }
        }
    }
    let mut paths = Vec::new();
    walk(&schema, "", &defs, &mut paths);
    assert!(paths.len() > 80, "{}", paths.len());
    let named = |path: &str| -> bool {
        let (parent, leaf) = path.rsplit_once('.').unwrap_or(("", path));
        rows.iter().any(|row| {
            row.contains(&format!("`{path}`"))
                || (row.contains(&format!("`.{leaf}`")) && row.contains(&format!("`{parent}.")))
        })
    };
    let top_documented = |path: &str, is_mapping: bool| -> bool {
        if named(path) {
            return true;
        }
        if is_mapping {
            // A mapping is named through its keys.
            return rows.iter().any(|row| {
                row.contains(&format!("`{path}.")) || row.contains(&format!("`{path}[]."))
            });
        }
        // A container entry's settings named "as under `container`".
        if let Some(rest) = path.strip_prefix("containers[].") {
            let first = rest.split('.').next().unwrap();
            let as_container = rows.iter().any(|row| {
                row.contains("as under `container`") && row.contains(&format!(".{first}`"))
            });
            return as_container && named(&format!("container.{rest}"));
        }
        false
    };
    // A fleet's entry takes the top-level keys (the `services[].<key>` row): each is
    // documented where the top-level key is.
    let documented = |path: &str, is_mapping: bool| -> bool {
        match path.strip_prefix("services[].") {
            Some(rest) if rest != "name" && rest != "depends_on" => {
                rows.iter().any(|row| row.contains("`services[].<key>`"))
                    && top_documented(rest, is_mapping)
            }
            _ => top_documented(path, is_mapping),
        }
    };
    let missing: Vec<&str> = paths
        .iter()
        .filter(|(p, mapping)| !documented(p, *mapping))
        .map(|(p, _)| p.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "docs/config.md does not name: {missing:?}"
    );
}

/// The executor (`src/apply/`) is the only code that writes to AWS: every call that creates,
/// changes, tags, starts or stops something is made there, where a plan names it. A write
/// added anywhere else fails here, with the file and line.
#[test]
fn only_the_executor_writes_to_aws() {
    const WRITES: &[&str] = &[
        ".create_",
        ".update_",
        ".put_",
        ".register_",
        ".delete_",
        ".deregister_",
        ".run_task(",
        ".stop_",
        ".start_",
        ".tag_resource(",
        ".untag_resource(",
        ".set_repository_policy(",
        ".batch_delete_",
        ".continue_",
        ".execute_command(",
    ];
    // Reads whose names look like writes.
    const READS: &[&str] = &[".start_live_tail(", ".register_request("];
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    let mut files = vec![src.clone()];
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        if path.starts_with(src.join("apply")) || path.extension() != Some("rs".as_ref()) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap();
            // An SDK request: `.create_service()` opening a line of a call chain, or right
            // after a client (`clients.ecs.stop_task()`); getters (`task.stop_code()`) are not.
            let call = |w: &&str| {
                code.match_indices(w).any(|(at, _)| {
                    let rest = &code[at..];
                    let before = code[..at].trim();
                    let on_a_client = before.is_empty()
                        || ["client", "ecs", "ecr", "logs", "autoscaling"]
                            .iter()
                            .any(|c| before.ends_with(c));
                    on_a_client
                        && rest
                            .find('(')
                            .is_some_and(|open| rest[open..].starts_with("()"))
                        && !READS.iter().any(|r| rest.starts_with(r))
                })
            };
            if WRITES.iter().any(call) {
                found.push(format!(
                    "{}:{}: {}",
                    path.strip_prefix(&src).unwrap().display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "AWS writes outside src/apply/ (move them into the executor, behind a plan):\n{}",
        found.join("\n")
    );
}
