//! Exit codes, in one place (documented in README.md).

use std::process::ExitCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// The command did what was asked.
    Success,
    /// Something failed: AWS refused, a check failed, the network broke.
    Failure,
    /// Bad input: the config, the flags or the image file. Nothing was changed.
    BadInput,
    /// `plan` / `deploy --dry-run`: the deploy would change something.
    ChangesPending,
    /// Ctrl-C (or SIGTERM) while watching a rollout; the deployment goes on in ECS.
    Interrupted,
    /// `shipit run`: the one-off task's container exit code, passed on.
    Code(u8),
}

impl ExitStatus {
    /// The process's exit code for this status.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Failure => 1,
            ExitStatus::BadInput => 2,
            ExitStatus::ChangesPending => 3,
            ExitStatus::Interrupted => 130,
            ExitStatus::Code(code) => code,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        ExitCode::from(status.code())
    }
}

/// An error caused by what the user gave (flags, files): exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct BadInput {
    pub message: String,
}

impl BadInput {
    pub fn new(message: impl Into<String>) -> Self {
        BadInput {
            message: message.into(),
        }
    }
}
