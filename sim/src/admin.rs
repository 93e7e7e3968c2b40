//! HTTP side of the simulator: the admin API that drives virtual phones, and the media
//! host (see `media.rs`). Documented in docs/simulator.md.
//!
//! - `POST   /admin/phones/{number}`                 create a virtual phone
//! - `GET    /admin/phones/{number}`                 the phone and its linked devices
//! - `POST   /admin/phones/{number}/scan`            body: QR text; links the client showing it
//! - `POST   /admin/phones/{number}/pair-code`       body: the 8-character code a client shows
//! - `POST   /admin/phones/{number}/send`            `{"to", "text"}` or `{"to", "location": {...}}`,
//!   with `reply_to` (a message id; `reply_to_from`: its author, default `to`) and `mentions`;
//!   or `{"to", "react_to", "emoji", "react_from_me"}` for a reaction, `{"to", "edit_of", "text"}`
//!   for an edit of its own message, `{"to", "revoke"}` to delete one for everyone
//! - `GET    /admin/phones/{number}/messages`        what the phone received
//! - `GET    /admin/phones/{number}/sent`            what it sent, with delivery state
//! - `POST   /admin/phones/{number}/read`            `{"ids": [...]}` (or a bare JSON array)
//! - `POST   /admin/phones/{number}/offline|online`
//! - `DELETE /admin/phones/{number}/devices/{device}` unlink a companion from the phone
//! - `POST   /admin/outage` / `DELETE /admin/outage` start / end a simulated outage
//! - `GET    /admin/outage`                          `{"outage": bool}`
//! - `GET    /admin/ca.pem`                          the CA certificate of the HTTPS media host

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

use crate::state::Shared;
use crate::{media, paircode, pairing, phone, phone_send, server};

pub(crate) async fn serve(shared: Arc<Shared>, listener: tokio::net::TcpListener) {
    let app = Router::new()
        .route("/admin/phones/{number}", post(create).get(show))
        .route("/admin/phones/{number}/scan", post(scan))
        .route("/admin/phones/{number}/pair-code", post(pair_code))
        .route("/admin/phones/{number}/send", post(send))
        .route("/admin/phones/{number}/messages", get(messages))
        .route("/admin/phones/{number}/sent", get(sent))
        .route("/admin/phones/{number}/chat-states", get(chat_states))
        .route("/admin/phones/{number}/read", post(read))
        .route("/admin/phones/{number}/offline", post(offline))
        .route("/admin/phones/{number}/online", post(online))
        .route("/admin/phones/{number}/devices/{device}", delete(unlink))
        .route(
            "/admin/outage",
            post(outage_on).delete(outage_off).get(outage_state),
        )
        .route("/admin/ca.pem", get(ca_pem))
        .merge(media::routes())
        .fallback(|| async { err(StatusCode::NOT_FOUND, "no such endpoint") })
        .with_state(shared);
    if let Err(e) = axum::serve(listener, app).await {
        log::error!("admin/media HTTP server stopped: {e}");
    }
}

fn err(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (code, axum::Json(json!({ "error": msg.to_string() }))).into_response()
}

fn valid_number(n: &str) -> bool {
    (5..=20).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())
}

fn exists(shared: &Shared, number: &str) -> bool {
    shared.state().dir.phone(number).is_some()
}

async fn create(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    if !valid_number(&number) {
        return err(StatusCode::BAD_REQUEST, "a phone number is 5-20 digits");
    }
    let info = phone::create_phone(&shared, &number);
    (StatusCode::CREATED, axum::Json(info)).into_response()
}

async fn show(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    let info = shared.state().dir.phone(&number).map(|p| p.info());
    match info {
        Some(i) => axum::Json(i).into_response(),
        None => err(StatusCode::NOT_FOUND, "no such virtual phone"),
    }
}

