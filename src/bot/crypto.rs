//! The providers' api keys at rest: AES-256-GCM under a key derived from the
//! server secret (HKDF-SHA256, fixed info string), a random 96-bit nonce per
//! encryption, and the phone id as associated data, so a stored key cannot
//! be moved to another phone's row. Stored as `v1:` + base64(nonce ||
//! ciphertext). Changing the server secret makes stored keys unreadable:
//! the bot then records an error until the key is set again.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::Sha256;

const INFO: &[u8] = b"wadesk bot api_key encryption v1";
const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// Encrypts and decrypts api keys; Debug shows nothing of the key.
#[derive(Clone)]
pub struct KeyBox {
    cipher: Aes256Gcm,
}

impl std::fmt::Debug for KeyBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyBox(<hidden>)")
    }
}

impl KeyBox {
    /// The key box of a server secret.
    pub fn new(secret: &[u8]) -> KeyBox {
        let hkdf = hkdf::Hkdf::<Sha256>::new(None, secret);
        let mut key = [0u8; 32];
        hkdf.expand(INFO, &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        KeyBox {
            cipher: Aes256Gcm::new(&key.into()),
        }
    }

    /// `plain` encrypted for the row of `phone_id`.
    pub fn seal(&self, phone_id: &str, plain: &str) -> String {
        use rand::RngExt as _;
        let nonce: [u8; NONCE_LEN] = rand::rng().random();
        let sealed = self
            .cipher
            .encrypt(
                &nonce.into(),
                Payload {
                    msg: plain.as_bytes(),
                    aad: phone_id.as_bytes(),
                },
            )
            .expect("AES-GCM encrypts any short message");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        format!("{PREFIX}{}", STANDARD.encode(out))
    }

    /// The key sealed for `phone_id`, or why it cannot be read.
    pub fn open(&self, phone_id: &str, sealed: &str) -> Result<String, &'static str> {
        const UNREADABLE: &str =
            "the stored api_key cannot be decrypted (was the server secret changed?); set it again";
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(UNREADABLE)?;
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| UNREADABLE)?;
        let plain = self
            .cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: body,
                    aad: phone_id.as_bytes(),
                },
            )
            .map_err(|_| UNREADABLE)?;
        String::from_utf8(plain).map_err(|_| UNREADABLE)
    }
}

/// What may be shown of a key: its last four characters, e.g. "...abcd"
/// (only "..." for keys too short to show any of without giving them away).
pub(crate) fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 12 {
        return "...".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("...{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_per_phone_and_secret() {
        let keys = KeyBox::new(b"server secret");
        let sealed = keys.seal("ph_a", "sk-live-0123456789abcd");
        assert!(sealed.starts_with("v1:"));
        assert!(!sealed.contains("0123456789"));
        assert_ne!(
            sealed,
            keys.seal("ph_a", "sk-live-0123456789abcd"),
            "fresh nonce"
        );
        assert_eq!(
            keys.open("ph_a", &sealed).unwrap(),
            "sk-live-0123456789abcd"
        );
        assert!(keys.open("ph_b", &sealed).is_err(), "bound to its phone");
        assert!(KeyBox::new(b"other secret").open("ph_a", &sealed).is_err());
        assert!(keys.open("ph_a", "v1:AAAA").is_err());
        assert!(keys.open("ph_a", "plain").is_err());
    }

    #[test]
    fn masks_all_but_the_last_four() {
        assert_eq!(mask("sk-live-0123456789abcd"), "...abcd");
        assert_eq!(mask("short"), "...");
        assert_eq!(mask(""), "...");
    }
}
