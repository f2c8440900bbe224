//! One ECS Exec session over its WebSocket: connect to the stream URL ExecuteCommand gave,
//! open the data channel with the session's token, and carry the user's input and the
//! command's output until the agent closes the channel. The protocol's rules are `channel`'s;
//! this module does the I/O, the waiting, and the KMS call a handshake may ask for.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::{self, Message, protocol::WebSocketConfig};

use super::channel::{ActionOutcome, Channel, ChannelError, Event, RequestedAction};
use super::cipher::{DATA_KEY_BYTES, SessionCipher};
use super::frame::{PayloadType, TERMINATE_SESSION};

/// How long the WebSocket may take to open, and the agent to finish its handshake.
const CONNECT_DEADLINE: Duration = Duration::from_secs(20);
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(30);
/// How often unacknowledged input is looked at (the plugin's resend interval).
const RESEND_TICK: Duration = Duration::from_millis(100);
/// A ping keeps idle proxies from closing a quiet session (the plugin's interval).
const PING_EVERY: Duration = Duration::from_secs(300);
/// The agent sends at most 1 KiB of output per message; anything far larger is not the agent.
const MAX_MESSAGE: usize = 256 * 1024;

/// Where and how to reach the session, from ExecuteCommand's answer. Not `Debug`: the token
/// is the session's credential.
pub struct SessionTarget {
    pub stream_url: String,
    pub token: String,
    pub session_id: String,
    /// `ecs:CLUSTER_TASK-ID_RUNTIME-ID`, bound into a KMS data key's encryption context.
    pub target_id: String,
}

/// A KMS data key: the plaintext (kept in memory only) and its ciphertext for the agent.
pub struct DataKey {
    pub plaintext: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Asks KMS for a session's data key (GenerateDataKey).
pub trait DataKeySource {
    fn data_key(
        &self,
        key_id: &str,
        encryption_context: &[(&str, &str)],
    ) -> impl std::future::Future<Output = anyhow::Result<DataKey>> + Send;
}

/// What the user does while the session runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Keys(Vec<u8>),
    Resize {
        cols: u16,
        rows: u16,
    },
    /// Ask the agent to end the session (Ctrl-C when there is no terminal to forward it).
    Terminate,
}

/// What the session shows the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// A line from the agent or about the session (the handshake's customer message).
    Notice(String),
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ended {
    /// As the agent reported it (`EXIT_CODE: N`); None when it did not.
    pub exit_code: Option<i32>,
    /// The agent's closing words, when it closed the channel.
    pub closing: Option<String>,
    pub encrypted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("refusing to send the session's token to {0}: {1}")]
    Url(String, &'static str),
    #[error("cannot open the data channel at {host}: {why}")]
    Connect { host: String, why: String },
    #[error("the agent did not complete its handshake within {}s", HANDSHAKE_DEADLINE.as_secs())]
    Handshake,
    #[error("the data channel closed before the session ended{0}")]
    Closed(String),
    #[error("KMS encryption of the session failed: {0}")]
    Kms(String),
    #[error(transparent)]
    Channel(#[from] ChannelError),
    #[error("the data channel failed: {0}")]
    Socket(String),
}

/// The stream URL's host, checked: TLS (`wss://`) always, except plain `ws://` on loopback
/// (the local stack and tests); and an AWS host unless an endpoint override is in force.
pub fn check_stream_url(url: &str, endpoint_override: bool) -> Result<url::Url, SessionError> {
    let parsed = url::Url::parse(url).map_err(|_| {
        SessionError::Url(
            crate::redact::printable(url, 80),
            "ExecuteCommand gave no valid stream URL",
        )
    })?;
    let host = parsed.host_str().unwrap_or_default().to_string();
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "wss" => {}
        "ws" if loopback => {}
        _ => return Err(SessionError::Url(host, "it is not a wss:// URL")),
    }
    let aws_host = [".amazonaws.com", ".amazonaws.com.cn", ".api.aws"]
        .iter()
        .any(|suffix| host.ends_with(suffix));
    if !endpoint_override && !loopback && !aws_host {
        return Err(SessionError::Url(host, "it is not an AWS host"));
    }
    Ok(parsed)
}

/// TLS as every other shipit connection has it: rustls with the platform's trust store.
fn tls_connector() -> Result<tokio_tungstenite::Connector, SessionError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| SessionError::Socket(format!("TLS setup: {e}")))?
        .with_no_client_auth();
    Ok(tokio_tungstenite::Connector::Rustls(std::sync::Arc::new(
        config,
    )))
}

