//! The rollout decision: a plain function from what ECS says now (a `Snapshot`) to a
//! `Verdict`. No clock, no network: the watch loop in `commands::deploy` polls and feeds it,
//! and the tests feed it recorded snapshot sequences.
//!
//! The truth it tells: success only when ECS marks *our* deployment COMPLETED with every task
//! running; a circuit-breaker rollback or a FAILED deployment is a failure, never a success;
//! new tasks that keep stopping for the same reason fail the watch early, with that reason.
//!
//! | module | its job |
//! |---|---|
//! | `snapshot` | what ECS says now (deployments, tasks, events, the service deployment) |
//! | `stages` | lifecycle stages and `--wait-until` |
//! | `cause` | why tasks stopped, and the fix |
//! | `verdict` | the verdict, and where a rollback goes |
//! | `changes` | what changed between two polls, for the watch's lines |

mod cause;
mod changes;
mod snapshot;
mod stages;
mod verdict;

pub use cause::*;
pub use changes::*;
pub use snapshot::*;
pub use stages::*;
pub use verdict::*;

#[cfg(test)]
mod tests;
