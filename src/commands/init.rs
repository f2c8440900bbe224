//! `shipit init`: write a commented starter deploy.yaml, or, with `--from-service`, one that
//! takes over a service as it runs (`crate::import`).

use std::io::Write;
use std::path::Path;

use clap::Args;
use serde::Serialize;

use super::GlobalArgs;
use crate::exit::{BadInput, ExitStatus};
use crate::printer::Printer;

const STARTER: &str = include_str!("starter.yaml");

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The application's name. Default: the current folder's name.
    #[arg(long)]
    pub app: Option<String>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
    /// Write the config from a running service, CLUSTER/SERVICE (or the service's ARN): its
    /// settings and its current task definition, read and never changed.
    #[arg(long, value_name = "CLUSTER/SERVICE", conflicts_with = "app")]
    pub from_service: Option<String>,
    /// With --from-service: the container whose image deploy replaces. Default: the only
    /// container, else the first essential one with an ECR image.
    #[arg(long, requires = "from_service")]
    pub container: Option<String>,
}

#[derive(Serialize)]
struct Written {
    ok: bool,
    file: String,
    app: String,
}

/// The starter config for `app`.
pub fn starter(app: &str) -> String {
    STARTER.replace("{app}", app)
}

/// Turns a folder name into a name ECR and ECS both accept (lowercase, `-` separated).
pub fn app_name_from(folder: &str) -> String {
    let mut name = String::new();
    for c in folder.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-').to_string();
    if name.len() < 2 {
        "app".to_string()
    } else {
        name
    }
}

pub fn run(args: &InitArgs, global: &GlobalArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let path = &global.config;
    let app = match &args.app {
        Some(app) => app.clone(),
        None => {
            let cwd = std::env::current_dir()?;
            app_name_from(&cwd.file_name().unwrap_or_default().to_string_lossy())
        }
    };
    let text = starter(&app);
    write_new(path, &text, args.force)?;
    let file = path.display().to_string();
    printer.result(
        &Written {
            ok: true,
            file: file.clone(),
            app: app.clone(),
        },
        &format!(
            "wrote {file} for app `{app}`\nnext: set your subnets, security groups and execution role, then run `shipit validate`\n"
        ),
    )?;
    Ok(ExitStatus::Success)
}

/// `CLUSTER/SERVICE`, or a service ARN (`arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE`).
fn cluster_and_service(text: &str) -> Result<(String, String), BadInput> {
    let path = match text.split_once(":service/") {
        Some((_, path)) if text.starts_with("arn:") => path,
        _ => text,
    };
    match path.split_once('/') {
        Some((cluster, service))
            if !cluster.is_empty() && !service.is_empty() && !service.contains('/') =>
        {
            Ok((cluster.to_string(), service.to_string()))
        }
        _ => Err(BadInput::new(format!(
            "--from-service takes CLUSTER/SERVICE or a service ARN, not `{text}`"
        ))),
    }
}

#[derive(Serialize)]
struct Imported {
    ok: bool,
    file: String,
    app: String,
    cluster: String,
    service: String,
    task_definition: String,
    container: String,
    not_carried: Vec<String>,
}

