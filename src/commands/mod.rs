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
    let mut members = load_fleet(global, printer)?;
    if members.0.len() > 1 {
        let names: Vec<String> = members.0.iter().map(crate::fleet::label).collect();
        return Err(crate::exit::BadInput::new(format!(
            "{} describes {} services ({}); this command works on one: pass --service NAME{}",
            global.config.display(),
            members.0.len(),
            names.join(", "),
            if members.0.iter().any(|m| m.region.is_some()) {
                " and --region REGION"
            } else {
                ""
            }
        ))
        .into());
    }
    Ok(members.0.remove(0).loaded)
}

/// The services the command works on: every service (and region) of a fleet config, less
/// those `--service` and `--region` leave out; a one-service config is a fleet of one.
/// Shows the config's warnings once. Also returns how many may deploy at once.
pub fn load_fleet(
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<(Vec<config::FleetMember>, usize)> {
    let (members, warnings, source, concurrency) = match config::load_any(&global.config)? {
        config::Loaded::One(loaded) => {
            let loaded = *loaded;
            let warnings = loaded.warnings.clone();
            let source = loaded.source_text.clone();
            let member = config::FleetMember {
                service: loaded.names.service.clone(),
                region: None,
                wave: 0,
                depends_on: Vec::new(),
                loaded,
            };
            (vec![member], warnings, source, 1)
        }
        config::Loaded::Fleet(fleet) => (
            fleet.members,
            fleet.warnings,
            fleet.source_text,
            fleet.concurrency,
        ),
    };
    if !printer.is_json() {
        printer.diagnostics(&warnings, Some(&source));
    }
    let all: Vec<String> = members.iter().map(|m| m.service.clone()).collect();
    let region = global.aws.region.as_deref();
    let chosen: Vec<config::FleetMember> = members
        .into_iter()
        .filter(|m| global.service.as_deref().is_none_or(|s| m.service == s))
        .filter(|m| m.region.is_none() || region.is_none_or(|r| m.region.as_deref() == Some(r)))
        .collect();
    if chosen.is_empty() {
        return Err(crate::exit::BadInput::new(format!(
            "{} has no service {}{}: it has {}",
            global.config.display(),
            global.service.as_deref().unwrap_or("?"),
            region.map(|r| format!(" in {r}")).unwrap_or_default(),
            all.join(", ")
        ))
        .into());
    }
    Ok((chosen, concurrency))
}

/// Loads deploy.yaml (showing its warnings) and opens the session every AWS command works in.
pub async fn open_session(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<Session> {
    let loaded = load_config(global, printer)?;
    Session::open(loaded, &global.aws.settings(), printer).await
}

/// Runs `one` for each service of a fleet in turn, each with its own printer (lines led by its
/// name), then prints the fleet's one JSON document (`services`: each one's result and exit
/// code) with `--output json`. Exits with the worst: a failure over pending changes over
/// success; an interrupt ends the run.
pub async fn for_each_member<F, Fut>(
    members: &[config::FleetMember],
    printer: &Printer,
    one: F,
) -> anyhow::Result<crate::exit::ExitStatus>
where
    F: Fn(LoadedConfig, Printer) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<crate::exit::ExitStatus>>,
{
    use crate::exit::ExitStatus;
    let mut rows = Vec::new();
    let mut worst = ExitStatus::Success;
    for member in members {
        let label = crate::fleet::label(member);
        if !printer.is_json() {
            printer.raw(&format!("== {label}\n"))?;
        }
        let (member_printer, captured) = printer.with_prefix(&label).capturing();
        let status = match one(member.loaded.clone(), member_printer).await {
            Ok(status) => status,
            Err(err) => {
                printer.with_prefix(&label).warn(&format!("{err:#}"));
                ExitStatus::Failure
            }
        };
        let result = captured
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or(serde_json::Value::Null);
        rows.push(serde_json::json!({
            "service": member.service,
            "region": member.region,
            "exit_code": status.code(),
            "result": result,
        }));
        worst = match (worst, status) {
            (_, ExitStatus::Interrupted) => return Ok(ExitStatus::Interrupted),
            (ExitStatus::Failure, _) | (_, ExitStatus::Failure) => ExitStatus::Failure,
            (_, ExitStatus::BadInput) | (ExitStatus::BadInput, _) => ExitStatus::BadInput,
            (_, ExitStatus::Code(_)) | (ExitStatus::Code(_), _) => ExitStatus::Failure,
            (ExitStatus::ChangesPending, _) | (_, ExitStatus::ChangesPending) => {
                ExitStatus::ChangesPending
            }
            _ => ExitStatus::Success,
        };
    }
    if printer.is_json() {
        printer.result(
            &serde_json::json!({ "ok": worst == ExitStatus::Success, "services": rows }),
            "",
        )?;
    }
    Ok(worst)
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
    /// With a config that lists several `services`: the one this command works on (deploy,
    /// plan, status and rollback take all of them without it).
    #[arg(long, global = true, env = "SHIPIT_SERVICE", value_name = "NAME")]
    pub service: Option<String>,
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
