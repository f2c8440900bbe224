//! A loopback HTTP proxy that injects one kind of fault into chosen requests, between shipit
//! and the local stack (AWS APIs and the registry alike): a connection reset mid-request, a
//! delay, an error status (500, 503, throttling), or a response cut short.
//!
//! Each connection carries one request (the proxy asks the server to close after it), so every
//! request is seen and matched: a request matches when its head (request line and headers)
//! contains every one of the rule's strings. The first `skip` matches pass; the next `times`
//! get the fault; the rest pass.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::loopback::LoopbackServer;

#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// The connection is reset once the request head arrived.
    Reset,
    /// An answer with this status and an error body in the protocol of the request (AWS JSON
    /// `__type`, or the registry's `errors`).
    Status(u16),
    /// AWS's throttling answer (400 ThrottlingException), or the registry's 429.
    Throttle,
    /// The request is held this long, then passed on.
    Delay(Duration),
    /// The real response, cut off halfway through its body.
    Truncate,
    /// ECS's own throttling, as a token bucket: matching requests beyond `burst` at once, or
    /// more than `per_second` over time, get AWS's throttling answer (`skip` and `times` do not
    /// apply).
    RateLimit { per_second: f64, burst: f64 },
    /// A 200 answer with this AWS JSON body (a setting the stack does not model).
    Json(&'static str),
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub matches: Vec<&'static str>,
    pub fault: Fault,
    pub skip: usize,
    pub times: usize,
}

pub struct FaultProxy {
    pub url: String,
    /// How many requests matched (faulted or not).
    pub matched: Arc<AtomicUsize>,
    /// How many faults were injected.
    pub injected: Arc<AtomicUsize>,
    _server: LoopbackServer,
}

/// The proxy's token bucket for `Fault::RateLimit`: tokens, and when they were counted.
type Bucket = Arc<std::sync::Mutex<(f64, std::time::Instant)>>;

impl FaultProxy {
    pub fn start(upstream: SocketAddr, rule: Rule) -> FaultProxy {
        let matched = Arc::new(AtomicUsize::new(0));
        let injected = Arc::new(AtomicUsize::new(0));
        let (m, i) = (matched.clone(), injected.clone());
        let burst = match rule.fault {
            Fault::RateLimit { burst, .. } => burst,
            _ => 0.0,
        };
        let bucket: Bucket = Arc::new(std::sync::Mutex::new((burst, std::time::Instant::now())));
        let rule = Arc::new(rule);
        let server = LoopbackServer::start(move |client| {
            let (m, i, rule, bucket) = (m.clone(), i.clone(), rule.clone(), bucket.clone());
            async move {
                let _ = handle(client, upstream, &rule, &m, &i, &bucket).await;
            }
        });
        FaultProxy {
            url: server.url.clone(),
            matched,
            injected,
            _server: server,
        }
    }
}

async fn handle(
    mut client: TcpStream,
    upstream: SocketAddr,
    rule: &Rule,
    matched: &AtomicUsize,
    injected: &AtomicUsize,
    bucket: &Bucket,
) -> std::io::Result<()> {
    let Some((head, buf, head_end)) = super::loopback::read_head(&mut client).await? else {
        return Ok(());
    };
    let mut fault = None;
    if rule.matches.iter().all(|m| head.contains(m)) {
        let n = matched.fetch_add(1, Ordering::SeqCst);
        if let Fault::RateLimit { per_second, burst } = rule.fault {
            let mut bucket = bucket.lock().unwrap();
            let now = std::time::Instant::now();
            bucket.0 =
                (bucket.0 + now.duration_since(bucket.1).as_secs_f64() * per_second).min(burst);
            bucket.1 = now;
            if bucket.0 >= 1.0 {
                bucket.0 -= 1.0;
            } else {
                injected.fetch_add(1, Ordering::SeqCst);
                fault = Some(Fault::Throttle);
            }
        } else if n >= rule.skip && n < rule.skip.saturating_add(rule.times) {
            injected.fetch_add(1, Ordering::SeqCst);
            fault = Some(rule.fault);
        }
    }
    let registry = head.contains(" /v2/");
    match fault {
        Some(Fault::Reset) => {
            // A zero linger makes the close a reset (RST). Deprecated because a non-zero
            // linger blocks on drop; zero does not.
            #[allow(deprecated)]
            client.set_linger(Some(Duration::ZERO))?;
            return Ok(());
        }
        Some(Fault::Status(status)) => return answer(client, status, registry).await,
        Some(Fault::Throttle) => {
            return answer(client, if registry { 429 } else { 400 }, registry).await;
        }
        Some(Fault::Delay(pause)) => tokio::time::sleep(pause).await,
        Some(Fault::Json(body)) => {
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            client.write_all(response.as_bytes()).await?;
            return client.shutdown().await;
        }
        Some(Fault::Truncate) | Some(Fault::RateLimit { .. }) | None => {}
    }

    let mut server = TcpStream::connect(upstream).await?;
    server
        .write_all(close_after(&buf[..head_end]).as_bytes())
        .await?;
    server.write_all(&buf[head_end..]).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upload = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    };
    let download = async {
        if matches!(fault, Some(Fault::Truncate)) {
            // The whole response (the server closes after it), then half of its body.
            let mut response = Vec::new();
            let _ = server_read.read_to_end(&mut response).await;
            let body_start = find(&response, b"\r\n\r\n").map_or(0, |e| e + 4);
            let cut = body_start + (response.len() - body_start) / 2;
            let _ = client_write.write_all(&response[..cut]).await;
        } else {
            let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        }
        let _ = client_write.shutdown().await;
    };
    tokio::select! {
        _ = async { tokio::join!(upload, download) } => {}
        _ = tokio::time::sleep(Duration::from_secs(120)) => {}
    }
    Ok(())
}

/// The request head with `Connection: close`, so the connection carries this request only.
fn close_after(head: &[u8]) -> String {
    let text = String::from_utf8_lossy(head);
    let mut lines: Vec<&str> = text
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

async fn answer(mut client: TcpStream, status: u16, registry: bool) -> std::io::Result<()> {
    let (reason, body) = match (status, registry) {
        (429, _) => (
            "Too Many Requests",
            r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"injected by the test proxy"}]}"#,
        ),
        (400, false) => (
            "Bad Request",
            r#"{"__type":"ThrottlingException","message":"Rate exceeded (injected by the test proxy)"}"#,
        ),
        (_, true) => (
            "Service Unavailable",
            r#"{"errors":[{"code":"UNAVAILABLE","message":"injected by the test proxy"}]}"#,
        ),
        (500, false) => (
            "Internal Server Error",
            r#"{"__type":"InternalFailure","message":"injected by the test proxy"}"#,
        ),
        (_, false) => (
            "Service Unavailable",
            r#"{"__type":"ServiceUnavailableException","message":"injected by the test proxy"}"#,
        ),
    };
    let response = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    client.write_all(response.as_bytes()).await?;
    client.shutdown().await?;
    // Let the client finish sending (and see the answer) before the socket goes.
    let mut sink = [0u8; 8192];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(n) = client.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
    Ok(())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
