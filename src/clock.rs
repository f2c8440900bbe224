//! Time as shipit reads and writes it: now (as epoch seconds, what ECS and CloudWatch count
//! in), and durations written by people (`90s`, `10m`, `1h30m`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the epoch, now.
pub fn now_epoch_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `90s`, `10m`, `1h`, `1h30m`, or plain seconds: the flags' durations (`--timeout`,
/// `--since`), read by the same rule as the config's (`config::model::parse_seconds`).
/// Seconds since the epoch as an ISO 8601 time in UTC (`2026-12-06T04:50:00Z`).
pub fn utc_time(epoch_seconds: f64) -> String {
    aws_smithy_types::DateTime::from_secs_f64(epoch_seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| format!("{epoch_seconds:.0} s after the epoch"))
}

pub fn parse_duration(text: &str) -> Result<Duration, String> {
    crate::config::model::parse_seconds(text)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is not a duration: write 90s, 10m or 1h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_or_plain_seconds() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5m3").is_err());
    }
}
