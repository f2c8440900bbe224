//! One module per subcommand; each exposes `run`, returning the exit status.

pub mod completions;
pub mod continue_deployment;
pub mod cost;
pub mod deploy;
pub mod doctor;
pub mod exec;
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
pub mod wait;

use std::path::PathBuf;

use clap::Args;

use crate::aws::AwsSettings;
use crate::config::{self, LoadedConfig};
use crate::printer::{OutputFormat, Printer};
use crate::session::Session;

/// Loads deploy.yaml and shows its warnings; errors go back to the caller (exit 2).
/// A service deployment's ARN as `wait` and `continue` take one; anything else is bad input.
pub fn service_deployment_arn(text: &str) -> Result<String, crate::exit::BadInput> {
    if text.starts_with("arn:") && text.contains(":service-deployment/") {
        Ok(text.to_string())
    } else {
        Err(crate::exit::BadInput::new(format!(
            "`{text}` is not a service deployment's ARN (arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID)"
        )))
    }
}

pub fn load_config(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<LoadedConfig> {
    let loaded = config::load(&global.config)?;
    if !printer.is_json() {
        printer.diagnostics(&loaded.warnings, Some(&loaded.source_text));
    }
    Ok(loaded)
}

/// Loads deploy.yaml (showing its warnings) and opens the session every AWS command works in.
pub async fn open_session(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<Session> {
    let loaded = load_config(global, printer)?;
    Session::open(loaded, &global.aws.settings(), printer).await
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
    #[arg(long, global = true, default_value = "human", value_parser = output_format())]
    pub output: OutputFormat,
    /// More detail on stderr (-v info, -vv debug, -vvv trace of every crate).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Less on stderr (-q: only warnings and errors, -qq: only errors).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
}

/// `--output`'s values, parsed here so that the printer needs no command-line types.
fn output_format() -> impl clap::builder::TypedValueParser<Value = OutputFormat> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["human", "json"]).map(|s| match s.as_str() {
        "json" => OutputFormat::Json,
        _ => OutputFormat::Human,
    })
}

/// How to reach AWS: the flags every command takes, resolved into [`AwsSettings`].
#[derive(Debug, Clone, Default, Args)]
pub struct AwsArgs {
    /// AWS region; wins over `region:` in deploy.yaml and over AWS_REGION.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// Named profile from ~/.aws/config (AWS_PROFILE works too).
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (the local stack: http://127.0.0.1:4566).
    /// AWS_ENDPOINT_URL works too.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Allow a plain-HTTP endpoint that is not on loopback (never needed for the local stack).
    #[arg(long, global = true)]
    pub allow_insecure_http: bool,
    /// Attempts per AWS call and per registry request before giving up (throttling, 5xx,
    /// broken connections are retried with jittered backoff). Default: 5.
    #[arg(long, global = true, env = "SHIPIT_MAX_ATTEMPTS", value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,
    /// Seconds one attempt of an AWS call or a registry request may take, its answer included,
    /// before it is retried (a stalled connection never answers). Uploads of large layers are
    /// bounded by a read timeout instead. Default: 30.
    #[arg(long, global = true, env = "SHIPIT_CALL_TIMEOUT", value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=900))]
    pub call_timeout: Option<u64>,
}

impl AwsArgs {
    pub fn settings(&self) -> AwsSettings {
        AwsSettings {
            region: self.region.clone(),
            profile: self.profile.clone(),
            endpoint_url: self.endpoint_url.clone(),
            allow_insecure_http: self.allow_insecure_http,
            max_attempts: self.max_attempts,
            call_timeout: self.call_timeout,
        }
    }
}
