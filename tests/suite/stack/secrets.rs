//! Secrets never reach output or disk: every command, at the highest verbosity
//! (`-vvv`, `RUST_LOG=trace`), against the local stack. Neither the ECR login token (nor its
//! password), the AWS secret key nor the session token may appear in stdout, stderr, the
//! GitHub Actions output files, or any file shipit wrote (its cache, the working folder).

use crate::common;
use crate::common::config::Config;

use std::path::Path;

use crate::common::{require_docker, require_stack, run, shipit_on_stack, unique_name};

fn files_under(dir: &Path, found: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            found.push(path);
        }
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn no_command_prints_or_writes_a_secret_even_at_trace_level() {
    if !require_stack() || !require_docker() {
        return;
    }
    let name = unique_name("secrets");
    let secret_key = format!("shipitSecretKey{}", fastrand::u64(..));
    let session_token = format!("shipitSessionToken{}", fastrand::u64(..));

    // The ECR login the stack hands out, and the password inside it.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let ecr = common::ecr_client(&runtime);
    let login = runtime
        .block_on(ecr.get_authorization_token().send())
        .unwrap();
    let token = login.authorization_data()[0]
        .authorization_token()
        .unwrap()
        .to_string();
    let credentials =
        shipit::registry::Credentials::from_ecr_token(&shipit::registry::Secret::new(&token))
            .unwrap();
    let password = credentials.password.expose().to_string();
    let secrets = [
        secret_key.as_str(),
        session_token.as_str(),
        token.as_str(),
        password.as_str(),
    ];

    let pulled = common::PulledImages::of(&name);
    let image = pulled.built(common::busybox_image(
        &format!("shipit-secrets-{name}:1"),
        "CMD [\"/bin/busybox\", \"httpd\", \"-f\", \"-p\", \"5000\"]\n",
        &[],
    ));

    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let gh = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("deploy.yaml"),
        Config::new(&name, &format!("docker://{image}"))
            .container("environment:\n  API_TOKEN: not-a-real-secret-but-looks-like-one")
            .to_string(),
    )
    .unwrap();

    let commands: &[&[&str]] = &[
        &["validate"],
        &["doctor"],
        &["push"],
        &["plan"],
        &["deploy", "--timeout", "3m"],
        &["status"],
        &["logs", "--since", "1h"],
        &["rollback", "--no-wait"],
        &["iam-policy"],
        &["cost"],
        &["schema"],
        &["man"],
        &["completions", "bash"],
        &["init", "-c", "other.yaml"],
    ];
    let mut checked = 0;
    for args in commands {
        for format in ["human", "json"] {
            let out = run(shipit_on_stack(dir.path())
                .env("AWS_SECRET_ACCESS_KEY", &secret_key)
                .env("AWS_SESSION_TOKEN", &session_token)
                .env("RUST_LOG", "trace")
                .env("SHIPIT_CACHE_DIR", cache.path())
                .env("GITHUB_ACTIONS", "true")
                .env("GITHUB_OUTPUT", gh.path().join("output"))
                .env("GITHUB_STEP_SUMMARY", gh.path().join("summary.md"))
                .args(["-vvv", "--output", format])
                .args(*args));
            for secret in secrets {
                assert!(
                    !out.stdout.contains(secret) && !out.stderr.contains(secret),
                    "`shipit {}` printed a secret",
                    args.join(" ")
                );
            }
            // Trace output really was on for the commands that call AWS (so the check means
            // something).
            if ["push", "deploy", "plan"].contains(&args[0]) {
                assert!(
                    out.stderr.contains("TRACE"),
                    "`shipit {}` traced nothing",
                    args.join(" ")
                );
            }
            checked += 1;
            let _ = std::fs::remove_file(dir.path().join("other.yaml"));
        }
    }
    assert_eq!(checked, commands.len() * 2);

    let mut files = Vec::new();
    for folder in [dir.path(), cache.path(), gh.path()] {
        files_under(folder, &mut files);
    }
    assert!(
        files.iter().any(|f| f.ends_with("output")),
        "the GitHub output file was written"
    );
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        for secret in secrets {
            assert!(
                !contains(&bytes, secret),
                "{} holds a secret",
                file.display()
            );
        }
    }
}
