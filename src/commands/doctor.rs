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
    let mut loaded = None;
    let config_region = match config::load(&global.config) {
        Ok(valid) => {
            checks.push(Check::ok(
                "config",
                format!(
                    "{file} is valid (app {}, {} warning(s))",
                    valid.config.app,
                    valid.warnings.len()
                ),
            ));
            let region = valid.config.region.clone();
            loaded = Some(valid);
            region
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

    let loaded_source = loaded.as_ref().map(|l| l.config.image.source.clone());
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

    checks.push(docker_check(loaded_source.as_deref()).await);
    if let (Some(loaded), true) = (&loaded, credentials_ok(&checks)) {
        checks.extend(resource_checks(&aws.sdk, loaded).await);
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

fn credentials_ok(checks: &[Check]) -> bool {
    checks
        .iter()
        .any(|c| c.name == "credentials" && c.status == CheckStatus::Ok)
}

/// The Docker engine: needed for `docker://` sources, optional otherwise.
async fn docker_check(source: Option<&str>) -> Check {
    let needed = source.is_some_and(|s| s.starts_with("docker://"));
    let answer = match bollard::Docker::connect_with_defaults() {
        Ok(docker) => docker.version().await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match answer {
        Ok(version) => Check::ok(
            "docker",
            format!("engine {} answers", version.version.unwrap_or_default()),
        ),
        Err(err) => Check::problem(
            "docker",
            if needed {
                CheckStatus::Fail
            } else {
                CheckStatus::Warn
            },
            format!("no Docker engine answers ({err})"),
            if needed {
                "image.source is docker://: start the engine (or set DOCKER_HOST), or push from docker-archive:/oci: instead"
            } else {
                "only needed for docker:// sources"
            },
        ),
    }
}

/// What the config names in AWS: created by deploy when missing (warn), or needed as they are
/// (fail): the roles, the subnets, the security groups.
async fn resource_checks(sdk: &aws_config::SdkConfig, loaded: &config::LoadedConfig) -> Vec<Check> {
    let clients = crate::calls::Clients::new(sdk);
    let names = &loaded.names;
    let c = &loaded.config;
    let mut checks = Vec::new();
    let missing_is_fine =
        |name: &'static str, what: String, exists: anyhow::Result<bool>| match exists {
            Ok(true) => Check::ok(name, format!("{what} exists")),
            Ok(false) => Check::problem(
                name,
                CheckStatus::Warn,
                format!("{what} does not exist yet"),
                "`shipit deploy` creates it",
            ),
            Err(err) => Check::problem(
                name,
                CheckStatus::Fail,
                format!("cannot check {what}: {err:#}"),
                "check the credentials' permissions (`shipit iam-policy`)",
            ),
        };
    let repository = clients
        .ecr
        .describe_repositories()
        .repository_names(&names.repository)
        .send()
        .await;
    let repository = match repository {
        Ok(_) => Ok(true),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_repository_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(e) => Err(anyhow::anyhow!(crate::aws::error_chain(&e))),
    };
    checks.push(missing_is_fine(
        "repository",
        format!("ECR repository {}", names.repository),
        repository,
    ));
    let cluster = crate::ecs::cluster_active(&clients.ecs, &names.cluster).await;
    checks.push(missing_is_fine(
        "cluster",
        format!("cluster {}", names.cluster),
        cluster,
    ));
    let group = crate::logs::find_log_group(&clients.logs, &names.log_group)
        .await
        .map(|group| group.is_some());
    checks.push(missing_is_fine(
        "log group",
        format!("log group {}", names.log_group),
        group,
    ));

    let iam = aws_sdk_iam::Client::new(sdk);
    for (label, role) in [
        ("execution role", &c.task.execution_role),
        ("task role", &c.task.task_role),
    ] {
        let Some(arn) = role else { continue };
        let role_name = arn.rsplit('/').next().unwrap_or(arn);
        checks.push(match iam.get_role().role_name(role_name).send().await {
            Ok(_) => Check::ok(if label == "execution role" { "execution role" } else { "task role" }, format!("{arn} exists")),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_entity_exception()) => Check::problem(
                if label == "execution role" { "execution role" } else { "task role" },
                CheckStatus::Fail,
                format!("{arn} does not exist"),
                if label == "execution role" {
                    "create it with the AmazonECSTaskExecutionRolePolicy managed policy and a trust policy for ecs-tasks.amazonaws.com"
                } else {
                    "create it with a trust policy for ecs-tasks.amazonaws.com, or remove task.task_role"
                },
            ),
            Err(e) => Check::problem(
                if label == "execution role" { "execution role" } else { "task role" },
                CheckStatus::Warn,
                format!("cannot check {arn}: {}", crate::aws::error_chain(&e)),
                "iam:GetRole is not in shipit's policy; the deploy will tell",
            ),
        });
    }

    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let subnets = &c.service.subnets;
    checks.push(match ec2.describe_subnets().set_subnet_ids(Some(subnets.clone())).send().await {
        Ok(out) => {
            let found: Vec<&str> = out.subnets().iter().filter_map(|s| s.subnet_id()).collect();
            let missing: Vec<&str> = subnets.iter().map(String::as_str).filter(|s| !found.contains(s)).collect();
            if missing.is_empty() {
                let vpcs: std::collections::BTreeSet<&str> = out.subnets().iter().filter_map(|s| s.vpc_id()).collect();
                Check::ok("subnets", format!("{} subnet(s) in {}", found.len(), vpcs.into_iter().collect::<Vec<_>>().join(", ")))
            } else {
                Check::problem("subnets", CheckStatus::Fail, format!("not found: {}", missing.join(", ")), "list the region's subnets with `aws ec2 describe-subnets` and fix service.subnets")
            }
        }
        Err(e) => Check::problem(
            "subnets",
            CheckStatus::Fail,
            // The service's own words ("The subnet ID 'subnet-...' does not exist").
            e.as_service_error()
                .and_then(|s| aws_sdk_ec2::error::ProvideErrorMetadata::message(s))
                .map(str::to_string)
                .unwrap_or_else(|| crate::aws::error_chain(&e)),
            "list the region's subnets with `aws ec2 describe-subnets` and fix service.subnets",
        ),
    });
    if !c.service.security_groups.is_empty() {
        let groups = &c.service.security_groups;
        checks.push(
            match ec2
                .describe_security_groups()
                .set_group_ids(Some(groups.clone()))
                .send()
                .await
            {
                Ok(out) => Check::ok(
                    "security groups",
                    format!("{} group(s) found", out.security_groups().len()),
                ),
                Err(e) => Check::problem(
                    "security groups",
                    CheckStatus::Fail,
                    crate::aws::error_chain(&e),
                    "fix service.security_groups (`aws ec2 describe-security-groups`)",
                ),
            },
        );
    }
    checks
}
