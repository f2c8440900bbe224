//! `shipit plan` (and `deploy --dry-run`): every change a deploy would make, each with the
//! exact AWS call that would apply it; read-only. Exits 0 when nothing would change and 3 when
//! something would.

use std::collections::BTreeMap;

use serde::Serialize;

use super::GlobalArgs;
use crate::aws::calls::Clients;
use crate::exit::ExitStatus;
use crate::pipeline::image::{Preflight, PushArgs, PushInputs, prepare_image};
use crate::pipeline::{self, Stack};
use crate::plan::{Change, Plan};
use crate::printer::Printer;

#[derive(Debug, Serialize)]
struct PlanResult<'a> {
    ok: bool,
    changes_pending: bool,
    /// The AWS write calls deploy would make, each once.
    writes: Vec<&'static str>,
    changes: Vec<&'a Change>,
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
    let inputs = PushInputs::resolve(&loaded, args, &global.aws)?;
    let aws = global.aws.load(loaded.config.region.as_deref()).await?;
    let clients = Clients::new(&aws.sdk);
    let stack = Stack {
        loaded: &loaded,
        aws: &aws,
        clients: &clients,
    };
    // The same image checks as deploy, refused as deploy refuses them: plan and --dry-run say
    // what deploy would do, and deploy would stop here with exit 2 (--no-preflight skips it).
    let prepared = prepare_image(&loaded, &inputs, args, Preflight::Enforce, printer).await?;
    let planned = pipeline::plan(&stack, &inputs, &prepared, pipeline::Scope::Deploy, None).await?;
    let plan = &planned.plan;
    let pending = !plan.is_empty();
    let result = PlanResult {
        ok: true,
        changes_pending: pending,
        writes: plan.writes().into_iter().collect(),
        changes: plan.changes().collect(),
        plan,
        api_calls: clients.calls.counts(),
    };
    let mut human = crate::plan::human::render(plan);
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
            loaded.names.service
        ));
    }
    printer.result(&result, &human)?;
    Ok(if pending {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    })
}
