//! `shipit plan` (and `deploy --dry-run`): every change a deploy would make, each with the
//! exact AWS call that would apply it; read-only. Exits 0 when nothing would change and 3 when
//! something would.

use std::collections::BTreeMap;

use serde::Serialize;

use super::GlobalArgs;
use super::push::PushArgs;
use crate::exit::ExitStatus;
use crate::pipeline;
use crate::pipeline::image::{Preflight, prepare_image};
use crate::plan::{Change, Plan};
use crate::printer::Printer;
use crate::session::Session;

#[derive(Debug, Serialize)]
struct PlanResult<'a> {
    ok: bool,
    changes_pending: bool,
    /// The AWS write calls deploy would make, each once.
    writes: Vec<&'static str>,
    changes: Vec<&'a Change>,
    /// The removals deploy makes only with --allow-removals.
    removals: Vec<&'a Change>,
    #[serde(flatten)]
    plan: &'a Plan,
    api_calls: BTreeMap<String, u32>,
}

pub async fn run(
    args: &PushArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let loaded = super::load_config(global, printer)?;
    let inputs = args.resolve(&loaded, &global.aws.settings())?;
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    // The same image checks as deploy, refused as deploy refuses them: plan and --dry-run say
    // what deploy would do, and deploy would stop here with exit 2 (--no-preflight skips it).
    let prepared = prepare_image(&session.loaded, &inputs, Preflight::Enforce, printer).await?;
    let planned =
        pipeline::plan(&session, &inputs, &prepared, pipeline::Scope::Deploy, None).await?;
    let plan = &planned.plan;
    let pending = !plan.is_empty();
    let result = PlanResult {
        ok: true,
        changes_pending: pending,
        writes: plan.writes().into_iter().collect(),
        changes: plan.changes().collect(),
        removals: plan.guarded_removals(),
        plan,
        api_calls: session.clients.calls.counts(),
    };
    let mut human = crate::plan::human::render(plan);
    for warning in &plan.warnings {
        human.push_str(&format!("warning: {warning}\n"));
    }
    if pending {
        human.push_str(&format!(
            "{} changes; deploy would call {}\n",
            result.changes.len(),
            if result.writes.is_empty() {
                "no AWS write API (registry upload only)".to_string()
            } else {
                result.writes.join(", ")
            }
        ));
    } else {
        human.push_str(&format!(
            "no changes: service {} already runs this image with these settings\n",
            session.loaded.names.service
        ));
    }
    printer.result(&result, &human)?;
    Ok(if pending {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    })
}
