//! One message of the Session Manager data channel, as it travels in a binary WebSocket frame.
//!
//! The layout is AWS's (session-manager-plugin, `src/message/clientmessage.go`): a 116-byte
//! header of big-endian fields, then the payload's length and the payload.
//!
//! | offset | bytes | field                                                   |
//! |-------:|------:|---------------------------------------------------------|
//! |      0 |     4 | header length (116: the offset of the payload length)   |
//! |      4 |    32 | message type, ASCII, padded with spaces                 |
//! |     36 |     4 | schema version (1)                                      |
//! |     40 |     8 | created, milliseconds since the epoch                   |
//! |     48 |     8 | sequence number                                         |
//! |     56 |     8 | flags                                                   |
//! |     64 |    16 | message id: a UUID, its second half first               |
//! |     80 |    32 | SHA-256 of the payload                                  |
//! |    112 |     4 | payload type                                            |
//! |    116 |     4 | payload length                                          |
//! |    120 |     … | payload                                                 |
//!
//! Written by hand: the format is AWS's own, and no crate speaks it.

use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The header's length as AWS writes it: everything before the payload length.
pub const HEADER_LENGTH: u32 = 116;
/// Where the payload starts.
const PAYLOAD_OFFSET: usize = HEADER_LENGTH as usize + 4;
const MESSAGE_TYPE_LENGTH: usize = 32;

/// Message types (the 32-byte field).
pub const INPUT_STREAM_DATA: &str = "input_stream_data";
pub const OUTPUT_STREAM_DATA: &str = "output_stream_data";
pub const ACKNOWLEDGE: &str = "acknowledge";
pub const CHANNEL_CLOSED: &str = "channel_closed";
pub const START_PUBLICATION: &str = "start_publication";
pub const PAUSE_PUBLICATION: &str = "pause_publication";

/// What a stream message's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadType {
    /// Bytes of the terminal: keystrokes going in, the command's output coming out.
    Output,
    Error,
    /// The terminal's size, `{"cols":…,"rows":…}`.
    Size,
    Parameter,
    HandshakeRequest,
    HandshakeResponse,
    HandshakeComplete,
    EncryptionChallengeRequest,
    EncryptionChallengeResponse,
    /// A 4-byte big-endian flag (`TERMINATE_SESSION`).
    Flag,
    StdErr,
    /// `EXIT_CODE: N`, sent by the agent when the command ends.
    ExitCode,
    Other(u32),
}

impl PayloadType {
    pub fn code(self) -> u32 {
        match self {
            PayloadType::Output => 1,
            PayloadType::Error => 2,
            PayloadType::Size => 3,
            PayloadType::Parameter => 4,
            PayloadType::HandshakeRequest => 5,
            PayloadType::HandshakeResponse => 6,
            PayloadType::HandshakeComplete => 7,
            PayloadType::EncryptionChallengeRequest => 8,
            PayloadType::EncryptionChallengeResponse => 9,
            PayloadType::Flag => 10,
            PayloadType::StdErr => 11,
            PayloadType::ExitCode => 12,
            PayloadType::Other(code) => code,
        }
    }

    pub fn from_code(code: u32) -> PayloadType {
        match code {
            1 => PayloadType::Output,
            2 => PayloadType::Error,
            3 => PayloadType::Size,
            4 => PayloadType::Parameter,
            5 => PayloadType::HandshakeRequest,
            6 => PayloadType::HandshakeResponse,
            7 => PayloadType::HandshakeComplete,
            8 => PayloadType::EncryptionChallengeRequest,
            9 => PayloadType::EncryptionChallengeResponse,
            10 => PayloadType::Flag,
            11 => PayloadType::StdErr,
            12 => PayloadType::ExitCode,
            other => PayloadType::Other(other),
        }
    }
}

/// The flag that asks the agent to end the session (payload type `Flag`).
pub const TERMINATE_SESSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub message_type: String,
    pub schema_version: u32,
    pub created_ms: u64,
    pub sequence: i64,
    pub flags: u64,
    pub message_id: Uuid,
    pub payload_type: PayloadType,
    pub payload: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FrameError {
    #[error("a data channel message of {0} bytes is shorter than its 120-byte header")]
    Short(usize),
    #[error("a data channel message gives its header as {0} bytes (AWS's is {HEADER_LENGTH})")]
    HeaderLength(u32),
    #[error("a data channel message says its payload has {said} bytes but carries {carried}")]
    PayloadLength { said: u32, carried: usize },
    #[error("a data channel message's payload does not match its SHA-256 digest")]
    Digest,
    #[error("a data channel message has no message type")]
    NoType,
}

