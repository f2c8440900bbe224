//! The fleet's one report: a row per service and region (its revision, result, time and the
//! cause of a failure), as a table for people and one JSON document for programs.

use serde::Serialize;

use super::Turn;
use crate::ecs::short_task_definition;
use crate::pipeline::DeployResult;

/// One row of the fleet's report.
#[derive(Debug, Serialize)]
pub struct Row {
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// deploy's result (`deployed`, `failed`, `unchanged`, …), `error`, or `not-started`.
    pub result: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    /// The service's whole deploy result, as `shipit deploy --output json` gives it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deploy: Option<Box<DeployResult>>,
}

#[derive(Debug, Serialize)]
pub struct FleetReport {
    pub ok: bool,
    pub services: Vec<Row>,
    pub seconds: f64,
    /// The watches' shared reads: how many looks at the clusters, and the ECS calls they took.
    pub watch_reads: WatchReads,
}

#[derive(Debug, Serialize)]
pub struct WatchReads {
    pub looks: u32,
    pub calls: u32,
}

/// What a member's deploy came to: its result, or the error that ended it.
pub type Deployed = Result<DeployResult, String>;

impl FleetReport {
    pub fn new(
        members: &[crate::config::FleetMember],
        turns: Vec<Turn<Deployed>>,
        seconds: f64,
    ) -> FleetReport {
        let services: Vec<Row> = members
            .iter()
            .zip(turns)
            .map(|(member, turn)| {
                let mut row = Row {
                    service: member.service.clone(),
                    region: member.region.clone(),
                    result: "not-started".into(),
                    revision: None,
                    seconds: None,
                    cause: None,
                    deploy: None,
                };
                match turn {
                    Turn::Skipped(why) => row.cause = Some(why),
                    Turn::Ran {
                        outcome: Err(error),
                        ..
                    } => {
                        row.result = "error".into();
                        row.cause = Some(error);
                    }
                    Turn::Ran {
                        outcome: Ok(result),
                        ..
                    } => {
                        row.result = result.result.as_str().to_string();
                        row.revision =
                            Some(short_task_definition(&result.task_definition.arn).to_string());
                        row.seconds = Some((result.seconds * 10.0).round() / 10.0);
                        row.cause = result.failure.as_ref().map(|f| f.summary.clone());
                        row.deploy = Some(Box::new(result));
                    }
                }
                row
            })
            .collect();
        let ok = services
            .iter()
            .all(|r| r.deploy.as_ref().is_some_and(|d| d.ok));
        let (looks, calls) = crate::cluster_reads::totals();
        FleetReport {
            ok,
            services,
            seconds,
            watch_reads: WatchReads { looks, calls },
        }
    }

    /// The table: one line per service, failures last with their cause.
    pub fn text(&self) -> String {
        let width = self
            .services
            .iter()
            .map(|r| super::label_of(&r.service, r.region.as_deref()).len())
            .max()
            .unwrap_or(7)
            .max(7);
        let mut out = format!(
            "{:<width$}  {:<12}  {:<24}  {:>7}  cause\n",
            "service", "result", "revision", "time"
        );
        for row in &self.services {
            out.push_str(&format!(
                "{:<width$}  {:<12}  {:<24}  {:>7}  {}\n",
                super::label_of(&row.service, row.region.as_deref()),
                row.result,
                row.revision.as_deref().unwrap_or("-"),
                row.seconds
                    .map(|s| format!("{s:.1}s"))
                    .unwrap_or_else(|| "-".into()),
                row.cause.as_deref().unwrap_or("")
            ));
        }
        let failed = self
            .services
            .iter()
            .filter(|r| !r.deploy.as_ref().is_some_and(|d| d.ok))
            .count();
        if self.watch_reads.looks > 0 {
            out.push_str(&format!(
                "the watches shared {} look(s) at their clusters, {} ECS calls in all\n",
                self.watch_reads.looks, self.watch_reads.calls
            ));
        }
        out.push_str(&if failed == 0 {
            format!(
                "{} service(s) deployed in {:.1}s\n",
                self.services.len(),
                self.seconds
            )
        } else {
            format!(
                "{failed} of {} service(s) not deployed ({:.1}s)\n",
                self.services.len(),
                self.seconds
            )
        });
        out
    }
}
