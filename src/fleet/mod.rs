//! A fleet in one run: the order its services go in, and the report that sums them up.
//!
//! The schedule keeps three rules: a wave of regions starts only after every service of the
//! previous wave is deployed; within a region, a service starts only after each service it
//! `depends_on` is deployed there; and at most `concurrency` run at once. After a failure
//! nothing new starts (the running ones finish) unless `--keep-going`, which goes on with
//! every service that does not depend on the failed one; a later wave never starts after a
//! failure.

pub mod report;

use std::future::Future;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;

use crate::config::FleetMember;

/// How one member's turn ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Turn<T> {
    /// It ran; `ok` says whether it succeeded.
    Ran { outcome: T, ok: bool },
    /// It did not run, and why.
    Skipped(String),
}

impl<T> Turn<T> {
    pub fn ok(&self) -> bool {
        matches!(self, Turn::Ran { ok: true, .. })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    Done { ok: bool },
    Skipped,
}

/// A member's name as the report and the prefixes show it: `api`, or `api@eu-west-1`.
pub fn label(member: &FleetMember) -> String {
    label_of(&member.service, member.region.as_deref())
}

/// `service`, or `service@region`.
pub fn label_of(service: &str, region: Option<&str>) -> String {
    match region {
        Some(region) => format!("{service}@{region}"),
        None => service.to_string(),
    }
}

/// Runs `run(i)` for each member `i` in the fleet's order; one turn per member, in the
/// members' order.
pub async fn run_in_order<T, F, Fut>(
    members: &[FleetMember],
    concurrency: usize,
    keep_going: bool,
    run: F,
) -> Vec<Turn<T>>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = (T, bool)>,
{
    let count = members.len();
    let mut states = vec![State::Waiting; count];
    let mut turns: Vec<Option<Turn<T>>> = (0..count).map(|_| None).collect();
    let mut running = FuturesUnordered::new();
    let mut failed: Option<String> = None;
    loop {
        // The wave now open: the first with a member not finished.
        let wave = members
            .iter()
            .zip(&states)
            .filter(|(_, s)| matches!(s, State::Waiting | State::Running))
            .map(|(m, _)| m.wave)
            .min();
        let Some(wave) = wave else { break };
        let earlier_wave_failed = members
            .iter()
            .zip(&states)
            .any(|(m, s)| m.wave < wave && !matches!(s, State::Done { ok: true }));
        for i in 0..count {
            if states[i] != State::Waiting || members[i].wave != wave {
                continue;
            }
            if earlier_wave_failed {
                states[i] = State::Skipped;
                turns[i] = Some(Turn::Skipped(format!(
                    "not started: a service of an earlier wave was not deployed (wave {} of regions)",
                    wave + 1
                )));
                continue;
            }
            // A dependency that will not be deployed here skips this one.
            let blocked = members[i].depends_on.iter().find_map(|name| {
                let dependency = members
                    .iter()
                    .position(|m| &m.service == name && m.region == members[i].region)?;
                match states[dependency] {
                    State::Done { ok: false } | State::Skipped => Some(label(&members[dependency])),
                    _ => None,
                }
            });
            if let Some(dependency) = blocked {
                states[i] = State::Skipped;
                turns[i] = Some(Turn::Skipped(format!(
                    "not started: it depends on {dependency}, which was not deployed"
                )));
            }
        }
        if failed.is_some() && !keep_going {
            if running.is_empty() {
                for i in 0..count {
                    if states[i] == State::Waiting {
                        states[i] = State::Skipped;
                        turns[i] = Some(Turn::Skipped(format!(
                            "not started: {} failed first (--keep-going deploys the rest)",
                            failed.as_deref().unwrap_or_default()
                        )));
                    }
                }
                continue;
            }
        } else {
            for i in 0..count {
                if running.len() >= concurrency {
                    break;
                }
                let ready = states[i] == State::Waiting
                    && members[i].wave == wave
                    && members[i].depends_on.iter().all(|name| {
                        members
                            .iter()
                            .zip(&states)
                            .filter(|(m, _)| &m.service == name && m.region == members[i].region)
                            .all(|(_, s)| *s == State::Done { ok: true })
                    });
                if ready {
                    states[i] = State::Running;
                    let turn = run(i);
                    running.push(async move { (i, turn.await) });
                }
            }
        }
        match running.next().await {
            Some((i, (outcome, ok))) => {
                states[i] = State::Done { ok };
                if !ok && failed.is_none() {
                    failed = Some(label(&members[i]));
                }
                turns[i] = Some(Turn::Ran { outcome, ok });
            }
            None => {
                // Nothing runs and nothing could start: what still waits is blocked.
                for i in 0..count {
                    if states[i] == State::Waiting {
                        states[i] = State::Skipped;
                        turns[i] = Some(Turn::Skipped(
                            "not started: its dependencies were not deployed".into(),
                        ));
                    }
                }
            }
        }
    }
    turns
        .into_iter()
        .map(|t| t.unwrap_or_else(|| Turn::Skipped("not started".into())))
        .collect()
}

/// Each member's step in the fleet's order, numbered from 0 without gaps: its region's wave
/// first, then the depth of its `depends_on` (a service after every one it depends on).
pub fn steps(members: &[FleetMember]) -> Vec<usize> {
    fn depth(name: &str, members: &[FleetMember], seen: usize) -> usize {
        let Some(member) = members.iter().find(|m| m.service == name) else {
            return 0;
        };
        if seen > members.len() {
            return 0; // a circle, which the config refuses; never loop
        }
        member
            .depends_on
            .iter()
            .map(|d| 1 + depth(d, members, seen + 1))
            .max()
            .unwrap_or(0)
    }
    let depths: Vec<usize> = members
        .iter()
        .map(|m| depth(&m.service, members, 0))
        .collect();
    let deepest = depths.iter().copied().max().unwrap_or(0);
    let raw: Vec<usize> = members
        .iter()
        .zip(&depths)
        .map(|(m, d)| m.wave * (deepest + 1) + d)
        .collect();
    let mut distinct = raw.clone();
    distinct.sort_unstable();
    distinct.dedup();
    raw.iter()
        .map(|r| distinct.iter().position(|d| d == r).unwrap_or(0))
        .collect()
}

/// The GitHub Actions matrix of a fleet (`shipit plan --matrix`): one entry per service and
/// region with its `wave`, its step in the fleet's order (`steps`), and each wave's own
/// matrix (`wave0`, `wave1`, …) for a job per wave:
/// `strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix).wave1 }}`.
pub fn matrix(members: &[FleetMember]) -> serde_json::Value {
    let steps = steps(members);
    let entries: Vec<(usize, serde_json::Value)> = members
        .iter()
        .zip(&steps)
        .map(|(m, wave)| {
            let mut entry = serde_json::json!({
                "service": m.service,
                "wave": wave,
                "depends_on": m.depends_on,
            });
            if let Some(region) = &m.region {
                entry["region"] = serde_json::Value::from(region.clone());
            }
            (*wave, entry)
        })
        .collect();
    let mut matrix = serde_json::json!({
        "include": entries.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>(),
    });
    let waves = steps.iter().max().map_or(0, |last| last + 1);
    for wave in 0..waves {
        let include: Vec<&serde_json::Value> = entries
            .iter()
            .filter(|(w, _)| *w == wave)
            .map(|(_, e)| e)
            .collect();
        matrix[format!("wave{wave}")] = serde_json::json!({ "include": include });
    }
    matrix["waves"] = serde_json::Value::from(waves);
    matrix
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    fn member(
        service: &str,
        region: Option<&str>,
        wave: usize,
        depends_on: &[&str],
    ) -> FleetMember {
        let loaded = crate::config::load_bytes(
            format!("app: {service}\nimage: {{ source: 'docker://x:1' }}\nservice: {{ subnets: [subnet-0123456789abcdef0] }}\ntask: {{ execution_role: 'arn:aws:iam::123456789012:role/r' }}\n").as_bytes(),
            "deploy.yaml",
            &|_| None,
        )
        .unwrap();
        FleetMember {
            service: service.into(),
            region: region.map(str::to_string),
            wave,
            depends_on: depends_on.iter().map(|s| s.to_string()).collect(),
            loaded,
        }
    }

    /// Runs the schedule with each member taking `ms` and failing when named in `fails`;
    /// returns the turns and the order the members started in.
    fn schedule(
        members: &[FleetMember],
        concurrency: usize,
        keep_going: bool,
        fails: &[&str],
    ) -> (Vec<Turn<()>>, Vec<String>, usize) {
        let started = Arc::new(Mutex::new(Vec::new()));
        let peak = Arc::new(Mutex::new((0usize, 0usize)));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let turns = runtime.block_on(run_in_order(members, concurrency, keep_going, |i| {
            let started = started.clone();
            let peak = peak.clone();
            let name = label(&members[i]);
            let ok = !fails.contains(&name.as_str());
            async move {
                started.lock().unwrap().push(name);
                {
                    let mut p = peak.lock().unwrap();
                    p.0 += 1;
                    p.1 = p.1.max(p.0);
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                peak.lock().unwrap().0 -= 1;
                ((), ok)
            }
        }));
        let started = started.lock().unwrap().clone();
        let peak = peak.lock().unwrap().1;
        (turns, started, peak)
    }

    #[test]
    fn the_matrix_puts_each_service_in_its_wave() {
        let members = [
            member("api", Some("us-east-1"), 0, &[]),
            member("worker", Some("us-east-1"), 0, &["api"]),
            member("api", Some("eu-west-1"), 1, &[]),
            member("worker", Some("eu-west-1"), 1, &["api"]),
        ];
        let matrix = matrix(&members);
        assert_eq!(matrix["waves"], 4);
        assert_eq!(
            matrix["wave0"]["include"],
            serde_json::json!([{ "service": "api", "region": "us-east-1", "wave": 0, "depends_on": [] }])
        );
        assert_eq!(matrix["wave3"]["include"][0]["service"], "worker");
        assert_eq!(matrix["wave3"]["include"][0]["region"], "eu-west-1");
        assert_eq!(matrix["include"].as_array().unwrap().len(), 4);
    }

    #[test]
    fn dependencies_go_first_and_the_limit_holds() {
        let members = [
            member("worker", None, 0, &["api"]),
            member("api", None, 0, &[]),
            member("cron", None, 0, &[]),
            member("admin", None, 0, &[]),
        ];
        let (turns, started, peak) = schedule(&members, 2, false, &[]);
        assert!(turns.iter().all(Turn::ok));
        let at = |n: &str| started.iter().position(|s| s == n).unwrap();
        assert!(at("api") < at("worker"), "{started:?}");
        assert!(peak <= 2, "at most two at once: {peak}");
    }

    #[test]
    fn a_failure_stops_new_starts_unless_keep_going_which_still_skips_its_dependents() {
        let members = [
            member("api", None, 0, &[]),
            member("worker", None, 0, &["api"]),
            member("cron", None, 0, &[]),
        ];
        let (turns, _, _) = schedule(&members, 1, false, &["api"]);
        assert!(matches!(turns[0], Turn::Ran { ok: false, .. }));
        assert!(
            matches!(&turns[1], Turn::Skipped(why) if why.contains("depends on api")),
            "{turns:?}"
        );
        assert!(
            matches!(&turns[2], Turn::Skipped(why) if why.contains("--keep-going")),
            "{turns:?}"
        );

        let (turns, _, _) = schedule(&members, 1, true, &["api"]);
        assert!(matches!(&turns[1], Turn::Skipped(why) if why.contains("depends on api")));
        assert!(turns[2].ok(), "cron does not depend on api: {turns:?}");
    }

    #[test]
    fn a_wave_starts_after_the_previous_one_and_never_after_a_failure() {
        let members = [
            member("api", Some("us-east-1"), 0, &[]),
            member("api", Some("eu-west-1"), 1, &[]),
            member("worker", Some("eu-west-1"), 1, &["api"]),
        ];
        let (turns, started, _) = schedule(&members, 4, false, &[]);
        assert!(turns.iter().all(Turn::ok));
        assert_eq!(started[0], "api@us-east-1");
        assert_eq!(
            started[1], "api@eu-west-1",
            "worker waits for api in its own region"
        );

        let (turns, _, _) = schedule(&members, 4, true, &["api@us-east-1"]);
        assert!(
            matches!(&turns[1], Turn::Skipped(why) if why.contains("earlier wave")),
            "{turns:?}"
        );
        assert!(matches!(&turns[2], Turn::Skipped(_)));
    }
}
