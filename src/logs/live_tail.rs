//! CloudWatch Logs Live Tail sessions (StartLiveTail): events pushed as they are ingested,
//! instead of polled.
//!
//! A session lasts at most three hours, ends when its connection breaks, and may say that it
//! dropped events (`sampled`); the caller (`shipit logs --follow`) renews sessions and catches
//! up with FilterLogEvents. This module only opens a session and turns its frames into events.

use anyhow::{Context, anyhow, bail};
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::{
    LiveTailSessionLogEvent, StartLiveTailResponseStream, error::StartLiveTailResponseStreamError,
};

use crate::aws::error_chain;
use crate::logs::merge::Event;

/// One update of a session: the events in it, and whether the service dropped some.
#[derive(Debug)]
pub struct Update {
    pub events: Vec<Event>,
    pub sampled: bool,
}

pub struct Session {
    id: String,
    stream: aws_sdk_cloudwatchlogs::primitives::event_stream::EventReceiver<
        StartLiveTailResponseStream,
        StartLiveTailResponseStreamError,
    >,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session").field("id", &self.id).finish()
    }
}

/// The ARN Live Tail wants for a log group (without the `:*` that DescribeLogGroups' `arn`
/// ends with).
pub async fn group_arn(client: &Client, group: &str) -> anyhow::Result<String> {
    let Some(found) = crate::logs::find_log_group(client, group).await? else {
        bail!("log group {group} does not exist yet: it is created by `shipit deploy`");
    };
    found
        .log_group_arn()
        .map(str::to_string)
        .or_else(|| {
            found
                .arn()
                .map(|arn| arn.trim_end_matches(":*").to_string())
        })
        .with_context(|| format!("DescribeLogGroups gave no ARN for {group}"))
}

impl Session {
    /// Opens a session on the streams under `prefix` and waits until the service confirms it:
    /// from then on, every event ingested reaches this session.
    pub async fn open(
        client: &Client,
        group_arn: &str,
        prefix: &str,
        filter: Option<&str>,
    ) -> anyhow::Result<Session> {
        let output = client
            .start_live_tail()
            .log_group_identifiers(group_arn)
            .log_stream_name_prefixes(prefix)
            .set_log_event_filter_pattern(filter.map(str::to_string))
            .send()
            .await
            .map_err(|e| anyhow!("{}", error_chain(&e)))?;
        let mut stream = output.response_stream;
        loop {
            match stream.recv().await {
                Ok(Some(StartLiveTailResponseStream::SessionStart(start))) => {
                    return Ok(Session {
                        id: start.session_id().unwrap_or_default().to_string(),
                        stream,
                    });
                }
                Ok(Some(_)) => continue,
                Ok(None) => bail!("the session ended before it started"),
                Err(e) => bail!("{}", error_chain(&e)),
            }
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The next update; None when the service ended the session (its three hours are up).
    /// An error means the session broke.
    pub async fn next(&mut self) -> anyhow::Result<Option<Update>> {
        loop {
            match self.stream.recv().await {
                Ok(Some(StartLiveTailResponseStream::SessionUpdate(update))) => {
                    return Ok(Some(Update {
                        sampled: update.session_metadata().is_some_and(|m| m.sampled()),
                        events: update.session_results().iter().map(event).collect(),
                    }));
                }
                Ok(Some(_)) => continue,
                Ok(None) => return Ok(None),
                Err(e) => bail!("{}", error_chain(&e)),
            }
        }
    }
}

/// What a session is to its reader: the next update, None when it ended. A trait so that the
/// read-ahead below can be tested without the service.
pub trait UpdateSource: Send + 'static {
    fn next_update(&mut self) -> impl Future<Output = anyhow::Result<Option<Update>>> + Send;
}

impl UpdateSource for Session {
    async fn next_update(&mut self) -> anyhow::Result<Option<Update>> {
        self.next().await
    }
}

/// A session read on its own task. The follower stops to run FilterLogEvents catch-ups (a
/// backfill, a sampled update's gap), and a catch-up over many pages takes seconds; the service
/// keeps only 10 updates (or 5,000 events) for a reader that falls behind and drops the oldest.
/// Reading ahead into a queue keeps every update while the follower is busy.
pub struct ReadAhead {
    updates: tokio::sync::mpsc::UnboundedReceiver<anyhow::Result<Option<Update>>>,
    reader: tokio::task::JoinHandle<()>,
}

impl ReadAhead {
    pub fn start<S: UpdateSource>(mut source: S) -> ReadAhead {
        let (sender, updates) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            loop {
                let next = source.next_update().await;
                let last = !matches!(next, Ok(Some(_)));
                if sender.send(next).is_err() || last {
                    break;
                }
            }
        });
        ReadAhead { updates, reader }
    }

    /// The next update, in the order the session gave them.
    pub async fn next(&mut self) -> anyhow::Result<Option<Update>> {
        self.updates.recv().await.unwrap_or(Ok(None))
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn event(e: &LiveTailSessionLogEvent) -> Event {
    Event {
        stream: e.log_stream_name().unwrap_or_default().to_string(),
        timestamp: e.timestamp().unwrap_or_default(),
        ingestion_time: e.ingestion_time().unwrap_or_default(),
        message: e.message().unwrap_or_default().to_string(),
        event_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A session that gives `count` updates of one event each, noting when each was read.
    struct Scripted {
        count: usize,
        given: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl UpdateSource for Scripted {
        async fn next_update(&mut self) -> anyhow::Result<Option<Update>> {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            let n = self.given.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n >= self.count {
                return Ok(None);
            }
            Ok(Some(Update {
                events: vec![Event {
                    stream: "s".into(),
                    timestamp: n as i64,
                    ingestion_time: n as i64,
                    message: format!("event {n}"),
                    event_id: None,
                }],
                sampled: false,
            }))
        }
    }

    /// While the follower is busy (a catch-up), the session is still read: every update the
    /// service sends in that time is taken off it, then handed over in order.
    #[tokio::test]
    async fn a_busy_follower_does_not_leave_the_session_unread() {
        let given = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut ahead = ReadAhead::start(Scripted {
            count: 25,
            given: given.clone(),
        });
        // The follower's catch-up: it reads nothing for a while.
        tokio::time::sleep(std::time::Duration::from_millis(400)).await;
        assert!(
            given.load(std::sync::atomic::Ordering::SeqCst) > 10,
            "only {} updates were read while the follower was busy: the service keeps 10",
            given.load(std::sync::atomic::Ordering::SeqCst)
        );
        let mut messages = Vec::new();
        while let Some(update) = ahead.next().await.unwrap() {
            messages.extend(update.events.into_iter().map(|e| e.message));
        }
        let wanted: Vec<String> = (0..25).map(|n| format!("event {n}")).collect();
        assert_eq!(messages, wanted);
    }
}
