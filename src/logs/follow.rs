//! Following a service's log events: through CloudWatch Live Tail where it answers, else by
//! polling FilterLogEvents, every event printed once (`merge`), in the service's order.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use anyhow::bail;
use aws_sdk_cloudwatchlogs::Client;
use serde::Serialize;

use super::live_tail::{self, Session};
use super::merge::{Event, Merger};
use crate::aws::error::{AwsError, is_transient};
use crate::printer::Printer;

/// FilterLogEvents allows 5 requests a second per account and region; stay under it.
const MIN_REQUEST_GAP: Duration = Duration::from_millis(250);
/// Between polls when the last one found nothing new.
const POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How often polling reads back everything the merger remembers (late streams).
const DEEP_CATCH_UP: Duration = Duration::from_secs(10);
/// Failed polls in a row (each after the SDK's retries) before following gives up.
const MAX_POLL_FAILURES: u32 = 5;

/// Live Tail sessions that fail to open or break one after another before following falls
/// back to polling.
const MAX_SESSION_FAILURES: u32 = 5;

#[derive(Debug, Serialize)]
struct Line<'a> {
    timestamp: i64,
    /// Null for events that came through Live Tail, which gives no ids.
    event_id: Option<&'a str>,
    stream: &'a str,
    task: &'a str,
    container: &'a str,
    message: &'a str,
}

/// Why following through Live Tail stopped (it only returns to fall back to polling).
struct LiveTailUnavailable(String);

/// Reads events from either source and prints each once.
pub struct Follower<'a> {
    client: &'a Client,
    group: &'a str,
    prefix: &'a str,
    filter: Option<&'a str>,
    merger: Merger,
    pacer: Pacer,
    out: Output<'a>,
}

impl<'a> Follower<'a> {
    /// Reads `group`'s streams under `prefix` (matching `filter`), from `since` (ms) on.
    pub fn new(
        client: &'a Client,
        group: &'a str,
        prefix: &'a str,
        filter: Option<&'a str>,
        since: i64,
        printer: &'a Printer,
    ) -> Self {
        Follower {
            client,
            group,
            prefix,
            filter,
            merger: Merger::new(since),
            pacer: Pacer::default(),
            out: Output {
                printer,
                colors: !printer.is_json() && std::io::stdout().is_terminal(),
                task_colors: HashMap::new(),
            },
        }
    }

    /// Follows (until the caller stops it): through Live Tail, else by polling.
    pub async fn follow(&mut self, poll: bool) -> anyhow::Result<()> {
        if !poll {
            let LiveTailUnavailable(reason) = self.live().await?;
            self.out.printer.info(&format!(
                "CloudWatch Live Tail is not available ({reason}); following by polling FilterLogEvents instead"
            ));
        } else {
            self.catch_up(self.merger.since()).await?;
        }
        self.poll().await
    }

    /// Follows through Live Tail; returns only to fall back to polling, when sessions cannot
    /// be opened or keep breaking.
    async fn live(&mut self) -> anyhow::Result<LiveTailUnavailable> {
        let arn = live_tail::group_arn(self.client, self.group).await?;
        self.out.printer.info(&format!(
            "following {} through CloudWatch Live Tail (Ctrl-C stops)",
            self.group
        ));
        let mut failures = 0u32;
        let mut backfilled = false;
        loop {
            // Open the session first, then read what came before it: nothing falls in between.
            let opened = Session::open(self.client, &arn, self.prefix, self.filter).await;
            let session = match opened {
                Ok(session) => session,
                Err(err) => {
                    failures += 1;
                    if !backfilled || failures >= MAX_SESSION_FAILURES {
                        // Polling starts where this left off: with the backfill, if not done.
                        return Ok(LiveTailUnavailable(err.to_string()));
                    }
                    tracing::warn!("could not reopen the Live Tail session ({err}); retrying");
                    tokio::time::sleep(Duration::from_secs(u64::from(failures))).await;
                    continue;
                }
            };
            tracing::debug!(session = session.id(), "Live Tail session open");
            // Read from now on, also while the catch-up below runs.
            let mut session = live_tail::ReadAhead::start(session);
            if backfilled {
                // The gap since the last session, from a lag window before the newest event.
                self.catch_up(self.merger.catch_up_start(i64::MAX)).await?;
            } else {
                self.catch_up(self.merger.since()).await?;
                backfilled = true;
            }
            loop {
                match session.next().await {
                    Ok(Some(update)) => {
                        failures = 0;
                        if update.sampled {
                            // The service dropped events before these: read them back first,
                            // so that each stream stays in order.
                            let oldest = update.events.iter().map(|e| e.timestamp).min();
                            let gap_start = oldest.unwrap_or(i64::MAX);
                            tracing::debug!("Live Tail update sampled; catching up");
                            self.catch_up(self.merger.catch_up_start(gap_start)).await?;
                        }
                        let fresh = self.merger.offer_live(update.events);
                        self.out.print_all(&fresh)?;
                    }
                    Ok(None) => {
                        tracing::debug!("Live Tail session ended; opening a new one");
                        break;
                    }
                    Err(err) => {
                        failures += 1;
                        if failures >= MAX_SESSION_FAILURES {
                            return Ok(LiveTailUnavailable(format!(
                                "sessions keep breaking: {err}"
                            )));
                        }
                        tracing::warn!("the Live Tail session broke ({err}); opening a new one");
                        break;
                    }
                }
            }
        }
    }

