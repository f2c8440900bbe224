//! A hostile world, on loopback (no local stack needed): endpoints that accept a connection
//! and never answer, answers that trickle or never end, a registry that names other hosts for
//! its token and its uploads, and configs that are not configs. shipit must end by its
//! deadlines, on Ctrl-C with 130, read nothing unbounded, and hand its credentials to no one
//! but the registry.

use crate::common;

use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::loopback::LoopbackServer;
use crate::common::{GOOD_CONFIG, run, shipit};
use shipit::registry::Repository;
use shipit::registry::auth::{Credentials, Secret};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{header_exists, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Accepts every connection, reads what comes, never answers: a stalled connection.
fn silent_server() -> LoopbackServer {
    LoopbackServer::start(|mut stream| async move {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buffer).await {
            if n == 0 {
                break;
            }
        }
        // Keep the connection open (the client ends it).
        tokio::time::sleep(Duration::from_secs(3600)).await;
    })
}

/// Answers every request with `head`, then sends `body_byte` every `every` for ever.
fn trickling_server(head: &'static str, every: Duration) -> LoopbackServer {
    LoopbackServer::start(move |mut stream| async move {
        let mut buffer = [0u8; 8192];
        let _ = stream.read(&mut buffer).await;
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        loop {
            tokio::time::sleep(every).await;
            if stream.write_all(b"x").await.is_err() {
                return;
            }
        }
    })
}

fn project(config: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), config).unwrap();
    dir
}

/// shipit against `endpoint`, one attempt per call of at most two seconds.
fn against(dir: &Path, endpoint: &str) -> std::process::Command {
    let mut cmd = shipit(dir);
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args(["--max-attempts", "1", "--call-timeout", "2"]);
    cmd
}

#[test]
fn a_silent_endpoint_ends_status_logs_push_and_deploy_by_their_deadlines() {
    let server = silent_server();
    let dir = project(GOOD_CONFIG);
    let layout = dir.path().join("layout");
    common::images::oci_layout(&layout, &[common::images::noise(1024, 7)], "v1", "silent");
    let source = format!("oci:{}:v1", layout.display());
    let commands: Vec<Vec<&str>> = vec![
        vec!["status"],
        vec!["logs"],
        vec!["push", "--source", &source],
        vec!["deploy", "--source", &source, "--timeout", "20s"],
    ];
    for args in commands {
        let started = Instant::now();
        let out = run(against(dir.path(), &server.url).args(&args));
        let took = started.elapsed();
        assert_eq!(out.code, Some(1), "{args:?}\n{}", out.dump());
        assert!(
            out.stderr.to_lowercase().contains("timeout")
                || out.stderr.to_lowercase().contains("timed out"),
            "{args:?} names the timeout\n{}",
            out.dump()
        );
        // One attempt of 2 s (an operation bound of 2 s): ended long before a hang would.
        assert!(took < Duration::from_secs(20), "{args:?} took {took:?}");
    }
}

