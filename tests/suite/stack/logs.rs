//! `shipit logs`: every event printed exactly once, in order within its stream, while events
//! are being written (local stack); backfill through every page of FilterLogEvents (moto_server,
//! which pages; the local stack does not).

use crate::common;
use crate::common::config::Config;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::{require_stack, shipit, shipit_on_stack, unique_name};

fn logs_client(
    runtime: &tokio::runtime::Runtime,
    endpoint: &str,
) -> aws_sdk_cloudwatchlogs::Client {
    let config = runtime.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_cloudwatchlogs::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .load(),
    );
    aws_sdk_cloudwatchlogs::Client::new(&config)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn config(name: &str) -> String {
    Config::new(name, &format!("docker://{name}:1"))
        .task(&format!("family: {name}"))
        .container("name: app")
        .to_string()
}

/// Writes `per_stream` events to each stream in batches of `batch`, every batch of a round
/// sharing one millisecond. Messages are `STREAM n`, n counting from each stream's `first`.
fn write_events(
    runtime: &tokio::runtime::Runtime,
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    streams: &[(&str, usize)],
    per_stream: usize,
    batch: usize,
) {
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    for round in 0..per_stream / batch {
        let timestamp = now_ms();
        for (stream, first) in streams {
            let events: Vec<InputLogEvent> = (0..batch)
                .map(|i| {
                    InputLogEvent::builder()
                        .timestamp(timestamp)
                        .message(format!("{stream} {}", first + round * batch + i))
                        .build()
                        .unwrap()
                })
                .collect();
            runtime
                .block_on(
                    client
                        .put_log_events()
                        .log_group_name(group)
                        .log_stream_name(*stream)
                        .set_log_events(Some(events))
                        .send(),
                )
                .unwrap();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn create_streams(
    runtime: &tokio::runtime::Runtime,
    client: &aws_sdk_cloudwatchlogs::Client,
    group: &str,
    streams: &[String],
) {
    runtime
        .block_on(client.create_log_group().log_group_name(group).send())
        .unwrap();
    for stream in streams {
        runtime
            .block_on(
                client
                    .create_log_stream()
                    .log_group_name(group)
                    .log_stream_name(stream)
                    .send(),
            )
            .unwrap();
    }
}

/// Checks that each stream's messages `STREAM 0..n` came exactly once and in order.
/// `per_stream` events each, but the last stream, which appeared later, has `last` events.
fn assert_exactly_once_in_order(
    lines: &[serde_json::Value],
    streams: &[String],
    per_stream: usize,
    last: usize,
) {
    let mut next: HashMap<&str, usize> = streams.iter().map(|s| (s.as_str(), 0)).collect();
    for line in lines {
        let stream = line["stream"].as_str().unwrap();
        let message = line["message"].as_str().unwrap();
        let n: usize = message.rsplit(' ').next().unwrap().parse().unwrap();
        let expected = next.get_mut(stream).expect("a known stream");
        assert_eq!(
            n, *expected,
            "stream {stream}: got {n} where {expected} was due"
        );
        *expected += 1;
    }
    for (stream, count) in next {
        let expected = if stream == streams.last().unwrap() {
            last
        } else {
            per_stream
        };
        assert_eq!(count, expected, "stream {stream}");
    }
}

/// What one `shipit logs --follow` run printed while events were written.
struct Followed {
    lines: Vec<serde_json::Value>,
    stderr: String,
    streams: Vec<String>,
    name: String,
    /// Events written to each stream after following began.
    during: usize,
}

/// The child's stdout, line by line, read on a thread of its own.
fn stdout_lines(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    rx
}

/// Writes `before` events to each of three streams, starts `shipit logs --follow` (with
/// `extra` arguments), then writes `during` more to each, plus all of a fourth stream that
/// appears only after following began (a new task). Collects what was printed.
/// While `write_more` says so after that, 250 more go to each of the four streams every quarter
/// second (up to 40 rounds): for a test that needs events flowing until something happened.
fn follow_while_writing(
    extra: &[&str],
    endpoint: Option<&str>,
    before: usize,
    during: usize,
    write_more: &dyn Fn() -> bool,
) -> Followed {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = logs_client(&runtime, &common::endpoint());
    let name = unique_name("logs");
    let group = format!("/ecs/{name}");
    let streams: Vec<String> = (0..4).map(|i| format!("ecs/app/task{i}{name}")).collect();
    create_streams(&runtime, &client, &group, &streams[..3]);
    if before > 0 {
        let first: Vec<(&str, usize)> = streams[..3].iter().map(|s| (s.as_str(), 0)).collect();
        write_events(&runtime, &client, &group, &first, before, 250.min(before));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), config(&name)).unwrap();

    let mut command = shipit_on_stack(dir.path());
    if let Some(url) = endpoint {
        command.env("AWS_ENDPOINT_URL", url);
    }
    let mut child = command
        .args(["logs", "--follow", "--since", "1m", "--output", "json"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    std::thread::sleep(Duration::from_millis(1_500));
    runtime
        .block_on(
            client
                .create_log_stream()
                .log_group_name(&group)
                .log_stream_name(&streams[3])
                .send(),
        )
        .unwrap();
    let next: Vec<(&str, usize)> = streams
        .iter()
        .enumerate()
        .map(|(i, s)| (s.as_str(), if i < 3 { before } else { 0 }))
        .collect();
    write_events(&runtime, &client, &group, &next, during, 250);
    let mut during = during;
    for _ in 0..40 {
        if !write_more() {
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
        let next: Vec<(&str, usize)> = streams
            .iter()
            .enumerate()
            .map(|(i, s)| (s.as_str(), if i < 3 { before + during } else { during }))
            .collect();
        write_events(&runtime, &client, &group, &next, 250, 250);
        during += 250;
    }

    let total = 3 * before + 4 * during;
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while lines.len() < total && Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(serde_json::from_str::<serde_json::Value>(&line).unwrap());
        }
    }
    // A little longer: anything printed twice would arrive now.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(3)) {
        lines.push(serde_json::from_str(&line).unwrap());
    }
    let (status, stderr) = common::interrupt(child);
    assert_eq!(
        status.code(),
        Some(0),
        "Ctrl-C ends following cleanly: {stderr}"
    );
    Followed {
        lines,
        stderr,
        streams,
        name,
        during,
    }
}

#[test]
fn following_through_live_tail_prints_every_event_once_in_order_across_the_handover() {
    if !require_stack() {
        return;
    }
    let run = follow_while_writing(&[], None, 500, 2_000, &|| false);
    assert!(
        run.stderr.contains("through CloudWatch Live Tail"),
        "{}",
        run.stderr
    );
    assert_eq!(run.lines.len(), 3 * 2_500 + 2_000, "every event once");
    assert_exactly_once_in_order(&run.lines, &run.streams, 2_500, 2_000);
    assert_eq!(
        run.lines[0]["task"].as_str().unwrap(),
        format!("task0{}", run.name)
    );
    assert_eq!(run.lines[0]["container"], "app");
    assert!(
        run.lines[0]["event_id"].is_string(),
        "backfilled: has an id"
    );
    assert!(
        run.lines.last().unwrap()["event_id"].is_null(),
        "live: no id"
    );
}

#[test]
fn following_by_polling_prints_every_event_once_in_order() {
    if !require_stack() {
        return;
    }
    let run = follow_while_writing(&["--poll"], None, 0, 2_500, &|| false);
    assert!(!run.stderr.contains("Live Tail"), "{}", run.stderr);
    assert_eq!(run.lines.len(), 4 * 2_500, "every event once");
    assert_exactly_once_in_order(&run.lines, &run.streams, 2_500, 2_500);
}

#[test]
fn a_broken_live_tail_session_is_reopened_and_the_gap_caught_up() {
    if !require_stack() {
        return;
    }
    let upstream = common::endpoint_addr();
    // The first two Live Tail streams are cut once 64 KiB of updates went through. Events
    // keep coming until the second cut: how much the second session carries before the
    // writer is done depends on how soon it reopened, and the test is about both reopenings.
    let proxy =
        common::proxy::CuttingProxy::cutting_responses(upstream, "StartLiveTail", 64 * 1024, 2);
    let cuts = proxy.cuts_done.clone();
    let run = follow_while_writing(&[], Some(&proxy.url), 0, 2_500, &|| {
        cuts.load(std::sync::atomic::Ordering::SeqCst) < 2
    });
    assert_eq!(proxy.cuts_done.load(std::sync::atomic::Ordering::SeqCst), 2);
    assert_eq!(
        run.stderr.matches("opening a new one").count(),
        2,
        "{}",
        run.stderr
    );
    assert_eq!(run.lines.len(), 4 * run.during, "every event once");
    assert_exactly_once_in_order(&run.lines, &run.streams, run.during, run.during);
}

#[test]
fn backfill_follows_every_page_of_filter_log_events() {
    let moto = common::start_moto();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = logs_client(&runtime, &moto.url);
    let name = unique_name("paged");
    let group = format!("/ecs/{name}");
    let streams: Vec<String> = (0..2).map(|i| format!("ecs/app/task{i}")).collect();
    create_streams(&runtime, &client, &group, &streams);
    // 2 x 6,000 events: more than one page of 10,000.
    let firsts: Vec<(&str, usize)> = streams.iter().map(|s| (s.as_str(), 0)).collect();
    write_events(&runtime, &client, &group, &firsts, 6_000, 2_000);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), config(&name)).unwrap();
    // Through a proxy that only counts the FilterLogEvents requests (it injects nothing).
    let moto_addr = {
        let url = url::Url::parse(&moto.url).unwrap();
        format!("{}:{}", url.host_str().unwrap(), url.port().unwrap())
            .parse()
            .unwrap()
    };
    let counter = common::faults::FaultProxy::start(
        moto_addr,
        common::faults::Rule {
            matches: vec!["FilterLogEvents"],
            fault: common::faults::Fault::Status(500),
            skip: 0,
            times: 0,
        },
    );
    let out = common::run(
        shipit(dir.path())
            .env("AWS_ENDPOINT_URL", &counter.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .args(["logs", "--since", "1h", "--output", "json"]),
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    let pages = counter.matched.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        pages >= 2,
        "more than one page was read: {pages} FilterLogEvents request(s)"
    );
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 12_000);
    assert_exactly_once_in_order(&lines, &streams, 6_000, 6_000);

    // People read task ids and messages.
    let out = common::run(
        shipit(dir.path())
            .env("AWS_ENDPOINT_URL", &moto.url)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .args(["logs", "--since", "1h", "--task", "task1"]),
    );
    assert_eq!(out.code, Some(0), "{}", out.dump());
    assert_eq!(out.stdout.lines().count(), 6_000);
    assert_eq!(out.stdout.lines().next(), Some("task1 ecs/app/task1 0"));
}

