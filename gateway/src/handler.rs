//! One REST request: route it, build the request message, call gRPC in process, answer.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::MatchedPath;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use http_body::Body as HttpBody;
use prost::Message as _;
use prost_reflect::DynamicMessage;
use tower::Service;

use crate::dispatch;
use crate::error::{GatewayError, RESOURCE_EXHAUSTED};
use crate::request::build_request;
use crate::rules::Binding;
use crate::shared::{Shared, render};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) async fn handle<S, B>(shared: Arc<Shared>, grpc: S, request: Request<Body>) -> Response
where
    S: Service<Request<Body>, Response = http::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    match handle_inner(shared, grpc, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

/// A reconnecting EventSource sends `Last-Event-ID`: it fills the request
/// field marked `(wadesk.gateway.v1.last_event_id)` unless the query set it.
fn resume_from_last_event_id(
    shared: &Shared,
    binding: &Binding,
    headers: &http::HeaderMap,
    message: &mut DynamicMessage,
) -> Result<(), GatewayError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(());
    };
    let Some(field) = shared
        .names
        .flagged_field(&binding.method.input(), crate::json::FieldFlag::LastEventId)
    else {
        return Ok(());
    };
    if message.has_field(&field) {
        return Ok(());
    }
    let raw = value
        .to_str()
        .map_err(|_| GatewayError::invalid("Last-Event-ID: not printable text"))?
        .trim();
    if raw.is_empty() {
        return Ok(());
    }
    let value = crate::json::kind_from_json(
        &shared.names,
        &field.kind(),
        &serde_json::Value::String(raw.to_owned()),
        field.name(),
    )
    .map_err(|e| GatewayError::invalid(format!("Last-Event-ID: {e}")))?;
    message.set_field(&field, value);
    Ok(())
}

async fn handle_inner<S, B>(
    shared: Arc<Shared>,
    grpc: S,
    request: Request<Body>,
) -> Result<Response, GatewayError>
where
    S: Service<Request<Body>, Response = http::Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (mut parts, body) = request.into_parts();
    let (binding, values) = shared.route(&parts.method, parts.uri.path())?;
    let limit = shared.config.body_limit;
    // A declared length over the limit is refused before a byte of the body
    // is read (nor a `100 Continue` sent for it).
    if let Some(declared) = content_length(&parts.headers)
        && declared > limit as u64
    {
        return Err(too_large(limit));
    }
    let body = read_body(body, limit).await?;
    let mut message = build_request(
        &shared.names,
        &binding,
        &values,
        parts.uri.query(),
        &body,
        shared.config.json,
    )?;
    if binding.method.is_server_streaming() {
        resume_from_last_event_id(&shared, &binding, &parts.headers, &mut message)?;
    }
    // The gRPC router sets its own; ours would be prepended to it.
    parts.extensions.remove::<MatchedPath>();
    let (headers, mut reader) = dispatch::call(
        grpc,
        &binding.grpc_path,
        &parts.headers,
        parts.extensions,
        message.encode_to_vec(),
    )
    .await?;
    if binding.method.is_server_streaming() {
        return crate::sse::respond(shared.clone(), binding, headers, reader).await;
    }
    let first = reader.next().await?;
    let mut extra = false;
    while reader.next().await?.is_some() {
        extra = true;
    }
    reader.final_status(&headers)?;
    let bytes = match (first, extra) {
        (Some(bytes), false) => bytes,
        (None, _) => return Err(GatewayError::internal("no response message")),
        (Some(_), true) => return Err(GatewayError::internal("more than one response message")),
    };
    let reply = DynamicMessage::decode(binding.method.output(), bytes)
        .map_err(|e| GatewayError::internal(format!("cannot decode response: {e}")))?;
    let json = render(&shared.names, &binding, &reply, true);
    let mut response = (StatusCode::OK, json.to_string()).into_response();
    copy_response_headers(&headers, response.headers_mut());
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// gRPC's own code for a message over the limit; the status says 413 (it
/// was INVALID_ARGUMENT: issue 18).
fn too_large(limit: usize) -> GatewayError {
    GatewayError::new(
        RESOURCE_EXHAUSTED,
        format!("request body larger than {limit} bytes"),
    )
    .with_http_status(StatusCode::PAYLOAD_TOO_LARGE)
}

/// Reads the body up to `limit`: a chunked body is cut off as soon as it
/// passes the limit, not read to its end.
async fn read_body(body: Body, limit: usize) -> Result<Bytes, GatewayError> {
    axum::body::to_bytes(body, limit).await.map_err(|err| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(e) = source {
            if e.is::<http_body_util::LengthLimitError>() {
                return too_large(limit);
            }
            source = e.source();
        }
        GatewayError::invalid(format!("cannot read request body: {err}"))
    })
}

/// Response metadata that is not gRPC plumbing goes out as HTTP headers.
fn copy_response_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for (name, value) in from {
        let n = name.as_str();
        let plumbing = n.starts_with("grpc-")
            || matches!(
                n,
                "content-type"
                    | "content-length"
                    | "transfer-encoding"
                    | "te"
                    | "trailer"
                    | "connection"
            );
        if !plumbing {
            to.append(name.clone(), value.clone());
        }
    }
}
