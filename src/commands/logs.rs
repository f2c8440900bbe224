//! `shipit logs`: the service's CloudWatch log events, backfilled with FilterLogEvents
//! (every page), then, with `--follow`, new events as they arrive: each printed once, in order
//! within its stream, new tasks' streams included.
//!
//! Following polls FilterLogEvents from a little before the newest event seen (events are
//! ingested late and out of step across streams) and drops what was already printed by event
//! id, so nothing is lost at a page or poll boundary and nothing repeats. Polls stay within
//! FilterLogEvents' budget of 5 requests a second.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::bail;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::FilteredLogEvent;
use clap::Args;
use serde::Serialize;

use crate::aws::error_chain;
use crate::calls::Clients;
use crate::cli::GlobalArgs;
use crate::exit::{BadInput, ExitStatus};
use crate::printer::Printer;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// How far back to start: a duration (10m, 2h) or an ISO time (2026-11-28T09:00:00Z).
    #[arg(long, default_value = "10m")]
    pub since: String,
    /// Keep printing new events until interrupted.
    #[arg(short, long)]
    pub follow: bool,
    /// A CloudWatch Logs filter pattern (`ERROR`, `"timed out"`, `{ $.level = "error" }`).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Only this task's events (its id, as `shipit status` shows it).
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The container whose events to show. Default: the config's container.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
}

/// How far behind the newest event each poll looks again: CloudWatch ingests events late, and
/// an event can appear after a newer one from another stream was already returned.
const LAG_WINDOW_MS: i64 = 10_000;
/// FilterLogEvents allows 5 requests a second per account and region; stay under it.
const MIN_REQUEST_GAP: Duration = Duration::from_millis(250);
/// Between polls when the last one found nothing new.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Serialize)]
struct Line<'a> {
    timestamp: i64,
    event_id: &'a str,
    stream: &'a str,
    task: &'a str,
    container: &'a str,
    message: &'a str,
}

/// `--since`: a duration back from now, or an RFC 3339 time. Milliseconds since the epoch.
pub fn parse_since(text: &str, now_ms: i64) -> Result<i64, BadInput> {
    if let Ok(duration) = super::deploy::parse_duration(text) {
        return Ok(now_ms - duration.as_millis() as i64);
    }
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .and_then(|t| t.to_millis().ok())
        .ok_or_else(|| {
            BadInput::new(format!(
                "--since `{text}` is neither a duration (10m, 2h) nor an ISO time (2026-11-28T09:00:00Z)"
            ))
        })
}

/// Events not yet printed, from pages of FilterLogEvents: remembers ids inside the lag window.
#[derive(Debug, Default)]
pub struct Dedup {
    seen: HashMap<String, i64>,
    newest: i64,
}

impl Dedup {
    /// True the first time an event id is offered.
    pub fn first_time(&mut self, event_id: &str, timestamp: i64) -> bool {
        if self.seen.contains_key(event_id) {
            return false;
        }
        self.seen.insert(event_id.to_string(), timestamp);
        self.newest = self.newest.max(timestamp);
        true
    }

    /// Where the next poll starts, and forgetting ids older than that.
    pub fn next_start(&mut self, floor: i64) -> i64 {
        let start = (self.newest - LAG_WINDOW_MS).max(floor);
        self.seen.retain(|_, ts| *ts >= start);
        start
    }
}

pub async fn run(
    args: &LogsArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let now_ms = (super::deploy::now_epoch_seconds() * 1000.0) as i64;
    let since = parse_since(&args.since, now_ms)?;
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let group = &loaded.names.log_group;
    let container = args
        .container
        .clone()
        .unwrap_or_else(|| loaded.names.container.clone());
    let prefix = match &args.task {
        Some(task) => format!("{}/{container}/{task}", loaded.config.logs.stream_prefix),
        None => format!("{}/{container}/", loaded.config.logs.stream_prefix),
    };
    let colors = !printer.is_json() && std::io::stdout().is_terminal();
    let mut out = Output {
        printer,
        colors,
        task_colors: HashMap::new(),
    };

    let mut dedup = Dedup::default();
    let mut pacer = Pacer::default();
    let mut start = since;
    loop {
        let events = fetch(
            &clients.logs,
            group,
            &prefix,
            args.filter.as_deref(),
            start,
            &mut pacer,
        )
        .await?;
        let mut fresh: Vec<&FilteredLogEvent> = events
            .iter()
            .filter(|e| {
                dedup.first_time(
                    e.event_id().unwrap_or_default(),
                    e.timestamp().unwrap_or_default(),
                )
            })
            .collect();
        // Time order across streams; ties keep the service's order, so each stream stays in order.
        fresh.sort_by_key(|e| (e.timestamp(), e.ingestion_time()));
        for event in &fresh {
            out.print(event)?;
        }
        if !args.follow {
            return Ok(ExitStatus::Success);
        }
        start = dedup.next_start(since);
        let pause = if fresh.is_empty() {
            POLL_INTERVAL
        } else {
            MIN_REQUEST_GAP
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitStatus::Success),
        }
    }
}

