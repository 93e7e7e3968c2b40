//! One delivery attempt: a signed POST and what came back.

use std::time::{Duration, Instant};

use reqwest::{Url, header};

use super::sign;
use crate::fetch::parse_retry_after;
use crate::fetch::{self, FetchError};

/// How much of an answer's body is kept.
pub(super) const BODY_LIMIT: usize = 1024;

/// What an attempt got.
#[derive(Debug, Clone, Default)]
pub(super) struct Answer {
    /// 0 when there was no HTTP answer.
    pub status: u16,
    /// The start of the body, at most [`BODY_LIMIT`] bytes.
    pub body: String,
    pub duration: Duration,
    /// Why it failed without an answer, or why an answer is not a delivery.
    pub error: Option<String>,
    pub retry_after: Option<Duration>,
}

impl Answer {
    pub(super) fn delivered(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// POSTs `body` to `url` with the Standard Webhooks headers, within
/// `timeout` (connecting, sending, and reading the start of the answer).
pub(super) async fn post(
    fetcher: &fetch::Fetcher,
    timeout: Duration,
    url: &str,
    secret: &str,
    event_id: &str,
    body: &str,
) -> Answer {
    let started = Instant::now();
    let mut answer = match tokio::time::timeout(
        timeout,
        attempt(fetcher, timeout, url, secret, event_id, body),
    )
    .await
    {
        Ok(answer) => answer,
        Err(_) => Answer {
            error: Some(format!("no answer within {}", secs(timeout))),
            ..Answer::default()
        },
    };
    answer.duration = started.elapsed();
    answer
}

async fn attempt(
    fetcher: &fetch::Fetcher,
    timeout: Duration,
    url: &str,
    secret: &str,
    event_id: &str,
    body: &str,
) -> Answer {
    let failed = |error: String| Answer {
        error: Some(error),
        ..Answer::default()
    };
    let url = match Url::parse(url) {
        Ok(url) => url,
        Err(err) => return failed(format!("bad URL: {err}")),
    };
    // Checked when the webhook was set, and again at every attempt: a URL
    // stored before a stricter rule must not be posted to either.
    if let Err(err) = fetcher.check_url(&url) {
        return failed(err.to_string());
    }
    let timestamp = chrono::Utc::now().timestamp();
    let signature = match sign::signature(secret, event_id, timestamp, body.as_bytes()) {
        Ok(signature) => signature,
        Err(err) => return failed(err.to_string()),
    };
    let sent = fetcher
        .client_without_redirects()
        .post(url.clone())
        .timeout(timeout)
        .header("webhook-id", event_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.to_owned())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(err) => return failed(describe(&url, err, timeout)),
    };
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut bytes = Vec::new();
    let mut error = None;
    while bytes.len() < BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => break,
            Err(err) => {
                error = Some(format!(
                    "reading the answer: {}",
                    describe(&url, err, timeout)
                ));
                break;
            }
        }
    }
    if status.is_redirection() {
        error = Some(format!(
            "redirects are not followed (to {}); set the final URL",
            location.as_deref().unwrap_or("nowhere")
        ));
    }
    Answer {
        status: status.as_u16(),
        body: truncate(&bytes),
        duration: Duration::ZERO,
        error,
        retry_after,
    }
}

fn describe(url: &Url, err: reqwest::Error, timeout: Duration) -> String {
    if err.is_timeout() {
        return format!("no answer within {}", secs(timeout));
    }
    match fetch::classify(url, err) {
        FetchError::Refused(msg) => msg,
        FetchError::Unreachable { reason, .. } => reason,
        other => other.to_string(),
    }
}

fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// At most [`BODY_LIMIT`] bytes of text, cut on a character boundary.
fn truncate(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_LIMIT)]);
    let mut end = text.len().min(BODY_LIMIT);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncates_on_a_character_boundary() {
        assert_eq!(super::truncate(b"ok"), "ok");
        let long = "é".repeat(1000);
        let cut = super::truncate(long.as_bytes());
        assert!(cut.len() <= super::BODY_LIMIT && cut.chars().all(|c| c == 'é'));
    }
}