/// Runs the session until the agent closes it; `show` gets the output in order. Input is
/// held until the handshake is complete.
pub async fn run<K: DataKeySource>(
    target: &SessionTarget,
    endpoint_override: bool,
    keys: &K,
    mut input: mpsc::Receiver<Input>,
    mut show: impl FnMut(Shown),
) -> Result<Ended, SessionError> {
    let url = check_stream_url(&target.stream_url, endpoint_override)?;
    let host = url.host_str().unwrap_or_default().to_string();
    let connector = if url.scheme() == "wss" {
        tls_connector()?
    } else {
        tokio_tungstenite::Connector::Plain
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let (mut socket, _) = tokio::time::timeout(
        CONNECT_DEADLINE,
        tokio_tungstenite::connect_async_tls_with_config(
            url.as_str(),
            Some(config),
            true,
            Some(connector),
        ),
    )
    .await
    .map_err(|_| SessionError::Connect {
        host: host.clone(),
        why: format!("no answer within {}s", CONNECT_DEADLINE.as_secs()),
    })?
    .map_err(|e| SessionError::Connect {
        host: host.clone(),
        why: socket_error(&e),
    })?;

    let client_id = uuid::Uuid::new_v4().to_string();
    socket
        .send(Message::text(Channel::open_message(
            &target.token,
            &client_id,
        )))
        .await
        .map_err(|e| SessionError::Socket(socket_error(&e)))?;

    let mut channel = Channel::new();
    let started = Instant::now();
    let mut ready = false;
    let mut input_open = true;
    let mut exit_code = None;
    let mut encrypted = false;
    // Why writing failed, once it has: the rest of what the agent sent is still read.
    let mut broken: Option<String> = None;
    let mut resend = tokio::time::interval(RESEND_TICK);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + PING_EVERY, PING_EVERY);

    loop {
        let mut outgoing = Vec::new();
        tokio::select! {
            message = socket.next() => {
                let bytes = match message {
                    Some(Ok(Message::Binary(bytes))) => bytes,
                    Some(Ok(Message::Close(_))) | None => {
                        // An agent that reported the exit code and hung up has said all.
                        if exit_code.is_some() {
                            return Ok(Ended { exit_code, closing: None, encrypted });
                        }
                        return Err(SessionError::Closed(
                            broken.map(|why| format!(": {why}")).unwrap_or_default(),
                        ));
                    }
                    Some(Ok(_)) => continue, // text, ping, pong: nothing for the channel
                    Some(Err(e)) => {
                        if exit_code.is_some() {
                            return Ok(Ended { exit_code, closing: None, encrypted });
                        }
                        return Err(SessionError::Closed(format!(": {}", socket_error(&e))));
                    }
                };
                let step = channel.receive(&bytes, Instant::now())?;
                outgoing.extend(step.send);
                for event in step.events {
                    match event {
                        Event::Handshake(request) => {
                            let (outcomes, cipher) =
                                handshake_outcomes(&request.actions, target, keys).await?;
                            encrypted |= cipher.is_some();
                            outgoing.extend(channel.answer_handshake(
                                &request,
                                &outcomes,
                                cipher,
                                Instant::now(),
                            ));
                        }
                        Event::Ready { customer_message } => {
                            ready = true;
                            if let Some(message) = customer_message {
                                show(Shown::Notice(message));
                            }
                        }
                        Event::Stdout(bytes) => show(Shown::Stdout(bytes)),
                        Event::Stderr(bytes) => show(Shown::Stderr(bytes)),
                        Event::ExitCode(code) => exit_code = Some(code),
                        Event::Closed { output } => {
                            flush(&mut socket, outgoing).await;
                            let _ = socket.close(None).await;
                            return Ok(Ended {
                                exit_code,
                                closing: Some(output).filter(|o| !o.is_empty()),
                                encrypted,
                            });
                        }
                    }
                }
            }
            next = input.recv(), if ready && input_open => match next {
                Some(Input::Keys(bytes)) => {
                    outgoing.extend(channel.send(PayloadType::Output, &bytes, Instant::now())?);
                }
                Some(Input::Resize { cols, rows }) => {
                    let size = serde_json::json!({ "cols": cols, "rows": rows }).to_string();
                    outgoing.extend(channel.send(PayloadType::Size, size.as_bytes(), Instant::now())?);
                }
                Some(Input::Terminate) => {
                    outgoing.extend(channel.send(
                        PayloadType::Flag,
                        &TERMINATE_SESSION.to_be_bytes(),
                        Instant::now(),
                    )?);
                }
                None => input_open = false,
            },
            _ = resend.tick() => {
                if !ready && started.elapsed() > HANDSHAKE_DEADLINE {
                    return Err(SessionError::Handshake);
                }
                outgoing.extend(channel.resends(Instant::now())?);
            }
            _ = ping.tick() => {
                socket
                    .send(Message::Ping(b"keepalive".to_vec().into()))
                    .await
                    .map_err(|e| SessionError::Socket(socket_error(&e)))?;
            }
        }
        if broken.is_none() {
            for bytes in outgoing {
                if let Err(e) = socket.send(Message::binary(bytes)).await {
                    // The agent may have hung up right after its last words
                    // (channel_closed): read what it sent before judging.
                    broken = Some(socket_error(&e));
                    break;
                }
            }
        }
    }
}

