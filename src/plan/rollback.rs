//! Where a rollback takes the service, worked out before anything changes: `shipit rollback
//! --dry-run` shows it, and the executor (`apply::rollback`) applies exactly it. Deploy's own
//! rollback (fail-fast, when shipit judged a rollout failed before ECS did) is one too.

use serde::Serialize;

use crate::ecs::{TAG_PREVIOUS, short_task_definition};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RollbackPlan {
    /// A blue/green, linear or canary deployment under way: ECS stops it and moves production
    /// traffic back to the old revision, which still runs (StopServiceDeployment, stop type
    /// ROLLBACK). A new UpdateService would start another traffic-shifting deployment instead.
    StopDeployment {
        service_deployment_arn: String,
        /// ROLLING, BLUE_GREEN, LINEAR, CANARY, as ECS names it.
        strategy: String,
        /// The lifecycle stage the deployment is in, where ECS says.
        stage: Option<String>,
    },
    /// The service put back on an earlier revision (UpdateService with its task definition),
    /// rolled out like a deploy.
    Revision {
        cluster: String,
        service: String,
        from: String,
        to: String,
    },
}

impl RollbackPlan {
    /// The call the executor makes.
    pub fn call(&self) -> &'static str {
        match self {
            RollbackPlan::StopDeployment { .. } => "StopServiceDeployment",
            RollbackPlan::Revision { .. } => "UpdateService",
        }
    }

    /// One line for people: what changes.
    pub fn describe(&self) -> String {
        match self {
            RollbackPlan::StopDeployment {
                strategy, stage, ..
            } => format!(
                "stop the {} deployment under way (stage {}) and have ECS move traffic back to the old revision",
                strategy.to_ascii_lowercase(),
                stage.as_deref().unwrap_or("?")
            ),
            RollbackPlan::Revision {
                service, from, to, ..
            } => format!(
                "service {service}: task definition {} -> {}",
                short_task_definition(from),
                short_task_definition(to)
            ),
        }
    }

    /// Puts `service` back on the revision shipit recorded as the one before its last deploy
    /// (`recorded_previous`, the service's `TAG_PREVIOUS` tag); an error says why there is
    /// nothing to roll back to.
    pub fn to_recorded_revision(
        cluster: &str,
        service: &str,
        running: &str,
        recorded_previous: Option<&str>,
    ) -> Result<RollbackPlan, String> {
        let Some(previous) = recorded_previous else {
            return Err(format!(
                "shipit has no record of what service {service} ran before its last deploy (the `{TAG_PREVIOUS}` tag); roll back by deploying an earlier image: shipit deploy --tag OLD_TAG"
            ));
        };
        if previous == running {
            return Err(format!(
                "service {service} already runs {}, the task definition from before the last deploy",
                short_task_definition(running)
            ));
        }
        Ok(RollbackPlan::Revision {
            cluster: cluster.to_string(),
            service: service.to_string(),
            from: running.to_string(),
            to: previous.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TD1: &str = "arn:aws:ecs:us-east-1:1:task-definition/api:1";
    const TD2: &str = "arn:aws:ecs:us-east-1:1:task-definition/api:2";

    #[test]
    fn the_recorded_revision_is_where_the_service_goes_back() {
        let plan = RollbackPlan::to_recorded_revision("c", "api", TD2, Some(TD1)).unwrap();
        assert_eq!(plan.call(), "UpdateService");
        assert_eq!(
            plan.describe(),
            "service api: task definition api:2 -> api:1"
        );
        assert_eq!(
            serde_json::to_value(&plan).unwrap()["kind"],
            serde_json::json!("revision")
        );
    }

    #[test]
    fn no_record_or_the_same_revision_is_nothing_to_roll_back_to() {
        let none = RollbackPlan::to_recorded_revision("c", "api", TD2, None).unwrap_err();
        assert!(none.contains("shipit deploy --tag OLD_TAG"), "{none}");
        let same = RollbackPlan::to_recorded_revision("c", "api", TD2, Some(TD2)).unwrap_err();
        assert!(same.contains("already runs api:2"), "{same}");
    }

    #[test]
    fn a_traffic_shift_under_way_is_stopped_not_replaced() {
        let plan = RollbackPlan::StopDeployment {
            service_deployment_arn: "arn:sd".into(),
            strategy: "LINEAR".into(),
            stage: Some("TEST_TRAFFIC_SHIFT".into()),
        };
        assert_eq!(plan.call(), "StopServiceDeployment");
        assert!(
            plan.describe()
                .starts_with("stop the linear deployment under way (stage TEST_TRAFFIC_SHIFT)")
        );
    }
}
