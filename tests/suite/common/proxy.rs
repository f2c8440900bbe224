//! A loopback TCP proxy that breaks connections: each of the first `cuts` connections that
//! carry more than `after` bytes from the client (an upload) is closed mid-request; or, in the
//! response mode, each of the first `cuts` connections whose request contains a marker (an
//! operation name) is closed once more than `after` bytes of its response went through (a
//! stream broken mid-way). Everything else passes.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::loopback::LoopbackServer;

pub struct CuttingProxy {
    pub url: String,
    pub cuts_done: Arc<AtomicUsize>,
    _server: LoopbackServer,
}

impl CuttingProxy {
    pub fn start(upstream: SocketAddr, after: u64, cuts: usize) -> CuttingProxy {
        CuttingProxy::with_rule(upstream, Rule::Upload { after }, cuts)
    }

    /// Cuts responses to requests that contain `marker`, after `after` bytes.
    pub fn cutting_responses(
        upstream: SocketAddr,
        marker: &'static str,
        after: u64,
        cuts: usize,
    ) -> CuttingProxy {
        CuttingProxy::with_rule(upstream, Rule::Response { marker, after }, cuts)
    }

    fn with_rule(upstream: SocketAddr, rule: Rule, cuts: usize) -> CuttingProxy {
        let cuts_done = Arc::new(AtomicUsize::new(0));
        let counter = cuts_done.clone();
        let server = LoopbackServer::start(move |client| {
            let counter = counter.clone();
            async move {
                if let Ok(server) = TcpStream::connect(upstream).await {
                    relay(client, server, rule, cuts, counter).await;
                }
            }
        });
        CuttingProxy {
            url: server.url.clone(),
            cuts_done,
            _server: server,
        }
    }
}

#[derive(Clone, Copy)]
enum Rule {
    Upload { after: u64 },
    Response { marker: &'static str, after: u64 },
}

/// Counts one more cut, unless `cuts` were made already.
fn take_cut(done: &AtomicUsize, cuts: usize) -> bool {
    done.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| {
        (d < cuts).then_some(d + 1)
    })
    .is_ok()
}

async fn relay(
    client: TcpStream,
    server: TcpStream,
    rule: Rule,
    cuts: usize,
    done: Arc<AtomicUsize>,
) {
    match rule {
        Rule::Upload { after } => relay_cutting_uploads(client, server, after, cuts, done).await,
        Rule::Response { marker, after } => {
            relay_cutting_responses(client, server, marker, after, cuts, done).await
        }
    }
}

async fn relay_cutting_responses(
    client: TcpStream,
    server: TcpStream,
    marker: &'static str,
    after: u64,
    cuts: usize,
    done: Arc<AtomicUsize>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let marked = std::sync::atomic::AtomicBool::new(false);
    let upstream = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            if String::from_utf8_lossy(&buf[..n]).contains(marker) {
                marked.store(true, Ordering::SeqCst);
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let mut received = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match server_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            received += n as u64;
            if received > after && marked.load(Ordering::SeqCst) && take_cut(&done, cuts) {
                return;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}

async fn relay_cutting_uploads(
    client: TcpStream,
    server: TcpStream,
    after: u64,
    cuts: usize,
    done: Arc<AtomicUsize>,
) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = async {
        let mut sent = 0u64;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            sent += n as u64;
            if sent > after && take_cut(&done, cuts) {
                // Mid-request: drop both directions without a word.
                return;
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                return;
            }
        }
    };
    let downstream = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
    };
    // Whichever side ends first ends the connection.
    tokio::select! {
        _ = upstream => {}
        _ = downstream => {}
    }
}