#[test]
fn where_live_tail_is_refused_following_falls_back_to_polling_and_misses_nothing() {
    if !require_stack() {
        return;
    }
    // An endpoint without Live Tail (as LocalStack's community edition answers: 501).
    let proxy = common::faults::FaultProxy::start(
        common::endpoint_addr(),
        common::faults::Rule {
            matches: vec!["StartLiveTail"],
            fault: common::faults::Fault::Status(501),
            skip: 0,
            times: usize::MAX,
        },
    );
    let run = follow_while_writing(&[], Some(&proxy.url), 0, 1_000, &|| false);
    assert!(
        run.stderr.contains("CloudWatch Live Tail is not available")
            && run
                .stderr
                .contains("following by polling FilterLogEvents instead"),
        "{}",
        run.stderr
    );
    assert_eq!(run.lines.len(), 4 * 1_000, "every event once");
    assert_exactly_once_in_order(&run.lines, &run.streams, 1_000, 1_000);
}

/// Polling looks back only a lag window (10 s) behind the newest event; a stream whose events
/// CloudWatch ingests later than that (here: 40 s old when written) is found by the periodic
/// read-back, and printed once.
#[test]
fn polling_prints_a_stream_whose_events_arrive_later_than_the_lag_window() {
    if !require_stack() {
        return;
    }
    use aws_sdk_cloudwatchlogs::types::InputLogEvent;
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = logs_client(&runtime, &common::endpoint());
    let name = unique_name("late");
    let group = format!("/ecs/{name}");
    let streams = [
        format!("ecs/app/fresh{name}"),
        format!("ecs/app/late{name}"),
    ];
    create_streams(&runtime, &client, &group, &streams[..1]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("deploy.yaml"), config(&name)).unwrap();
    let mut child = shipit_on_stack(dir.path())
        .args([
            "logs", "--follow", "--poll", "--since", "5m", "--output", "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let rx = stdout_lines(&mut child);
    let put = |stream: &str, timestamp: i64, message: String| {
        runtime
            .block_on(
                client
                    .put_log_events()
                    .log_group_name(&group)
                    .log_stream_name(stream)
                    .log_events(
                        InputLogEvent::builder()
                            .timestamp(timestamp)
                            .message(message)
                            .build()
                            .unwrap(),
                    )
                    .send(),
            )
            .unwrap();
    };
    // The fresh stream moves "newest" forward; the late one is 40 s behind it.
    put(&streams[0], now_ms(), "fresh 0".into());
    std::thread::sleep(Duration::from_secs(2));
    runtime
        .block_on(
            client
                .create_log_stream()
                .log_group_name(&group)
                .log_stream_name(&streams[1])
                .send(),
        )
        .unwrap();
    for i in 0..3 {
        put(&streams[1], now_ms() - 40_000 + i, format!("late {i}"));
    }
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    for i in 1.. {
        if Instant::now() > deadline
            || lines
                .iter()
                .filter(|l: &&String| l.contains("late "))
                .count()
                == 3
        {
            break;
        }
        put(&streams[0], now_ms(), format!("fresh {i}"));
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(500)) {
            lines.push(line);
        }
    }
    // Anything printed twice would arrive now.
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(2)) {
        lines.push(line);
    }
    let (status, stderr) = common::interrupt(child);
    assert_eq!(status.code(), Some(0), "{stderr}");
    for i in 0..3 {
        let n = lines
            .iter()
            .filter(|l| l.contains(&format!("\"message\":\"late {i}\"")))
            .count();
        assert_eq!(
            n,
            1,
            "late {i} printed once:\n{}\n{stderr}",
            lines.join("\n")
        );
    }
}
