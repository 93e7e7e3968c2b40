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
//!   for an edit of its own message, `{"to", "revoke"}` to delete one for everyone,
//!   `{"to", "contacts": [{"name", "numbers"}]}` for contact cards, `{"to", "poll": {"question",
//!   "options", "selectable"}}` for a poll, `{"to", "vote": {"poll", "options"}}` to vote on a
//!   poll it received from `to`; `{"to", "media": {"kind", "data" (base64), "mime", "caption",
//!   "file_name", "seconds"}}` sends a file (encrypted and put on the media host as a phone
//!   uploads it; kind image, video, audio, voice, document, sticker); `"forwarded": true` marks
//!   a message forwarded
//! - `POST   /admin/phones/{number}/typing`          `{"to", "state"}`: composing, recording, paused
//! - `POST   /admin/phones/{number}/call`            `{"to", "video"}`: places a call; `{"call_id"}`
//! - `GET    /admin/phones/{number}/calls`           calls it placed (`rejected` once declined)
//! - `GET    /admin/phones/{number}/messages`        what the phone received
//! - `GET    /admin/phones/{number}/sent`            what it sent, with delivery state
//! - `POST   /admin/phones/{number}/read`            `{"ids": [...]}` (or a bare JSON array)
//! - `POST   /admin/phones/{number}/offline|online`
//! - `DELETE /admin/phones/{number}/devices/{device}` unlink a companion from the phone
//! - `GET    /admin/phones/{number}/profile`         about, picture, business profile, blocklist,
//!   presence and each device's push name
//! - `POST   /admin/phones/{number}/profile`         `{"about", "picture" (base64; "" removes it),
//!   "business": {"name", "description", "email", "website": [], "address", "category"} or null,
//!   "privacy": {"last": "none", ...}}`
//! - `POST   /admin/phones/{number}/presence`        `{"available": bool}`: subscribers are told
//! - `POST   /admin/outage` / `DELETE /admin/outage` start / end a simulated outage
//! - `GET    /admin/outage`                          `{"outage": bool}`
//! - `GET    /admin/ca.pem`                          the CA certificate of the HTTPS media host
//! - groups: see `admin_groups.rs` (`/admin/groups`, `/admin/phones/{number}/groups/...`)

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::json;

use crate::state::Shared;
use crate::{admin_groups, media, paircode, pairing, phone, phone_send, server};

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
        .route("/admin/phones/{number}/typing", post(typing))
        .route("/admin/phones/{number}/call", post(call))
        .route("/admin/phones/{number}/calls", get(calls))
        .route("/admin/phones/{number}/offline", post(offline))
        .route("/admin/phones/{number}/online", post(online))
        .route("/admin/phones/{number}/devices/{device}", delete(unlink))
        .route(
            "/admin/outage",
            post(outage_on).delete(outage_off).get(outage_state),
        )
        .route("/admin/ca.pem", get(ca_pem))
        .merge(crate::profile::admin_routes())
        .merge(admin_groups::routes())
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
    /// Contact cards to send.
    contacts: Option<Vec<CardBody>>,
    /// A poll to send.
    poll: Option<PollBody>,
    /// A vote on a poll this phone received from `to`.
    vote: Option<VoteBody>,
    /// Mark the message forwarded.
    #[serde(default)]
    forwarded: bool,
    /// A file the phone encrypts, puts on the media host and sends.
    media: Option<MediaBody>,
}

#[derive(Deserialize)]
struct MediaBody {
    /// `image`, `video`, `audio`, `voice`, `document` or `sticker`.
    kind: String,
    /// The file, base64.
    data: String,
    mime: Option<String>,
    caption: Option<String>,
    file_name: Option<String>,
    /// A voice note's or audio's length.
    seconds: Option<u32>,
}

