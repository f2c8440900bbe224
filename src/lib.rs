//! shipit: ship a freshly built container image to ECR and ECS Fargate.
//!
//! The binary is a thin `main.rs` over this library. Each module has one job:
//! `config` reads deploy.yaml, `aws` builds the SDK configuration, `image` reads images,
//! `registry` pushes them, `ecr` manages the repository,
//! `commands` holds one module per subcommand, and `printer` is the only place that writes to
//! the terminal.

pub mod aws;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod config;
pub mod ecr;
pub mod exit;
pub mod image;
pub mod printer;
pub mod progress;
pub mod registry;
