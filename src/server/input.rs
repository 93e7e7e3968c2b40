//! Limits on what one request may send, answered in the API's own error
//! shape: a request target longer than `server.max_uri_bytes` gets 414, and
//! more than `server.max_headers` header fields or `server.max_header_bytes`
//! of them get 431, before anything else looks at the request. A gRPC call
//! gets RESOURCE_EXHAUSTED instead, as gRPC clients read statuses.
//!
//! hyper parses a request head before any of this runs, with its own limits
//! set to twice these (see `listen.rs`): a request past those gets hyper's
//! bare 431 (or 414 for a target over 64 KiB) and its connection is closed.
//! The body limit (`server.max_body_bytes`) is the gateway's, for REST, and
//! tonic's message size limit, for gRPC.

use axum::{
    body::Body,
    extract::{Request, State},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, StatusCode, header};

use crate::config;

/// The request head limits (from `[server]`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeadLimits {
    pub max_uri_bytes: usize,
    pub max_headers: usize,
    pub max_header_bytes: usize,
}

impl HeadLimits {
    pub(crate) fn from_config(server: &config::Server) -> HeadLimits {
        HeadLimits {
            max_uri_bytes: server.max_uri_bytes,
            max_headers: server.max_headers,
            max_header_bytes: server.max_header_bytes,
        }
    }

    /// What hyper itself is held to: room for a head past these limits to
    /// reach them (and get a clear answer), and no more.
    pub(crate) fn hyper_max_headers(&self) -> usize {
        self.max_headers.saturating_mul(2).max(100)
    }

    /// hyper's read buffer holds the whole request head (request line and
    /// headers); its minimum is 8 KiB.
    pub(crate) fn hyper_max_buf_size(&self) -> usize {
        (self.max_uri_bytes + self.max_header_bytes)
            .saturating_mul(2)
            .max(8192)
    }

    /// The HTTP/2 header list limit: names, values and 32 bytes per field.
    pub(crate) fn h2_max_header_list_size(&self) -> u32 {
        let bytes =
            (self.max_header_bytes + 32 * self.max_headers + self.max_uri_bytes).saturating_mul(2);
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }

    /// Why this request head is refused, if it is.
    fn refusal(&self, request: &Request) -> Option<(StatusCode, String)> {
        let target = request
            .uri()
            .path_and_query()
            .map_or(0, |pq| pq.as_str().len());
        if target > self.max_uri_bytes {
            let path = request.uri().path();
            let shown: String = path.chars().take(40).collect();
            let more = if shown.len() < path.len() { "..." } else { "" };
            return Some((
                StatusCode::URI_TOO_LONG,
                format!(
                    "the request path and query ({shown}{more}) are {target} bytes long; at most {} are accepted (server.max_uri_bytes)",
                    self.max_uri_bytes
                ),
            ));
        }
        let headers = request.headers();
        if headers.len() > self.max_headers {
            return Some((
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request has {} header fields; at most {} are accepted (server.max_headers)",
                    headers.len(),
                    self.max_headers
                ),
            ));
        }
        let bytes = header_bytes(headers);
        if bytes > self.max_header_bytes {
            let largest = headers
                .iter()
                .max_by_key(|(name, value)| name.as_str().len() + value.len())
                .map(|(name, value)| format!(", the largest `{name}` with {} bytes", value.len()))
                .unwrap_or_default();
            return Some((
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                format!(
                    "the request headers are {bytes} bytes in all{largest}; at most {} are accepted (server.max_header_bytes)",
                    self.max_header_bytes
                ),
            ));
        }
        None
    }
}

/// Names and values, as they would be written (without separators).
fn header_bytes(headers: &HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum()
}

fn is_grpc(request: &Request) -> bool {
    request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/grpc"))
}

/// The middleware: refuses a request over a head limit, passes the rest.
pub(crate) async fn limit_heads(
    State(limits): State<HeadLimits>,
    request: Request,
    next: Next,
) -> Response {
    let Some((status, message)) = limits.refusal(&request) else {
        return next.run(request).await;
    };
    tracing::debug!(%status, %message, "request refused");
    if is_grpc(&request) {
        return tonic::Status::resource_exhausted(message)
            .into_http::<Body>()
            .into_response();
    }
    wadesk_gateway::error_response(status, "RESOURCE_EXHAUSTED", &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> HeadLimits {
        HeadLimits {
            max_uri_bytes: 32,
            max_headers: 3,
            max_header_bytes: 40,
        }
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::builder().uri(uri);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn heads_within_the_limits_pass() {
        let ok = request("/api/phones?limit=5", &[("a", "1"), ("b", "2"), ("c", "3")]);
        assert!(limits().refusal(&ok).is_none());
    }

    #[test]
    fn each_limit_is_named() {
        let long = request(&format!("/api/{}", "p".repeat(40)), &[]);
        let (status, message) = limits().refusal(&long).unwrap();
        assert_eq!(status, StatusCode::URI_TOO_LONG);
        assert!(message.contains("/api/ppp") && message.contains("server.max_uri_bytes"));

        let many = request("/", &[("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")]);
        let (status, message) = limits().refusal(&many).unwrap();
        assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert!(message.contains("4 header fields"), "{message}");

        let big = request("/", &[("cookie", &"x".repeat(50))]);
        let (status, message) = limits().refusal(&big).unwrap();
        assert_eq!(status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        assert!(message.contains("`cookie` with 50 bytes"), "{message}");
    }

    #[test]
    fn hyper_gets_room_past_the_limits() {
        let l = limits();
        assert!(l.hyper_max_buf_size() >= 8192);
        assert!(l.hyper_max_headers() >= 100);
        let d = HeadLimits {
            max_uri_bytes: 8192,
            max_headers: 100,
            max_header_bytes: 16384,
        };
        assert_eq!(d.hyper_max_headers(), 200);
        assert_eq!(d.hyper_max_buf_size(), 49152);
    }
}
