//! The reads a fleet's watches share: one look at a cluster serves every service watched in
//! it. Per poll and cluster that is one DescribeServices per 10 services (its limit), the
//! cluster's task list (ListTasks, 100 a page, running and stopped), and DescribeTasks per
//! 100 tasks not yet seen stopped (a stopped task does not change, so it is described once).
//! Fifty services watched at once cost about what five cost one by one: a few calls a second
//! instead of four per service per second, far inside ECS's per-account request quotas.
//!
//! A single service keeps `ecs::snapshot`, which asks ECS for that service's tasks only.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{DesiredStatus, Service, Task};

use crate::aws::error::AwsError;
use crate::aws::rate::{self, ApiSet};
use crate::rollout::Snapshot;

/// A look at the cluster younger than this serves a watch's poll (the watch polls each second
/// or two).
const FRESH: Duration = Duration::from_millis(900);
/// A watch's first poll may join a look this old: its service is described at once, and the
/// cluster's tasks it takes from the look are at most this old (its next poll reads afresh).
/// Services a fleet paces start seconds apart; without this each first poll would take a
/// look of its own.
const JOIN_WITHIN: Duration = Duration::from_secs(5);
/// DescribeServices takes at most 10 services, DescribeTasks 100 tasks.
const SERVICES_PER_CALL: usize = 10;
const TASKS_PER_CALL: usize = 100;

/// The shared reads of one cluster in one region.
pub struct ClusterReads {
    client: Client,
    region: String,
    cluster: String,
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    /// The services whose watches read here.
    watched: BTreeSet<String>,
    last: Option<(Instant, Arc<Look>)>,
    /// Tasks seen stopped, by ARN: described once.
    stopped: HashMap<String, Task>,
}

/// One look at the cluster.
#[derive(Clone)]
struct Look {
    services: BTreeMap<String, Service>,
    /// By service: the tasks of `service:NAME`.
    tasks: BTreeMap<String, Vec<Task>>,
}

/// Region and cluster.
type ClusterKey = (String, String);

/// Looks taken and the ECS calls they made, in this run (the fleet's report shows them).
static LOOKS: AtomicU32 = AtomicU32::new(0);
static CALLS: AtomicU32 = AtomicU32::new(0);

/// How many looks at clusters this run took, and the ECS calls they made.
pub fn totals() -> (u32, u32) {
    (LOOKS.load(Ordering::Relaxed), CALLS.load(Ordering::Relaxed))
}

/// Every cluster's shared reads, by region and cluster, for this run.
static READS: LazyLock<Mutex<HashMap<ClusterKey, Arc<ClusterReads>>>> =
    LazyLock::new(Default::default);

/// The shared reads of `cluster` in the client's region, made on first use.
pub fn for_cluster(client: &Client, cluster: &str) -> Arc<ClusterReads> {
    let region = client
        .config()
        .region()
        .map(|r| r.to_string())
        .unwrap_or_default();
    let mut all = READS.lock().unwrap_or_else(|e| e.into_inner());
    all.entry((region.clone(), cluster.to_string()))
        .or_insert_with(|| {
            Arc::new(ClusterReads {
                client: client.clone(),
                region: region.clone(),
                cluster: cluster.to_string(),
                state: Default::default(),
            })
        })
        .clone()
}

impl ClusterReads {
    /// The watch's view of `service`, from a look at the cluster no older than `FRESH`.
    pub async fn snapshot(&self, service: &str, since: f64) -> anyhow::Result<Snapshot> {
        let look = {
            let mut state = self.state.lock().await;
            state.watched.insert(service.to_string());
            match state.last.clone() {
                Some((at, look)) if at.elapsed() < FRESH && look.services.contains_key(service) => {
                    look
                }
                // A watch that joins after the look: its service is described on its own (with
                // any other newcomer) and added; the cluster's tasks are the look's.
                Some((at, look))
                    if at.elapsed() < JOIN_WITHIN && !look.services.contains_key(service) =>
                {
                    let newcomers: Vec<String> = state
                        .watched
                        .iter()
                        .filter(|name| !look.services.contains_key(*name))
                        .cloned()
                        .collect();
                    let mut joined = (*look).clone();
                    joined
                        .services
                        .extend(self.describe_services(&newcomers).await?);
                    let joined = Arc::new(joined);
                    state.last = Some((at, joined.clone()));
                    joined
                }
                _ => {
                    let look = Arc::new(self.look(&mut state).await?);
                    state.last = Some((Instant::now(), look.clone()));
                    look
                }
            }
        };
        let found = look.services.get(service).ok_or_else(|| {
            anyhow::anyhow!(
                "service `{service}` disappeared from cluster `{}`",
                self.cluster
            )
        })?;
        let tasks = look
            .tasks
            .get(service)
            .map(Vec::as_slice)
            .unwrap_or_default();
        Ok(crate::ecs::snapshot_of(found, tasks, since))
    }

