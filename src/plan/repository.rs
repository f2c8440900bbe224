//! The ECR repository: created with the config's settings; on an existing one, what ECR lets
//! change (tag mutability, scan on push, the lifecycle policy shipit manages) is planned as a
//! change, and encryption, which ECR cannot change, is an error that says so.

use anyhow::bail;
use serde::Serialize;

use super::{Change, Field, Operation, Resource, diff};
use crate::config::model::{Encryption, RepositoryConfig};

/// What DescribeRepositories and GetLifecyclePolicy say about the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryState {
    pub uri: String,
    pub arn: String,
    /// MUTABLE, IMMUTABLE, or a newer value such as IMMUTABLE_WITH_EXCLUSION (compared as text,
    /// never flattened).
    pub tag_mutability: String,
    /// IMMUTABLE_WITH_EXCLUSION's filters: the tags that may move.
    pub mutable_tags: Vec<String>,
    pub scan_on_push: bool,
    pub encryption: String,
    pub kms_key: Option<String>,
    pub lifecycle_policy: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RepositoryPlan {
    pub name: String,
    /// Empty until the repository exists.
    pub uri: String,
    pub arn: String,
    pub create: bool,
    #[serde(skip)]
    pub wanted: RepositoryConfig,
    pub changes: Vec<Change>,
    /// Who scans the images on push: the registry's rule, the repository's own (deprecated)
    /// flag, or no one.
    pub scanning: String,
}

const SHIPIT_POLICY: &str = "shipit: keep the last";

/// The lifecycle policy text for "keep the last N images".
pub fn keep_last_policy(keep: i64) -> serde_json::Value {
    serde_json::json!({
        "rules": [{
            "rulePriority": 1,
            "description": format!("{SHIPIT_POLICY} {keep} images"),
            "selection": {
                "tagStatus": "any",
                "countType": "imageCountMoreThan",
                "countNumber": keep
            },
            "action": { "type": "expire" }
        }]
    })
}

/// How a lifecycle policy reads in a plan, and whether shipit wrote it.
/// `keep_last` for a lifecycle policy shipit would write for it, else None.
pub fn keep_last_of(text: &str) -> Option<i64> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let rule = value["rules"]
        .as_array()
        .filter(|r| r.len() == 1)?
        .first()?;
    let n = rule["selection"]["countNumber"].as_i64()?;
    (keep_last_policy(n) == value).then_some(n)
}

fn describe_policy(text: &str) -> (String, bool) {
    let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
    match keep_last_of(text) {
        Some(n) => (format!("keep the last {n} images"), true),
        None => {
            let ours = value.as_ref().is_some_and(|v| {
                v["rules"][0]["description"]
                    .as_str()
                    .is_some_and(|d| d.starts_with(SHIPIT_POLICY))
            });
            ("a policy set outside shipit".to_string(), ours)
        }
    }
}

impl RepositoryState {
    /// As `RepositoryConfig::mutability_shown` writes it, so that the two compare.
    pub fn mutability_shown(&self) -> String {
        if self.mutable_tags.is_empty() {
            self.tag_mutability.clone()
        } else {
            format!("{} ({})", self.tag_mutability, self.mutable_tags.join(", "))
        }
    }
}