    /// Polls FilterLogEvents from a lag window before the newest event printed. Every
    /// `DEEP_CATCH_UP` it reads back as far as the merger remembers (5 minutes), so that a
    /// stream whose events CloudWatch ingests later than the lag window is still printed, once.
    /// A request that still fails after the SDK's retries (throttling: FilterLogEvents allows 5
    /// a second per account and region) is tried again after a pause; only a run of failures
    /// ends the follow.
    async fn poll(&mut self) -> anyhow::Result<()> {
        let mut last_deep = Instant::now();
        let mut failures = 0u32;
        loop {
            let deep = last_deep.elapsed() >= DEEP_CATCH_UP;
            let start = if deep {
                last_deep = Instant::now();
                self.merger.remembered_from()
            } else {
                self.merger.catch_up_start(i64::MAX)
            };
            let pause = match self.catch_up(start).await {
                Ok(printed) => {
                    failures = 0;
                    if printed == 0 {
                        POLL_INTERVAL
                    } else {
                        MIN_REQUEST_GAP
                    }
                }
                // A failure worth another poll: throttling, the service or the network.
                Err(err) if failures < MAX_POLL_FAILURES && is_transient(&err) => {
                    failures += 1;
                    tracing::warn!("reading the logs failed ({err:#}); trying again");
                    Duration::from_secs(1 << failures)
                }
                Err(err) => return Err(err),
            };
            tokio::time::sleep(pause).await;
        }
    }

    /// Prints what FilterLogEvents has from `start` on that was not printed yet; how many.
    pub async fn catch_up(&mut self, start: i64) -> anyhow::Result<usize> {
        let events = fetch(
            self.client,
            self.group,
            self.prefix,
            self.filter,
            start,
            &mut self.pacer,
        )
        .await?;
        let fresh = self.merger.offer_filtered(events);
        self.out.print_all(&fresh)?;
        Ok(fresh.len())
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
) -> anyhow::Result<Vec<Event>> {
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
            Err(err) => {
                return Err(AwsError::from_sdk("CloudWatch", "FilterLogEvents", &err).into());
            }
        };
        // The prefix again here: not every endpoint applies logStreamNamePrefix (moto does not).
        events.extend(
            page.events()
                .iter()
                .filter(|e| e.log_stream_name().is_some_and(|s| s.starts_with(prefix)))
                .map(|e| Event {
                    stream: e.log_stream_name().unwrap_or_default().to_string(),
                    timestamp: e.timestamp().unwrap_or_default(),
                    ingestion_time: e.ingestion_time().unwrap_or_default(),
                    message: e.message().unwrap_or_default().to_string(),
                    event_id: e.event_id().map(str::to_string),
                }),
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
    fn print_all(&mut self, events: &[Event]) -> anyhow::Result<()> {
        for event in events {
            self.print(event)?;
        }
        Ok(())
    }

    fn print(&mut self, event: &Event) -> anyhow::Result<()> {
        let stream = &event.stream;
        // prefix/container/task-id
        let mut parts = stream.rsplitn(3, '/');
        let task = parts.next().unwrap_or(stream);
        let container = parts.next().unwrap_or_default();
        let message = event.message.trim_end_matches(['\n', '\r']);
        // What the application logged, made safe for a terminal (JSON escapes it itself).
        let shown = crate::redact::printable(message, MAX_EVENT_CHARS);
        let text = if self.printer.is_json() {
            let line = Line {
                timestamp: event.timestamp,
                event_id: event.event_id.as_deref(),
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
                format!(
                    "{}\x1b[{color}m{short}\x1b[0m {shown}\n",
                    self.printer.prefix()
                )
            } else {
                format!("{}{short} {shown}\n", self.printer.prefix())
            }
        };
        self.printer.raw(&text)?;
        Ok(())
    }
}

/// CloudWatch Logs events hold at most 256 KiB (the PutLogEvents quota).
const MAX_EVENT_CHARS: usize = 256 * 1024;