/// The message for a file a virtual phone sends: encrypted with a new media
/// key and stored on the media host, as a phone uploads it.
fn media_message(shared: &Shared, m: &MediaBody) -> Result<waproto::whatsapp::Message, String> {
    use base64::Engine as _;
    use wacore::download::MediaType;
    use waproto::whatsapp as wa;
    let plain = base64::engine::general_purpose::STANDARD
        .decode(&m.data)
        .map_err(|e| format!("media.data: {e}"))?;
    let media_type = match m.kind.as_str() {
        "image" => MediaType::Image,
        "video" => MediaType::Video,
        "audio" | "voice" => MediaType::Audio,
        "document" => MediaType::Document,
        "sticker" => MediaType::Sticker,
        other => {
            return Err(format!(
                "media.kind {other}: image, video, audio, voice, document or sticker"
            ));
        }
    };
    let enc = wacore::upload::encrypt_media(&plain, media_type).map_err(|e| format!("{e:#}"))?;
    let token: String = enc
        .file_enc_sha256
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let path_kind = match m.kind.as_str() {
        "voice" => "audio",
        "sticker" => "image",
        k => k,
    };
    let direct_path =
        shared
            .media
            .put_from_phone(path_kind, &token, bytes::Bytes::from(enc.data_to_upload));
    let url = format!("https://{}{}", shared.media.https_host, direct_path);
    let now = crate::nodes::unix_now() as i64;
    // The fields every media message has, then the kind's own.
    macro_rules! media {
        ($ty:ident { $($field:ident: $value:expr),* $(,)? }) => {
            buffa::MessageField::some(wa::message::$ty {
                url: Some(url.clone()),
                direct_path: Some(direct_path.clone()),
                media_key: Some(enc.media_key.to_vec()),
                file_sha256: Some(enc.file_sha256.to_vec()),
                file_enc_sha256: Some(enc.file_enc_sha256.to_vec()),
                file_length: Some(plain.len() as u64),
                media_key_timestamp: Some(now),
                mimetype: m.mime.clone(),
                $($field: $value,)*
                ..Default::default()
            })
        };
    }
    let mut msg = wa::Message::default();
    match m.kind.as_str() {
        "image" => {
            msg.image_message = media!(ImageMessage {
                caption: m.caption.clone(),
            })
        }
        "video" => {
            msg.video_message = media!(VideoMessage {
                caption: m.caption.clone(),
                seconds: m.seconds,
            })
        }
        "audio" => msg.audio_message = media!(AudioMessage { seconds: m.seconds }),
        "voice" => {
            msg.audio_message = media!(AudioMessage {
                seconds: m.seconds,
                ptt: Some(true),
            })
        }
        "document" => {
            msg.document_message = media!(DocumentMessage {
                file_name: m.file_name.clone(),
                caption: m.caption.clone(),
            })
        }
        _ => msg.sticker_message = media!(StickerMessage {}),
    }
    Ok(msg)
}

#[derive(Deserialize)]
struct CardBody {
    name: String,
    numbers: Vec<String>,
}

#[derive(Deserialize)]
struct PollBody {
    question: String,
    options: Vec<String>,
    #[serde(default)]
    selectable: Option<u32>,
}

#[derive(Deserialize)]
struct VoteBody {
    /// The poll's message id.
    poll: String,
    /// The option names chosen (empty takes the vote back).
    options: Vec<String>,
}

