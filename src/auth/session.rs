//! The console's session cookie: a random secret the browser holds, whose
//! SHA-256 is the stored session id.

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// The cookie's name.
pub const COOKIE: &str = "wadesk_session";

/// A new random secret (256 bits, URL-safe base64).
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored id of a session secret.
pub fn hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session secret a request's `Cookie` headers carry, if any.
pub fn cookie(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// The `Set-Cookie` value that stores `secret` for `max_age_secs` (0 with
/// an empty secret: clears it). `Secure` when the browser reached us over
/// HTTPS (a proxy that says so in `X-Forwarded-Proto`).
pub fn set_cookie(secret: &str, max_age_secs: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={secret}; HttpOnly; SameSite=Strict; Path=/; Max-Age={max_age_secs}{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others() {
        let mut headers = http::HeaderMap::new();
        headers.append("cookie", "a=1; wadesk_session=abc; b=2".parse().unwrap());
        assert_eq!(cookie(&headers).as_deref(), Some("abc"));
        headers.clear();
        headers.append("cookie", "wadesk_session=".parse().unwrap());
        assert_eq!(cookie(&headers), None);
        assert_eq!(hash("x").len(), 64);
        assert_ne!(new_secret(), new_secret());
        let set = set_cookie("s", 60, true);
        assert!(set.contains("HttpOnly; SameSite=Strict; Path=/; Max-Age=60; Secure"));
    }
}
