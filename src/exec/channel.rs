//! The Session Manager data channel's rules, with no I/O of its own: fed the agent's messages
//! and the user's input, it says which messages to put on the wire and what happened.
//! `connection` does the reading, writing and waiting; keeping them apart lets every rule be
//! tested here, with the clock passed in.
//!
//! The rules are AWS's (session-manager-plugin, `src/datachannel/streaming.go`):
//! - Stream messages in each direction are numbered from 0. Each one the agent sends is
//!   acknowledged; one that comes early is kept until the gap before it is filled, one that
//!   comes again is acknowledged again and otherwise dropped.
//! - Each one shipit sends is kept until the agent acknowledges it, and sent again when no
//!   acknowledgement came within the retransmission timeout, which follows the measured round
//!   trip as TCP's does (RFC 6298's smoothing, 10 ms granularity, at most 1 s). After five
//!   minutes without one, the channel is taken for lost.
//! - The agent opens with a handshake (the session's type, perhaps KMS encryption); shipit
//!   answers, proves it holds the key when asked (the encryption challenge), and the agent
//!   says the handshake is complete.
//! - `pause_publication` asks shipit to hold its input; `start_publication` to go on.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use serde_json::{Value, json};

use super::cipher::{CipherError, SessionCipher};
use super::frame::{self, Frame, FrameError, PayloadType};

/// The largest payload shipit puts in one message (the plugin's `StreamDataPayloadSize`).
pub const MAX_CHUNK: usize = 1024;
/// Messages the agent sent ahead of a gap, kept until it is filled; more are dropped (the
/// agent sends them again).
const EARLY_CAPACITY: usize = 256;
/// How long a message may go unacknowledged, resent all the while, before the channel is
/// taken for lost (the plugin's 3,000 resends 100 ms apart).
pub const GIVE_UP_AFTER: Duration = Duration::from_secs(300);

const INITIAL_RTO: Duration = Duration::from_millis(200);
const INITIAL_RTT: Duration = Duration::from_millis(100);
const MAX_RTO: Duration = Duration::from_secs(1);
const CLOCK_GRANULARITY: Duration = Duration::from_millis(10);

/// The version shipit gives as its client version. The agent turns protocol features on by
/// this number; shipit speaks those of the plugin release it names (handshake, KMS
/// encryption, the encryption challenge, separate stderr and the exit code).
pub const CLIENT_VERSION: &str = "1.2.707.0";

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error(transparent)]
    Cipher(#[from] CipherError),
    #[error("the agent's {what} could not be read: {why}")]
    Payload { what: &'static str, why: String },
    #[error("the agent acknowledged nothing for {}s: the data channel is lost", GIVE_UP_AFTER.as_secs())]
    Unacknowledged,
}

/// What the agent's handshake asks of shipit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestedAction {
    /// `Standard_Stream`, `InteractiveCommands`, `NonInteractiveCommands` or `Port`.
    SessionType(String),
    /// Encrypt with a data key of this KMS key.
    KmsEncryption {
        key_id: String,
    },
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeRequest {
    pub agent_version: String,
    pub actions: Vec<RequestedAction>,
}

/// How shipit dealt with one requested action, for its handshake response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionOutcome {
    Done,
    /// KMS encryption is on: the data key's ciphertext, for the agent to decrypt.
    Encrypting {
        ciphertext_key: Vec<u8>,
    },
    Failed(String),
    Unsupported,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Handshake(HandshakeRequest),
    /// The handshake is complete; the agent may have words for the user.
    Ready {
        customer_message: Option<String>,
    },
    Stdout(Vec<u8>),
    Stderr(Vec<u8>),
    /// The command's exit code, as the agent reported it.
    ExitCode(i32),
    /// The agent closed the channel (the session ended), with its last words.
    Closed {
        output: String,
    },
}

/// What one step of the channel produced: messages for the wire, events for the user.
#[derive(Debug, Default)]
pub struct Step {
    pub send: Vec<Vec<u8>>,
    pub events: Vec<Event>,
}

struct Unacknowledged {
    sequence: i64,
    bytes: Vec<u8>,
    /// When it last went out; None while publication is paused and it has not.
    sent_at: Option<Instant>,
    queued_at: Instant,
    resent: bool,
}

/// The retransmission timeout, from round trips measured as RFC 6298 does.
struct RoundTrip {
    smoothed: f64,
    variation: f64,
    timeout: Duration,
}

