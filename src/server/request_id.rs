//! Request ids: every request carries one, from the caller's `X-Request-Id`
//! when it sends a usable one, else a new `req_...` id. The id is put back on
//! the request (so everything inside sees the same header), answered in the
//! `X-Request-Id` response header (gRPC clients read it as response
//! metadata), recorded on the `request` span that every log line of the
//! request is written under, and added to REST error bodies as
//! `error.request_id`, so a user's error report names the log lines to read.

use std::time::Instant;

use axum::{
    body::{Body, to_bytes},
    extract::Request,
    middleware::Next,
    response::Response,
};
use http::{HeaderName, HeaderValue, header};
use tracing::Instrument as _;

/// The header the id travels in, both ways.
pub(crate) const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest caller-given id kept; a longer one is replaced, not cut.
const MAX_LEN: usize = 128;

/// Largest error body rewritten to carry the id (error bodies are a few
/// hundred bytes; anything bigger is passed through untouched).
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The caller's id when it is 1 to 128 visible ASCII characters; anything
/// else (empty, too long, spaces, control or non-ASCII bytes) would make log
/// lines ambiguous or forgeable, so it gets a fresh id instead.
pub(crate) fn accepted(value: Option<&HeaderValue>) -> Option<String> {
    let bytes = value?.as_bytes();
    let usable =
        !bytes.is_empty() && bytes.len() <= MAX_LEN && bytes.iter().all(|b| b.is_ascii_graphic());
    usable.then(|| String::from_utf8_lossy(bytes).into_owned())
}

/// The middleware: outermost, so even a CORS preflight, a 404 or an
/// authentication failure carries the id.
pub(crate) async fn layer(mut request: Request, next: Next) -> Response {
    let id =
        accepted(request.headers().get(&HEADER)).unwrap_or_else(|| crate::store::new_id("req"));
    let value = HeaderValue::from_str(&id).expect("ids are visible ASCII");
    request.headers_mut().insert(HEADER, value.clone());
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status();
    span.in_scope(|| {
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), elapsed_ms, "request failed");
        } else {
            tracing::debug!(status = status.as_u16(), elapsed_ms, "request done");
        }
    });
    response.headers_mut().insert(HEADER, value);
    if status.is_client_error() || status.is_server_error() {
        response = with_id_in_body(response, &id).await;
    }
    response
}

/// Adds `request_id` to the `error` object of a JSON error body; any other
/// answer is returned as it was.
async fn with_id_in_body(response: Response, id: &str) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let small = axum::body::HttpBody::size_hint(response.body())
        .exact()
        .is_some_and(|n| n <= MAX_ERROR_BODY as u64);
    if !is_json || !small {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        // The size was exact and within the limit: a body that fails to
        // read cannot be answered either way.
        return Response::from_parts(parts, Body::empty());
    };
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(mut value) => match value.get_mut("error").and_then(|e| e.as_object_mut()) {
            Some(error) => {
                error.insert("request_id".into(), id.into());
                let rewritten = value.to_string();
                parts
                    .headers
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
                Body::from(rewritten)
            }
            None => Body::from(bytes),
        },
        Err(_) => Body::from(bytes),
    };
    Response::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usable_ids_are_kept_and_others_replaced() {
        let keep = |s: &str| accepted(Some(&HeaderValue::from_str(s).unwrap()));
        assert_eq!(keep("abc-123_X.y").as_deref(), Some("abc-123_X.y"));
        assert_eq!(keep(&"a".repeat(128)).as_deref(), Some(&*"a".repeat(128)));
        assert_eq!(keep(&"a".repeat(129)), None);
        assert_eq!(keep(""), None);
        assert_eq!(keep("two words"), None);
        assert_eq!(keep("tab\there"), None);
        assert_eq!(
            accepted(Some(&HeaderValue::from_bytes(b"caf\xc3\xa9").unwrap())),
            None
        );
        assert_eq!(accepted(None), None);
    }
}
