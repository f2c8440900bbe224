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

use std::path::PathBuf;

use clap::Args;

use crate::aws::AwsArgs;
use crate::config::{self, LoadedConfig};
use crate::printer::{OutputFormat, Printer};

/// Loads deploy.yaml and shows its warnings; errors go back to the caller (exit 2).
pub fn load_config(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<LoadedConfig> {
    let loaded = config::load(&global.config)?;
    if !printer.is_json() {
        printer.diagnostics(&loaded.warnings, Some(&loaded.source_text));
    }
    Ok(loaded)
}

/// The flags every command takes, before or after its name: resolved here, below the
/// command line (`cli`), so that no command imports back up.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The deploy config.
    #[arg(
        short = 'c',
        long,
        global = true,
        default_value = "deploy.yaml",
        env = "SHIPIT_CONFIG",
        value_name = "PATH"
    )]
    pub config: PathBuf,
    #[command(flatten)]
    pub aws: AwsArgs,
    /// Output format: `human` (text, progress on a terminal) or `json` (one document on stdout).
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Human)]
    pub output: OutputFormat,
    /// More detail on stderr (-v info, -vv debug, -vvv trace of every crate).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less on stderr (-q: only warnings and errors, -qq: only errors).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
}
