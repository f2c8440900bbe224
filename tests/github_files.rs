//! The GitHub Actions files: action.yml is a composite action whose outputs are exactly the
//! ones `shipit deploy` writes, and whose run steps name their shell (actionlint, run by
//! .ci/run, checks the workflow files).

use std::path::Path;

fn yaml(path: &str) -> serde_json::Value {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&file).unwrap();
    let node = shipit::config::yaml::parse(&text, path).unwrap_or_else(|d| panic!("{d}"));
    shipit::config::source_map::to_json(&node).0
}

#[test]
fn the_action_is_composite_and_exposes_every_deploy_output() {
    let action = yaml("action.yml");
    assert_eq!(action["runs"]["using"], "composite");
    let outputs: Vec<&String> = action["outputs"].as_object().unwrap().keys().collect();
    assert_eq!(
        outputs,
        vec![
            "image-uri",
            "image-digest",
            "task-definition-arn",
            "service-arn",
            "deployment-id",
            "result"
        ]
    );
    for (name, output) in action["outputs"].as_object().unwrap() {
        assert_eq!(
            output["value"],
            format!("${{{{ steps.shipit.outputs.{name} }}}}"),
            "{name}"
        );
    }
    for step in action["runs"]["steps"].as_array().unwrap() {
        if step.get("run").is_some() {
            assert_eq!(step["shell"], "bash", "{step}");
        }
    }
    let inputs = action["inputs"].as_object().unwrap();
    for name in ["config", "command", "args"] {
        assert!(inputs.contains_key(name), "input {name}");
    }
}

#[test]
fn the_example_workflow_uses_oidc_and_no_stored_keys() {
    let workflow = yaml("examples/github-actions/deploy.yml");
    assert_eq!(workflow["permissions"]["id-token"], "write");
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/github-actions/deploy.yml"),
    )
    .unwrap();
    assert!(text.contains("role-to-assume"));
    assert!(!text.contains("aws-secret-access-key"));
}
