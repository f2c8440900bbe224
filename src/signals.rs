//! Ctrl-C (SIGINT) and SIGTERM: every command ends on them, promptly, with exit 130.
//!
//! The commands that wait (the deploy watch, `status --watch`, `logs --follow`) listen
//! themselves and end with their own report. `until_interrupted` wraps every command: after a
//! signal it gives the command a moment for that report, then ends it wherever it is (in the
//! middle of a call that a stalled connection never answers), saying what goes on in ECS.
//!
//! Listening starts when `Interrupt::listen` is called and lasts until it is dropped, so a
//! signal that arrives while the command is busy (in the middle of an API call) is kept for the
//! next `recv`. A fresh `tokio::signal::ctrl_c()` per loop turn would lose it: tokio's handler
//! is installed by the first call and stays, so the signal would neither stop the process nor
//! reach the command.

use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::exit::ExitStatus;

/// How long a command has, after the first signal, to end with its own report.
const GRACE: Duration = Duration::from_secs(3);

/// What goes on in ECS while this command runs (set once a deployment has started), for the
/// line printed when a signal ends the command.
static UNDER_WAY: Mutex<Option<String>> = Mutex::new(None);

/// From now on, a signal's last line says this (`the deployment goes on in ECS: ...`).
pub fn under_way(hint: String) {
    *UNDER_WAY.lock().unwrap_or_else(|e| e.into_inner()) = Some(hint);
}

/// Set by a command that took the signal and is undoing what it started (a one-off task
/// being stopped): it is let finish, each of its calls bounded by its own deadline, unless a
/// second signal comes.
static CLEANING_UP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// The command took the signal and is cleaning up: `until_interrupted` waits for it.
pub fn cleaning_up() {
    CLEANING_UP.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Runs a command; on SIGINT or SIGTERM it ends within `GRACE` (at once on a second signal)
/// with exit 130, whatever the command was doing, unless it said it is cleaning up.
pub async fn until_interrupted(
    command: impl Future<Output = anyhow::Result<ExitStatus>>,
) -> anyhow::Result<ExitStatus> {
    let mut interrupt = Interrupt::listen()?;
    tokio::pin!(command);
    tokio::select! {
        status = &mut command => return status,
        _ = interrupt.recv() => {}
    }
    tokio::select! {
        status = &mut command => return status,
        _ = tokio::time::sleep(GRACE) => {
            if CLEANING_UP.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::select! {
                    status = &mut command => return status,
                    _ = interrupt.recv() => {}
                }
            }
        }
        _ = interrupt.recv() => {}
    }
    let hint = UNDER_WAY.lock().unwrap_or_else(|e| e.into_inner()).clone();
    match hint {
        Some(hint) => eprintln!("interrupted; {hint}"),
        None => eprintln!("interrupted"),
    }
    Ok(ExitStatus::Interrupted)
}

pub struct Interrupt {
    interrupt: Signal,
    terminate: Signal,
}

impl Interrupt {
    pub fn listen() -> std::io::Result<Interrupt> {
        Ok(Interrupt {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// Waits for SIGINT or SIGTERM (at once, when one came since the last call).
    pub async fn recv(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
