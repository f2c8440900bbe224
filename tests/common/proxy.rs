//! A loopback TCP proxy that breaks uploads: each of the first `cuts` connections that carry
//! more than `after` bytes from the client is closed mid-request. Everything else passes.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct CuttingProxy {
    pub url: String,
    pub cuts_done: Arc<AtomicUsize>,
    _runtime: tokio::runtime::Runtime,
}

impl CuttingProxy {
    pub fn start(upstream: SocketAddr, after: u64, cuts: usize) -> CuttingProxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let cuts_done = Arc::new(AtomicUsize::new(0));
        let counter = cuts_done.clone();
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    if let Ok(server) = TcpStream::connect(upstream).await {
                        relay(client, server, after, cuts, counter).await;
                    }
                });
            }
        });
        CuttingProxy {
            url,
            cuts_done,
            _runtime: runtime,
        }
    }
}

async fn relay(
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
            if sent > after
                && done
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| {
                        (d < cuts).then_some(d + 1)
                    })
                    .is_ok()
            {
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
