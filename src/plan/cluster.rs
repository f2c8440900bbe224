//! The ECS cluster: created with the Fargate capacity providers when it is missing. An
//! existing cluster's settings are its owner's: shipit changes nothing on it.

use serde::Serialize;

use super::{Change, Field, Operation, Resource, diff};

#[derive(Debug, Clone, Serialize)]
pub struct ClusterPlan {
    pub name: String,
    pub create: bool,
    pub changes: Vec<Change>,
}

impl ClusterPlan {
    pub fn new(name: &str, active: bool) -> ClusterPlan {
        let changes = if active {
            Vec::new()
        } else {
            diff(
                Resource::Cluster,
                name,
                Operation::CreateCluster,
                &[],
                &[Field::new(
                    "capacity_providers",
                    super::json_list(&["FARGATE", "FARGATE_SPOT"]),
                    "capacityProviders",
                )],
            )
        };
        ClusterPlan {
            name: name.to_string(),
            create: !active,
            changes,
        }
    }
}
