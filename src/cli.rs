//! Command-line arguments and the one `match` that dispatches them.
//!
//! Parsing only validates; the commands act.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::commands::{self, GlobalArgs};
use crate::exit::ExitStatus;
use crate::printer::Printer;

#[derive(Debug, Parser)]
#[command(
    name = "shipit",
    version,
    about = "Ship a freshly built container image to ECR and ECS Fargate, and tell the truth about the rollout",
    propagate_version = true,
    after_help = "Exit codes: 0 success, 1 failure, 2 bad input (config or flags; nothing was changed), 3 plan: changes pending, 130 interrupted while watching."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check deploy.yaml: every problem at once, with file:line:column and the fix.
    Validate,
    /// Write a commented starter deploy.yaml.
    Init(commands::init::InitArgs),
    /// Print the JSON Schema of deploy.yaml (for editors: yaml-language-server).
    Schema,
    /// Print a shell completion script.
    Completions(commands::completions::CompletionsArgs),
    /// Print the manual page (roff): `shipit man > /usr/local/share/man/man1/shipit.1`.
    Man,
    /// Push the image, register the task definition, update the service, watch the rollout.
    Deploy(commands::deploy::DeployArgs),
    /// Show every change a deploy would make; change nothing (exit 3 when there are changes).
    Plan(commands::plan::PlanArgs),
    /// Return the service to the task definition it ran before the last successful deploy.
    Rollback(commands::rollback::RollbackArgs),
    /// Run a one-off task of the service's task definition with another command (a migration):
    /// `shipit run -- python manage.py migrate`. Streams its logs; exits with its exit code.
    Run(commands::run::RunArgs),
    /// Watch a deployment started elsewhere (another CI job, `deploy --no-wait`) until ECS
    /// finished it, with deploy's verdicts and exit codes: the service's current deployment,
    /// or the one a service-deployment ARN or deployment id names. Changes nothing.
    Wait(commands::wait::WaitArgs),
    /// Continue the service's paused deployment (a lifecycle hook with `pause: true`), or roll
    /// it back from the pause; `--all-steps` goes on through every step of linear and canary.
    Continue(commands::continue_deployment::ContinueArgs),
    /// A shell or a command in a running task of the service, through ECS Exec, with no
    /// session-manager-plugin: `shipit exec`, `shipit exec -- rake db:migrate:status`.
    /// Interactive on a terminal; otherwise streams the output and exits with the command's
    /// exit code.
    Exec(commands::exec::ExecArgs),
    /// Create or update the ECR repository and push the image to it.
    Push(commands::push::PushArgs),
    /// The service now: a verdict line, deployments, tasks, events, scan results.
    Status(commands::status::StatusArgs),
    /// The service's log events from CloudWatch Logs; --follow keeps printing new ones.
    ///
    /// Lines can be missing when the awslogs driver runs non-blocking (deploy.yaml's
    /// `logs.mode`, the default) and its buffer filled while CloudWatch fell behind: `shipit
    /// plan` shows the mode and buffer each container's task definition has.
    Logs(commands::logs::LogsArgs),
    /// Print the least-privilege IAM policy that running shipit with this config needs.
    IamPolicy(commands::iam_policy::IamPolicyArgs),
    /// Estimate the monthly cost of the config (Fargate, ECR storage, logs).
    Cost(commands::cost::CostArgs),
    /// Check that shipit can reach AWS (or the local stack): config, region, endpoint,
    /// credentials.
    Doctor,
}

/// The program: parse, run, turn the outcome into an exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(cli.global.output, cli.global.verbose, cli.global.quiet);
    crate::printer::init_tracing(cli.global.verbose, cli.global.quiet);
    let status = match run(cli, &printer) {
        Ok(status) => status,
        Err(err) => printer.error(&err),
    };
    status.into()
}

fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let global = cli.global;
    match cli.command {
        Command::Validate => commands::validate::run(&global, printer),
        Command::Init(args) if args.from_service.is_some() => {
            block_on(commands::init::from_service(&args, &global, printer))
        }
        Command::Init(args) => commands::init::run(&args, &global, printer),
        Command::Schema => commands::schema::run(printer),
        Command::Completions(args) => commands::completions::run(&args, Cli::command(), printer),
        Command::Man => commands::completions::man(Cli::command(), printer),
        Command::IamPolicy(args) => commands::iam_policy::run(&args, &global, printer),
        Command::Cost(args) => commands::cost::run(&args, &global, printer),
        Command::Doctor => block_on(commands::doctor::run(&global, printer)),
        Command::Push(args) => block_on(commands::push::run(&args, &global, printer)),
        // `deploy --dry-run` is `plan` with deploy's flags.
        Command::Deploy(args) if args.dry_run => block_on(commands::plan::run(
            &commands::plan::PlanArgs {
                push: args.push.clone(),
                matrix: false,
            },
            &global,
            printer,
        )),
        Command::Deploy(args) => block_on(commands::deploy::run(&args, &global, printer)),
        Command::Plan(args) => block_on(commands::plan::run(&args, &global, printer)),
        Command::Logs(args) => block_on(commands::logs::run(&args, &global, printer)),
        Command::Status(args) => block_on(commands::status::run(&args, &global, printer)),
        Command::Rollback(args) => block_on(commands::rollback::run(&args, &global, printer)),
        Command::Run(args) => block_on(commands::run::run(&args, &global, printer)),
        Command::Wait(args) => block_on(commands::wait::run(&args, &global, printer)),
        Command::Exec(args) => block_on(commands::exec::run(&args, &global, printer)),
        Command::Continue(args) => {
            block_on(commands::continue_deployment::run(&args, &global, printer))
        }
    }
}

/// Runs an async command to its end, or until Ctrl-C / SIGTERM ends it (exit 130). Work left
/// on the runtime's threads (a compression, a call in flight) is not waited for.
fn block_on(
    command: impl std::future::Future<Output = anyhow::Result<ExitStatus>>,
) -> anyhow::Result<ExitStatus> {
    let runtime = runtime()?;
    let status = runtime.block_on(crate::signals::until_interrupted(command));
    runtime.shutdown_background();
    status
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printer::OutputFormat;
    use std::path::PathBuf;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli = Cli::try_parse_from([
            "shipit",
            "validate",
            "-c",
            "x.yaml",
            "--output",
            "json",
            "--region",
            "eu-west-1",
            "-vv",
        ])
        .unwrap();
        assert_eq!(cli.global.config, PathBuf::from("x.yaml"));
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert_eq!(cli.global.aws.region.as_deref(), Some("eu-west-1"));
        assert_eq!(cli.global.verbose, 2);
    }
}
