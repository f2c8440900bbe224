//! The encryption a cluster can ask of an ECS Exec session (its `executeCommandConfiguration`
//! names a KMS key): shipit asks KMS for a 64-byte data key bound to the session, sends the
//! agent the key's ciphertext, and from then on the terminal's bytes travel AES-256-GCM sealed.
//! The first half of the key opens what the agent sends, the second seals what shipit sends
//! (session-manager-plugin, `src/encryption`). Each sealed payload is a fresh 12-byte nonce
//! followed by the ciphertext and its tag.
//!
//! The AEAD is aws-lc-rs, the crypto provider rustls already uses here.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// The data key's length KMS is asked for: two AES-256 keys.
pub const DATA_KEY_BYTES: usize = 64;

/// The two keys of a session. Deliberately not `Debug`: the key never reaches a log.
pub struct SessionCipher {
    open: LessSafeKey,
    seal: LessSafeKey,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CipherError {
    #[error("KMS gave a data key of {0} bytes; ECS Exec needs {DATA_KEY_BYTES}")]
    KeyLength(usize),
    #[error("an encrypted message from the agent could not be opened (wrong key or damaged)")]
    Open,
    #[error("the system's random source failed")]
    Random,
}

impl SessionCipher {
    pub fn new(data_key: &[u8]) -> Result<SessionCipher, CipherError> {
        if data_key.len() != DATA_KEY_BYTES {
            return Err(CipherError::KeyLength(data_key.len()));
        }
        let key = |half: &[u8]| {
            UnboundKey::new(&AES_256_GCM, half)
                .map(LessSafeKey::new)
                .map_err(|_| CipherError::KeyLength(data_key.len()))
        };
        Ok(SessionCipher {
            open: key(&data_key[..32])?,
            seal: key(&data_key[32..])?,
        })
    }

    /// The agent's side of the same key (for tests and the fake agent): its seal is our open.
    pub fn agent_side(data_key: &[u8]) -> Result<SessionCipher, CipherError> {
        let mut swapped = data_key[32..].to_vec();
        swapped.extend_from_slice(&data_key[..32]);
        SessionCipher::new(&swapped)
    }

    pub fn seal(&self, plain: &[u8]) -> Result<Vec<u8>, CipherError> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| CipherError::Random)?;
        let mut sealed = plain.to_vec();
        self.seal
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::empty(),
                &mut sealed,
            )
            .map_err(|_| CipherError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, CipherError> {
        if sealed.len() < NONCE_LEN {
            return Err(CipherError::Open);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[..NONCE_LEN])
            .map_err(|_| CipherError::Open)?;
        let mut data = sealed[NONCE_LEN..].to_vec();
        let plain = self
            .open
            .open_in_place(nonce, Aad::empty(), &mut data)
            .map_err(|_| CipherError::Open)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_side_opens_what_the_other_sealed_and_nothing_else() {
        let key: Vec<u8> = (0..64).collect();
        let client = SessionCipher::new(&key).unwrap();
        let agent = SessionCipher::agent_side(&key).unwrap();
        let sealed = client.seal(b"ls -l\r").unwrap();
        assert_eq!(sealed.len(), 12 + 6 + 16, "nonce, text, tag");
        assert_eq!(agent.open(&sealed).unwrap(), b"ls -l\r");
        assert_eq!(
            client.open(&agent.seal(b"total 0").unwrap()).unwrap(),
            b"total 0"
        );
        // A side never opens its own seal (two keys), nor a damaged message.
        assert_eq!(client.open(&sealed), Err(CipherError::Open));
        let mut damaged = agent.seal(b"x").unwrap();
        damaged[13] ^= 1;
        assert_eq!(client.open(&damaged), Err(CipherError::Open));
        assert!(matches!(
            SessionCipher::new(&key[..32]),
            Err(CipherError::KeyLength(32))
        ));
    }
}
