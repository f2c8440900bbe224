//! Tests against scripted servers on loopback: registries that misbehave, hostile endpoints,
//! and rollouts ECS would show, replayed.

mod continue_paused;
mod exec_session;
mod hostile;
mod registry_edges;
mod watch_script;
