//! Exactly-once merging of the two ways `shipit logs --follow` reads events: pages of
//! FilterLogEvents (every event has an id) and Live Tail updates (no ids).
//!
//! The two overlap at every handover: the backfill and the first Live Tail updates, a catch-up
//! after a sampled update, a catch-up after a session was renewed. Without ids, an event is
//! known by its stream, timestamp and message. Two events can share all three (a program that
//! logs the same line twice in a millisecond), so the merger counts: for each such key it prints
//! as many events as the source that saw more of them has seen. Each source sees a subset of the
//! same events and never repeats one (FilterLogEvents pages are de-duplicated by id first), so
//! nothing is printed twice and nothing either source saw is dropped.
//!
//! Pure state, no I/O: the unit tests below replay handovers event by event.

use std::collections::{HashMap, HashSet};

/// How far behind the newest event a catch-up looks again: CloudWatch ingests events late, and
/// an event can appear after a newer one from another stream.
pub const LAG_WINDOW_MS: i64 = 10_000;
/// How long the merger remembers what it printed, behind the newest event. A catch-up never
/// starts earlier than this, so nothing it returns can be mistaken for new.
pub const MEMORY_MS: i64 = 5 * 60_000;

/// One log event, from either source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub stream: String,
    pub timestamp: i64,
    pub ingestion_time: i64,
    pub message: String,
    /// FilterLogEvents gives one; Live Tail does not.
    pub event_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    stream: String,
    timestamp: i64,
    message: String,
}

impl Key {
    fn of(event: &Event) -> Key {
        Key {
            stream: event.stream.clone(),
            timestamp: event.timestamp,
            message: event.message.clone(),
        }
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    by_filter: u32,
    by_live: u32,
}

#[derive(Debug)]
pub struct Merger {
    /// The earliest time asked for (`--since`).
    since: i64,
    /// Printed events by key, within `MEMORY_MS` of the newest.
    seen: HashMap<Key, Seen>,
    /// FilterLogEvents ids already counted (catch-ups overlap each other).
    ids: HashSet<String>,
    /// Timestamp of each remembered id, to forget it with its key.
    id_times: Vec<(i64, String)>,
    newest: i64,
}

impl Merger {
    pub fn new(since: i64) -> Merger {
        Merger {
            since,
            seen: HashMap::new(),
            ids: HashSet::new(),
            id_times: Vec::new(),
            newest: since,
        }
    }

    /// The earliest time asked for: where the backfill starts.
    pub fn since(&self) -> i64 {
        self.since
    }

    /// The newest timestamp printed so far (`since` before anything was).
    pub fn newest(&self) -> i64 {
        self.newest
    }

    /// Events from a FilterLogEvents read, in the order to print them (time order; ties keep
    /// the order the service gave, so each stream stays in order). Drops what was printed.
    pub fn offer_filtered(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut fresh = Vec::new();
        for event in events {
            if event.timestamp < self.horizon() {
                continue;
            }
            if let Some(id) = &event.event_id {
                if !self.ids.insert(id.clone()) {
                    continue;
                }
                self.id_times.push((event.timestamp, id.clone()));
            }
            let seen = self.seen.entry(Key::of(&event)).or_default();
            seen.by_filter += 1;
            if seen.by_filter > seen.by_live {
                fresh.push(event);
            }
        }
        self.printed(fresh)
    }

    /// Events from one Live Tail update, in the order to print them.
    pub fn offer_live(&mut self, events: Vec<Event>) -> Vec<Event> {
        let mut fresh = Vec::new();
        for event in events {
            if event.timestamp < self.horizon() {
                continue;
            }
            let seen = self.seen.entry(Key::of(&event)).or_default();
            seen.by_live += 1;
            if seen.by_live > seen.by_filter {
                fresh.push(event);
            }
        }
        self.printed(fresh)
    }

    /// Where a FilterLogEvents catch-up should start to cover a gap that began at
    /// `gap_start` (milliseconds): a lag window earlier, but never before what the merger still
    /// remembers or before `--since`.
    pub fn catch_up_start(&self, gap_start: i64) -> i64 {
        (gap_start.min(self.newest) - LAG_WINDOW_MS)
            .max(self.horizon())
            .max(self.since)
    }

    /// Where a catch-up that looks back as far as the merger remembers starts.
    pub fn remembered_from(&self) -> i64 {
        self.horizon()
    }

    /// The oldest timestamp still remembered: anything older is neither printed nor counted.
    fn horizon(&self) -> i64 {
        (self.newest - MEMORY_MS).max(self.since)
    }

    fn printed(&mut self, mut fresh: Vec<Event>) -> Vec<Event> {
        fresh.sort_by_key(|e| (e.timestamp, e.ingestion_time));
        if let Some(last) = fresh.iter().map(|e| e.timestamp).max()
            && last > self.newest
        {
            self.newest = last;
            self.forget_old();
        }
        fresh
    }

