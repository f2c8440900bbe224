//! The part every test proxy shares: a listener on a loopback port, served by its own runtime
//! (tests are synchronous), handing each accepted connection to the proxy's handler.

#![allow(dead_code)]

use std::future::Future;

use tokio::net::{TcpListener, TcpStream};

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
