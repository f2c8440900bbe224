//! `shipit plan` (and `deploy --dry-run`): every change a deploy would make, each with the
//! exact AWS call that would apply it; read-only. Exits 0 when nothing would change and 3 when
//! something would.

use std::collections::BTreeMap;

use clap::Args;
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

#[derive(Debug, Clone, Default, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub push: PushArgs,
    /// Print a GitHub Actions matrix of the config's services and regions instead (one entry
    /// per service and region with its wave, and each wave's own matrix): no AWS call.
    #[arg(long)]
    pub matrix: bool,
}

pub async fn run(
    args: &PlanArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (members, _) = super::load_fleet(global, printer)?;
    if args.matrix {
        let matrix = crate::fleet::matrix(&members);
        printer.raw(&format!("{}\n", serde_json::to_string(&matrix)?))?;
        return Ok(ExitStatus::Success);
    }
    if let [member] = members.as_slice() {
        return plan_one(&args.push, global, member.loaded.clone(), printer).await;
    }
    // A fleet: each service's plan under its name; exit 3 when any has changes.
    let mut documents = Vec::new();
    let mut pending_any = false;
    for member in &members {
        let label = crate::fleet::label(member);
        if !printer.is_json() {
            printer.raw(&format!("== {label}\n"))?;
        }
        let member_printer = printer.with_prefix(&label);
        let (status, document) =
            plan_member(&args.push, global, member.loaded.clone(), &member_printer).await?;
        pending_any |= status == ExitStatus::ChangesPending;
        documents.push(serde_json::json!({
            "service": member.service,
            "region": member.region,
            "plan": document,
        }));
    }
    if printer.is_json() {
        printer.result(
            &serde_json::json!({ "ok": true, "changes_pending": pending_any, "services": documents }),
            "",
        )?;
    }
    Ok(if pending_any {
        ExitStatus::ChangesPending
    } else {
        ExitStatus::Success
    })
}

async fn plan_one(
    args: &PushArgs,
    global: &GlobalArgs,
    loaded: crate::config::LoadedConfig,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (status, document) = plan_member(args, global, loaded, printer).await?;
    if printer.is_json() {
        printer.raw(&format!("{}\n", serde_json::to_string_pretty(&document)?))?;
    }
    Ok(status)
}

/// One service's plan, printed as text (human output) and returned as its JSON document.
async fn plan_member(
    args: &PushArgs,
    global: &GlobalArgs,
    loaded: crate::config::LoadedConfig,
    printer: &Printer,
) -> anyhow::Result<(ExitStatus, serde_json::Value)> {
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
    if !printer.is_json() {
        printer.result(&result, &human)?;
    }
    let document = serde_json::to_value(&result)?;
    Ok((
        if pending {
            ExitStatus::ChangesPending
        } else {
            ExitStatus::Success
        },
        document,
    ))
}
