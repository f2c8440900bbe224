//! The lifecycle stages of an ECS service deployment, in order, and `--wait-until`: the
//! condition a watch waits for (deployed, stable, or a stage reached).

use serde::{Deserialize, Serialize};

/// The lifecycle stages of a service deployment in the order ECS goes through them
/// (ServiceDeploymentLifecycleStage). A rolling update has no traffic-shift stages.
pub const LIFECYCLE_STAGES: &[&str] = &[
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
];

/// Stages only deployments that shift load-balancer traffic go through.
pub fn is_traffic_stage(stage: &str) -> bool {
    stage.contains("TRAFFIC_SHIFT")
}

pub(super) fn stage_index(stage: &str) -> Option<usize> {
    LIFECYCLE_STAGES.iter().position(|s| *s == stage)
}

/// When the watch may return.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WaitUntil {
    /// ECS declares the deployment successful (with early success, while old tasks drain).
    Deployed,
    /// Deployed, and no task of an older revision is left.
    Stable,
    /// The service deployment reached this lifecycle stage (ECS's name) or went past it.
    Stage(String),
}

impl WaitUntil {
    /// `deployed`, `stable`, or a stage as `bake-time` / `BAKE_TIME`.
    pub fn parse(text: &str) -> Result<WaitUntil, String> {
        match text {
            "deployed" => return Ok(WaitUntil::Deployed),
            "stable" => return Ok(WaitUntil::Stable),
            _ => {}
        }
        let stage = text.replace('-', "_").to_ascii_uppercase();
        if stage_index(&stage).is_some() {
            return Ok(WaitUntil::Stage(stage));
        }
        let stages: Vec<String> = LIFECYCLE_STAGES
            .iter()
            .map(|s| s.to_ascii_lowercase().replace('_', "-"))
            .collect();
        Err(format!(
            "`{text}` is neither `deployed`, `stable` nor a lifecycle stage ({})",
            stages.join(", ")
        ))
    }

    pub fn shown(&self) -> String {
        match self {
            WaitUntil::Deployed => "deployed".to_string(),
            WaitUntil::Stable => "stable".to_string(),
            WaitUntil::Stage(stage) => stage.to_ascii_lowercase().replace('_', "-"),
        }
    }
}

impl std::str::FromStr for WaitUntil {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        WaitUntil::parse(text)
    }
}
