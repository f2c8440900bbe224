//! Tests against scripted servers on loopback: registries that misbehave, hostile endpoints,
//! and rollouts ECS would show, replayed.

mod continue_paused;
mod exec_session;
mod hostile;
mod registry_edges;
mod rollback_archived;
mod watch_script;

/// The AWS JSON operation a request to a fake asks for (`DescribeServices`), from its
/// X-Amz-Target header; empty for a Query-protocol request (IAM).
pub fn operation(request: &wiremock::Request) -> String {
    request
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.rsplit('.').next())
        .unwrap_or_default()
        .to_string()
}
