//! The one send path. Every message the gateway sends (an API request, a
//! campaign recipient, a bot reply) goes through [`Sender::send`]: the
//! phone's plan admits the recipient, the message is written to the durable
//! outbox, and the phone's session is handed it. What became of it is an
//! [`Outcome`], typed, for the caller to answer or act on.

use std::{sync::Arc, time::Instant};

use sea_orm::DatabaseConnection;

use crate::{
    error::{Error, Result, is_unique_violation},
    fetch::{FetchError, Fetcher},
    media::{self, Kind},
    metrics::{Metrics, SendOutcome},
    plan,
    sessions::{Handed, Handover, NotSent, SendFailure, SessionManager},
    store::{
        self,
        entity::{
            bulk, bulk_recipient, message, phone,
            vocab::{MessageStatus, Source},
        },
        messages::{Body, NewOutbound},
    },
};

/// What became of a message.
#[derive(Debug)]
pub enum Outcome {
    /// WhatsApp took it (its status is `sent`, or further along if a
    /// receipt came first).
    Sent(message::Model),
    /// It waits in the outbox (status `queued`) and goes out when the
    /// phone's session can send it; message.status tells when.
    Queued { row: message::Model, why: NotSent },
    /// WhatsApp did not take it; it is stored `failed` with this reason.
    Failed {
        row: message::Model,
        failure: SendFailure,
    },
    /// The idempotency key was used before: the first message, as it is.
    Replayed(message::Model),
    /// A campaign recipient that was skipped (cancelled) before its message
    /// was written: nothing was stored.
    Skipped,
}

/// What a message carries once its fields are valid.
pub enum Content {
    /// Text or location: ready for the outbox.
    Ready(Box<Body>),
    /// A file to fetch, check and upload first.
    Media {
        kind: Kind,
        source: MediaSource,
        caption: Option<String>,
        file_name: Option<String>,
    },
}

/// Where a media send's file comes from.
pub enum MediaSource {
    /// Fetched through the guarded fetcher.
    Url(url::Url),
    /// An upload of the account (`POST /api/media`).
    Upload(String),
    /// Given in the request (`data`).
    Data(Vec<u8>),
}

impl MediaSource {
    /// The request field that named the file, for errors about it.
    fn field(&self) -> &'static str {
        match self {
            MediaSource::Url(_) => "url",
            MediaSource::Upload(_) => "media_id",
            MediaSource::Data(_) => "data",
        }
    }
}

impl Content {
    /// A text message.
    pub fn text(text: String) -> Content {
        Content::Ready(Box::new(Body::text(text)))
    }
}

/// One message to send.
pub struct Message<'a> {
    pub phone: &'a phone::Model,
    /// The recipient, digits with country code.
    pub to: String,
    pub content: Content,
    pub source: Source,
    pub idempotency: Option<Idempotency>,
    /// A campaign's recipient: the message is written together with the
    /// recipient's claim, at the campaign's chosen moment (Unix ms).
    pub campaign: Option<(&'a bulk::Model, &'a bulk_recipient::Model, i64)>,
    /// The message it replies to and the numbers it mentions.
    pub context: crate::context::Context,
}

/// A caller's idempotency key and what it asked for: the same key with the
/// same request replays the first answer; with another request it is
/// refused (as Stripe does), never silently answered with the first.
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    /// A digest of the whole request (its kind and every field).
    pub request: String,
}

impl Idempotency {
    /// The first message sent with this key, if the request is the same.
    fn replay(&self, first: message::Model) -> Result<Outcome> {
        match &first.idempotency_request {
            Some(request) if *request != self.request => Err(Error::Conflict(format!(
                "Idempotency-Key {:?} was used for a different request (message {}); \
                 use a new key for a new message",
                self.key, first.wa_id
            ))),
            // Rows from before the digest was kept replay as they did.
            _ => Ok(Outcome::Replayed(first)),
        }
    }
}

/// Sends messages; cheap to clone.
#[derive(Clone)]
pub struct Sender {
    db: DatabaseConnection,
    sessions: Arc<SessionManager>,
    fetcher: Fetcher,
    uploads: crate::uploads::Uploads,
    metrics: Metrics,
}

