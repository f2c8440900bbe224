//! Ctrl-C (SIGINT) and SIGTERM for the commands that wait: the deploy watch, `status --watch`,
//! `logs --follow`.
//!
//! Listening starts when `Interrupt::listen` is called and lasts until it is dropped, so a
//! signal that arrives while the command is busy (in the middle of an API call) is kept for the
//! next `recv`. A fresh `tokio::signal::ctrl_c()` per loop turn would lose it: tokio's handler
//! is installed by the first call and stays, so the signal would neither stop the process nor
//! reach the command.

use tokio::signal::unix::{Signal, SignalKind, signal};

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