impl RepositoryPlan {
    /// `registry_scanning`: the registry's rule that scans this repository on push, if one
    /// does; then the repository's own flag is neither planned nor changed (ECR ignores it).
    pub fn new(
        name: &str,
        wanted: &RepositoryConfig,
        current: Option<&RepositoryState>,
        registry_scanning: Option<&str>,
    ) -> anyhow::Result<RepositoryPlan> {
        let mutability = |value: &str| Field::new("tag_mutability", value, "imageTagMutability");
        let scanning =
            |value: bool| Field::new("scan_on_push", value, "imageScanningConfiguration");
        let wanted_mutability = mutability(&wanted.mutability_shown());
        let wanted_scanning = scanning(wanted.scan_on_push);
        let scanned_by = match registry_scanning {
            Some(rule) => format!("on push, by {rule}"),
            None if wanted.scan_on_push => "on push, by the repository's own setting".into(),
            None => "not scanned on push".into(),
        };
        let mut changes = Vec::new();
        let Some(current) = current else {
            let mut fields = vec![wanted_mutability];
            if registry_scanning.is_none() {
                fields.push(wanted_scanning);
            }
            fields.push(Field::new(
                "encryption",
                match &wanted.kms_key {
                    Some(key) => format!("{} ({key})", wanted.encryption),
                    None => wanted.encryption.to_string(),
                },
                "encryptionConfiguration",
            ));
            changes.extend(diff(
                Resource::Repository,
                name,
                Operation::CreateRepository,
                &[],
                &fields,
            ));
            if let Some(keep) = wanted.keep_last {
                changes.push(lifecycle_change(
                    name,
                    None,
                    Some(format!("keep the last {keep} images")),
                ));
            }
            return Ok(RepositoryPlan {
                name: name.to_string(),
                uri: String::new(),
                arn: String::new(),
                create: true,
                wanted: wanted.clone(),
                changes,
                scanning: scanned_by,
            });
        };
        check_encryption(name, current, wanted)?;
        // Each setting has a call of its own.
        changes.extend(diff(
            Resource::Repository,
            name,
            Operation::PutImageTagMutability,
            &[mutability(&current.mutability_shown())],
            &[wanted_mutability],
        ));
        if registry_scanning.is_none() {
            changes.extend(diff(
                Resource::Repository,
                name,
                Operation::PutImageScanningConfiguration,
                &[scanning(current.scan_on_push)],
                &[wanted_scanning],
            ));
        }
        let policy = current.lifecycle_policy.as_deref().map(describe_policy);
        match (wanted.keep_last, policy) {
            (Some(keep), have) => {
                let want = format!("keep the last {keep} images");
                let have = have.map(|(text, _)| text);
                if have.as_deref() != Some(want.as_str()) {
                    changes.push(lifecycle_change(name, have, Some(want)));
                }
            }
            // No keep_last: the policy shipit wrote goes; one set outside shipit stays.
            (None, Some((text, true))) => changes.push(lifecycle_change(name, Some(text), None)),
            (None, _) => {}
        }
        Ok(RepositoryPlan {
            name: name.to_string(),
            uri: current.uri.clone(),
            arn: current.arn.clone(),
            create: false,
            wanted: wanted.clone(),
            changes,
            scanning: scanned_by,
        })
    }

    pub fn has(&self, operation: Operation) -> bool {
        self.changes.iter().any(|c| c.operation == operation)
    }
}

fn lifecycle_change(name: &str, current: Option<String>, wanted: Option<String>) -> Change {
    let operation = if wanted.is_some() {
        Operation::PutLifecyclePolicy
    } else {
        Operation::DeleteLifecyclePolicy
    };
    Change {
        resource: Resource::Repository,
        name: name.to_string(),
        field: "lifecycle_policy".to_string(),
        current,
        wanted,
        secret: false,
        operation,
        argument: "lifecyclePolicyText",
        guarded: false,
    }
}

