//! Tests that need nothing but the built binary.

mod bad_configs;
mod cli;
mod github_files;
mod install;
mod prerequisites;