/// The message a phone sends for `body`'s contact cards, poll or vote, if
/// it asks for one of them.
fn card_poll_or_vote(
    shared: &Shared,
    number: &str,
    to: &str,
    body: &SendBody,
) -> Result<Option<waproto::whatsapp::Message>, String> {
    use waproto::whatsapp as wa;
    if let Some(cards) = &body.contacts {
        let contact = |c: &CardBody| {
            let mut vcard = format!("BEGIN:VCARD\nVERSION:3.0\nFN:{}\n", c.name);
            for n in &c.numbers {
                vcard.push_str(&format!("TEL;type=CELL;waid={n}:+{n}\n"));
            }
            vcard.push_str("END:VCARD");
            wa::message::ContactMessage {
                display_name: Some(c.name.clone()),
                vcard: Some(vcard),
                ..Default::default()
            }
        };
        let mut m = wa::Message::default();
        match cards.as_slice() {
            [one] => m.contact_message = buffa::MessageField::some(contact(one)),
            many => {
                m.contacts_array_message =
                    buffa::MessageField::some(wa::message::ContactsArrayMessage {
                        display_name: Some(format!("{} contacts", many.len())),
                        contacts: many.iter().map(contact).collect(),
                        ..Default::default()
                    })
            }
        }
        return Ok(Some(m));
    }
    if let Some(p) = &body.poll {
        use rand::RngExt as _;
        let secret: [u8; 32] = rand::rng().random();
        let selectable = p.selectable.unwrap_or(1);
        let poll = wa::message::PollCreationMessage {
            name: Some(p.question.clone()),
            options: p
                .options
                .iter()
                .map(|o| wa::message::poll_creation_message::Option {
                    option_name: Some(o.clone()),
                    option_hash: None,
                })
                .collect(),
            selectable_options_count: Some(selectable),
            ..Default::default()
        };
        let mut m = wa::Message {
            message_context_info: buffa::MessageField::some(wa::MessageContextInfo {
                message_secret: Some(secret.to_vec()),
                ..Default::default()
            }),
            ..Default::default()
        };
        if selectable == 1 {
            m.poll_creation_message_v3 = buffa::MessageField::some(poll);
        } else {
            m.poll_creation_message = buffa::MessageField::some(poll);
        }
        return Ok(Some(m));
    }
    let Some(vote) = &body.vote else {
        return Ok(None);
    };
    // The poll as this phone received it, with its secret.
    let secret = {
        let st = shared.state();
        st.dir
            .phone(number)
            .and_then(|p| {
                p.primary
                    .received
                    .iter()
                    .find(|m| m.id == vote.poll && m.from == to)
                    .and_then(|m| m.poll.as_ref().map(|p| p.secret.clone()))
            })
            .ok_or_else(|| format!("{number} received no poll {} from {to}", vote.poll))?
    };
    let hashes: Vec<Vec<u8>> = vote
        .options
        .iter()
        .map(|o| wacore::poll::compute_option_hash(o).to_vec())
        .collect();
    let (payload, iv) = wacore::poll::encrypt_poll_vote_with_secret(
        &hashes,
        &secret,
        &vote.poll,
        &crate::nodes::pn_jid(to),
        &crate::nodes::pn_jid(number),
    )
    .map_err(|e| format!("encrypting the vote: {e}"))?;
    Ok(Some(wa::Message {
        poll_update_message: buffa::MessageField::some(wa::message::PollUpdateMessage {
            poll_creation_message_key: buffa::MessageField::some(wa::MessageKey {
                remote_jid: Some(crate::nodes::pn_jid(to)),
                from_me: Some(false),
                id: Some(vote.poll.clone()),
                ..Default::default()
            }),
            vote: buffa::MessageField::some(wa::message::PollEncValue {
                enc_payload: Some(payload),
                enc_iv: Some(iv.to_vec()),
            }),
            sender_timestamp_ms: Some(crate::nodes::unix_now_ms() as i64),
            ..Default::default()
        }),
        ..Default::default()
    }))
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
    let other = match (&body.media, card_poll_or_vote(&shared, &number, &to, &body)) {
        (Some(m), _) => match media_message(&shared, m) {
            Ok(msg) => Some(msg),
            Err(e) => return err(StatusCode::BAD_REQUEST, e),
        },
        (None, Ok(other)) => other,
        (None, Err(e)) => return err(StatusCode::BAD_REQUEST, e),
    };
    let msg = match (body.text, body.location) {
        _ if other.is_some() => other.unwrap_or_default(),
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
    if body.reply_to.is_some() || !body.mentions.is_empty() || body.forwarded {
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
            is_forwarded: body.forwarded.then_some(true),
            forwarding_score: body.forwarded.then_some(1),
            ..Default::default()
        });
    }
    match phone_send::send(&shared, &number, &to, msg).await {
        Ok(id) => axum::Json(json!({ "id": id })).into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

#[derive(Deserialize)]
struct TypingBody {
    to: String,
    state: String,
}

async fn typing(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    axum::Json(body): axum::Json<TypingBody>,
) -> Response {
    if !exists(&shared, &number) {
        return err(StatusCode::NOT_FOUND, "no such virtual phone");
    }
    let to: String = body.to.chars().filter(char::is_ascii_digit).collect();
    match phone_send::chat_state(&shared, &number, &to, &body.state) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

#[derive(Deserialize)]
struct CallBody {
    to: String,
    #[serde(default)]
    video: bool,
}

async fn call(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    axum::Json(body): axum::Json<CallBody>,
) -> Response {
    if !exists(&shared, &number) {
        return err(StatusCode::NOT_FOUND, "no such virtual phone");
    }
    let to: String = body.to.chars().filter(char::is_ascii_digit).collect();
    match phone_send::place_call(&shared, &number, &to, body.video) {
        Ok(call_id) => axum::Json(json!({ "call_id": call_id })).into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

async fn calls(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    let st = shared.state();
    match st.dir.phone(&number) {
        Some(p) => axum::Json(p.primary.calls.clone()).into_response(),
        None => err(StatusCode::NOT_FOUND, "no such virtual phone"),
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