/// Spaces requests at least `MIN_REQUEST_GAP` apart.
#[derive(Default)]
struct Pacer {
    last: Option<Instant>,
}

impl Pacer {
    async fn wait(&mut self) {
        if let Some(last) = self.last {
            let next = last + MIN_REQUEST_GAP;
            if let Some(wait) = next.checked_duration_since(Instant::now()) {
                tokio::time::sleep(wait).await;
            }
        }
        self.last = Some(Instant::now());
    }
}

/// Every event from `start` on, following nextToken through all pages.
async fn fetch(
    client: &Client,
    group: &str,
    prefix: &str,
    filter: Option<&str>,
    start: i64,
    pacer: &mut Pacer,
) -> anyhow::Result<Vec<FilteredLogEvent>> {
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    let mut tokens_seen = HashSet::new();
    loop {
        pacer.wait().await;
        let mut request = client
            .filter_log_events()
            .log_group_name(group)
            .log_stream_name_prefix(prefix)
            .start_time(start)
            .set_next_token(token.clone());
        if let Some(pattern) = filter {
            request = request.filter_pattern(pattern);
        }
        let page = match request.send().await {
            Ok(page) => page,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                bail!("log group {group} does not exist yet: it is created by `shipit deploy`");
            }
            Err(err) => bail!("CloudWatch FilterLogEvents failed: {}", error_chain(&err)),
        };
        // The prefix again here: not every endpoint applies logStreamNamePrefix (moto does not).
        events.extend(
            page.events()
                .iter()
                .filter(|e| e.log_stream_name().is_some_and(|s| s.starts_with(prefix)))
                .cloned(),
        );
        match page.next_token() {
            // A token seen before would loop forever: some endpoints repeat the last one.
            Some(next) if tokens_seen.insert(next.to_string()) => token = Some(next.to_string()),
            _ => return Ok(events),
        }
    }
}

struct Output<'a> {
    printer: &'a Printer,
    colors: bool,
    task_colors: HashMap<String, u8>,
}

/// Colours for tasks, in turn (cyan, magenta, yellow, green, blue, red).
const PALETTE: [u8; 6] = [36, 35, 33, 32, 34, 31];

impl Output<'_> {
    fn print(&mut self, event: &FilteredLogEvent) -> anyhow::Result<()> {
        let stream = event.log_stream_name().unwrap_or_default();
        // prefix/container/task-id
        let mut parts = stream.rsplitn(3, '/');
        let task = parts.next().unwrap_or(stream);
        let container = parts.next().unwrap_or_default();
        let message = event.message().unwrap_or_default().trim_end_matches('\n');
        let text = if self.printer.is_json() {
            let line = Line {
                timestamp: event.timestamp().unwrap_or_default(),
                event_id: event.event_id().unwrap_or_default(),
                stream,
                task,
                container,
                message,
            };
            format!("{}\n", serde_json::to_string(&line)?)
        } else {
            let short = &task[..task.len().min(8)];
            if self.colors {
                let next = self.task_colors.len() % PALETTE.len();
                let color = *self
                    .task_colors
                    .entry(task.to_string())
                    .or_insert(PALETTE[next]);
                format!("\x1b[{color}m{short}\x1b[0m {message}\n")
            } else {
                format!("{short} {message}\n")
            }
        };
        self.printer.raw(&text)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_iso_times() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_since("10m", now).unwrap(), now - 600_000);
        assert_eq!(parse_since("2h", now).unwrap(), now - 7_200_000);
        assert_eq!(
            parse_since("2026-11-28T09:00:00Z", now).unwrap(),
            1_795_856_400_000
        );
        assert!(parse_since("yesterday", now).is_err());
    }

    #[test]
    fn dedup_prints_each_id_once_and_looks_back_a_lag_window() {
        let mut d = Dedup::default();
        assert!(d.first_time("a", 1_000));
        assert!(!d.first_time("a", 1_000));
        assert!(d.first_time("b", 30_000));
        // The next poll starts 10 s before the newest event, and forgets older ids.
        assert_eq!(d.next_start(0), 20_000);
        assert!(
            d.first_time("a", 1_000),
            "forgotten, but also never asked for again"
        );
        assert!(!d.first_time("b", 30_000));
        assert_eq!(d.next_start(25_000), 25_000, "never before --since");
    }
}
