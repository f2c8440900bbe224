//! What one command run works with, resolved once from its flags and built in one place: the
//! loaded config, the AWS configuration and its counted clients, the printer, and the GitHub
//! Actions context when shipit runs as a step. Commands open it (`commands::open_session`);
//! the stages below take `&Session` instead of rebuilding any of it.

use crate::aws::calls::Clients;
use crate::aws::{Aws, AwsSettings};
use crate::config::LoadedConfig;
use crate::github::GitHub;
use crate::printer::Printer;

pub struct Session {
    pub loaded: LoadedConfig,
    pub aws: Aws,
    pub clients: Clients,
    pub printer: Printer,
    /// Some when running as a GitHub Actions step: log groups, outputs, the step summary.
    pub github: Option<GitHub>,
}

impl Session {
    /// The AWS configuration for `loaded` (the flag's region over the config's) and its
    /// clients. No AWS call is made here.
    pub async fn open(
        loaded: LoadedConfig,
        aws: &AwsSettings,
        printer: &Printer,
    ) -> anyhow::Result<Session> {
        let aws = aws.load(loaded.config.region.as_deref()).await?;
        let clients = Clients::new(&aws.sdk);
        Ok(Session {
            loaded,
            aws,
            clients,
            printer: printer.clone(),
            github: GitHub::detect(),
        })
    }

    /// Opens a group of the CI log (`Some(title)`) or closes it (`None`); outside GitHub
    /// Actions, nothing.
    pub fn group(&self, title: Option<&str>) {
        if let Some(gh) = &self.github {
            self.printer.workflow_command(&match title {
                Some(title) => gh.group(title),
                None => gh.end_group(),
            });
        }
    }
}
