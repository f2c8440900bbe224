//! CloudWatch Logs: the reads deploy needs (the log group, and the last lines a failing
//! container wrote; its planned changes are applied by `apply::log_group`), and following a
//! service's events: Live Tail sessions (`live_tail`), the exactly-once merge of Live Tail with
//! FilterLogEvents pages (`merge`), and the follower that runs them (`follow`).

pub mod follow;
pub mod live_tail;
pub mod merge;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::types::LogGroup;

use crate::aws::error::AwsError;

/// The log group named exactly `name`, or None when there is none. Groups come back sorted by
/// name, and `name` sorts before every other group it is a prefix of, so the first page holds it.
pub async fn find_log_group(client: &Client, name: &str) -> anyhow::Result<Option<LogGroup>> {
    let found = client
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .map_err(|e| AwsError::from_sdk("CloudWatch", "DescribeLogGroups", &e).on(name))?;
    Ok(found
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .cloned())
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
        Err(err) => Err(AwsError::from_sdk("CloudWatch", "GetLogEvents", &err)
            .on(stream)
            .into()),
    }
}
