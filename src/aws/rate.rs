//! A fleet's own pace: client-side token buckets, per region and per set of ECS actions,
//! shared by every service of the run, that keep the calls a fleet multiplies under ECS's
//! request quotas before ECS has to throttle them.
//!
//! ECS throttles each account per region with a token bucket per group of actions (ECS API
//! reference, "Request throttling for the Amazon ECS API",
//! https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html). The
//! rates here stay below those that page gives for the groups shipit uses, with room left for
//! the account's other callers:
//! - RegisterTaskDefinition: ECS allows a burst of 20 and 1 a second sustained; shipit takes
//!   a burst of 15 and 0.8 a second.
//! - the reads a watch makes (DescribeServices, ListTasks, DescribeTasks): ECS allows about 20
//!   a second for its task and service reads; shipit takes a burst of 20 and 10 a second.
//! - service writes (CreateService, UpdateService): shipit takes a burst of 10 and 1 a second,
//!   under the service-modify group's rate.
//!
//! The buckets pace; they do not fail a call. A throttle caused by the account's other
//! callers is still met by the SDK's adaptive retries (`Clients::share_for_fleet`).
//!
//! Written by hand: a bucket is a dozen lines, and the crates that do this (governor) bring
//! their own clocks and a dependency tree for what tokio's sleep already gives.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

/// The sets of ECS actions a fleet paces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiSet {
    TaskDefinitionWrites,
    WatchReads,
    ServiceWrites,
}

impl ApiSet {
    /// (burst, per second)
    fn rate(self) -> (f64, f64) {
        match self {
            ApiSet::TaskDefinitionWrites => (15.0, 0.8),
            ApiSet::WatchReads => (20.0, 10.0),
            ApiSet::ServiceWrites => (10.0, 1.0),
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

static BUCKETS: LazyLock<Mutex<HashMap<(String, ApiSet), Bucket>>> =
    LazyLock::new(Default::default);

/// Waits until one call of `set` may go in `region`.
pub async fn acquire(region: &str, set: ApiSet) {
    loop {
        let wait = take(region, set, Instant::now());
        if wait.is_zero() {
            return;
        }
        tokio::time::sleep(wait).await;
    }
}

/// Takes a token if there is one (zero), else says how long until there is.
fn take(region: &str, set: ApiSet, now: Instant) -> Duration {
    let (burst, per_second) = set.rate();
    let mut buckets = BUCKETS.lock().unwrap_or_else(|e| e.into_inner());
    let bucket = buckets.entry((region.to_string(), set)).or_insert(Bucket {
        tokens: burst,
        at: now,
    });
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    bucket.tokens = (bucket.tokens + elapsed * per_second).min(burst);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        Duration::ZERO
    } else {
        Duration::from_secs_f64((1.0 - bucket.tokens) / per_second)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_goes_at_once_then_calls_are_paced() {
        let start = Instant::now();
        let region = "test-region-1";
        for _ in 0..15 {
            assert!(take(region, ApiSet::TaskDefinitionWrites, start).is_zero());
        }
        let wait = take(region, ApiSet::TaskDefinitionWrites, start);
        assert!(
            wait.abs_diff(Duration::from_millis(1250)) < Duration::from_millis(1),
            "0.8 a second: {wait:?}"
        );
        // That much later one more may go; other sets and regions have buckets of their own.
        assert!(take(region, ApiSet::TaskDefinitionWrites, start + wait).is_zero());
        assert!(take(region, ApiSet::ServiceWrites, start).is_zero());
        assert!(take("test-region-2", ApiSet::TaskDefinitionWrites, start).is_zero());
    }
}