#[test]
fn ctrl_c_ends_a_command_waiting_on_a_call_that_never_returns_with_130() {
    let server = silent_server();
    let dir = project(GOOD_CONFIG);
    // (command, exit code): `logs --follow` ends following cleanly (0), as documented;
    // the others are interrupted (130).
    for (args, code) in [
        (vec!["status"], 130),
        (vec!["status", "--watch"], 130),
        (vec!["logs", "--follow"], 0),
    ] {
        let child = shipit(dir.path())
            .env("AWS_ENDPOINT_URL", &server.url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .args(["--call-timeout", "600"])
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        // `common::interrupt` fails the test when the command is still running 10 s later.
        let (status, stderr) = common::interrupt(child);
        assert_eq!(status.code(), Some(code), "{args:?}\n{stderr}");
        if code == 130 {
            assert!(stderr.contains("interrupted"), "{args:?}\n{stderr}");
        }
    }
}

#[test]
fn an_aws_answer_of_gigabytes_is_refused_without_reading_it() {
    // Headers that announce 3 GiB, then a byte every 100 ms.
    let server = trickling_server(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: 3221225472\r\n\r\n",
        Duration::from_millis(100),
    );
    let dir = project(GOOD_CONFIG);
    let out = run(against(dir.path(), &server.url).arg("status"));
    assert_eq!(out.code, Some(1), "{}", out.dump());
    assert!(out.stderr.contains("more than"), "{}", out.dump());
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

fn repository(base: &str, credentials: Option<Credentials>) -> Repository {
    let mut repo = Repository::new(url::Url::parse(base).unwrap(), "app", credentials).unwrap();
    repo.retry.attempts = 1;
    repo.retry.attempt_timeout = Duration::from_secs(2);
    repo
}

#[test]
fn a_registry_error_body_that_trickles_or_never_ends_is_not_waited_for() {
    let trickle = trickling_server(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 100000\r\n\r\n",
        Duration::from_secs(5),
    );
    // 4 GiB announced and sent as fast as the socket takes it.
    let huge = LoopbackServer::start(|mut stream| async move {
        let mut buffer = [0u8; 8192];
        let _ = stream.read(&mut buffer).await;
        let head = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4294967296\r\n\r\n";
        if stream.write_all(head.as_bytes()).await.is_err() {
            return;
        }
        let chunk = vec![b'a'; 64 * 1024];
        while stream.write_all(&chunk).await.is_ok() {}
    });
    let rt = runtime();
    for server in [&trickle, &huge] {
        let repo = repository(&server.url, None);
        let started = Instant::now();
        let err = rt.block_on(repo.login()).unwrap_err().to_string();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{err}: {:?}",
            started.elapsed()
        );
        assert!(err.contains(&server.url.replace("http://", "")), "{err}");
    }
}

#[test]
fn the_registry_login_goes_to_no_token_server_on_another_host() {
    let rt = runtime();
    let registry = rt.block_on(MockServer::start());
    let elsewhere = rt.block_on(MockServer::start());
    rt.block_on(async {
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .respond_with(
                ResponseTemplate::new(401).insert_header(
                    "WWW-Authenticate",
                    format!(
                        "Bearer realm=\"{}/token\",service=\"registry\"",
                        elsewhere.uri()
                    )
                    .as_str(),
                ),
            )
            .mount(&registry)
            .await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string("{\"token\":\"t\"}"))
            .mount(&elsewhere)
            .await;
    });
    let credentials = Credentials::new("AWS", Secret::new("ecr-token-value"));
    let repo = repository(&registry.uri(), Some(credentials));
    let err = rt.block_on(repo.login()).unwrap_err().to_string();
    assert!(err.contains("another host"), "{err}");
    let asked = rt.block_on(elsewhere.received_requests()).unwrap();
    assert!(asked.is_empty(), "the other host was asked: {asked:?}");
}

