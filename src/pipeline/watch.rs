//! The rollout watch: polls ECS (the service, its deployments, events and tasks) until the
//! verdict on the watched deployment is final, the timeout passes or the user interrupts.
//! The judging itself is `rollout::evaluate`, pure and tested on recorded rollouts.

use std::time::{Duration, Instant};

use crate::aws::calls::Clients;
use crate::config::Names;
use crate::ecs::{self, short_task_definition};
use crate::printer::Printer;
use crate::rollout::{self, Rules, Snapshot, Target, Verdict, WaitUntil};
use crate::signals::{self, Interrupt};

/// How often a watch says again that the deployment is still paused.
const PAUSE_REMINDER: Duration = Duration::from_secs(60);

/// Polls in a row that fail (each after the SDK's own retries) before the watch gives up.
pub const LOST_CONTACT_AFTER: u32 = 3;

/// How to follow the service once shipit stops watching.
pub fn follow_command(names: &Names) -> String {
    format!(
        "`shipit status --watch` (or `aws ecs describe-services --cluster {} --services {}`)",
        names.cluster, names.service
    )
}

/// How a watch ended.
pub struct WatchEnd {
    pub verdict: Verdict,
    pub last: Option<Snapshot>,
    pub seconds: f64,
    pub timed_out: bool,
    pub interrupted: bool,
    /// Snapshots taken (1: the first look was final).
    pub polls: u32,
}