    async fn look(&self, state: &mut State) -> anyhow::Result<Look> {
        LOOKS.fetch_add(1, Ordering::Relaxed);
        let names: Vec<String> = state.watched.iter().cloned().collect();
        let services = self.describe_services(&names).await?;
        let running = self.list(DesiredStatus::Running).await?;
        let stopped = self.list(DesiredStatus::Stopped).await?;
        let fresh: Vec<String> = running
            .iter()
            .chain(
                stopped
                    .iter()
                    .filter(|arn| !state.stopped.contains_key(*arn)),
            )
            .cloned()
            .collect();
        let mut described = Vec::new();
        for chunk in fresh.chunks(TASKS_PER_CALL) {
            CALLS.fetch_add(1, Ordering::Relaxed);
            rate::acquire(&self.region, ApiSet::WatchReads).await;
            let out = self
                .client
                .describe_tasks()
                .cluster(&self.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ECS", "DescribeTasks", &e))?;
            described.extend(out.tasks().iter().cloned());
        }
        for task in &described {
            if task.last_status() == Some("STOPPED")
                && let Some(arn) = task.task_arn()
            {
                state.stopped.insert(arn.to_string(), task.clone());
            }
        }
        // The stopped ones ECS still lists, from what was described before.
        let still_listed: BTreeSet<&String> = stopped.iter().collect();
        state.stopped.retain(|arn, _| still_listed.contains(arn));
        let mut tasks: BTreeMap<String, Vec<Task>> = BTreeMap::new();
        let described_arns: BTreeSet<String> = described
            .iter()
            .filter_map(|t| t.task_arn().map(str::to_string))
            .collect();
        for task in described.iter().chain(
            state
                .stopped
                .values()
                .filter(|t| !described_arns.contains(t.task_arn().unwrap_or_default())),
        ) {
            if let Some(service) = task.group().and_then(|g| g.strip_prefix("service:")) {
                tasks
                    .entry(service.to_string())
                    .or_default()
                    .push(task.clone());
            }
        }
        Ok(Look { services, tasks })
    }

    /// The services, ten a call.
    async fn describe_services(
        &self,
        names: &[String],
    ) -> anyhow::Result<BTreeMap<String, Service>> {
        let mut services = BTreeMap::new();
        for chunk in names.chunks(SERVICES_PER_CALL) {
            CALLS.fetch_add(1, Ordering::Relaxed);
            rate::acquire(&self.region, ApiSet::WatchReads).await;
            let out = self
                .client
                .describe_services()
                .cluster(&self.cluster)
                .set_services(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ECS", "DescribeServices", &e))?;
            for service in out.services() {
                if let Some(name) = service.service_name() {
                    services.insert(name.to_string(), service.clone());
                }
            }
        }
        Ok(services)
    }

    /// Every task of the cluster with this desired status, all pages.
    async fn list(&self, status: DesiredStatus) -> anyhow::Result<Vec<String>> {
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            CALLS.fetch_add(1, Ordering::Relaxed);
            rate::acquire(&self.region, ApiSet::WatchReads).await;
            let out = self
                .client
                .list_tasks()
                .cluster(&self.cluster)
                .desired_status(status.clone())
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("ECS", "ListTasks", &e))?;
            arns.extend(out.task_arns().iter().cloned());
            match out.next_token() {
                Some(token) if !token.is_empty() => next = Some(token.to_string()),
                _ => break,
            }
        }
        Ok(arns)
    }
}