#[test]
fn an_upload_sent_to_another_host_carries_no_credentials() {
    let rt = runtime();
    let registry = rt.block_on(MockServer::start());
    let elsewhere = rt.block_on(MockServer::start());
    let with_auth = Arc::new(AtomicUsize::new(0));
    rt.block_on(async {
        // Basic auth, as ECR does: 401 without credentials, 200 with them.
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .and(header_exists("authorization"))
            .respond_with(ResponseTemplate::new(200))
            .mount(&registry)
            .await;
        Mock::given(method("GET"))
            .and(path("/v2/"))
            .respond_with(
                ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Basic realm=\"ecr\""),
            )
            .mount(&registry)
            .await;
        Mock::given(method("HEAD"))
            .respond_with(ResponseTemplate::new(404))
            .mount(&registry)
            .await;
        Mock::given(method("POST"))
            .and(path("/v2/app/blobs/uploads/"))
            .respond_with(ResponseTemplate::new(202).insert_header(
                "Location",
                format!("{}/upload/session", elsewhere.uri()).as_str(),
            ))
            .mount(&registry)
            .await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&registry)
            .await;
        Mock::given(method("PUT"))
            .respond_with(ResponseTemplate::new(201))
            .mount(&elsewhere)
            .await;
    });
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    common::images::oci_layout(
        &dir.path().join("layout"),
        &[common::images::noise(2048, 3)],
        "v1",
        "elsewhere",
    );
    let options = shipit::image::ReadOptions {
        compression: shipit::image::Compression::Gzip,
        architecture: "amd64".into(),
        cache_dir: cache.path().to_path_buf(),
        watcher: None,
    };
    let source =
        shipit::image::SourceRef::parse(&format!("oci:{}", dir.path().join("layout").display()))
            .unwrap();
    let image = rt
        .block_on(shipit::image::read(&source, &options))
        .unwrap()
        .image;
    let credentials = Credentials::new("AWS", Secret::new("ecr-token-value"));
    let repo = Arc::new(repository(&registry.uri(), Some(credentials)));
    let _ = rt.block_on(async {
        repo.login().await.unwrap();
        shipit::registry::push::push(
            &repo,
            &image,
            "v1",
            &shipit::registry::push::PushOptions::default(),
            Arc::new(shipit::registry::push::Silent),
        )
        .await
    });
    let received = rt.block_on(elsewhere.received_requests()).unwrap();
    assert!(!received.is_empty(), "the upload went to the Location");
    for request in &received {
        if request.headers.contains_key("authorization") {
            with_auth.fetch_add(1, Ordering::SeqCst);
        }
    }
    assert_eq!(
        with_auth.load(Ordering::SeqCst),
        0,
        "credentials were sent to {}",
        elsewhere.uri()
    );
    // The registry itself got them.
    let own = rt.block_on(registry.received_requests()).unwrap();
    assert!(own.iter().any(|r| r.headers.contains_key("authorization")));
}

#[test]
fn a_config_that_points_at_the_environment_prints_none_of_it() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/proc/self/environ", dir.path().join("deploy.yaml")).unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(
        &credentials,
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    )
    .unwrap();
    for config in ["deploy.yaml", "credentials"] {
        for output in ["human", "json"] {
            let out = run(shipit(dir.path())
                .env("AWS_SECRET_ACCESS_KEY", "sekrit-from-the-environment-123")
                .env("GITHUB_TOKEN", "ghp_0123456789abcdefABCDEF0123456789abcd")
                .args(["validate", "-c", config, "--output", output]));
            assert_eq!(out.code, Some(2), "{config} {output}\n{}", out.dump());
            let all = format!("{}{}", out.stdout, out.stderr);
            for secret in [
                "sekrit-from-the-environment",
                "ghp_0123456789",
                "wJalrXUtnFEMI",
                "AKIAIOSFODNN7EXAMPLE",
            ] {
                assert!(
                    !all.contains(secret),
                    "{config} {output} shows {secret}\n{}",
                    out.dump()
                );
            }
        }
    }
}

#[test]
fn secret_shaped_values_are_masked_in_every_output_whatever_their_names() {
    let config = format!(
        "{GOOD_CONFIG}container:\n  environment:\n    DATABASE_URL: postgres://app:hunter2@db.internal/app\n    DB_PASS: hunter3\n    SENTRY_DSN: https://0123abcd@o1.ingest.sentry.io/5\n    CONN_STR: Server=db;Password=hunter4\n    DB_PASSWORD: hunter5\n    LOG_LEVEL: info\n"
    );
    let dir = project(&config);
    let out = run(shipit(dir.path()).args(["validate", "--output", "json"]));
    assert_eq!(out.code, Some(0), "{}", out.dump());
    for secret in ["hunter2", "hunter3", "0123abcd", "hunter4", "hunter5"] {
        assert!(!out.stdout.contains(secret), "{secret}\n{}", out.dump());
    }
    assert!(out.stdout.contains("\"info\""), "{}", out.dump());
}

#[test]
fn plain_http_service_endpoints_are_refused_like_the_shared_one() {
    let dir = project(GOOD_CONFIG);
    let out = run(shipit(dir.path())
        .env("AWS_ENDPOINT_URL_ECS", "http://10.1.2.3:4566")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .arg("status"));
    assert_eq!(out.code, Some(2), "{}", out.dump());
    assert!(
        out.stderr.contains("AWS_ENDPOINT_URL_ECS"),
        "{}",
        out.dump()
    );
}
