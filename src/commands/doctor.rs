//! `shipit doctor`: can shipit work from here? Each check is a line with ok/warn/fail and the
//! fix. Exits 1 when any check fails.

use std::fmt::Write as _;

use serde::Serialize;

use crate::aws::RegionSource;
use crate::cli::GlobalArgs;
use crate::config;
use crate::exit::ExitStatus;
use crate::printer::Printer;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Warn,
    Fail,
}

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: CheckStatus,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, detail: impl Into<String>) -> Self {
        Check {
            name,
            status: CheckStatus::Ok,
            detail: detail.into(),
            fix: None,
        }
    }

    fn problem(
        name: &'static str,
        status: CheckStatus,
        detail: impl Into<String>,
        fix: impl Into<String>,
    ) -> Self {
        Check {
            name,
            status,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }
}

#[derive(Serialize)]
struct Report {
    ok: bool,
    checks: Vec<Check>,
}

pub async fn run(global: &GlobalArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let mut checks = Vec::new();

    // The config is optional here: doctor also answers "can I reach AWS at all?".
    let file = global.config.display().to_string();
    let config_region = match config::load(&global.config) {
        Ok(loaded) => {
            checks.push(Check::ok(
                "config",
                format!(
                    "{file} is valid (app {}, {} warning(s))",
                    loaded.config.app,
                    loaded.warnings.len()
                ),
            ));
            loaded.config.region
        }
        Err(err) if err.diagnostics.iter().any(|d| d.rule == "no-config") => {
            checks.push(Check::problem(
                "config",
                CheckStatus::Warn,
                format!("{file} not found"),
                "run `shipit init`, or pass -c PATH",
            ));
            None
        }
        Err(err) => {
            checks.push(Check::problem(
                "config",
                CheckStatus::Fail,
                format!("{file} has {} error(s)", err.errors().count()),
                "run `shipit validate` to see each with its line and fix",
            ));
            None
        }
    };

    let aws = global.aws.load(config_region.as_deref()).await?;
    let region = aws.sdk.region().map(|r| r.to_string());
    match (&region, aws.region_source) {
        (Some(region), Some(source)) => checks.push(Check::ok(
            "region",
            format!(
                "{region} (from {})",
                match source {
                    RegionSource::Flag => "--region",
                    RegionSource::Config => "deploy.yaml",
                    RegionSource::Environment => "the environment or profile",
                }
            ),
        )),
        _ => checks.push(Check::problem(
            "region",
            CheckStatus::Fail,
            "no region is set",
            "set `region:` in deploy.yaml, pass --region, or export AWS_REGION",
        )),
    }
    checks.push(Check::ok(
        "endpoint",
        match &aws.endpoint {
            Some(url) => format!("{url} (override)"),
            None => "the AWS endpoints of the region".to_string(),
        },
    ));

    if region.is_some() {
        let sts = aws_sdk_sts::Client::new(&aws.sdk);
        checks.push(match sts.get_caller_identity().send().await {
            Ok(identity) => Check::ok(
                "credentials",
                format!(
                    "account {} as {}",
                    identity.account().unwrap_or("?"),
                    identity.arn().unwrap_or("?")
                ),
            ),
            Err(err) => Check::problem(
                "credentials",
                CheckStatus::Fail,
                format!(
                    "STS GetCallerIdentity failed{}: {}",
                    aws.endpoint
                        .as_ref()
                        .map(|e| format!(" at {e}"))
                        .unwrap_or_default(),
                    crate::aws::error_chain(&err)
                ),
                match &aws.endpoint {
                    Some(_) => "check that the endpoint is up (localstack/up starts the local stack) and that AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are set (any value works locally)",
                    None => "configure credentials: `aws configure`, AWS_PROFILE, or OIDC in CI (aws-actions/configure-aws-credentials)",
                },
            ),
        });
    }

    let ok = checks.iter().all(|c| c.status != CheckStatus::Fail);
    let mut human = String::new();
    for check in &checks {
        let mark = match check.status {
            CheckStatus::Ok => "ok  ",
            CheckStatus::Warn => "warn",
            CheckStatus::Fail => "FAIL",
        };
        let _ = writeln!(human, "{mark}  {:<12} {}", check.name, check.detail);
        if let Some(fix) = &check.fix {
            let _ = writeln!(human, "      {:<12} fix: {fix}", "");
        }
    }
    printer.result(&Report { ok, checks }, &human)?;
    Ok(if ok {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
