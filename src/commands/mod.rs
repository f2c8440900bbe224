//! One module per subcommand; each exposes `run`, returning the exit status.

pub mod completions;
pub mod cost;
pub mod deploy;
pub mod doctor;
pub mod iam_policy;
pub mod init;
pub mod logs;
pub mod plan;
pub mod push;
pub mod rollback;
pub mod run;
pub mod schema;
pub mod status;
pub mod validate;

use crate::cli::GlobalArgs;
use crate::config::{self, LoadedConfig};
use crate::printer::Printer;

/// Loads deploy.yaml and shows its warnings; errors go back to the caller (exit 2).
pub fn load_config(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<LoadedConfig> {
    let loaded = config::load(&global.config)?;
    if !printer.is_json() {
        printer.diagnostics(&loaded.warnings, Some(&loaded.source_text));
    }
    Ok(loaded)
}