impl RoundTrip {
    fn new() -> RoundTrip {
        RoundTrip {
            smoothed: INITIAL_RTT.as_secs_f64(),
            variation: 0.0,
            timeout: INITIAL_RTO,
        }
    }

    fn measured(&mut self, sample: Duration) {
        let sample = sample.as_secs_f64();
        self.variation = 0.75 * self.variation + 0.25 * (self.smoothed - sample).abs();
        self.smoothed = 0.875 * self.smoothed + 0.125 * sample;
        let timeout = self.smoothed + (4.0 * self.variation).max(CLOCK_GRANULARITY.as_secs_f64());
        self.timeout = Duration::from_secs_f64(timeout).min(MAX_RTO);
    }
}

pub struct Channel {
    next_sequence: i64,
    expected: i64,
    unacknowledged: VecDeque<Unacknowledged>,
    early: BTreeMap<i64, Frame>,
    round_trip: RoundTrip,
    cipher: Option<SessionCipher>,
    paused: bool,
}

impl Default for Channel {
    fn default() -> Self {
        Channel::new()
    }
}

impl Channel {
    pub fn new() -> Channel {
        Channel {
            next_sequence: 0,
            expected: 0,
            unacknowledged: VecDeque::new(),
            early: BTreeMap::new(),
            round_trip: RoundTrip::new(),
            cipher: None,
            paused: false,
        }
    }

    /// The text message that opens the channel: the session's token, which proves the right
    /// to it. Sent once, on this channel's own connection only.
    pub fn open_message(token: &str, client_id: &str) -> String {
        json!({
            "MessageSchemaVersion": "1.0",
            "RequestId": uuid::Uuid::new_v4().to_string(),
            "TokenValue": token,
            "ClientId": client_id,
            "ClientVersion": CLIENT_VERSION,
        })
        .to_string()
    }

    pub fn retransmission_timeout(&self) -> Duration {
        self.round_trip.timeout
    }

