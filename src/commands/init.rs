//! `shipit init`: write a commented starter deploy.yaml.

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