impl Sender {
    pub fn new(
        db: DatabaseConnection,
        sessions: Arc<SessionManager>,
        fetcher: Fetcher,
        uploads: crate::uploads::Uploads,
        metrics: Metrics,
    ) -> Sender {
        Sender {
            db,
            sessions,
            fetcher,
            uploads,
            metrics,
        }
    }

    /// Admits, stores and hands over one message. An error means nothing
    /// was stored (or, for [`Error::Internal`], that what was stored is
    /// unknown); every other outcome is an [`Outcome`].
    ///
    /// Its time, from the call to the message stored and handed over (or
    /// queued), is the send latency metric; a replay or a skipped
    /// campaign recipient sends nothing and is not timed.
    pub async fn send(&self, message: Message<'_>) -> Result<Outcome> {
        let started = Instant::now();
        let source = message.source;
        let result = self.store_and_hand_over(message).await;
        let outcome = match &result {
            Ok(Outcome::Sent(_)) => Some(SendOutcome::Sent),
            Ok(Outcome::Queued { .. }) => Some(SendOutcome::Queued),
            Ok(Outcome::Failed { .. }) => Some(SendOutcome::Failed),
            Ok(Outcome::Replayed(_) | Outcome::Skipped) => None,
            Err(_) => Some(SendOutcome::Refused),
        };
        if let Some(outcome) = outcome {
            self.metrics.send(source, outcome, started.elapsed());
        }
        result
    }

    async fn store_and_hand_over(&self, message: Message<'_>) -> Result<Outcome> {
        let Message {
            phone,
            to,
            content,
            source,
            idempotency,
            campaign,
            context,
        } = message;
        let db = &self.db;
        if let Some(idempotency) = &idempotency
            && let Some(first) =
                store::messages::find_by_idempotency(db, &phone.account_id, &idempotency.key)
                    .await?
        {
            return idempotency.replay(first);
        }
        // A campaign's recipients were admitted together when it was created
        // and count as waiting since: asking again would only cost queries.
        if campaign.is_none() {
            if to.ends_with("@g.us") {
                // A group message reaches everyone in the group: a trial
                // phone asks WhatsApp who that is (Pro phones need not).
                if phone.plan != crate::store::entity::vocab::Plan::Pro {
                    let jid = crate::groups::group_jid("to", &to)?;
                    let members = crate::groups::Groups::new(self.sessions.clone())
                        .members(phone, &jid)
                        .await?;
                    plan::admit_group(db, phone, &members).await?;
                }
            } else {
                plan::admit(db, phone, &[to.as_str()]).await?;
            }
        }
        // The quoted message is checked before any upload.
        let context = self.context(phone, &to, &context).await?;
        let mut body = match content {
            Content::Ready(body) => *body,
            Content::Media {
                kind,
                source,
                caption,
                file_name,
            } => self.upload(phone, kind, source, caption, file_name).await?,
        };
        if let Some((reply_to, mentions, info)) = context {
            body.reply_to = reply_to;
            body.mentions = mentions;
            body.context = Some(info);
        }
        let mut outbound = NewOutbound {
            account_id: phone.account_id.clone(),
            phone_id: phone.id.clone(),
            peer: to,
            body,
            idempotency_key: idempotency.as_ref().map(|i| i.key.clone()),
            idempotency_request: idempotency.as_ref().map(|i| i.request.clone()),
            source,
            bulk_id: None,
            created_at: None,
        };
        let ticket = self.sessions.outbox_ticket(&phone.id);
        let inserted = match campaign {
            Some((campaign, recipient, at)) => {
                outbound.bulk_id = Some(campaign.id.clone());
                outbound.created_at = Some(at);
                match store::bulks::hand_over(db, campaign, recipient, outbound).await? {
                    Some(row) => row,
                    None => return Ok(Outcome::Skipped),
                }
            }
            None => match store::messages::insert_outbound(db, outbound).await {
                Ok(row) => row,
                // The same key raced in from a concurrent retry: the first
                // request (or a drain) sends that one.
                Err(err) if is_unique_violation(&err) && idempotency.is_some() => {
                    let Some(idempotency) = idempotency else {
                        return Err(err.into());
                    };
                    return match store::messages::find_by_idempotency(
                        db,
                        &phone.account_id,
                        &idempotency.key,
                    )
                    .await?
                    {
                        Some(first) => idempotency.replay(first),
                        None => Err(err.into()),
                    };
                }
                Err(err) => return Err(err.into()),
            },
        };
        self.metrics
            .message(inserted.kind, inserted.source, MessageStatus::Queued);
        let handover = match ticket {
            Some(ticket) => self.sessions.send_inserted(ticket, inserted.clone()).await,
            None => Handover::NotSent(NotSent::NoSession),
        };
        let outcome = outcome(inserted, handover);
        if let Ok(outcome) = &outcome {
            outcome.log();
        }
        outcome
    }

