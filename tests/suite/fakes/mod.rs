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

/// AWS JSON's answer: 200 with `body`.
pub fn answer(body: serde_json::Value) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(200)
        .insert_header("content-type", "application/x-amz-json-1.1")
        .set_body_json(body)
}

/// The answer to an operation a fake does not play: a client error that names it.
pub fn not_faked(operation: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(400).set_body_json(serde_json::json!({
        "__type": "ClientException", "message": format!("not faked: {operation}")
    }))
}
