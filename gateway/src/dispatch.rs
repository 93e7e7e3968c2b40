//! In-process gRPC: frame the request, call the tower service, read frames and the
//! status back out of the response (headers for trailers-only, else trailers).

use std::pin::Pin;

use axum::body::Body;
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Version, header};
use http_body::Body as HttpBody;
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

use crate::error::{self, GatewayError};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Largest response message accepted from the service.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;

/// Request headers that describe the HTTP hop, not the call; never passed on.
fn is_hop_header(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "host"
            | "content-length"
            | "content-type"
            | "content-encoding"
            | "accept-encoding"
    ) || name.starts_with("grpc-")
}

/// Frames `message` and calls `grpc` at `path`, forwarding the REST request's headers as
/// metadata and its extensions (e.g. ConnectInfo) as they are.
pub(crate) async fn call<S, B>(
    grpc: S,
    path: &str,
    headers: &HeaderMap,
    extensions: http::Extensions,
    message: Vec<u8>,
) -> Result<(HeaderMap, FrameReader<B>), GatewayError>
where
    S: Service<Request<Body>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let len = u32::try_from(message.len())
        .map_err(|_| GatewayError::invalid("request message too large"))?;
    let mut framed = Vec::with_capacity(message.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&message);

    let mut request = Request::new(Body::from(framed));
    *request.method_mut() = Method::POST;
    *request.version_mut() = Version::HTTP_2;
    *request.uri_mut() = path
        .parse()
        .map_err(|_| GatewayError::internal("bad gRPC path"))?;
    *request.extensions_mut() = extensions;
    let out = request.headers_mut();
    for (name, value) in headers {
        if !is_hop_header(name.as_str()) {
            out.append(name.clone(), value.clone());
        }
    }
    out.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/grpc"),
    );
    out.insert(header::TE, HeaderValue::from_static("trailers"));

    let response = grpc.oneshot(request).await.map_err(|e| {
        let e: BoxError = e.into();
        tracing::warn!(%path, error = %e, "in-process gRPC call failed");
        GatewayError::new(error::UNAVAILABLE, "service unavailable")
    })?;
    let (parts, body) = response.into_parts();
    if let Some(err) = status_error(&parts.headers, &parts.headers) {
        return Err(err);
    }
    if parts.status != StatusCode::OK {
        return Err(GatewayError::new(
            code_for_http(parts.status),
            format!("upstream answered HTTP {}", parts.status),
        ));
    }
    Ok((parts.headers, FrameReader::new(body)))
}

/// gRPC code for a non-200 HTTP answer without grpc-status (the gRPC HTTP/2 spec table).
fn code_for_http(status: StatusCode) -> i32 {
    match status.as_u16() {
        400 => error::INTERNAL,
        401 => error::UNAUTHENTICATED,
        403 => error::PERMISSION_DENIED,
        404 => error::UNIMPLEMENTED,
        429 | 502..=504 => error::UNAVAILABLE,
        _ => error::UNKNOWN,
    }
}

/// The error carried by a `grpc-status` in `map` (headers or trailers), if non-OK.
/// `retry_from` is searched for `retry-after` too (headers when reading trailers).
pub(crate) fn status_error(map: &HeaderMap, retry_from: &HeaderMap) -> Option<GatewayError> {
    let status = map.get("grpc-status")?;
    let code = status
        .to_str()
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok())
        .unwrap_or(error::UNKNOWN);
    if code == 0 {
        return None;
    }
    let message = map
        .get("grpc-message")
        .map(|m| {
            let raw = String::from_utf8_lossy(m.as_bytes());
            crate::template::percent_decode(&raw).unwrap_or_else(|| raw.into_owned())
        })
        .unwrap_or_default();
    let mut err = GatewayError::new(code, message);
    // A rate limit and a service that asks to be retried both say when.
    if matches!(
        err.status(),
        StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
    ) {
        err.retry_after = map
            .get(header::RETRY_AFTER)
            .or_else(|| retry_from.get(header::RETRY_AFTER))
            .cloned();
    }
    Some(err)
}

/// Reads length-prefixed gRPC messages off a response body, then its trailers.
/// `next` is cancel-safe: nothing is lost when its future is dropped at the await.
pub(crate) struct FrameReader<B> {
    body: Pin<Box<B>>,
    buf: BytesMut,
    trailers: Option<HeaderMap>,
    done: bool,
}

impl<B> FrameReader<B>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    fn new(body: B) -> Self {
        FrameReader {
            body: Box::pin(body),
            buf: BytesMut::new(),
            trailers: None,
            done: false,
        }
    }

    /// The next message, or `None` once the body has ended.
    pub async fn next(&mut self) -> Result<Option<Bytes>, GatewayError> {
        loop {
            if self.buf.len() >= 5 {
                if self.buf[0] != 0 {
                    return Err(GatewayError::internal(
                        "compressed gRPC response not supported",
                    ));
                }
                let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]);
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > MAX_MESSAGE {
                    return Err(GatewayError::internal("gRPC response message too large"));
                }
                if self.buf.len() >= 5 + len {
                    self.buf.advance(5);
                    return Ok(Some(self.buf.split_to(len).freeze()));
                }
            }
            if self.done {
                if !self.buf.is_empty() {
                    return Err(GatewayError::internal("truncated gRPC response"));
                }
                return Ok(None);
            }
            match self.body.frame().await {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.buf.extend_from_slice(&data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            self.trailers
                                .get_or_insert_with(HeaderMap::new)
                                .extend(trailers);
                        }
                    }
                },
                Some(Err(e)) => {
                    let e: BoxError = e.into();
                    tracing::warn!(error = %e, "in-process gRPC response body failed");
                    self.done = true;
                    return Err(GatewayError::new(
                        error::UNAVAILABLE,
                        "upstream stream broke off",
                    ));
                }
                None => self.done = true,
            }
        }
    }

    /// After `next` returned `None`: the error in the trailers, if any. A stream that
    /// ends without any grpc-status is an error too.
    pub fn final_status(&self, headers: &HeaderMap) -> Result<(), GatewayError> {
        match &self.trailers {
            Some(trailers) if trailers.contains_key("grpc-status") => {
                status_error(trailers, headers).map_or(Ok(()), Err)
            }
            _ => Err(GatewayError::internal(
                "gRPC response ended without a status",
            )),
        }
    }
}
