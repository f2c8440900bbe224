//! ECS Exec without AWS's session-manager-plugin: shipit speaks the Session Manager data
//! channel itself.
//!
//! - `frame`: one message's binary layout.
//! - `cipher`: the AES-GCM a cluster's KMS key asks for.
//! - `channel`: the protocol's rules (numbering, acknowledgements, resends, the handshake),
//!   without I/O.
//! - `connection`: the WebSocket, the KMS call, the session's loop.
//! - `readiness`: why ECS Exec cannot work on a task, found before connecting (`shipit exec`
//!   and `shipit doctor` share it).
//! - `exit_marker`: the command's exit code, carried in its output and taken out of it.
//! - `terminal`: raw mode, the terminal's size, plain text for a log.

pub mod channel;
pub mod cipher;
pub mod connection;
pub mod exit_marker;
pub mod frame;
pub mod readiness;
pub mod terminal;
