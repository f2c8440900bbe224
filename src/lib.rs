//! shipit: ship a freshly built container image to ECR and ECS Fargate.
//!
//! The binary is a thin `main.rs` over this library. Each module has one job:
//! `config` reads deploy.yaml, `aws` is the floor every AWS call stands on (configuration,
//! clients, typed errors), `image` reads images,
//! `registry` pushes them, `ecr` manages the repository, `ecs` and `logs` wrap the calls a
//! deploy needs, `live_tail` opens CloudWatch Live Tail sessions, `tail` merges them with
//! polled pages exactly once, `preflight` checks an image against the config (health-check programs, size budget),
//! `plan` compares what AWS holds with what the config wants (one diff for every resource,
//! each change naming the call that applies it), `apply` makes exactly those calls,
//! `pipeline` runs the stages (image, plan, apply, watch, report) that commands call,
//! `rollout` judges a rollout, `commands` holds one module per subcommand, and `printer` is
//! the only place that writes to the terminal; `redact` says what it must never print.

pub mod apply;
pub mod autoscaling;
pub mod aws;
pub mod cli;
pub mod clock;
pub mod cluster_reads;
pub mod commands;
pub mod config;
pub mod ecr;
pub mod ecs;
pub mod ecs_json;
pub mod exec;
pub mod exit;
pub mod fleet;
pub mod github;
pub mod import;
pub mod logs;
pub mod one_off;
pub mod pipeline;
pub mod plan;
pub mod preflight;
pub mod printer;
pub mod progress;
pub mod redact;
pub mod rollout;
pub mod session;
pub mod signals;

// Images and registries: a crate of the workspace that knows nothing of AWS (crates/oci).
pub use shipit_oci::{cache, image, registry};