    /// Messages sent and not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        self.unacknowledged.len()
    }

    /// One binary message from the agent.
    pub fn receive(&mut self, bytes: &[u8], now: Instant) -> Result<Step, ChannelError> {
        let frame = Frame::decode(bytes)?;
        let mut step = Step::default();
        match frame.message_type.as_str() {
            frame::ACKNOWLEDGE => self.acknowledged(&frame, now)?,
            frame::OUTPUT_STREAM_DATA => self.stream_data(frame, now, &mut step)?,
            frame::CHANNEL_CLOSED => {
                let closed: ChannelClosed = parse(&frame.payload, "channel_closed message")?;
                step.events.push(Event::Closed {
                    output: closed.output.unwrap_or_default(),
                });
            }
            frame::PAUSE_PUBLICATION => self.paused = true,
            frame::START_PUBLICATION => {
                self.paused = false;
                for message in &mut self.unacknowledged {
                    if message.sent_at.is_none() {
                        message.sent_at = Some(now);
                        step.send.push(message.bytes.clone());
                    }
                }
            }
            // Message types this protocol version does not know are ignored, as the plugin
            // does.
            _ => {}
        }
        Ok(step)
    }

    fn acknowledged(&mut self, frame: &Frame, now: Instant) -> Result<(), ChannelError> {
        let ack: Acknowledgement = parse(&frame.payload, "acknowledgement")?;
        if let Some(at) = self
            .unacknowledged
            .iter()
            .position(|m| m.sequence == ack.sequence)
        {
            let message = self.unacknowledged.remove(at).expect("found above");
            // Karn's rule: a resent message's round trip says nothing.
            if let (false, Some(sent_at)) = (message.resent, message.sent_at) {
                self.round_trip.measured(now.duration_since(sent_at));
            }
        }
        Ok(())
    }

    fn stream_data(
        &mut self,
        frame: Frame,
        now: Instant,
        step: &mut Step,
    ) -> Result<(), ChannelError> {
        if frame.sequence < self.expected {
            // Sent again because our acknowledgement was lost: acknowledge it again.
            step.send.push(acknowledgement(&frame));
            return Ok(());
        }
        if frame.sequence > self.expected {
            if self.early.len() < EARLY_CAPACITY || self.early.contains_key(&frame.sequence) {
                step.send.push(acknowledgement(&frame));
                self.early.insert(frame.sequence, frame);
            }
            return Ok(());
        }
        step.send.push(acknowledgement(&frame));
        self.expected += 1;
        self.deliver(frame, now, step)?;
        while let Some(next) = self.early.remove(&self.expected) {
            self.expected += 1;
            self.deliver(next, now, step)?;
        }
        Ok(())
    }

    fn deliver(&mut self, frame: Frame, now: Instant, step: &mut Step) -> Result<(), ChannelError> {
        let sealed = matches!(
            frame.payload_type,
            PayloadType::Output | PayloadType::StdErr | PayloadType::ExitCode
        );
        let payload = match (&self.cipher, sealed) {
            (Some(cipher), true) => cipher.open(&frame.payload)?,
            _ => frame.payload,
        };
        match frame.payload_type {
            PayloadType::Output => step.events.push(Event::Stdout(payload)),
            PayloadType::StdErr => step.events.push(Event::Stderr(payload)),
            PayloadType::ExitCode => {
                let text = String::from_utf8_lossy(&payload);
                let code = text
                    .trim()
                    .strip_prefix("EXIT_CODE:")
                    .and_then(|n| n.trim().parse::<i32>().ok())
                    .ok_or_else(|| ChannelError::Payload {
                        what: "exit code",
                        why: format!("`{}`", crate::redact::printable(&text, 40)),
                    })?;
                step.events.push(Event::ExitCode(code));
            }
            PayloadType::HandshakeRequest => {
                let request: HandshakeRequestJson = parse(&payload, "handshake request")?;
                step.events.push(Event::Handshake(request.into()));
            }
            PayloadType::HandshakeComplete => {
                let complete: HandshakeCompleteJson = parse(&payload, "handshake completion")?;
                step.events.push(Event::Ready {
                    customer_message: complete.customer_message.filter(|m| !m.is_empty()),
                });
            }
            PayloadType::EncryptionChallengeRequest => {
                let challenge: Challenge = parse(&payload, "encryption challenge")?;
                let cipher = self.cipher.as_ref().ok_or(ChannelError::Payload {
                    what: "encryption challenge",
                    why: "it came before encryption was agreed".into(),
                })?;
                let sealed_bytes =
                    BASE64
                        .decode(&challenge.challenge)
                        .map_err(|e| ChannelError::Payload {
                            what: "encryption challenge",
                            why: e.to_string(),
                        })?;
                let answer = cipher.seal(&cipher.open(&sealed_bytes)?)?;
                let body = json!({ "Challenge": BASE64.encode(answer) }).to_string();
                step.send.extend(self.queue(
                    PayloadType::EncryptionChallengeResponse,
                    body.into_bytes(),
                    now,
                ));
            }
            // Older or newer payload types carry nothing a terminal shows.
            _ => {}
        }
        Ok(())
    }

    /// Answers the handshake; `cipher` (with an `Encrypting` outcome) turns encryption on.
    pub fn answer_handshake(
        &mut self,
        request: &HandshakeRequest,
        outcomes: &[ActionOutcome],
        cipher: Option<SessionCipher>,
        now: Instant,
    ) -> Vec<Vec<u8>> {
        let mut processed = Vec::new();
        let mut errors = Vec::new();
        for (action, outcome) in request.actions.iter().zip(outcomes) {
            let action_type = match action {
                RequestedAction::SessionType(_) => "SessionType".to_string(),
                RequestedAction::KmsEncryption { .. } => "KMSEncryption".to_string(),
                RequestedAction::Unknown(name) => name.clone(),
            };
            let (status, result, error) = match outcome {
                ActionOutcome::Done => (1, Value::Null, String::new()),
                ActionOutcome::Encrypting { ciphertext_key } => (
                    1,
                    json!({
                        "KMSCipherTextKey": BASE64.encode(ciphertext_key),
                        "KMSCipherTextHash": null,
                    }),
                    String::new(),
                ),
                ActionOutcome::Failed(why) => {
                    errors.push(why.clone());
                    (2, Value::Null, why.clone())
                }
                ActionOutcome::Unsupported => {
                    let why = format!("Unsupported action {action_type}");
                    errors.push(why.clone());
                    (3, Value::Null, why)
                }
            };
            processed.push(json!({
                "ActionType": action_type,
                "ActionStatus": status,
                "ActionResult": result,
                "Error": error,
            }));
        }
        let body = json!({
            "ClientVersion": CLIENT_VERSION,
            "ProcessedClientActions": processed,
            "Errors": if errors.is_empty() { Value::Null } else { json!(errors) },
        })
        .to_string();
        let send = self.queue(PayloadType::HandshakeResponse, body.into_bytes(), now);
        if cipher.is_some() {
            self.cipher = cipher;
        }
        send
    }

    /// The user's input (keystrokes, a resize, a flag), in messages of at most `MAX_CHUNK`
    /// bytes; keystrokes are sealed when the session is encrypted.
    pub fn send(
        &mut self,
        payload_type: PayloadType,
        data: &[u8],
        now: Instant,
    ) -> Result<Vec<Vec<u8>>, ChannelError> {
        let mut out = Vec::new();
        for chunk in data.chunks(MAX_CHUNK) {
            let payload = match (&self.cipher, payload_type) {
                (Some(cipher), PayloadType::Output) => cipher.seal(chunk)?,
                _ => chunk.to_vec(),
            };
            out.extend(self.queue(payload_type, payload, now));
        }
        Ok(out)
    }

    /// Numbers a stream message and keeps it until acknowledged; returns it unless
    /// publication is paused.
    fn queue(&mut self, payload_type: PayloadType, payload: Vec<u8>, now: Instant) -> Vec<Vec<u8>> {
        let frame = Frame::new(
            frame::INPUT_STREAM_DATA,
            self.next_sequence,
            0,
            payload_type,
            payload,
        );
        self.next_sequence += 1;
        let bytes = frame.encode();
        let sent_at = (!self.paused).then_some(now);
        self.unacknowledged.push_back(Unacknowledged {
            sequence: frame.sequence,
            bytes: bytes.clone(),
            sent_at,
            queued_at: now,
            resent: false,
        });
        if self.paused { Vec::new() } else { vec![bytes] }
    }

    /// Messages whose acknowledgement is overdue, to send again; an error once one has gone
    /// unacknowledged for `GIVE_UP_AFTER`.
    pub fn resends(&mut self, now: Instant) -> Result<Vec<Vec<u8>>, ChannelError> {
        let timeout = self.round_trip.timeout;
        let mut out = Vec::new();
        for message in &mut self.unacknowledged {
            if now.duration_since(message.queued_at) > GIVE_UP_AFTER {
                return Err(ChannelError::Unacknowledged);
            }
            if let Some(sent_at) = message.sent_at
                && now.duration_since(sent_at) > timeout
            {
                message.sent_at = Some(now);
                message.resent = true;
                out.push(message.bytes.clone());
            }
        }
        Ok(out)
    }
}

