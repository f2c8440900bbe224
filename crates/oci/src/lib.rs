//! Container images and OCI registries, without AWS: reading images from their sources (the
//! Docker engine, docker archives, OCI layouts and archives), compressing their layers, and
//! pushing them to a registry that speaks the OCI distribution API. Like go-containerregistry's
//! split, this crate knows nothing of ECR or ECS: shipit gives it a registry URL and
//! credentials, and hears of each request through `registry::observe_requests` (its call
//! record). The compiler keeps it that way, and fuzzing or benchmarking it needs no AWS SDK.
//!
//! What it shares with the rest of shipit: the cache folder and its atomic writes (`cache`),
//! and two text helpers (`printable` for what a remote end sends, `error_chain` for errors).

pub mod cache;
pub mod image;
pub mod registry;
pub mod transport;

/// Text from a remote end (a registry's error, an ECS event, a log line) made safe for a
/// terminal: control characters (escape sequences can set a window title or the clipboard)
/// become `\u{..}`, except tab and newline; at most `max` characters are kept.
pub fn printable(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    for (count, c) in text.chars().enumerate() {
        if count >= max {
            out.push('…');
            break;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    out
}

/// An error and its causes on one line: "dispatch failure: io error: ... Connection refused".
/// (The SDK's own `DisplayErrorContext` appends a Debug dump that helps no user.)
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        // Wrappers often repeat their cause's text: keep each piece once.
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}
