//! `shipit logs`: the service's CloudWatch log events, backfilled with FilterLogEvents
//! (every page), then, with `--follow`, new events as they arrive: each printed once, in order
//! within its stream, new tasks' streams included.
//!
//! Following uses CloudWatch Live Tail: the session is opened before the backfill, so every
//! event ingested after the backfill's snapshot reaches it. When the service drops events from
//! a busy session (`sampled`), or a session ends (three hours at most) or breaks, a
//! FilterLogEvents catch-up covers the gap. `logs::merge::Merger` makes each handover exactly-once; `logs::follow` runs it all.
//! Where Live Tail is not available (an endpoint without it, no `logs:StartLiveTail`
//! permission) or with `--poll`, following polls FilterLogEvents instead, within its budget of
//! 5 requests a second.

use clap::Args;

use super::GlobalArgs;
use crate::exit::{BadInput, ExitStatus};
use crate::logs::follow::Follower;
use crate::printer::Printer;
use crate::session::Session;
use crate::signals::Interrupt;

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// How far back to start: a duration (10m, 2h) or an ISO time (2026-11-28T09:00:00Z).
    #[arg(long, default_value = "10m")]
    pub since: String,
    /// Keep printing new events until interrupted (through CloudWatch Live Tail where the
    /// account allows it, which AWS bills per session minute; else by polling).
    #[arg(short, long)]
    pub follow: bool,
    /// Follow by polling FilterLogEvents, never through Live Tail.
    #[arg(long, requires = "follow")]
    pub poll: bool,
    /// A CloudWatch Logs filter pattern (`ERROR`, `"timed out"`, `{ $.level = "error" }`).
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Only this task's events (its id, as `shipit status` shows it).
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The container whose events to show. Default: the config's container.
    #[arg(long, value_name = "NAME")]
    pub container: Option<String>,
}

/// `--since`: a duration back from now, or an RFC 3339 time. Milliseconds since the epoch.
pub fn parse_since(text: &str, now_ms: i64) -> Result<i64, BadInput> {
    if let Ok(duration) = crate::clock::parse_duration(text) {
        return Ok(now_ms - duration.as_millis() as i64);
    }
    aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
        .ok()
        .and_then(|t| t.to_millis().ok())
        .ok_or_else(|| {
            BadInput::new(format!(
                "--since `{text}` is neither a duration (10m, 2h) nor an ISO time (2026-11-28T09:00:00Z)"
            ))
        })
}

pub async fn run(
    args: &LogsArgs,
    global: &GlobalArgs,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let (members, _) = super::load_fleet(global, printer)?;
    if let [member] = members.as_slice() {
        return logs_of(args, global, member.loaded.clone(), printer).await;
    }
    if !args.follow {
        return super::for_each_member(&members, printer, |loaded, printer| async move {
            logs_of(args, global, loaded, &printer).await
        })
        .await;
    }
    // Following a fleet: every service at once, each line led by its service's name.
    let followed = futures_util::future::join_all(members.iter().map(|member| {
        let printer = printer.with_prefix(&crate::fleet::label(member));
        async move { logs_of(args, global, member.loaded.clone(), &printer).await }
    }))
    .await;
    for result in followed {
        result?;
    }
    Ok(ExitStatus::Success)
}

async fn logs_of(
    args: &LogsArgs,
    global: &GlobalArgs,
    loaded: crate::config::LoadedConfig,
    printer: &Printer,
) -> anyhow::Result<ExitStatus> {
    let now_ms = (crate::clock::now_epoch_seconds() * 1000.0) as i64;
    let since = parse_since(&args.since, now_ms)?;
    let session = Session::open(loaded, &global.aws.settings(), printer).await?;
    let (loaded, clients) = (&session.loaded, &session.clients);
    let container = args
        .container
        .clone()
        .unwrap_or_else(|| loaded.names.container.clone());
    let prefix = match &args.task {
        Some(task) => format!("{}/{container}/{task}", loaded.config.logs.stream_prefix),
        None => format!("{}/{container}/", loaded.config.logs.stream_prefix),
    };
    let mut follower = Follower::new(
        &clients.logs,
        &loaded.names.log_group,
        &prefix,
        args.filter.as_deref(),
        since,
        printer,
    );
    // A container whose logs go through FireLens writes none to the service's log group.
    let routed = loaded
        .config
        .container_specs(&loaded.names.container)
        .into_iter()
        .find(|spec| spec.name == container)
        .and_then(|spec| spec.firelens);
    if let Some(firelens) = &routed {
        printer.warn(&firelens_note(
            &container,
            &loaded.names.log_group,
            firelens,
        ));
    }
    // Where lines may be missing from: the driver's delivery mode, said once when following.
    if args.follow && !printer.is_json() && routed.is_none() {
        printer.info(&loaded.config.logs.delivery_note());
    }
    if !args.follow {
        follower.catch_up(since).await?;
        return Ok(ExitStatus::Success);
    }
    // From here on Ctrl-C (or SIGTERM) ends following wherever it is, and exits 0.
    let mut interrupt = Interrupt::listen()?;
    tokio::select! {
        followed = follower.follow(args.poll) => followed?,
        _ = interrupt.recv() => {}
    }
    Ok(ExitStatus::Success)
}

/// Where a FireLens container's lines go instead of `group`, as its output's options say.
fn firelens_note(
    container: &str,
    group: &str,
    firelens: &crate::config::model::FirelensConfig,
) -> String {
    let output = firelens
        .options
        .get("Name")
        .map(|name| {
            let destination = firelens
                .options
                .get("log_group_name")
                .or_else(|| firelens.options.get("delivery_stream"))
                .or_else(|| firelens.options.get("stream"))
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            format!("the `{name}` output{destination}")
        })
        .unwrap_or_else(|| "the log router's own configuration".to_string());
    format!(
        "container {container} sends its logs through FireLens to {output}, not to {group}: shipit logs shows only what reaches {group} (the router's own lines, and those the router sends there)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_durations_and_iso_times() {
        let now = 1_800_000_000_000;
        assert_eq!(parse_since("10m", now).unwrap(), now - 600_000);
        assert_eq!(parse_since("2h", now).unwrap(), now - 7_200_000);
        assert_eq!(
            parse_since("2026-11-28T09:00:00Z", now).unwrap(),
            1_795_856_400_000
        );
        assert!(parse_since("yesterday", now).is_err());
    }
}
