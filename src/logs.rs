//! The CloudWatch Logs calls deploy needs: the log group with its retention, and the last lines
//! a failing container wrote.

use anyhow::bail;
use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::LogGroup;

use crate::aws::error_chain;

/// What `ensure_log_group` did or would do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum LogGroupChange {
    None,
    Create { retention_days: Option<i32> },
    Retention { from: Option<i32>, to: i32 },
}

/// The log group named exactly `name`, or None when there is none. Groups come back sorted by
/// name, and `name` sorts before every other group it is a prefix of, so the first page holds it.
pub async fn find_log_group(client: &Client, name: &str) -> anyhow::Result<Option<LogGroup>> {
    let found = client
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "CloudWatch DescribeLogGroups `{name}` failed: {}",
                error_chain(&e)
            )
        })?;
    Ok(found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .cloned())
}

/// Creates the group (and sets its retention) or corrects its retention. With `dry_run`, only
/// says what it would do.
pub async fn ensure_log_group(
    client: &Client,
    name: &str,
    retention_days: Option<i32>,
    dry_run: bool,
) -> anyhow::Result<LogGroupChange> {
    let existing = find_log_group(client, name).await?;
    let change = match existing {
        None => LogGroupChange::Create { retention_days },
        Some(group) => match retention_days {
            Some(days) if group.retention_in_days() != Some(days) => LogGroupChange::Retention {
                from: group.retention_in_days(),
                to: days,
            },
            // No retention in the config: a retention set elsewhere is left alone.
            _ => LogGroupChange::None,
        },
    };
    if dry_run {
        return Ok(change);
    }
    if let LogGroupChange::Create { .. } = change {
        match client.create_log_group().log_group_name(name).send().await {
            Ok(_) => {}
            // Created by a concurrent run: fine.
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_resource_already_exists_exception()) => {}
            Err(err) => bail!(
                "CloudWatch CreateLogGroup `{name}` failed: {}",
                error_chain(&err)
            ),
        }
    }
    let days = match change {
        LogGroupChange::Create {
            retention_days: Some(days),
        } => Some(days),
        LogGroupChange::Retention { to, .. } => Some(to),
        _ => None,
    };
    if let Some(days) = days {
        client
            .put_retention_policy()
            .log_group_name(name)
            .retention_in_days(days)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("CloudWatch PutRetentionPolicy failed: {}", error_chain(&e))
            })?;
    }
    Ok(change)
}

/// The stream the awslogs driver writes a task's container to.
pub fn stream_name(prefix: &str, container: &str, task_id: &str) -> String {
    format!("{prefix}/{container}/{task_id}")
}

/// The last `n` lines of a stream (empty when the stream does not exist yet).
pub async fn last_lines(
    client: &Client,
    group: &str,
    stream: &str,
    n: i32,
) -> anyhow::Result<Vec<String>> {
    match client
        .get_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .start_from_head(false)
        .limit(n)
        .send()
        .await
    {
        Ok(out) => {
            // Oldest first, whatever order the endpoint answers in.
            let mut events = out.events().to_vec();
            events.sort_by_key(|e| e.timestamp());
            Ok(events
                .iter()
                .filter_map(|e| e.message().map(|m| m.trim_end().to_string()))
                .collect())
        }
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception()) =>
        {
            Ok(Vec::new())
        }
        Err(err) => bail!(
            "CloudWatch GetLogEvents `{stream}` failed: {}",
            error_chain(&err)
        ),
    }
}