impl Frame {
    /// A message stamped now, with a fresh id.
    pub fn new(
        message_type: &str,
        sequence: i64,
        flags: u64,
        payload_type: PayloadType,
        payload: Vec<u8>,
    ) -> Frame {
        let created_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Frame {
            message_type: message_type.to_string(),
            schema_version: 1,
            created_ms,
            sequence,
            flags,
            message_id: Uuid::new_v4(),
            payload_type,
            payload,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PAYLOAD_OFFSET + self.payload.len());
        out.extend_from_slice(&HEADER_LENGTH.to_be_bytes());
        let mut message_type = [b' '; MESSAGE_TYPE_LENGTH];
        let name = self.message_type.as_bytes();
        let n = name.len().min(MESSAGE_TYPE_LENGTH);
        message_type[..n].copy_from_slice(&name[..n]);
        out.extend_from_slice(&message_type);
        out.extend_from_slice(&self.schema_version.to_be_bytes());
        out.extend_from_slice(&self.created_ms.to_be_bytes());
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        // AWS writes the UUID's least significant half first.
        let id = self.message_id.as_bytes();
        out.extend_from_slice(&id[8..16]);
        out.extend_from_slice(&id[0..8]);
        out.extend_from_slice(&Sha256::digest(&self.payload));
        out.extend_from_slice(&self.payload_type.code().to_be_bytes());
        out.extend_from_slice(&(self.payload.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.payload);
        out
    }

    /// Reads and checks one message: lengths, and the digest of a payload that has one.
    pub fn decode(bytes: &[u8]) -> Result<Frame, FrameError> {
        if bytes.len() < PAYLOAD_OFFSET {
            return Err(FrameError::Short(bytes.len()));
        }
        let u32_at = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
        let header_length = u32_at(0);
        if header_length != HEADER_LENGTH {
            return Err(FrameError::HeaderLength(header_length));
        }
        let message_type = String::from_utf8_lossy(&bytes[4..4 + MESSAGE_TYPE_LENGTH])
            .trim_matches(|c: char| c == '\0' || c.is_whitespace())
            .to_string();
        if message_type.is_empty() {
            return Err(FrameError::NoType);
        }
        let mut id = [0u8; 16];
        id[8..16].copy_from_slice(&bytes[64..72]);
        id[0..8].copy_from_slice(&bytes[72..80]);
        let payload_length = u32_at(116);
        let payload = bytes[PAYLOAD_OFFSET..].to_vec();
        if payload.len() != payload_length as usize {
            return Err(FrameError::PayloadLength {
                said: payload_length,
                carried: payload.len(),
            });
        }
        // The publication notices carry no digest worth checking (AWS skips them too).
        let unchecked = message_type == START_PUBLICATION || message_type == PAUSE_PUBLICATION;
        if !payload.is_empty() && !unchecked && Sha256::digest(&payload)[..] != bytes[80..112] {
            return Err(FrameError::Digest);
        }
        Ok(Frame {
            message_type,
            schema_version: u32_at(36),
            created_ms: u64_at(40),
            sequence: u64_at(48) as i64,
            flags: u64_at(56),
            message_id: Uuid::from_bytes(id),
            payload_type: PayloadType::from_code(u32_at(112)),
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plugin's own test message (messageparser_test.go): its fields and their offsets.
    #[test]
    fn the_layout_is_aws_byte_for_byte() {
        let frame = Frame {
            message_type: OUTPUT_STREAM_DATA.into(),
            schema_version: 1,
            created_ms: 1_503_434_274_948,
            sequence: 7,
            flags: 3,
            message_id: Uuid::parse_str("dd01e56b-ff48-483e-a508-b5f073f31b16").unwrap(),
            payload_type: PayloadType::Output,
            payload: b"testPayload".to_vec(),
        };
        let bytes = frame.encode();
        assert_eq!(bytes.len(), 120 + 11);
        assert_eq!(&bytes[0..4], &[0, 0, 0, 116]);
        assert_eq!(&bytes[4..22], b"output_stream_data");
        assert!(
            bytes[22..36].iter().all(|b| *b == b' '),
            "padded with spaces"
        );
        assert_eq!(&bytes[36..40], &[0, 0, 0, 1]);
        assert_eq!(&bytes[40..48], &1_503_434_274_948u64.to_be_bytes());
        assert_eq!(&bytes[48..56], &7u64.to_be_bytes());
        assert_eq!(&bytes[56..64], &3u64.to_be_bytes());
        // Least significant half first.
        assert_eq!(
            hex::encode(&bytes[64..80]),
            "a508b5f073f31b16dd01e56bff48483e"
        );
        assert_eq!(
            hex::encode(&bytes[80..112]),
            hex::encode(Sha256::digest(b"testPayload"))
        );
        assert_eq!(&bytes[112..116], &[0, 0, 0, 1]);
        assert_eq!(&bytes[116..120], &[0, 0, 0, 11]);
        assert_eq!(Frame::decode(&bytes).unwrap(), frame);
    }

    #[test]
    fn damaged_messages_are_refused() {
        let good = Frame::new(
            INPUT_STREAM_DATA,
            0,
            0,
            PayloadType::Output,
            b"ls\r".to_vec(),
        );
        let bytes = good.encode();
        assert_eq!(Frame::decode(&bytes[..100]), Err(FrameError::Short(100)));
        let mut digest = bytes.clone();
        *digest.last_mut().unwrap() ^= 1;
        assert_eq!(Frame::decode(&digest), Err(FrameError::Digest));
        let mut length = bytes.clone();
        length[119] = 99;
        assert!(matches!(
            Frame::decode(&length),
            Err(FrameError::PayloadLength { said: 99, .. })
        ));
        let mut header = bytes;
        header[3] = 100;
        assert_eq!(Frame::decode(&header), Err(FrameError::HeaderLength(100)));
    }
}
