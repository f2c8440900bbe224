//! The integration tests, in one binary (the SDKs and shipit are linked once, not once per
//! file), grouped by what each test needs:
//!
//! | module | needs | run it alone |
//! |---|---|---|
//! | `nothing` | the built binary (CLI output, the config corpus, workflows, install) | `cargo test --test suite -- nothing::` |
//! | `fakes` | scripted servers on loopback (registries, endpoints, recorded rollouts) | `cargo test --test suite -- fakes::` |
//! | `example` | the example API's virtualenv (from PyPI, made once) | `cargo test --test suite -- example::` |
//! | `stack` | the local AWS stack (`localstack/up`), some the Docker engine too | `cargo test --test suite -- stack::` |
//!
//! A test that needs the stack or the engine fails when it is missing, unless
//! `SHIPIT_ALLOW_SKIP=1` says to skip it; each skip is named on stderr. `dev/test` starts the
//! stack and runs everything. Shared helpers (the shipit command with a clean environment,
//! image builders, fake servers) are in `common`.

mod common;
mod example;
mod fakes;
mod nothing;
mod stack;
