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

/// A capacity provider strategy takes only providers associated with the cluster (ECS API
/// reference, CapacityProviderStrategyItem). shipit creates a cluster with both Fargate
/// providers; an existing one is its owner's, so a missing provider stops the plan with the
/// command that adds it, keeping the ones the cluster has.
pub fn check_capacity_providers(
    cluster: &str,
    associated: &[String],
    config: &crate::config::DeployConfig,
) -> Result<(), crate::exit::BadInput> {
    let missing: Vec<&str> = config
        .service
        .capacity_provider_strategy
        .iter()
        .map(|item| item.provider.ecs_name())
        .filter(|provider| !associated.iter().any(|a| a == provider))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut all: Vec<&str> = associated.iter().map(String::as_str).collect();
    all.extend(&missing);
    Err(crate::exit::BadInput::new(format!(
        "cluster {cluster} has no {} capacity provider, which service.capacity_provider_strategy names; shipit leaves an existing cluster's settings to its owner. Add it (keeping the cluster's default strategy, which this call replaces): aws ecs put-cluster-capacity-providers --cluster {cluster} --capacity-providers {} --default-capacity-provider-strategy ...",
        missing.join(" and "),
        all.join(" ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_provider_the_cluster_lacks_is_named_with_the_command_that_adds_it() {
        let text = "app: demo\nimage: { source: 'docker://demo:1', tag: v1 }\nservice:\n  subnets: [subnet-0123456789abcdef0]\n  capacity_provider_strategy: [{ provider: FARGATE_SPOT, weight: 1 }]\ntask: { execution_role: 'arn:aws:iam::123456789012:role/exec' }\n";
        let loaded = crate::config::load_bytes(text.as_bytes(), "d.yaml", &|_| None).unwrap();
        let config = &loaded.config;
        assert!(
            check_capacity_providers("prod", &["FARGATE".into(), "FARGATE_SPOT".into()], config)
                .is_ok()
        );
        let err = check_capacity_providers("prod", &["FARGATE".into()], config).unwrap_err();
        assert!(
            err.message
                .contains("cluster prod has no FARGATE_SPOT capacity provider"),
            "{err}"
        );
        assert!(
            err.message
                .contains("--capacity-providers FARGATE FARGATE_SPOT"),
            "{err}"
        );
    }
}