/// Polls ECS until the verdict is final (see `rollout::evaluate_until` for what `until`
/// changes), the timeout passes or the user interrupts. Polls every second at first, then
/// every two: a finished rollout is noticed within 2 s.
#[allow(clippy::too_many_arguments)]
pub async fn watch(
    clients: &Clients,
    names: &Names,
    target: &Target,
    rules: &Rules,
    until: &WaitUntil,
    timeout: Duration,
    since: f64,
    printer: &Printer,
) -> anyhow::Result<WatchEnd> {
    let started = Instant::now();
    let mut last: Option<Snapshot> = None;
    let mut polls = 0u32;
    let mut interrupt = Interrupt::listen()?;
    printer.info(&format!(
        "waiting until the rollout of {} is {} (timeout {}s)",
        short_task_definition(&target.task_definition),
        match until {
            WaitUntil::Stage(_) => format!("at stage {}", until.shown()),
            _ => until.shown(),
        },
        timeout.as_secs()
    ));
    signals::under_way(format!(
        "the deployment goes on in ECS: follow it with {}",
        follow_command(names)
    ));
    let mut said_draining = false;
    let mut failed_polls = 0u32;
    let mut pause: Option<Pause> = None;
    // Followed while the service-deployment API answers; DescribeServices judges alone after.
    let mut follow = target.service_deployment_arn.clone();
    if follow.is_none() && matches!(until, WaitUntil::Stage(_)) {
        printer.info(
            "  ECS named no service deployment: no stage can be seen, so this waits until the deployment is done, which is past every stage",
        );
    }
    // The timeout and Ctrl-C hold while a call is under way too: a connection that stalls
    // (a NAT dropping state) must not keep the watch past either.
    let deadline = tokio::time::Instant::from_std(started + timeout);
    let mut verdict = Verdict::InProgress {
        counts: Default::default(),
    };
    let ended = |verdict: Verdict, last: Option<Snapshot>, polls: u32, how: Ending| WatchEnd {
        verdict,
        last,
        seconds: started.elapsed().as_secs_f64(),
        polls,
        timed_out: how == Ending::TimedOut,
        interrupted: how == Ending::Interrupted,
    };
    loop {
        let read = async {
            let snapshot = if clients.fleet_region.is_some() {
                crate::cluster_reads::for_cluster(&clients.ecs, &names.cluster)
                    .snapshot(&names.service, since)
                    .await
            } else {
                ecs::snapshot(&clients.ecs, &names.cluster, &names.service, since).await
            };
            let deployment = match (&snapshot, follow.as_deref()) {
                (Ok(_), Some(arn)) => Some(ecs::service_deployment(&clients.ecs, arn).await),
                _ => None,
            };
            (snapshot, deployment)
        };
        // `--timeout 0` (and --no-wait) is one look: that first read is bounded by the calls'
        // own deadlines, not cut at once.
        let one_look = timeout.is_zero() && last.is_none();
        let past_deadline = async {
            if one_look {
                std::future::pending::<()>().await
            } else {
                tokio::time::sleep_until(deadline).await
            }
        };
        let (snapshot, deployment) = tokio::select! {
            read = read => read,
            _ = interrupt.recv() => {
                return Ok(ended(verdict, last, polls + 1, Ending::Interrupted));
            }
            _ = past_deadline => {
                printer.info("  ECS did not answer before the timeout");
                return Ok(ended(verdict, last, polls + 1, Ending::TimedOut));
            }
        };
        // ECS throttles Describe*/List* per account and region: a poll that still fails after
        // the SDK's retries does not end the watch. Only when several in a row fail (or the
        // timeout comes) is contact lost, which is not a verdict on the deployment.
        let mut snapshot = match snapshot {
            Ok(snapshot) => {
                failed_polls = 0;
                snapshot
            }
            Err(err) => {
                failed_polls += 1;
                if failed_polls >= LOST_CONTACT_AFTER || started.elapsed() >= timeout {
                    return Err(err.context(format!(
                        "lost contact with ECS while watching the rollout ({failed_polls} polls in a row failed); the deployment goes on in ECS: follow it with `shipit status --watch`"
                    )));
                }
                printer.info(&format!(
                    "  could not read the service ({err:#}); polling again"
                ));
                let pause = Duration::from_secs(2u64.pow(failed_polls.min(4)));
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = interrupt.recv() => {
                        return Ok(ended(verdict, last, polls + 1, Ending::Interrupted));
                    }
                }
                continue;
            }
        };
        match deployment {
            Some(Ok(view)) => snapshot.service_deployment = Some(view),
            Some(Err(ecs::ServiceDeploymentUnread::Unavailable(why))) => {
                printer.info(&format!(
                    "  the service-deployment API did not describe this deployment ({why}); judging from DescribeServices"
                ));
                if let WaitUntil::Stage(_) = until {
                    printer.info(
                        "  without it no stage can be seen: waiting until the deployment is done, which is past every stage",
                    );
                }
                follow = None;
            }
            Some(Err(ecs::ServiceDeploymentUnread::Transient(why))) => {
                tracing::debug!("DescribeServiceDeployments failed this poll: {why}");
            }
            None => {}
        }
        for line in rollout::changes(last.as_ref(), &snapshot, target) {
            printer.info(&format!("  {line}"));
        }
        match (rollout::paused_hook(&snapshot), &mut pause) {
            (Some(hook), Some(seen)) if seen.hook == hook => {
                if seen.said.elapsed() >= PAUSE_REMINDER {
                    let now = crate::clock::now_epoch_seconds();
                    printer.info(&format!(
                        "  {}",
                        rollout::still_paused(&snapshot, seen.since, now, until)
                    ));
                    seen.said = Instant::now();
                }
            }
            (Some(hook), _) => {
                pause = Some(Pause {
                    hook,
                    since: crate::clock::now_epoch_seconds(),
                    said: Instant::now(),
                })
            }
            (None, _) => pause = None,
        }
        let judged = rollout::evaluate(&snapshot, target, rules);
        let ecs_succeeded = matches!(judged, Verdict::Succeeded { .. });
        verdict = rollout::until_reached(judged, &snapshot, target, until);
        if !said_draining && !verdict.is_final() && ecs_succeeded {
            said_draining = true;
            printer.info("  ECS declared the deployment successful; waiting for the old tasks to be gone (--wait-until stable)");
        }
        last = Some(snapshot);
        if verdict.is_final() {
            return Ok(ended(verdict, last, polls + 1, Ending::Final));
        }
        if started.elapsed() >= timeout {
            return Ok(ended(verdict, last, polls + 1, Ending::TimedOut));
        }
        polls += 1;
        let pause = if polls < 30 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(2)
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = interrupt.recv() => {
                return Ok(ended(verdict, last, polls + 1, Ending::Interrupted));
            }
        }
    }
}

/// The pause the watch last saw, since when, and when it last said so.
struct Pause {
    hook: String,
    since: f64,
    said: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Final,
    TimedOut,
    Interrupted,
}
