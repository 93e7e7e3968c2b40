//! What both providers share: the conversation, the failures, and the
//! retry policy.

use std::time::Duration;

use reqwest::{Response, StatusCode, header};
use serde_json::Value;

use crate::fetch::parse_retry_after;

/// Who said a turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The person writing to the phone (inbound messages).
    User,
    /// The phone's side (outbound messages, the bot's earlier replies).
    Model,
}

/// One turn of a chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Turn {
    pub role: Role,
    pub text: String,
}

/// One question to a provider.
pub(crate) struct Ask<'a> {
    pub base_url: &'a str,
    pub model: &'a str,
    pub api_key: &'a str,
    pub system_prompt: &'a str,
    /// Oldest first, the sides alternating; ends with the person's turn.
    pub turns: &'a [Turn],
    pub timeout: Duration,
}

/// Why a provider gave no reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Failure {
    /// An HTTP answer other than 2xx.
    Http {
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// No answer within the timeout.
    Timeout(Duration),
    /// Could not connect, or the connection broke.
    Network(String),
    /// A 2xx answer without a usable reply.
    BadAnswer(String),
}

impl Failure {
    /// Whether asking again can help and costs nothing but time: rate
    /// limits, server errors, timeouts and broken connections. Never a
    /// rejected key or request (4xx), never an answer we could not use.
    pub(crate) fn retryable(&self) -> bool {
        match self {
            Failure::Http { status, .. } => *status == 429 || *status >= 500,
            Failure::Timeout(_) | Failure::Network(_) => true,
            Failure::BadAnswer(_) => false,
        }
    }

    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Failure::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// A one-line description, with `secret` (the api key) taken out of
    /// anything the provider echoed back.
    pub(crate) fn describe(&self, secret: &str) -> String {
        let text = match self {
            Failure::Http {
                status, message, ..
            } => {
                let what = match *status {
                    401 | 403 => " (the api_key was refused)",
                    429 => " (rate limited or out of quota)",
                    _ => "",
                };
                if message.is_empty() {
                    format!("HTTP {status}{what}")
                } else {
                    format!("HTTP {status}{what}: {message}")
                }
            }
            Failure::Timeout(limit) => format!("no answer within {}s", limit.as_secs_f64()),
            Failure::Network(reason) => reason.clone(),
            Failure::BadAnswer(reason) => format!("unusable answer: {reason}"),
        };
        redact(&text, secret)
    }
}

/// `text` without `secret`, cut to a readable length.
pub(crate) fn redact(text: &str, secret: &str) -> String {
    let text = if secret.len() >= 4 {
        text.replace(secret, "<api_key>")
    } else {
        text.to_owned()
    };
    const MAX: usize = 500;
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX).collect();
    format!("{cut}...")
}

/// The JSON of a 2xx answer, or the failure of any other.
pub(crate) async fn read(
    response: Result<Response, reqwest::Error>,
    timeout: Duration,
) -> Result<Value, Failure> {
    let response = response.map_err(|e| transport(e, timeout))?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_retry_after);
    let body = response.text().await.map_err(|e| transport(e, timeout))?;
    if !status.is_success() {
        return Err(Failure::Http {
            status: status.as_u16(),
            message: error_message(status, &body),
            retry_after,
        });
    }
    serde_json::from_str(&body).map_err(|e| Failure::BadAnswer(format!("not JSON: {e}")))
}

fn transport(err: reqwest::Error, timeout: Duration) -> Failure {
    if err.is_timeout() {
        Failure::Timeout(timeout)
    } else {
        // reqwest's Display names the URL; the source chain says why.
        let mut reason = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(inner) = source {
            reason = format!("{reason}: {inner}");
            source = inner.source();
        }
        Failure::Network(reason)
    }
}

/// Both providers answer errors as `{"error": {"message": ...}}`.
fn error_message(status: StatusCode, body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            let body = body.trim();
            if body.is_empty() {
                status.canonical_reason().unwrap_or_default().to_owned()
            } else {
                body.chars().take(200).collect()
            }
        })
}

/// `base` joined with `path`, where `base` may already end with the
/// path's version segment (`https://host/v1` + `v1/chat/completions`).
pub(crate) fn endpoint(base: &str, version: &str, rest: &str) -> String {
    let base = base.trim_end_matches('/');
    if base.ends_with(&format!("/{version}")) {
        format!("{base}/{rest}")
    } else {
        format!("{base}/{version}/{rest}")
    }
}

/// Consecutive turns of one side become one (providers expect the sides to
/// alternate).
pub(crate) fn alternate(turns: Vec<Turn>) -> Vec<Turn> {
    let mut out: Vec<Turn> = Vec::with_capacity(turns.len());
    for turn in turns {
        match out.last_mut() {
            Some(last) if last.role == turn.role => {
                last.text.push('\n');
                last.text.push_str(&turn.text);
            }
            _ => out.push(turn),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(role: Role, text: &str) -> Turn {
        Turn {
            role,
            text: text.into(),
        }
    }

    #[test]
    fn turns_alternate() {
        let got = alternate(vec![
            t(Role::Model, "Welcome"),
            t(Role::Model, "to Acme"),
            t(Role::User, "hi"),
            t(Role::User, "anyone there?"),
            t(Role::Model, "Hello!"),
            t(Role::User, "price?"),
        ]);
        assert_eq!(
            got,
            vec![
                t(Role::Model, "Welcome\nto Acme"),
                t(Role::User, "hi\nanyone there?"),
                t(Role::Model, "Hello!"),
                t(Role::User, "price?"),
            ]
        );
    }

    #[test]
    fn endpoints_with_or_without_the_version() {
        assert_eq!(
            endpoint("https://api.openai.com", "v1", "chat/completions"),
            "https://api.openai.com/v1/chat/completions"
        );
        assert_eq!(
            endpoint("http://127.0.0.1:1234/v1/", "v1", "chat/completions"),
            "http://127.0.0.1:1234/v1/chat/completions"
        );
    }

    #[test]
    fn retry_only_where_safe() {
        let http = |status| Failure::Http {
            status,
            message: String::new(),
            retry_after: None,
        };
        assert!(http(429).retryable());
        assert!(http(503).retryable());
        assert!(!http(401).retryable());
        assert!(!http(403).retryable());
        assert!(!http(400).retryable());
        assert!(Failure::Timeout(Duration::from_secs(1)).retryable());
        assert!(!Failure::BadAnswer("x".into()).retryable());
        let echoed = Failure::Http {
            status: 401,
            message: "Incorrect API key provided: sk-secret-1234".into(),
            retry_after: None,
        };
        let text = echoed.describe("sk-secret-1234");
        assert!(!text.contains("sk-secret-1234"), "{text}");
        assert!(
            text.starts_with("HTTP 401 (the api_key was refused)"),
            "{text}"
        );
    }
}
