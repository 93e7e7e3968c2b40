//! Standard Webhooks signing (https://www.standardwebhooks.com): secrets
//! are `whsec_` + base64 of random bytes; a signature is
//! `v1,` + base64(HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")).

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const PREFIX: &str = "whsec_";

/// A new secret: 24 random bytes, as the spec's reference libraries make
/// them (32 base64 characters, no padding).
pub(crate) fn new_secret() -> String {
    use rand::RngExt as _;
    let bytes: [u8; 24] = rand::rng().random();
    format!("{PREFIX}{}", STANDARD.encode(bytes))
}

/// The value of the webhook-signature header.
pub(crate) fn signature(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &[u8],
) -> anyhow::Result<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(PREFIX).unwrap_or(secret))
        .map_err(|_| anyhow::anyhow!("the stored webhook secret is not base64"))?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key)
        .map_err(|_| anyhow::anyhow!("the stored webhook secret is not a usable key"))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Standard Webhooks reference libraries.
    #[test]
    fn matches_the_reference_implementation() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let timestamp = 1614265330;
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(secret, id, timestamp, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_fresh_and_decode() {
        let a = new_secret();
        assert!(a.starts_with("whsec_") && a.len() == 6 + 32, "{a}");
        assert_ne!(a, new_secret());
        assert_eq!(STANDARD.decode(&a[6..]).unwrap().len(), 24);
    }
}
