//! `shipit schema`: the JSON Schema of deploy.yaml, generated from the same types serde reads.

use crate::config::DeployConfig;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn schema_json() -> String {
    let schema = schemars::schema_for!(DeployConfig);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

pub fn run(printer: &Printer) -> anyhow::Result<ExitStatus> {
    printer.raw(&schema_json())?;
    Ok(ExitStatus::Success)
}