/// ECR cannot change a repository's encryption after creation: a difference is an error. A key
/// given as an alias cannot be compared with the key ARN ECR reports without a KMS call, so
/// only the type is compared then.
fn check_encryption(
    name: &str,
    current: &RepositoryState,
    wanted: &RepositoryConfig,
) -> anyhow::Result<()> {
    let wanted_type = wanted.encryption.to_string();
    let key_differs = wanted.encryption == Encryption::Kms
        && wanted.kms_key.as_deref().is_some_and(|key| {
            !key.starts_with("alias/")
                && current
                    .kms_key
                    .as_deref()
                    .is_some_and(|have| have != key && !have.ends_with(key))
        });
    if current.encryption != wanted_type || key_differs {
        bail!(
            "repository `{name}` is encrypted with {}{}, but deploy.yaml asks for {wanted_type}{}. ECR cannot change a repository's encryption after creation: set repository.encryption to match, or use a new repository name",
            current.encryption,
            current
                .kms_key
                .as_deref()
                .map(|k| format!(" (key {k})"))
                .unwrap_or_default(),
            wanted
                .kms_key
                .as_deref()
                .map(|k| format!(" (key {k})"))
                .unwrap_or_default(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::TagMutability;

    fn state() -> RepositoryState {
        RepositoryState {
            uri: "u".into(),
            arn: "a".into(),
            tag_mutability: "IMMUTABLE".into(),
            mutable_tags: Vec::new(),
            scan_on_push: true,
            encryption: "AES256".into(),
            kms_key: None,
            lifecycle_policy: None,
        }
    }

    fn ops(plan: &RepositoryPlan) -> Vec<Operation> {
        plan.changes.iter().map(|c| c.operation).collect()
    }

    #[test]
    fn settings_changes_name_their_calls() {
        let wanted = RepositoryConfig {
            tag_mutability: TagMutability::Mutable,
            scan_on_push: false,
            keep_last: Some(5),
            ..RepositoryConfig::default()
        };
        let plan = RepositoryPlan::new("r", &wanted, Some(&state()), None).unwrap();
        assert_eq!(
            ops(&plan),
            vec![
                Operation::PutImageTagMutability,
                Operation::PutImageScanningConfiguration,
                Operation::PutLifecyclePolicy
            ]
        );
        let mut matching = state();
        matching.tag_mutability = "MUTABLE".into();
        matching.scan_on_push = false;
        matching.lifecycle_policy = Some(keep_last_policy(5).to_string());
        assert!(
            RepositoryPlan::new("r", &wanted, Some(&matching), None)
                .unwrap()
                .changes
                .is_empty()
        );
    }

    #[test]
    fn only_shipits_own_lifecycle_policy_is_removed() {
        let wanted = RepositoryConfig::default();
        let mut ours = state();
        ours.lifecycle_policy = Some(keep_last_policy(5).to_string());
        let plan = RepositoryPlan::new("r", &wanted, Some(&ours), None).unwrap();
        assert_eq!(ops(&plan), vec![Operation::DeleteLifecyclePolicy]);
        let mut theirs = state();
        theirs.lifecycle_policy = Some(r#"{"rules":[{"rulePriority":1,"description":"team policy","selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#.into());
        assert!(
            RepositoryPlan::new("r", &wanted, Some(&theirs), None)
                .unwrap()
                .changes
                .is_empty()
        );
    }

    #[test]
    fn a_newer_mutability_value_is_a_change_not_flattened() {
        let mut current = state();
        current.tag_mutability = "IMMUTABLE_WITH_EXCLUSION".into();
        let plan =
            RepositoryPlan::new("r", &RepositoryConfig::default(), Some(&current), None).unwrap();
        assert_eq!(
            plan.changes[0].current.as_deref(),
            Some("IMMUTABLE_WITH_EXCLUSION")
        );
    }

    #[test]
    fn tags_that_may_move_are_planned_set_changed_and_removed() {
        let mut wanted = RepositoryConfig {
            mutable_tags: vec!["latest".into()],
            ..RepositoryConfig::default()
        };
        let shown = |plan: &RepositoryPlan| {
            plan.changes
                .iter()
                .map(|c| format!("{:?} -> {:?}", c.current, c.wanted))
                .collect::<Vec<_>>()
        };
        // Set.
        let plan = RepositoryPlan::new("r", &wanted, Some(&state()), None).unwrap();
        assert_eq!(
            shown(&plan),
            vec![r#"Some("IMMUTABLE") -> Some("IMMUTABLE_WITH_EXCLUSION (latest)")"#]
        );
        assert!(plan.has(Operation::PutImageTagMutability));
        // In place: nothing.
        let mut current = state();
        current.tag_mutability = "IMMUTABLE_WITH_EXCLUSION".into();
        current.mutable_tags = vec!["latest".into()];
        assert!(
            RepositoryPlan::new("r", &wanted, Some(&current), None)
                .unwrap()
                .changes
                .is_empty()
        );
        // Changed, then removed.
        wanted.mutable_tags.push("dev-*".into());
        let plan = RepositoryPlan::new("r", &wanted, Some(&current), None).unwrap();
        assert_eq!(
            shown(&plan),
            vec![
                r#"Some("IMMUTABLE_WITH_EXCLUSION (latest)") -> Some("IMMUTABLE_WITH_EXCLUSION (latest, dev-*)")"#
            ]
        );
        let plan =
            RepositoryPlan::new("r", &RepositoryConfig::default(), Some(&current), None).unwrap();
        assert_eq!(
            shown(&plan),
            vec![r#"Some("IMMUTABLE_WITH_EXCLUSION (latest)") -> Some("IMMUTABLE")"#]
        );
    }

    #[test]
    fn a_registry_rule_that_scans_on_push_replaces_the_repositorys_own_flag() {
        let rule = "the registry's BASIC scanning, SCAN_ON_PUSH for `*`";
        let mut current = state();
        current.scan_on_push = false;
        // ECR ignores the repository's flag under a registry rule: nothing to change.
        let plan = RepositoryPlan::new(
            "r",
            &RepositoryConfig::default(),
            Some(&current),
            Some(rule),
        )
        .unwrap();
        assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        assert_eq!(plan.scanning, format!("on push, by {rule}"));
        // Without one, the repository's flag keeps the promise.
        let plan =
            RepositoryPlan::new("r", &RepositoryConfig::default(), Some(&current), None).unwrap();
        assert!(plan.has(Operation::PutImageScanningConfiguration));
        assert_eq!(plan.scanning, "on push, by the repository's own setting");
    }

    #[test]
    fn encryption_cannot_change() {
        let mut current = state();
        current.encryption = "KMS".into();
        let err = RepositoryPlan::new("r", &RepositoryConfig::default(), Some(&current), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot change a repository's encryption"),
            "{err}"
        );
    }
}