/// `shipit init --from-service`: reads the service, its task definition, its repository and
/// its log group (no writes), and writes the config.
pub async fn from_service(
    args: &InitArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let from = args.from_service.as_deref().unwrap_or_default();
    let (cluster, service_name) = cluster_and_service(from)?;
    let path = &global.config;
    if path.exists() && !args.force {
        // Checked before reading AWS; write_new checks again as it creates the file.
        write_new(path, "", false)?;
    }
    let aws = global.aws.settings().load(None).await?;
    let clients = crate::aws::calls::Clients::new(&aws.sdk);
    let region = aws.region();
    let service = crate::ecs::describe_service(&clients.ecs, &cluster, &service_name)
        .await?
        .ok_or_else(|| {
            BadInput::new(format!(
                "cluster {cluster} has no active service {service_name} in {region}"
            ))
        })?;
    let arn = service
        .task_definition()
        .ok_or_else(|| anyhow::anyhow!("service {service_name} names no task definition"))?
        .to_string();
    let (task_definition, tags) = crate::ecs::revision_with_tags(&clients.ecs, &arn)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the service's task definition {arn} cannot be read"))?;
    let container = crate::import::app_container(&task_definition, args.container.as_deref())?;
    let image = crate::ecs::container_image(&task_definition, &container).unwrap_or_default();
    let repository = match crate::import::ecr_repository(image) {
        Some(name) => crate::ecr::read_repository(&clients.ecr, &name).await?,
        None => None,
    };
    let group = task_definition
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container.as_str()))
        .and_then(|c| c.log_configuration())
        .and_then(|l| l.options())
        .and_then(|o| o.get("awslogs-group"))
        .cloned();
    let log_retention_days = match &group {
        Some(group) => crate::logs::find_log_group(&clients.logs, group)
            .await?
            .and_then(|g| g.retention_in_days()),
        None => None,
    };
    let imported = crate::import::import(&crate::import::Running {
        region: &region,
        cluster: &cluster,
        service: &service,
        task_definition: &task_definition,
        task_definition_tags: &tags,
        repository: repository.as_ref(),
        log_retention_days,
        app_container: &container,
    });
    // Values from AWS: masked where they look secret, and stripped of control characters.
    let not_carried: Vec<String> = imported
        .not_carried
        .iter()
        .map(|line| shipit_oci::printable(&crate::redact::mask_text(line), 500).replace('\n', " "))
        .collect();
    let mut text = format!(
        "# yaml-language-server: $schema=deploy.schema.json\n\
         # Written by `shipit init --from-service {cluster}/{service_name}` from the service and\n\
         # {}. `shipit plan` shows what a deploy would change.\n\
         # image.source is your build's image: set it (docker://, docker-archive:, oci:).\n",
        crate::ecs::short_task_definition(&arn)
    );
    if !not_carried.is_empty() {
        text.push_str("#\n# Not carried over (plan lists what a deploy would drop; --allow-removals lets it):\n");
        for line in &not_carried {
            text.push_str(&format!("#   - {line}\n"));
        }
    }
    text.push('\n');
    text.push_str(&crate::config::emit::to_yaml(&imported.config));
    // What was written must read back: a config shipit refuses is not a takeover. The
    // variables it writes for secret-looking values are set where deploy runs.
    let checked = crate::config::load_bytes(text.as_bytes(), &path.display().to_string(), &|_| {
        Some("set-where-deploy-runs".to_string())
    });
    write_new(path, &text, args.force)?;
    let file = path.display().to_string();
    if let Err(err) = checked {
        printer.error(&anyhow::anyhow!(
            "wrote {file}, but it does not validate yet:\n{}",
            err.render()
        ));
        return Ok(ExitStatus::Failure);
    }
    let app = imported.config["app"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut human = format!(
        "wrote {file} from {cluster}/{service_name} ({}, container `{container}`)\n",
        crate::ecs::short_task_definition(&arn)
    );
    if !not_carried.is_empty() {
        human.push_str(&format!(
            "not carried over ({}), listed at the top of the file:\n",
            not_carried.len()
        ));
        for line in &not_carried {
            human.push_str(&format!("  - {line}\n"));
        }
    }
    human.push_str("next: set image.source to your build, then `shipit plan`\n");
    printer.result(
        &Imported {
            ok: true,
            file,
            app,
            cluster,
            service: service_name,
            task_definition: arn,
            container,
            not_carried,
        },
        &human,
    )?;
    Ok(ExitStatus::Success)
}

/// Creates the file, refusing to replace one unless `force`. `create_new` makes the check and
/// the creation one step, so two runs cannot both write.
fn write_new(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|err| -> anyhow::Error {
        if err.kind() == std::io::ErrorKind::AlreadyExists {
            BadInput::new(format!(
                "{} already exists; pass --force to overwrite it, or -c PATH to write elsewhere",
                path.display()
            ))
            .into()
        } else {
            anyhow::Error::new(err).context(format!("cannot write {}", path.display()))
        }
    })?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_service_takes_cluster_and_service_or_an_arn() {
        assert_eq!(
            cluster_and_service("prod/api").unwrap(),
            ("prod".to_string(), "api".to_string())
        );
        assert_eq!(
            cluster_and_service("arn:aws:ecs:us-east-1:123456789012:service/prod/api").unwrap(),
            ("prod".to_string(), "api".to_string())
        );
        for bad in ["api", "prod/", "/api", "a/b/c"] {
            assert!(cluster_and_service(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn folder_names_become_valid_app_names() {
        assert_eq!(app_name_from("Multi Stage_App"), "multi-stage-app");
        assert_eq!(app_name_from("--x--"), "app");
        assert_eq!(app_name_from("api2"), "api2");
    }

    #[test]
    fn the_starter_is_a_valid_config() {
        let text = starter("demo-api");
        let loaded = crate::config::load_bytes(text.as_bytes(), "deploy.yaml", &|_| None)
            .unwrap_or_else(|err| panic!("{}", err.render()));
        assert_eq!(loaded.names.service, "demo-api-service");
        assert_eq!(loaded.config.region.as_deref(), Some("us-east-1"));
        assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    }
}
