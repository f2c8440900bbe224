//! `shipit doctor`: can shipit work from here? Each check is a line with ok/warn/fail and the
//! fix. Exits 1 when any check fails.

use std::fmt::Write as _;

use serde::Serialize;

use super::GlobalArgs;
use crate::aws::RegionSource;
use crate::aws::query_api::Service;
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
    let aws = global.aws.settings().load(config_region.as_deref()).await?;
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
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&aws.sdk)
                .interceptor(crate::aws::calls::BoundedAnswers)
                .build(),
        );
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
    let clients = crate::aws::calls::Clients::new(sdk);
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
    checks.push(
        match crate::ecr::registry_scanning(&clients.ecr, &names.repository).await {
            Some(rule) => Check::ok(
                "image scanning",
                format!("images pushed to {} are scanned by {rule}", names.repository),
            ),
            None if c.repository.scan_on_push => Check::ok(
                "image scanning",
                "no registry scanning rule covers the repository (or it cannot be read): its own scan on push is on (AWS deprecates it in favour of registry-level rules)",
            ),
            None => Check::problem(
                "image scanning",
                CheckStatus::Warn,
                "images are not scanned on push: no registry rule covers the repository, and repository.scan_on_push is off",
                "add a registry scanning rule (ECR PutRegistryScanningConfiguration), or set repository.scan_on_push: true",
            ),
        },
    );
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

    // Autoscaling: the scalable target, read as the plan reads it (a denied read is the
    // policy's gap; a target registered elsewhere owns the task count).
    if let Some(scaling) = &c.service.autoscaling {
        let id = crate::plan::autoscaling::resource_id(&names.cluster, &names.service);
        checks.push(
            match crate::autoscaling::read(&clients.autoscaling, &id).await {
                Ok(Some(found)) if found.policies.is_empty() => Check::problem(
                    "autoscaling",
                    CheckStatus::Warn,
                    format!(
                        "{id} is registered ({}-{} tasks) by something other than shipit",
                        found.min, found.max
                    ),
                    "shipit takes it over on the next deploy (range and its `shipit-*` policies); remove the other tool's settings first",
                ),
                Ok(Some(found)) => Check::ok(
                    "autoscaling",
                    format!("{id}: {}-{} tasks, {} policies", found.min, found.max, found.policies.len()),
                ),
                Ok(None) => Check::ok(
                    "autoscaling",
                    format!(
                        "{id} is not registered yet: `shipit deploy` registers {}-{} tasks",
                        scaling.min, scaling.max
                    ),
                ),
                Err(err) => Check::problem(
                    "autoscaling",
                    CheckStatus::Fail,
                    format!("cannot read the scalable target: {err:#}"),
                    "grant the Application Auto Scaling statements of `shipit iam-policy`",
                ),
            },
        );
    }

    // EC2 and IAM through signed Query calls (see query_api: the SDK crates cost more to
    // build than the rest of shipit, for these three reads).
    let query = match crate::aws::query_api::QueryClient::new(sdk) {
        Ok(query) => query,
        Err(err) => {
            checks.push(Check::problem(
                "roles and network",
                CheckStatus::Warn,
                format!("cannot check: {err:#}"),
                "the deploy will tell",
            ));
            return checks;
        }
    };
    // The task's two roles, then the roles ECS assumes for the typed keys (EBS volumes,
    // Service Connect TLS), each with how to make it.
    let task_roles = [
        (
            "execution role",
            c.task.execution_role.as_deref(),
            "create it with the AmazonECSTaskExecutionRolePolicy managed policy and a trust policy for ecs-tasks.amazonaws.com".to_string(),
        ),
        (
            "task role",
            c.task.task_role.as_deref(),
            "create it with a trust policy for ecs-tasks.amazonaws.com, or remove task.task_role".to_string(),
        ),
    ];
    let infrastructure = c.infrastructure_roles().into_iter().map(|r| {
        (
            r.purpose,
            Some(r.arn),
            format!(
                "create it (it serves {}) with the {} managed policy and a trust policy for ecs.amazonaws.com",
                r.serves, r.managed_policy
            ),
        )
    });
    for (label, role, fix) in task_roles.into_iter().chain(infrastructure) {
        let Some(arn) = role else { continue };
        let role_name = arn.rsplit('/').next().unwrap_or(arn);
        let answer = query
            .call(
                Service::Iam,
                "GetRole",
                &[("RoleName".to_string(), role_name.to_string())],
            )
            .await;
        checks.push(match answer {
            Ok(a) if a.is_success() => Check::ok(label, format!("{arn} exists")),
            Ok(a) if a.error().0 == "NoSuchEntity" => Check::problem(
                label,
                CheckStatus::Fail,
                format!("{arn} does not exist"),
                fix,
            ),
            Ok(a) => Check::problem(
                label,
                CheckStatus::Warn,
                format!("cannot check {arn}: {}: {}", a.error().0, a.error().1),
                "grant iam:GetRole (`shipit iam-policy --doctor` has it) to check the roles here; without it the deploy will tell",
            ),
            Err(err) => Check::problem(
                label,
                CheckStatus::Warn,
                format!("cannot check {arn}: {err:#}"),
                "grant iam:GetRole (`shipit iam-policy --doctor` has it) to check the roles here; without it the deploy will tell",
            ),
        });
    }

    let subnets = &c.service.subnets;
    let fix_subnets =
        "list the region's subnets with `aws ec2 describe-subnets` and fix service.subnets";
    let answer = query
        .call(
            Service::Ec2,
            "DescribeSubnets",
            &crate::aws::query_api::list_params("SubnetId", subnets),
        )
        .await;
    checks.push(match answer {
        Ok(a) if a.is_success() => {
            let found = crate::aws::query_api::texts_of(&a.body, "subnetId");
            let missing: Vec<&str> = subnets
                .iter()
                .map(String::as_str)
                .filter(|s| !found.iter().any(|f| f == s))
                .collect();
            if missing.is_empty() {
                let vpcs: std::collections::BTreeSet<String> =
                    crate::aws::query_api::texts_of(&a.body, "vpcId")
                        .into_iter()
                        .collect();
                Check::ok(
                    "subnets",
                    format!(
                        "{} subnet(s) in {}",
                        found.len(),
                        vpcs.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                )
            } else {
                Check::problem(
                    "subnets",
                    CheckStatus::Fail,
                    format!("not found: {}", missing.join(", ")),
                    fix_subnets,
                )
            }
        }
        // The service's own words ("The subnet ID 'subnet-...' does not exist").
        Ok(a) => Check::problem("subnets", CheckStatus::Fail, a.error().1, fix_subnets),
        Err(err) => Check::problem(
            "subnets",
            CheckStatus::Fail,
            format!("{err:#}"),
            fix_subnets,
        ),
    });
    if !c.service.security_groups.is_empty() {
        let groups = &c.service.security_groups;
        let fix = "fix service.security_groups (`aws ec2 describe-security-groups`)";
        let answer = query
            .call(
                Service::Ec2,
                "DescribeSecurityGroups",
                &crate::aws::query_api::list_params("GroupId", groups),
            )
            .await;
        checks.push(match answer {
            Ok(a) if a.is_success() => Check::ok(
                "security groups",
                format!(
                    "{} group(s) found",
                    crate::aws::query_api::texts_of(&a.body, "groupId").len()
                ),
            ),
            Ok(a) => Check::problem(
                "security groups",
                CheckStatus::Fail,
                format!("{}: {}", a.error().0, a.error().1),
                fix,
            ),
            Err(err) => Check::problem(
                "security groups",
                CheckStatus::Fail,
                format!("{err:#}"),
                fix,
            ),
        });
    }
    if c.service.enable_execute_command {
        checks.extend(exec_checks(&clients.ecs, &query, loaded).await);
    }
    checks
}