fn acknowledgement(frame: &Frame) -> Vec<u8> {
    let body = json!({
        "AcknowledgedMessageType": frame.message_type,
        "AcknowledgedMessageId": frame.message_id.to_string(),
        "AcknowledgedMessageSequenceNumber": frame.sequence,
        "IsSequentialMessage": true,
    })
    .to_string();
    // Acknowledgements are not numbered: sequence 0, flags 3, as the plugin sends them.
    Frame::new(
        frame::ACKNOWLEDGE,
        0,
        3,
        PayloadType::Output,
        body.into_bytes(),
    )
    .encode()
}

fn parse<T: serde::de::DeserializeOwned>(
    payload: &[u8],
    what: &'static str,
) -> Result<T, ChannelError> {
    serde_json::from_slice(payload).map_err(|e| ChannelError::Payload {
        what,
        why: e.to_string(),
    })
}

#[derive(Deserialize)]
struct Acknowledgement {
    #[serde(rename = "AcknowledgedMessageSequenceNumber")]
    sequence: i64,
}

#[derive(Deserialize)]
struct ChannelClosed {
    #[serde(rename = "Output")]
    output: Option<String>,
}

#[derive(Deserialize)]
struct Challenge {
    #[serde(rename = "Challenge")]
    challenge: String,
}

#[derive(Deserialize)]
struct HandshakeCompleteJson {
    #[serde(rename = "CustomerMessage")]
    customer_message: Option<String>,
}

#[derive(Deserialize)]
struct HandshakeRequestJson {
    #[serde(rename = "AgentVersion", default)]
    agent_version: String,
    #[serde(rename = "RequestedClientActions", default)]
    actions: Option<Vec<RequestedActionJson>>,
}

#[derive(Deserialize)]
struct RequestedActionJson {
    #[serde(rename = "ActionType")]
    action_type: String,
    #[serde(rename = "ActionParameters", default)]
    parameters: Value,
}

