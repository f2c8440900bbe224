//! The CloudWatch Logs group the tasks write to: created when missing, its retention set to
//! `logs.retention_days`. Without `retention_days`, a retention set elsewhere is left alone.

use serde::Serialize;

use super::{Change, Field, Operation, Resource, diff};

/// What DescribeLogGroups says about the group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroupState {
    pub retention_days: Option<i32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LogGroupPlan {
    pub name: String,
    pub create: bool,
    pub retention_days: Option<i32>,
    pub changes: Vec<Change>,
}

impl LogGroupPlan {
    pub fn new(name: &str, retention_days: Option<i32>, current: Option<&LogGroupState>) -> Self {
        let retention = |days: Option<i32>| {
            days.map(|d| Field::new("retention_days", d, "retentionInDays"))
                .into_iter()
                .collect::<Vec<_>>()
        };
        let mut changes = Vec::new();
        if current.is_none() {
            changes.extend(diff(
                Resource::LogGroup,
                name,
                Operation::CreateLogGroup,
                &[],
                &[Field::new("log_group", name, "logGroupName")],
            ));
        }
        if retention_days.is_some() {
            changes.extend(diff(
                Resource::LogGroup,
                name,
                Operation::PutRetentionPolicy,
                &retention(current.and_then(|c| c.retention_days)),
                &retention(retention_days),
            ));
        }
        LogGroupPlan {
            name: name.to_string(),
            create: current.is_none(),
            retention_days,
            changes,
        }
    }

    pub fn sets_retention(&self) -> bool {
        self.changes
            .iter()
            .any(|c| c.operation == Operation::PutRetentionPolicy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_set_only_when_the_config_names_one_that_differs() {
        let kept = LogGroupState {
            retention_days: Some(7),
        };
        assert!(
            LogGroupPlan::new("g", Some(7), Some(&kept))
                .changes
                .is_empty()
        );
        assert!(LogGroupPlan::new("g", None, Some(&kept)).changes.is_empty());
        let plan = LogGroupPlan::new("g", Some(14), Some(&kept));
        assert_eq!(plan.changes.len(), 1);
        assert_eq!(plan.changes[0].current.as_deref(), Some("7"));
        let new = LogGroupPlan::new("g", Some(14), None);
        assert_eq!(
            new.changes.iter().map(|c| c.operation).collect::<Vec<_>>(),
            vec![Operation::CreateLogGroup, Operation::PutRetentionPolicy]
        );
    }
}
