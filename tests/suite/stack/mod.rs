//! Tests against the local AWS stack (`localstack/up`); those that run tasks as containers
//! need the Docker engine too.

mod adopt;
mod autoscaling;
mod aws_contract;
mod crashes;
mod deploy;
mod faults;
mod first_run;
mod fleet;
mod guardrails;
mod local_stack;
mod logs;
mod plan_apply;
mod push;
mod record_rollouts;
mod rollback_target;
mod run_task;
mod secrets;
mod sidecars;