impl From<HandshakeRequestJson> for HandshakeRequest {
    fn from(json: HandshakeRequestJson) -> Self {
        let actions = json
            .actions
            .unwrap_or_default()
            .into_iter()
            .map(|a| match a.action_type.as_str() {
                "SessionType" => RequestedAction::SessionType(
                    a.parameters["SessionType"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ),
                "KMSEncryption" => RequestedAction::KmsEncryption {
                    key_id: a.parameters["KMSKeyId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                },
                _ => RequestedAction::Unknown(a.action_type),
            })
            .collect();
        HandshakeRequest {
            agent_version: json.agent_version,
            actions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent_message(sequence: i64, payload_type: PayloadType, payload: &[u8]) -> Vec<u8> {
        Frame::new(
            frame::OUTPUT_STREAM_DATA,
            sequence,
            0,
            payload_type,
            payload.to_vec(),
        )
        .encode()
    }

    fn acked_sequences(step: &Step) -> Vec<i64> {
        step.send
            .iter()
            .map(|b| Frame::decode(b).unwrap())
            .filter(|f| f.message_type == frame::ACKNOWLEDGE)
            .map(|f| {
                serde_json::from_slice::<Value>(&f.payload).unwrap()
                    ["AcknowledgedMessageSequenceNumber"]
                    .as_i64()
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn early_messages_wait_for_the_gap_and_repeats_are_acknowledged_again() {
        let now = Instant::now();
        let mut channel = Channel::new();
        let step = channel
            .receive(&agent_message(1, PayloadType::Output, b"world"), now)
            .unwrap();
        assert_eq!(acked_sequences(&step), [1]);
        assert!(step.events.is_empty(), "held until 0 arrives");
        let step = channel
            .receive(&agent_message(0, PayloadType::Output, b"hello "), now)
            .unwrap();
        assert_eq!(
            step.events,
            [
                Event::Stdout(b"hello ".to_vec()),
                Event::Stdout(b"world".to_vec())
            ]
        );
        let again = channel
            .receive(&agent_message(0, PayloadType::Output, b"hello "), now)
            .unwrap();
        assert_eq!(acked_sequences(&again), [0]);
        assert!(again.events.is_empty(), "delivered once");
    }

    #[test]
    fn unacknowledged_input_is_resent_until_acknowledged_and_then_given_up() {
        let start = Instant::now();
        let mut channel = Channel::new();
        let sent = channel.send(PayloadType::Output, b"ls\r", start).unwrap();
        assert_eq!(sent.len(), 1);
        assert!(
            channel
                .resends(start + Duration::from_millis(100))
                .unwrap()
                .is_empty()
        );
        let resent = channel.resends(start + Duration::from_millis(250)).unwrap();
        assert_eq!(resent, sent, "the same bytes, same sequence number");
        let ack = acknowledgement(&Frame::decode(&sent[0]).unwrap());
        // An acknowledgement from the agent looks the same as ours.
        channel
            .receive(&ack, start + Duration::from_millis(300))
            .unwrap();
        assert_eq!(channel.unacknowledged(), 0);

        channel.send(PayloadType::Output, b"x", start).unwrap();
        assert!(matches!(
            channel.resends(start + GIVE_UP_AFTER + Duration::from_secs(1)),
            Err(ChannelError::Unacknowledged)
        ));
    }

    #[test]
    fn the_timeout_follows_the_round_trip_within_its_bounds() {
        let mut round_trip = RoundTrip::new();
        for _ in 0..50 {
            round_trip.measured(Duration::from_millis(20));
        }
        assert!(
            round_trip.timeout < Duration::from_millis(60),
            "{:?}",
            round_trip.timeout
        );
        assert!(round_trip.timeout >= Duration::from_millis(20));
        for _ in 0..50 {
            round_trip.measured(Duration::from_secs(5));
        }
        assert_eq!(round_trip.timeout, MAX_RTO);
    }

    #[test]
    fn input_is_chunked_and_held_while_publication_is_paused() {
        let now = Instant::now();
        let mut channel = Channel::new();
        let pause = Frame::new(frame::PAUSE_PUBLICATION, 0, 0, PayloadType::Output, vec![]);
        channel.receive(&pause.encode(), now).unwrap();
        let held = channel
            .send(PayloadType::Output, &[b'a'; MAX_CHUNK + 1], now)
            .unwrap();
        assert!(held.is_empty());
        assert!(
            channel
                .resends(now + Duration::from_secs(2))
                .unwrap()
                .is_empty()
        );
        let start = Frame::new(frame::START_PUBLICATION, 0, 0, PayloadType::Output, vec![]);
        let step = channel.receive(&start.encode(), now).unwrap();
        let sequences: Vec<i64> = step
            .send
            .iter()
            .map(|b| Frame::decode(b).unwrap().sequence)
            .collect();
        assert_eq!(sequences, [0, 1], "two chunks, in order");
    }

    #[test]
    fn an_encrypted_handshake_answers_the_challenge_and_opens_output() {
        let now = Instant::now();
        let key: Vec<u8> = (100..164).collect();
        let agent = SessionCipher::agent_side(&key).unwrap();
        let mut channel = Channel::new();
        let request = json!({
            "AgentVersion": "3.3.40.0",
            "RequestedClientActions": [
                { "ActionType": "SessionType", "ActionParameters": { "SessionType": "InteractiveCommands", "Properties": {} } },
                { "ActionType": "KMSEncryption", "ActionParameters": { "KMSKeyId": "arn:aws:kms:us-east-1:123456789012:key/k" } }
            ]
        });
        let step = channel
            .receive(
                &agent_message(
                    0,
                    PayloadType::HandshakeRequest,
                    request.to_string().as_bytes(),
                ),
                now,
            )
            .unwrap();
        let Event::Handshake(handshake) = &step.events[0] else {
            panic!("{:?}", step.events)
        };
        assert_eq!(
            handshake.actions,
            [
                RequestedAction::SessionType("InteractiveCommands".into()),
                RequestedAction::KmsEncryption {
                    key_id: "arn:aws:kms:us-east-1:123456789012:key/k".into()
                }
            ]
        );
        let sent = channel.answer_handshake(
            handshake,
            &[
                ActionOutcome::Done,
                ActionOutcome::Encrypting {
                    ciphertext_key: b"blob".to_vec(),
                },
            ],
            Some(SessionCipher::new(&key).unwrap()),
            now,
        );
        let response: Value =
            serde_json::from_slice(&Frame::decode(&sent[0]).unwrap().payload).unwrap();
        assert_eq!(
            response["ProcessedClientActions"][1]["ActionResult"]["KMSCipherTextKey"],
            BASE64.encode(b"blob")
        );
        assert_eq!(response["Errors"], Value::Null);

        let challenge = json!({ "Challenge": BASE64.encode(agent.seal(b"prove it").unwrap()) });
        let step = channel
            .receive(
                &agent_message(
                    1,
                    PayloadType::EncryptionChallengeRequest,
                    challenge.to_string().as_bytes(),
                ),
                now,
            )
            .unwrap();
        let answer = step
            .send
            .iter()
            .map(|b| Frame::decode(b).unwrap())
            .find(|f| f.payload_type == PayloadType::EncryptionChallengeResponse)
            .unwrap();
        let answer: Value = serde_json::from_slice(&answer.payload).unwrap();
        let sealed = BASE64
            .decode(answer["Challenge"].as_str().unwrap())
            .unwrap();
        assert_eq!(agent.open(&sealed).unwrap(), b"prove it");

        let step = channel
            .receive(
                &agent_message(2, PayloadType::Output, &agent.seal(b"$ ").unwrap()),
                now,
            )
            .unwrap();
        assert_eq!(step.events, [Event::Stdout(b"$ ".to_vec())]);
        let keys = channel.send(PayloadType::Output, b"id\r", now).unwrap();
        let sealed = Frame::decode(&keys[0]).unwrap().payload;
        assert_eq!(agent.open(&sealed).unwrap(), b"id\r");
    }

    #[test]
    fn exit_codes_and_the_closing_words_are_read() {
        let now = Instant::now();
        let mut channel = Channel::new();
        let step = channel
            .receive(
                &agent_message(0, PayloadType::ExitCode, b"EXIT_CODE: 3"),
                now,
            )
            .unwrap();
        assert_eq!(step.events, [Event::ExitCode(3)]);
        let closed = Frame::new(
            frame::CHANNEL_CLOSED,
            0,
            0,
            PayloadType::Output,
            json!({ "MessageType": "channel_closed", "Output": "bye", "SchemaVersion": 1 })
                .to_string()
                .into_bytes(),
        );
        let step = channel.receive(&closed.encode(), now).unwrap();
        assert_eq!(
            step.events,
            [Event::Closed {
                output: "bye".into()
            }]
        );
    }
}