async fn flush<S>(socket: &mut S, outgoing: Vec<Vec<u8>>)
where
    S: SinkExt<Message> + Unpin,
{
    for bytes in outgoing {
        if socket.send(Message::binary(bytes)).await.is_err() {
            break;
        }
    }
}

/// Each requested action's outcome, and the cipher when KMS encryption was agreed.
async fn handshake_outcomes<K: DataKeySource>(
    actions: &[RequestedAction],
    target: &SessionTarget,
    keys: &K,
) -> Result<(Vec<ActionOutcome>, Option<SessionCipher>), SessionError> {
    let mut outcomes = Vec::new();
    let mut cipher = None;
    for action in actions {
        outcomes.push(match action {
            RequestedAction::SessionType(kind)
                if matches!(
                    kind.as_str(),
                    "Standard_Stream" | "InteractiveCommands" | "NonInteractiveCommands"
                ) =>
            {
                ActionOutcome::Done
            }
            RequestedAction::SessionType(kind) => ActionOutcome::Failed(format!(
                "Unknown session type {}",
                crate::redact::printable(kind, 40)
            )),
            RequestedAction::KmsEncryption { key_id } => {
                let context = [
                    ("aws:ssm:SessionId", target.session_id.as_str()),
                    ("aws:ssm:TargetId", target.target_id.as_str()),
                ];
                // The agent ends a session whose encryption it asked for and did not get:
                // say why here rather than wait for that.
                let key = keys
                    .data_key(key_id, &context)
                    .await
                    .map_err(|e| SessionError::Kms(format!("{e:#}")))?;
                if key.plaintext.len() != DATA_KEY_BYTES {
                    return Err(SessionError::Kms(format!(
                        "KMS gave a {}-byte data key; {DATA_KEY_BYTES} were asked for",
                        key.plaintext.len()
                    )));
                }
                cipher = Some(
                    SessionCipher::new(&key.plaintext)
                        .map_err(|e| SessionError::Kms(e.to_string()))?,
                );
                ActionOutcome::Encrypting {
                    ciphertext_key: key.ciphertext,
                }
            }
            RequestedAction::Unknown(_) => ActionOutcome::Unsupported,
        });
    }
    Ok((outcomes, cipher))
}

fn socket_error(error: &tungstenite::Error) -> String {
    crate::redact::printable(&error.to_string(), 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_over_tls_to_aws_or_in_clear_only_on_loopback() {
        let aws =
            "wss://ssmmessages.eu-west-1.amazonaws.com/v1/data-channel/s-1?role=publish_subscribe";
        assert!(check_stream_url(aws, false).is_ok());
        assert!(check_stream_url("ws://127.0.0.1:4566/v1/data-channel/s", false).is_ok());
        assert!(check_stream_url("ws://[::1]:9/x", true).is_ok());
        assert!(matches!(
            check_stream_url("ws://ssmmessages.eu-west-1.amazonaws.com/x", false),
            Err(SessionError::Url(_, "it is not a wss:// URL"))
        ));
        assert!(matches!(
            check_stream_url("wss://collector.example.net/x", false),
            Err(SessionError::Url(_, "it is not an AWS host"))
        ));
        // With an endpoint override the stack names its own host, over TLS.
        assert!(check_stream_url("wss://stack.internal:4566/x", true).is_ok());
        assert!(check_stream_url("https://ssmmessages.eu-west-1.amazonaws.com/", false).is_err());
    }
}