async fn scan(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    body: String,
) -> Response {
    if !exists(&shared, &number) {
        return err(StatusCode::NOT_FOUND, "no such virtual phone");
    }
    match pairing::scan(&shared, body.trim(), &number) {
        Ok(p) => axum::Json(p).into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

#[derive(Deserialize)]
struct Location {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Deserialize)]
struct SendBody {
    to: String,
    text: Option<String>,
    location: Option<Location>,
    /// Reply to this message id (of the chat with `to`).
    reply_to: Option<String>,
    /// Who wrote the quoted message (a number; default: `to`).
    reply_to_from: Option<String>,
    /// Numbers to mention.
    #[serde(default)]
    mentions: Vec<String>,
    /// React to this message id of the chat with `to` (with `emoji`;
    /// `react_from_me`: the message was this phone's own).
    react_to: Option<String>,
    #[serde(default)]
    emoji: String,
    #[serde(default)]
    react_from_me: bool,
    /// Edit this phone's earlier message (to `to`) to `text`.
    edit_of: Option<String>,
    /// Delete this phone's earlier message (to `to`) for everyone.
    revoke: Option<String>,
}

async fn send(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    axum::Json(body): axum::Json<SendBody>,
) -> Response {
    use waproto::whatsapp as wa;
    if !exists(&shared, &number) {
        return err(StatusCode::NOT_FOUND, "no such virtual phone");
    }
    let to: String = body.to.chars().filter(char::is_ascii_digit).collect();
    let key = |id: &String| {
        buffa::MessageField::some(wa::MessageKey {
            remote_jid: Some(format!("{to}@s.whatsapp.net")),
            from_me: Some(true),
            id: Some(id.clone()),
            ..Default::default()
        })
    };
    let change = match (&body.edit_of, &body.revoke) {
        (Some(id), None) => Some(wa::message::ProtocolMessage {
            key: key(id),
            r#type: Some(wa::message::protocol_message::Type::MESSAGE_EDIT),
            edited_message: buffa::MessageField::some(wa::Message {
                conversation: body.text.clone(),
                ..Default::default()
            }),
            timestamp_ms: Some(crate::nodes::unix_now_ms() as i64),
            ..Default::default()
        }),
        (None, Some(id)) => Some(wa::message::ProtocolMessage {
            key: key(id),
            r#type: Some(wa::message::protocol_message::Type::REVOKE),
            ..Default::default()
        }),
        _ => None,
    };
    let msg = match (body.text, body.location) {
        _ if change.is_some() => wa::Message {
            protocol_message: buffa::MessageField::from(change),
            ..Default::default()
        },
        (None, None) if body.react_to.is_some() => wa::Message {
            reaction_message: buffa::MessageField::some(wa::message::ReactionMessage {
                key: buffa::MessageField::some(wa::MessageKey {
                    remote_jid: Some(format!("{to}@s.whatsapp.net")),
                    from_me: Some(body.react_from_me),
                    id: body.react_to.clone(),
                    ..Default::default()
                }),
                text: Some(body.emoji.clone()),
                sender_timestamp_ms: Some(crate::nodes::unix_now_ms() as i64),
                ..Default::default()
            }),
            ..Default::default()
        },
        (Some(text), None) => wa::Message {
            conversation: Some(text),
            ..Default::default()
        },
        (None, Some(l)) => wa::Message {
            location_message: buffa::MessageField::some(wa::message::LocationMessage {
                degrees_latitude: Some(l.latitude),
                degrees_longitude: Some(l.longitude),
                name: l.name,
                address: l.address,
                ..Default::default()
            }),
            ..Default::default()
        },
        _ => {
            return err(
                StatusCode::BAD_REQUEST,
                "give exactly one of text or location",
            );
        }
    };
    let mut msg = msg;
    if body.reply_to.is_some() || !body.mentions.is_empty() {
        use wacore::proto_helpers::MessageExt as _;
        let jid = |n: &str| {
            let digits: String = n.chars().filter(char::is_ascii_digit).collect();
            format!("{digits}@s.whatsapp.net")
        };
        let quoted_from = body.reply_to_from.as_deref().unwrap_or(&to);
        msg.set_context_info(wa::ContextInfo {
            stanza_id: body.reply_to.clone(),
            participant: body.reply_to.as_ref().map(|_| jid(quoted_from)),
            quoted_message: match &body.reply_to {
                Some(_) => buffa::MessageField::some(wa::Message {
                    conversation: Some(String::new()),
                    ..Default::default()
                }),
                None => buffa::MessageField::none(),
            },
            mentioned_jid: body.mentions.iter().map(|n| jid(n)).collect(),
            ..Default::default()
        });
    }
    match phone_send::send(&shared, &number, &to, msg).await {
        Ok(id) => axum::Json(json!({ "id": id })).into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

async fn messages(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    let st = shared.state();
    match st.dir.phone(&number) {
        Some(p) => axum::Json(p.primary.received.clone()).into_response(),
        None => err(StatusCode::NOT_FOUND, "no such virtual phone"),
    }
}

async fn chat_states(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    let st = shared.state();
    match st.dir.phone(&number) {
        Some(p) => axum::Json(p.primary.chat_states.clone()).into_response(),
        None => err(StatusCode::NOT_FOUND, "no such virtual phone"),
    }
}

async fn sent(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    let st = shared.state();
    match st.dir.phone(&number) {
        Some(p) => axum::Json(p.primary.sent.clone()).into_response(),
        None => err(StatusCode::NOT_FOUND, "no such virtual phone"),
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ReadBody {
    Ids { ids: Vec<String> },
    List(Vec<String>),
}

async fn read(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    axum::Json(body): axum::Json<ReadBody>,
) -> Response {
    let ids = match body {
        ReadBody::Ids { ids } | ReadBody::List(ids) => ids,
    };
    match phone_send::mark_read(&shared, &number, &ids) {
        Ok(n) => axum::Json(json!({ "read": n })).into_response(),
        Err(e) => err(StatusCode::NOT_FOUND, format!("{e:#}")),
    }
}

async fn offline(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    if phone::set_phone_online(&shared, &number, false) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        err(StatusCode::NOT_FOUND, "no such virtual phone")
    }
}

async fn online(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    if phone::set_phone_online(&shared, &number, true) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        err(StatusCode::NOT_FOUND, "no such virtual phone")
    }
}

async fn unlink(
    State(shared): State<Arc<Shared>>,
    Path((number, device)): Path<(String, u32)>,
) -> Response {
    if pairing::unlink(&shared, &number, device) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        err(StatusCode::NOT_FOUND, "no such linked device")
    }
}

async fn pair_code(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    body: String,
) -> Response {
    if !exists(&shared, &number) {
        return err(StatusCode::NOT_FOUND, "no such virtual phone");
    }
    match paircode::enter_pair_code(&shared, &number, body.trim()) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

async fn outage_on(State(shared): State<Arc<Shared>>) -> Response {
    let dropped = server::set_outage(&shared, true);
    axum::Json(json!({ "dropped": dropped })).into_response()
}

async fn outage_off(State(shared): State<Arc<Shared>>) -> Response {
    server::set_outage(&shared, false);
    StatusCode::NO_CONTENT.into_response()
}

async fn outage_state(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(json!({ "outage": shared.in_outage() })).into_response()
}

async fn ca_pem(State(shared): State<Arc<Shared>>) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
        shared.ca_pem.clone(),
    )
        .into_response()
}