/// What `shipit exec` needs beyond the config's switch (which validate checks with the
/// platform version): the service started its tasks with ECS Exec, and the task role may
/// open the agent's channels.
async fn exec_checks(
    ecs: &aws_sdk_ecs::Client,
    query: &crate::aws::query_api::QueryClient,
    loaded: &config::LoadedConfig,
) -> Vec<Check> {
    use crate::exec::readiness::{self, RoleCheck};
    let names = &loaded.names;
    let mut checks = Vec::new();
    if let Ok(Some(service)) =
        crate::ecs::describe_service(ecs, &names.cluster, &names.service).await
        && let Some(blocker) = readiness::check_service(&service, &names.service)
    {
        checks.push(Check::problem(
            "ecs exec",
            CheckStatus::Warn,
            format!("{}: the running tasks cannot be reached", blocker.problem),
            "`shipit deploy` turns it on for the tasks it starts",
        ));
    }
    let Some(role) = loaded.config.task.task_role.as_deref() else {
        let blocker = readiness::no_task_role();
        checks.push(Check::problem(
            "ecs exec",
            CheckStatus::Fail,
            blocker.problem,
            blocker.fix,
        ));
        return checks;
    };
    checks.push(match readiness::check_task_role(query, role).await {
        RoleCheck::Allowed => Check::ok(
            "ecs exec",
            "the task role may open the ECS Exec agent's channels (ssmmessages)",
        ),
        check @ RoleCheck::Missing { .. } => {
            let blocker = readiness::role_blocker(role, &check).expect("missing actions");
            Check::problem("ecs exec", CheckStatus::Fail, blocker.problem, blocker.fix)
        }
        RoleCheck::Unknown { why } => Check::problem(
            "ecs exec",
            CheckStatus::Warn,
            format!("cannot check the task role's ssmmessages actions: {why}"),
            "allow iam:SimulatePrincipalPolicy on the task role (`shipit iam-policy` has it), or check the role by hand",
        ),
    });
    checks
}