    /// A reply's quoted message (a stored message of the chat, 400 naming
    /// `reply_to` otherwise) and the mentions, as stored with the message:
    /// the quoted id, the mentions as JSON, the encoded ContextInfo.
    async fn context(
        &self,
        phone: &phone::Model,
        to: &str,
        context: &crate::context::Context,
    ) -> Result<Option<(Option<String>, Option<String>, String)>> {
        if context.is_empty() {
            return Ok(None);
        }
        let quoted = match &context.reply_to {
            Some(id) => Some(crate::context::check_quoted(
                store::messages::find_by_wa_id(&self.db, &phone.id, id).await?,
                id,
                to,
            )?),
            None => None,
        };
        let info =
            crate::context::build(quoted.as_ref(), phone.number.as_deref(), &context.mentions);
        let mentions = (!context.mentions.is_empty())
            .then(|| serde_json::to_string(&context.mentions))
            .transpose()
            .map_err(|e| Error::Internal(e.into()))?;
        Ok(Some((
            quoted.map(|q| q.wa_id),
            mentions,
            crate::context::encode(&info),
        )))
    }

    /// Hands an outbox message written earlier (a campaign's, before a
    /// crash or a disconnect) to its phone's session again.
    pub async fn resend(&self, row: message::Model) -> Result<Outcome> {
        if row.status != MessageStatus::Queued {
            return Ok(settled(row, None));
        }
        let handover = self.sessions.send(&row.phone_id, &row.id).await;
        outcome(row, handover)
    }

