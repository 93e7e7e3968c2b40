//! Secrets the gateway must read back, at rest: the AI providers' api keys
//! and the webhooks' signing secrets. AES-256-GCM under a key derived from
//! the server secret (HKDF-SHA256, one info string per [`Purpose`], so a
//! sealed api key is no webhook secret), a random 96-bit nonce per
//! encryption, and the phone id as associated data, so a sealed value
//! cannot be moved to another phone's row. Stored as `v1:` +
//! base64(nonce || ciphertext). Changing the server secret makes sealed
//! values unreadable: the bot or the webhook then records an error until
//! the value is set again.

use aes_gcm::{
    Aes256Gcm, KeyInit,
    aead::{Aead, Payload},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::Sha256;

const PREFIX: &str = "v1:";
const NONCE_LEN: usize = 12;

/// What a key box seals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A bot's AI provider api key.
    BotApiKey,
    /// A webhook's signing secret.
    WebhookSecret,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            // The string of the first release: keys sealed then still open.
            Purpose::BotApiKey => b"wadesk bot api_key encryption v1",
            Purpose::WebhookSecret => b"wadesk webhook secret encryption v1",
        }
    }

    fn unreadable(self) -> &'static str {
        match self {
            Purpose::BotApiKey => {
                "the stored api_key cannot be decrypted (was the server secret changed?); set it again"
            }
            Purpose::WebhookSecret => {
                "the webhook's signing secret cannot be decrypted (was the server secret changed?); set the webhook again"
            }
        }
    }
}

/// Encrypts and decrypts secrets of one purpose; Debug shows nothing of the key.
#[derive(Clone)]
pub struct KeyBox {
    cipher: Aes256Gcm,
    purpose: Purpose,
}

impl std::fmt::Debug for KeyBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyBox({:?}, <hidden>)", self.purpose)
    }
}

impl KeyBox {
    /// The key box of a server secret for `purpose`.
    pub fn new(secret: &[u8], purpose: Purpose) -> KeyBox {
        let hkdf = hkdf::Hkdf::<Sha256>::new(None, secret);
        let mut key = [0u8; 32];
        hkdf.expand(purpose.info(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        KeyBox {
            cipher: Aes256Gcm::new(&key.into()),
            purpose,
        }
    }

    /// Whether `stored` is a sealed value (rather than one written before
    /// values were sealed).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(PREFIX)
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

    /// The value sealed for `phone_id`, or why it cannot be read.
    pub fn open(&self, phone_id: &str, sealed: &str) -> Result<String, &'static str> {
        let unreadable = self.purpose.unreadable();
        let bytes = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| STANDARD.decode(b).ok())
            .filter(|b| b.len() > NONCE_LEN)
            .ok_or(unreadable)?;
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| unreadable)?;
        let plain = self
            .cipher
            .decrypt(
                &nonce.into(),
                Payload {
                    msg: body,
                    aad: phone_id.as_bytes(),
                },
            )
            .map_err(|_| unreadable)?;
        String::from_utf8(plain).map_err(|_| unreadable)
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
        let keys = KeyBox::new(b"server secret", Purpose::BotApiKey);
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
        assert!(
            KeyBox::new(b"other secret", Purpose::BotApiKey)
                .open("ph_a", &sealed)
                .is_err()
        );
        assert!(
            KeyBox::new(b"server secret", Purpose::WebhookSecret)
                .open("ph_a", &sealed)
                .is_err(),
            "an api key is no webhook secret"
        );
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
