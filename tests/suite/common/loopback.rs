//! The part every test proxy shares: a listener on a loopback port, served by its own runtime
//! (tests are synchronous), handing each accepted connection to the proxy's handler.

#![allow(dead_code)]

use std::future::Future;

use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

/// Reads a request's head from `client`: the head as text, the bytes read (the head and what
/// of the body came with it) and where the head ends in them; None when the client closed
/// first.
pub async fn read_head(
    client: &mut TcpStream,
) -> std::io::Result<Option<(String, Vec<u8>, usize)>> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let mut chunk = [0u8; 8192];
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    Ok(Some((
        String::from_utf8_lossy(&buf[..head_end]).into_owned(),
        buf,
        head_end,
    )))
}

/// A running proxy; it stops when dropped (its runtime goes with it).
pub struct LoopbackServer {
    pub url: String,
    _runtime: tokio::runtime::Runtime,
}

impl LoopbackServer {
    /// Listens on 127.0.0.1 (a free port) and runs `handle` on every connection, each on its
    /// own task.
    pub fn start<H, F>(handle: H) -> LoopbackServer
    where
        H: Fn(TcpStream) -> F + Send + 'static,
        F: Future<Output = ()> + Send + 'static,
    {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(handle(client));
            }
        });
        LoopbackServer {
            url,
            _runtime: runtime,
        }
    }
}