    /// Fetches a media file, checks its type and size, and uploads it
    /// through the phone's session; the outbox keeps the upload reference.
    /// Nothing is stored when any step fails.
    async fn upload(
        &self,
        phone: &phone::Model,
        kind: Kind,
        source: MediaSource,
        caption: Option<String>,
        file_name: Option<String>,
    ) -> Result<Body> {
        let field = source.field();
        let too_large = || {
            Error::invalid(
                field,
                format!(
                    "the file is larger than WhatsApp's {} MB limit for {}",
                    kind.max_bytes() / (1024 * 1024),
                    kind.plural()
                ),
            )
        };
        // The file and what names it when the caller gave no name.
        let (body, default_name) =
            match source {
                MediaSource::Url(url) => {
                    let fetched = self.fetcher.get(&url, kind.max_bytes()).await.map_err(
                        |err| match err {
                            FetchError::TooLarge { .. } => too_large(),
                            other => Error::invalid("url", other.to_string()),
                        },
                    )?;
                    let name = document_url_name(&fetched.final_url);
                    (fetched.body, name)
                }
                MediaSource::Upload(id) => {
                    let (bytes, name) = self.uploads.file_for(&phone.account_id, &id, kind).await?;
                    (bytes, name)
                }
                MediaSource::Data(bytes) if bytes.len() as u64 > kind.max_bytes() => {
                    return Err(too_large());
                }
                MediaSource::Data(bytes) => (bytes, None),
            };
        if body.is_empty() {
            return Err(Error::invalid(field, "the file is empty"));
        }
        let sniffed = kind.sniff(&body).ok_or_else(|| {
            Error::invalid(
                field,
                format!(
                    "the file is {}, but {} take {}",
                    media::describe(&body),
                    kind.plural(),
                    kind.accepted()
                ),
            )
        })?;
        let file_name = match kind {
            Kind::Document => Some(
                file_name
                    .or(default_name)
                    .unwrap_or_else(|| format!("document.{}", sniffed.extension)),
            ),
            _ => None,
        };
        let prepared = kind
            .prepare(body, &sniffed)
            .map_err(|why| Error::invalid(field, why))?;
        let client = self
            .sessions
            .client(&phone.id)
            .ok_or_else(|| Error::NotFound(format!("phone {} is not connected", phone.id)))?;
        let size = prepared.bytes.len() as i64;
        let uploaded = client
            .upload(prepared.bytes, kind.media_type(), Default::default())
            .await
            .map_err(|e| {
                Error::Unavailable(format!(
                    "uploading the {} to WhatsApp failed, try again: {e}",
                    kind.name()
                ))
            })?;
        let sha256 = hex(&uploaded.file_sha256);
        let message = media::Outgoing {
            kind,
            mime: prepared.mime.clone(),
            caption: caption.clone(),
            file_name: file_name.clone(),
            seconds: prepared.seconds,
            dimensions: prepared.dimensions,
        }
        .message(uploaded);
        Ok(Body {
            kind: kind.message_kind(),
            caption,
            file_name,
            mime_type: Some(prepared.mime),
            media_size: Some(size),
            media_sha256: Some(sha256),
            media_ref: Some(media::encode(&message)),
            details: crate::details::Details {
                seconds: prepared.seconds,
                ..Default::default()
            }
            .stored(),
            ..Body::default()
        })
    }
}

impl Outcome {
    /// One log line per message handed over, with its phone and message ids
    /// as fields (a JSON log can be filtered on either).
    fn log(&self) {
        match self {
            Outcome::Sent(row) => {
                tracing::debug!(phone_id = %row.phone_id, message_id = %row.wa_id, "message sent")
            }
            Outcome::Queued { row, why } => {
                tracing::info!(phone_id = %row.phone_id, message_id = %row.wa_id, why = ?why, "message queued")
            }
            Outcome::Failed { row, failure } => {
                tracing::warn!(phone_id = %row.phone_id, message_id = %row.wa_id, %failure, "message failed")
            }
            Outcome::Replayed(_) | Outcome::Skipped => {}
        }
    }
}

/// The outcome of a hand-over of `row` (as written before it).
fn outcome(row: message::Model, handover: Handover) -> Result<Outcome> {
    match handover {
        Handover::NotSent(why) => Ok(Outcome::Queued { row, why }),
        Handover::Handled(Handed::NotStored(why)) => Err(Error::Internal(anyhow::anyhow!(
            "message {} to {}: {why}",
            row.wa_id,
            row.peer
        ))),
        Handover::Handled(Handed::Done { row, failure }) => Ok(settled(*row, failure)),
    }
}

/// The outcome a message's stored status says; `failure` is why, when this
/// hand-over failed it.
fn settled(row: message::Model, failure: Option<SendFailure>) -> Outcome {
    match row.status {
        MessageStatus::Queued => Outcome::Queued {
            row,
            // Handled without being sent: the session's connection went
            // away first, and the outbox keeps it.
            why: NotSent::SessionStopped,
        },
        MessageStatus::Failed => {
            let failure = failure.unwrap_or_else(|| {
                // Failed before this hand-over (a server rejection).
                SendFailure::Transport(row.reason.clone().unwrap_or_default())
            });
            Outcome::Failed { row, failure }
        }
        _ => Outcome::Sent(row),
    }
}

/// A document's name when the caller gave none: the URL's last path
/// segment, when it looks like a file name.
fn document_url_name(url: &url::Url) -> Option<String> {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .map(percent_decode)
        .filter(|s| !s.is_empty() && s.contains('.'))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_owned())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