    fn forget_old(&mut self) {
        let horizon = self.horizon();
        self.seen.retain(|key, _| key.timestamp >= horizon);
        if self.id_times.first().is_some_and(|(ts, _)| *ts < horizon) {
            let ids = &mut self.ids;
            self.id_times.retain(|(ts, id)| {
                let keep = *ts >= horizon;
                if !keep {
                    ids.remove(id);
                }
                keep
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filtered(stream: &str, ts: i64, message: &str, id: &str) -> Event {
        Event {
            stream: stream.into(),
            timestamp: ts,
            ingestion_time: ts,
            message: message.into(),
            event_id: Some(id.into()),
        }
    }

    fn live(stream: &str, ts: i64, message: &str) -> Event {
        Event {
            event_id: None,
            ..filtered(stream, ts, message, "")
        }
    }

    fn messages(events: &[Event]) -> Vec<&str> {
        events.iter().map(|e| e.message.as_str()).collect()
    }

    #[test]
    fn the_handover_from_backfill_to_live_tail_prints_each_event_once() {
        let mut m = Merger::new(0);
        // Live Tail started first; its first update overlaps the end of the backfill.
        let backfill = vec![
            filtered("s", 1_000, "a", "1"),
            filtered("s", 2_000, "b", "2"),
        ];
        assert_eq!(messages(&m.offer_filtered(backfill)), ["a", "b"]);
        let update = vec![live("s", 2_000, "b"), live("s", 3_000, "c")];
        assert_eq!(messages(&m.offer_live(update)), ["c"]);
        assert_eq!(m.newest(), 3_000);
    }

    #[test]
    fn identical_lines_in_one_millisecond_are_counted_not_collapsed() {
        let mut m = Merger::new(0);
        // The program logged "retry" three times in one millisecond; the backfill saw two.
        let backfill = vec![
            filtered("s", 5, "retry", "1"),
            filtered("s", 5, "retry", "2"),
        ];
        assert_eq!(m.offer_filtered(backfill).len(), 2);
        let update = vec![
            live("s", 5, "retry"),
            live("s", 5, "retry"),
            live("s", 5, "retry"),
        ];
        assert_eq!(m.offer_live(update).len(), 1, "only the third is new");
        // A catch-up that now sees all three, two of them again by id, adds nothing.
        let again = vec![
            filtered("s", 5, "retry", "1"),
            filtered("s", 5, "retry", "2"),
            filtered("s", 5, "retry", "3"),
        ];
        assert!(m.offer_filtered(again).is_empty());
    }

    #[test]
    fn a_catch_up_after_a_sampled_update_fills_the_gap_without_repeats() {
        let mut m = Merger::new(0);
        m.offer_live(vec![live("s", 100, "1"), live("t", 100, "x")]);
        // Updates with "2" and "3" were dropped; the sampled one brought "4".
        // The driver holds "4" back, catches up, then offers it.
        let start = m.catch_up_start(400);
        assert_eq!(
            start, 0,
            "a lag window before the newest event, not before --since"
        );
        let catch_up = vec![
            filtered("s", 100, "1", "a"),
            filtered("t", 100, "x", "b"),
            filtered("s", 200, "2", "c"),
            filtered("s", 300, "3", "d"),
            filtered("s", 400, "4", "e"),
        ];
        assert_eq!(messages(&m.offer_filtered(catch_up)), ["2", "3", "4"]);
        assert!(m.offer_live(vec![live("s", 400, "4")]).is_empty());
        assert_eq!(messages(&m.offer_live(vec![live("s", 500, "5")])), ["5"]);
    }

    #[test]
    fn streams_stay_in_order_and_ties_keep_the_services_order() {
        let mut m = Merger::new(0);
        let page = vec![
            filtered("b", 7, "b1", "1"),
            filtered("a", 7, "a1", "2"),
            filtered("a", 7, "a2", "3"),
            filtered("a", 3, "a0", "4"),
        ];
        assert_eq!(messages(&m.offer_filtered(page)), ["a0", "b1", "a1", "a2"]);
    }

    #[test]
    fn memory_is_bounded_and_catch_ups_never_reach_past_it() {
        let mut m = Merger::new(0);
        for i in 0..1_000 {
            let ts = i * 1_000;
            m.offer_filtered(vec![filtered("s", ts, &i.to_string(), &i.to_string())]);
        }
        assert_eq!(m.newest(), 999_000);
        assert!(m.seen.len() <= 301, "5 minutes of events at one a second");
        assert_eq!(m.ids.len(), m.seen.len());
        // A gap that began long ago is caught up only as far back as what is remembered.
        assert_eq!(m.catch_up_start(0), 999_000 - MEMORY_MS);
        // An event older than that is not printed again.
        assert!(m.offer_live(vec![live("s", 10_000, "10")]).is_empty());
    }

    #[test]
    fn nothing_before_since_is_printed() {
        let mut m = Merger::new(50_000);
        assert!(m.offer_live(vec![live("s", 49_999, "old")]).is_empty());
        assert_eq!(m.catch_up_start(55_000), 50_000);
    }
}
