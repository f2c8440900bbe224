//! `shipit schema`: the JSON Schema of deploy.yaml, generated from the same types serde reads.

use crate::config::DeployConfig;
use crate::exit::ExitStatus;
use crate::printer::Printer;

pub fn schema_json() -> String {
    let schema = schemars::schema_for!(DeployConfig);
    let mut schema = serde_json::to_value(&schema).expect("a schema serializes");
    add_fleet_keys(&mut schema);
    let mut text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// The keys of a fleet (`config::fleet`), which the loader reads off the tree before each
/// service is typed: `services` entries take every top-level key but `app`, plus `name` and
/// `depends_on`.
fn add_fleet_keys(schema: &mut serde_json::Value) {
    let top = schema["properties"].clone();
    let mut entry = serde_json::Map::new();
    for (key, value) in top.as_object().into_iter().flatten() {
        if key != "app" {
            entry.insert(key.clone(), value.clone());
        }
    }
    entry.insert(
        "name".into(),
        serde_json::json!({
            "description": "The service's name, and its task family unless `task.family` says otherwise.",
            "type": "string", "pattern": "^[A-Za-z0-9_-]{1,255}$"
        }),
    );
    entry.insert(
        "depends_on".into(),
        serde_json::json!({
            "description": "Services of this config deployed (in the same region) before this one.",
            "type": "array", "items": { "type": "string" }
        }),
    );
    let properties = schema["properties"]
        .as_object_mut()
        .expect("the config is an object");
    properties.insert(
        "services".into(),
        serde_json::json!({
            "description": "Several services from this config (a fleet): each entry is laid over the settings above.",
            "type": "array", "minItems": 1,
            "items": {
                "type": "object", "additionalProperties": false, "required": ["name"],
                "properties": entry
            }
        }),
    );
    properties.insert(
        "regions".into(),
        serde_json::json!({
            "description": "With `services`: the regions each service is deployed to.",
            "type": "array", "items": { "type": "string" }
        }),
    );
    properties.insert(
        "waves".into(),
        serde_json::json!({
            "description": "With `regions`: the regions in waves; a wave starts after the previous one is deployed.",
            "type": "array", "items": { "type": "array", "items": { "type": "string" } }
        }),
    );
    properties.insert(
        "concurrency".into(),
        serde_json::json!({
            "description": "With `services`: how many deploy at once (default 4).",
            "type": "integer", "minimum": 1, "maximum": crate::config::fleet::MAX_CONCURRENCY
        }),
    );
}

pub fn run(printer: &Printer) -> anyhow::Result<ExitStatus> {
    printer.raw(&schema_json())?;
    Ok(ExitStatus::Success)
}
