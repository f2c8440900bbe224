//! A loopback proxy in front of the local stack that plays one part of ECS the stack does not
//! model: a service's PRIMARY deployment carries the Service Connect configuration and the
//! volume configurations the service was last given (ECS API reference, Deployment:
//! `serviceConnectConfiguration`, `volumeConfigurations`), and the service the registries an
//! UpdateService gave it. The stack accepts these and answers them with nothing (or, for the
//! registries, what CreateService gave); through this proxy, DescribeServices answers them as
//! ECS does, so that adopting, planning and deploying services with these settings can be
//! tested end to end.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::loopback::LoopbackServer;

/// Fields answered on the PRIMARY deployment, and on the service.
const ON_DEPLOYMENT: [&str; 2] = ["serviceConnectConfiguration", "volumeConfigurations"];
const ON_SERVICE: [&str; 1] = ["serviceRegistries"];

/// service name -> field -> the value last sent.
type Sent = Arc<Mutex<BTreeMap<String, BTreeMap<String, Value>>>>;

pub struct DeploymentEcho {
    pub url: String,
    sent: Sent,
    _server: LoopbackServer,
}

impl DeploymentEcho {
    pub fn start(upstream: SocketAddr) -> DeploymentEcho {
        let sent: Sent = Arc::default();
        let shared = sent.clone();
        let server = LoopbackServer::start(move |client| {
            let sent = shared.clone();
            async move {
                let _ = handle(client, upstream, &sent).await;
            }
        });
        DeploymentEcho {
            url: server.url.clone(),
            sent,
            _server: server,
        }
    }

    /// What the service was last sent of `field`.
    pub fn last_sent(&self, service: &str, field: &str) -> Option<Value> {
        self.sent.lock().unwrap().get(service)?.get(field).cloned()
    }
}

/// A request's whole body (Content-Length bytes), `body` holding what came with the head.
async fn read_body(
    stream: &mut TcpStream,
    head: &str,
    mut body: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    while body.len() < length {
        let mut chunk = [0u8; 8192];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Ok(body)
}

/// `head` with its Content-Length set to `length` and the connection closed after it.
fn with_length(head: &str, length: usize) -> String {
    let mut lines: Vec<String> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| {
            let lower = l.to_ascii_lowercase();
            !lower.starts_with("content-length:")
                && !lower.starts_with("connection:")
                && !lower.starts_with("transfer-encoding:")
        })
        .map(str::to_string)
        .collect();
    lines.push(format!("Content-Length: {length}"));
    lines.push("Connection: close".to_string());
    format!("{}\r\n\r\n", lines.join("\r\n"))
}

fn target(head: &str) -> String {
    head.lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("x-amz-target")
                .then(|| value.trim().to_string())
        })
        .unwrap_or_default()
}

/// Passes a request that is not ECS's through as it comes (a registry upload streams).
async fn pass_through(
    client: TcpStream,
    upstream: SocketAddr,
    head: &str,
    read_ahead: &[u8],
) -> std::io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    let mut lines: Vec<&str> = head
        .trim_end_matches("\r\n")
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    server
        .write_all(format!("{}\r\n\r\n", lines.join("\r\n")).as_bytes())
        .await?;
    server.write_all(read_ahead).await?;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upload = async {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
    };
    let download = async {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    };
    tokio::join!(upload, download);
    Ok(())
}

async fn handle(mut client: TcpStream, upstream: SocketAddr, sent: &Sent) -> std::io::Result<()> {
    let Some((head, buf, head_end)) = super::loopback::read_head(&mut client).await? else {
        return Ok(());
    };
    let target = target(&head);
    if !target.starts_with("AmazonEC2ContainerServiceV20141113.") {
        return pass_through(client, upstream, &head, &buf[head_end..]).await;
    }
    let body = read_body(&mut client, &head, buf[head_end..].to_vec()).await?;
    let operation = target.rsplit('.').next().unwrap_or_default().to_string();
    if matches!(operation.as_str(), "CreateService" | "UpdateService")
        && let Ok(request) = serde_json::from_slice::<Value>(&body)
    {
        let service = request
            .get("serviceName")
            .or_else(|| request.get("service"))
            .and_then(Value::as_str)
            .map(|s| s.rsplit('/').next().unwrap_or(s).to_string());
        if let Some(service) = service {
            let mut sent = sent.lock().unwrap();
            let fields = sent.entry(service).or_default();
            for field in ON_DEPLOYMENT.iter().chain(&ON_SERVICE) {
                if let Some(value) = request.get(field) {
                    fields.insert((*field).to_string(), value.clone());
                }
            }
        }
    }
    let mut server = TcpStream::connect(upstream).await?;
    server
        .write_all(with_length(&head, body.len()).as_bytes())
        .await?;
    server.write_all(&body).await?;
    let mut response = Vec::new();
    server.read_to_end(&mut response).await?;
    let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
        client.write_all(&response).await?;
        return client.shutdown().await;
    };
    let response_head = String::from_utf8_lossy(&response[..head_end + 4]).into_owned();
    let chunked = response_head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let echoes = matches!(
        operation.as_str(),
        "DescribeServices" | "CreateService" | "UpdateService"
    );
    let parsed = serde_json::from_slice::<Value>(&response[head_end + 4..]);
    match parsed {
        Ok(mut doc) if echoes && !chunked => {
            let sent = sent.lock().unwrap().clone();
            let services: Vec<&mut Value> = match doc.get_mut("services") {
                Some(Value::Array(items)) => items.iter_mut().collect(),
                _ => doc.get_mut("service").into_iter().collect(),
            };
            for service in services {
                let name = service
                    .get("serviceName")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let Some(fields) = sent.get(&name) else {
                    continue;
                };
                for (field, value) in fields
                    .iter()
                    .filter(|(f, _)| ON_SERVICE.contains(&f.as_str()))
                {
                    service[field.as_str()] = value.clone();
                }
                let Some(Value::Array(deployments)) = service.get_mut("deployments") else {
                    continue;
                };
                for deployment in deployments
                    .iter_mut()
                    .filter(|d| d.get("status").and_then(Value::as_str) == Some("PRIMARY"))
                {
                    for (field, value) in fields
                        .iter()
                        .filter(|(f, _)| ON_DEPLOYMENT.contains(&f.as_str()))
                    {
                        deployment[field.as_str()] = value.clone();
                    }
                }
            }
            let body = serde_json::to_vec(&doc).unwrap_or_default();
            client
                .write_all(with_length(&response_head, body.len()).as_bytes())
                .await?;
            client.write_all(&body).await?;
        }
        _ => client.write_all(&response).await?,
    }
    client.shutdown().await
}
