//! Server streaming methods as Server-Sent Events.
//!
//! The HTTP status is decided before the first event: a trailers-only gRPC error (or a
//! stream that fails before its first message, within a short wait) is answered as a
//! plain JSON error. After that each message is one unnamed `data:` event, and a stream
//! that ends with a non-OK status sends a final `event: error` with the error body.
//! Dropping the response (client gone) drops the upstream body, which cancels the call.

use std::convert::Infallible;
use std::sync::Arc;

use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::stream::{self, Stream};
use http::{HeaderMap, HeaderValue};
use http_body::Body as HttpBody;

use crate::dispatch::FrameReader;
use crate::error::GatewayError;
use crate::rules::Binding;
use crate::shared::{Shared, render};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub(crate) async fn respond<B>(
    shared: Arc<Shared>,
    binding: Arc<Binding>,
    headers: HeaderMap,
    mut reader: FrameReader<B>,
) -> Result<Response, GatewayError>
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let first = match tokio::time::timeout(shared.config.first_message_wait, reader.next()).await {
        Ok(Ok(Some(message))) => Some(message),
        Ok(Ok(None)) => {
            // Ended before any message: an error status is a plain JSON error.
            reader.final_status(&headers)?;
            None
        }
        Ok(Err(err)) => return Err(err),
        // Nothing yet: open the event stream; `next` is cancel-safe.
        Err(_) => None,
    };
    let state = State {
        shared: shared.clone(),
        binding,
        headers,
        reader: Some(reader),
        pending: first,
    };
    let mut response = Sse::new(events(state))
        .keep_alive(KeepAlive::new().interval(shared.config.keep_alive))
        .into_response();
    // Tells nginx-style proxies not to buffer the stream.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

struct State<B> {
    shared: Arc<Shared>,
    binding: Arc<Binding>,
    headers: HeaderMap,
    /// `None` once the stream has finished (after the final error event, if any).
    reader: Option<FrameReader<B>>,
    pending: Option<Bytes>,
}

/// The value of the field marked `(wadesk.gateway.v1.sse_event_id)`.
fn event_id(shared: &Shared, msg: &prost_reflect::DynamicMessage) -> Option<String> {
    let field = shared.names.flagged_field(
        &prost_reflect::ReflectMessage::descriptor(msg),
        crate::json::FieldFlag::SseEventId,
    )?;
    let value = msg.get_field(&field);
    let text = match value.as_ref() {
        prost_reflect::Value::String(s) => s.clone(),
        prost_reflect::Value::U64(n) => n.to_string(),
        prost_reflect::Value::I64(n) => n.to_string(),
        prost_reflect::Value::U32(n) => n.to_string(),
        prost_reflect::Value::I32(n) => n.to_string(),
        _ => return None,
    };
    // An SSE id may not contain newlines (or NUL).
    (!text.is_empty() && !text.contains(['\n', '\r', '\0'])).then_some(text)
}

fn error_event(err: &GatewayError) -> Event {
    Event::default().event("error").data(err.body().to_string())
}

fn events<B>(state: State<B>) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static
where
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    stream::unfold(state, |mut st| async move {
        let reader = st.reader.as_mut()?;
        let next = match st.pending.take() {
            Some(message) => Ok(Some(message)),
            None => reader.next().await,
        };
        let event = match next {
            Ok(Some(bytes)) => {
                match prost_reflect::DynamicMessage::decode(st.binding.method.output(), bytes) {
                    Ok(msg) => {
                        let json = render(&st.shared.names, &st.binding, &msg, false);
                        let mut event = Event::default().data(json.to_string());
                        if let Some(id) = event_id(&st.shared, &msg) {
                            event = event.id(id);
                        }
                        return Some((Ok(event), st));
                    }
                    Err(e) => GatewayError::internal(format!("cannot decode stream message: {e}")),
                }
            }
            Ok(None) => match reader.final_status(&st.headers) {
                Ok(()) => return None,
                Err(err) => err,
            },
            Err(err) => err,
        };
        st.reader = None;
        Some((Ok(error_event(&event)), st))
    })
}
