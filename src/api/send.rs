use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::{AuthContext, caller},
    error::{Error, Result},
    fetch::FetchError,
    media::{self, Kind},
    proto::{self, MessageStatus, send_service_server::SendService},
    store::{self, entity::phone, messages::NewOutbound, phones::PLAN_PRO},
};

pub struct SendApi(pub State);

/// Unique recipients a trial phone may reach, in total.
pub const TRIAL_RECIPIENTS: u64 = 30;

/// What a send carries once its fields are valid.
enum Content {
    /// Text or location: ready for the outbox.
    Ready(Box<NewOutbound>),
    /// A file to fetch, check and upload first.
    Media {
        kind: Kind,
        url: url::Url,
        caption: Option<String>,
        file_name: Option<String>,
    },
}

/// What a send answers, for every kind.
struct Sent {
    message_id: String,
    to: String,
    status: MessageStatus,
}

impl SendApi {
    /// The path every send shares once its fields are valid: a connected
    /// phone, the plan's recipient cap, idempotency, then the durable
    /// outbox and the hand-over to the phone's session.
    async fn send<T>(
        &self,
        request: &Request<T>,
        caller: &AuthContext,
        phone_id: &str,
        to: String,
        content: Content,
    ) -> Result<Sent> {
        let phone = validate::connected_phone(&self.0, caller, phone_id).await?;
        let db = &self.0.db;
        let key = idempotency_key(request)?;
        if let Some(key) = &key
            && let Some(first) =
                store::messages::find_by_idempotency(db, &caller.account_id, key).await?
        {
            return Ok(sent(first));
        }
        if phone.plan != PLAN_PRO
            && !store::messages::has_reached(db, &phone.id, &to).await?
            && store::messages::recipient_count(db, &phone.id).await? >= TRIAL_RECIPIENTS
        {
            return Err(Error::PermissionDenied(format!(
                "trial phones reach at most {TRIAL_RECIPIENTS} unique recipients; upgrade to Pro to message {to}"
            )));
        }
        let mut outbound = match content {
            Content::Ready(outbound) => *outbound,
            Content::Media {
                kind,
                url,
                caption,
                file_name,
            } => self.upload(&phone, kind, &url, caption, file_name).await?,
        };
        outbound.account_id = caller.account_id.clone();
        outbound.phone_id = phone.id.clone();
        outbound.peer = to;
        outbound.idempotency_key = key.clone();
        let ticket = self.0.sessions.outbox_ticket(&phone.id);
        let (row, inserted) = match store::messages::insert_outbound(db, outbound).await {
            Ok(row) => (row, true),
            // The same key raced in from a concurrent retry: answer with the first.
            Err(err) => match &key {
                Some(key) => (
                    store::messages::find_by_idempotency(db, &caller.account_id, key)
                        .await?
                        .ok_or(Error::from(err))?,
                    false,
                ),
                None => return Err(err.into()),
            },
        };
        let after = match ticket {
            Some(ticket) if inserted => self
                .0
                .sessions
                .send_inserted(ticket, row.clone())
                .await
                .unwrap_or(row),
            // The first request's row: that request (or a drain) sends it.
            Some(_) => self
                .0
                .sessions
                .send(&phone.id, &row.id)
                .await?
                .unwrap_or(row),
            // No running session: the row waits in the outbox.
            None => row,
        };
        if after.status == "failed" {
            let reason = after.reason.as_deref().unwrap_or("unknown reason");
            if reason.contains("not on WhatsApp") {
                return Err(Error::invalid("to", reason));
            }
            return Err(Error::Internal(anyhow::anyhow!(
                "message {} to {} failed: {reason}",
                after.wa_id,
                after.peer
            )));
        }
        Ok(sent(after))
    }
}

impl SendApi {
    /// Fetches a media file, checks its type and size, and uploads it
    /// through the phone's session; the outbox keeps the upload reference.
    /// Nothing is stored when any step fails.
    async fn upload(
        &self,
        phone: &phone::Model,
        kind: Kind,
        url: &url::Url,
        caption: Option<String>,
        file_name: Option<String>,
    ) -> Result<NewOutbound> {
        let fetched = self
            .0
            .fetcher
            .get(url, kind.max_bytes())
            .await
            .map_err(|err| match err {
                FetchError::TooLarge { limit } => Error::invalid(
                    "url",
                    format!(
                        "the file is larger than WhatsApp's {} MB limit for {}s",
                        limit / (1024 * 1024),
                        kind.name()
                    ),
                ),
                other => Error::invalid("url", other.to_string()),
            })?;
        if fetched.body.is_empty() {
            return Err(Error::invalid(
                "url",
                format!("{url} returned an empty file"),
            ));
        }
        let sniffed = kind.sniff(&fetched.body).ok_or_else(|| {
            Error::invalid(
                "url",
                format!(
                    "the file is {}, not a {} {}",
                    media::describe(&fetched.body),
                    kind.accepted(),
                    kind.name()
                ),
            )
        })?;
        let file_name = match kind {
            Kind::Document => Some(
                file_name.unwrap_or_else(|| document_name(&fetched.final_url, sniffed.extension)),
            ),
            _ => None,
        };
        let client = self
            .0
            .sessions
            .client(&phone.id)
            .ok_or_else(|| Error::NotFound(format!("phone {} is not connected", phone.id)))?;
        let size = fetched.body.len() as i64;
        let uploaded = client
            .upload(fetched.body, kind.media_type(), Default::default())
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
            mime: sniffed.mime.clone(),
            caption: caption.clone(),
            file_name: file_name.clone(),
        }
        .message(uploaded);
        Ok(NewOutbound {
            kind: kind.name().into(),
            caption,
            file_name,
            mime_type: Some(sniffed.mime),
            media_size: Some(size),
            media_sha256: Some(sha256),
            media_ref: Some(media::encode(&message)),
            ..Default::default()
        })
    }
}

/// A document's name when the caller gave none: the URL's last path
/// segment, or "document" with the type's extension.
fn document_name(url: &url::Url, extension: &str) -> String {
    url.path_segments()
        .and_then(|mut s| s.next_back())
        .map(percent_decode)
        .filter(|s| !s.is_empty() && s.contains('.'))
        .unwrap_or_else(|| format!("document.{extension}"))
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

/// The optional text fields of a media send: empty means absent.
fn optional(field: &str, value: &str, max: usize) -> Result<Option<String>> {
    validate::max_len(field, value, max)?;
    Ok(Some(value.trim().to_owned()).filter(|v| !v.is_empty()))
}

fn sent(row: store::entity::message::Model) -> Sent {
    Sent {
        message_id: row.wa_id,
        to: row.peer,
        status: MessageStatus::from_str_name(&format!(
            "MESSAGE_STATUS_{}",
            row.status.to_ascii_uppercase()
        ))
        .unwrap_or(MessageStatus::Unspecified),
    }
}

/// The `Idempotency-Key` header (gRPC metadata `idempotency-key`).
fn idempotency_key<T>(request: &Request<T>) -> Result<Option<String>> {
    let Some(value) = request.metadata().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Error::invalid("Idempotency-Key", "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > 255 {
        return Err(Error::invalid(
            "Idempotency-Key",
            "must be 1 to 255 characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// The fields every send shares; the normalized recipient.
fn recipient(phone_id: &str, to: &str) -> Result<String> {
    validate::required("phone_id", phone_id)?;
    validate::phone_number("to", to)
}

fn check_lat_lng(lat: Option<f64>, lng: Option<f64>) -> Result<()> {
    let lat = lat.ok_or_else(|| Error::required("lat"))?;
    let lng = lng.ok_or_else(|| Error::required("lng"))?;
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(Error::invalid("lat", "must be between -90 and 90"));
    }
    if !lng.is_finite() || !(-180.0..=180.0).contains(&lng) {
        return Err(Error::invalid("lng", "must be between -180 and 180"));
    }
    Ok(())
}

/// Answers any send with the shared response fields.
macro_rules! respond {
    ($ty:ident, $sent:expr) => {{
        let sent = $sent;
        Ok(Response::new(proto::$ty {
            message_id: sent.message_id,
            to: sent.to,
            status: sent.status as i32,
        }))
    }};
}

impl SendApi {
    /// The shared path of the four media sends.
    async fn send_media<T>(&self, request: &Request<T>, fields: MediaFields<'_>) -> Result<Sent> {
        let caller = caller(request)?;
        let to = recipient(fields.phone_id, fields.to)?;
        let url = validate::http_url("url", fields.url)?;
        self.0
            .fetcher
            .check_url(&url)
            .map_err(|e| Error::invalid("url", e.to_string()))?;
        let caption = optional("caption", fields.caption, 1024)?;
        let file_name = optional("filename", fields.file_name, 255)?;
        if let Some(name) = &file_name
            && (name.contains('/') || name.contains('\\') || name.chars().any(char::is_control))
        {
            return Err(Error::invalid(
                "filename",
                "must be a plain file name, without slashes or control characters",
            ));
        }
        let content = Content::Media {
            kind: fields.kind,
            url,
            caption,
            file_name,
        };
        self.send(request, caller, fields.phone_id, to, content)
            .await
    }
}

/// The request fields a media send has (absent ones empty).
struct MediaFields<'a> {
    kind: Kind,
    phone_id: &'a str,
    to: &'a str,
    url: &'a str,
    caption: &'a str,
    file_name: &'a str,
}

#[tonic::async_trait]
impl SendService for SendApi {
    async fn send_text(
        &self,
        request: Request<proto::SendTextRequest>,
    ) -> Result<Response<proto::SendTextResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        validate::required("message", &req.message)?;
        validate::max_len("message", &req.message, 65_536)?;
        let outbound = NewOutbound {
            kind: "text".into(),
            text: Some(req.message.clone()),
            ..Default::default()
        };
        let sent = self
            .send(
                &request,
                caller,
                &req.phone_id,
                to,
                Content::Ready(Box::new(outbound)),
            )
            .await?;
        respond!(SendTextResponse, sent)
    }

    async fn send_image(
        &self,
        request: Request<proto::SendImageRequest>,
    ) -> Result<Response<proto::SendImageResponse>, Status> {
        let req = request.get_ref();
        let fields = MediaFields {
            kind: Kind::Image,
            phone_id: &req.phone_id,
            to: &req.to,
            url: &req.url,
            caption: &req.caption,
            file_name: "",
        };
        respond!(SendImageResponse, self.send_media(&request, fields).await?)
    }

    async fn send_video(
        &self,
        request: Request<proto::SendVideoRequest>,
    ) -> Result<Response<proto::SendVideoResponse>, Status> {
        let req = request.get_ref();
        let fields = MediaFields {
            kind: Kind::Video,
            phone_id: &req.phone_id,
            to: &req.to,
            url: &req.url,
            caption: &req.caption,
            file_name: "",
        };
        respond!(SendVideoResponse, self.send_media(&request, fields).await?)
    }

    async fn send_document(
        &self,
        request: Request<proto::SendDocumentRequest>,
    ) -> Result<Response<proto::SendDocumentResponse>, Status> {
        let req = request.get_ref();
        let fields = MediaFields {
            kind: Kind::Document,
            phone_id: &req.phone_id,
            to: &req.to,
            url: &req.url,
            caption: "",
            file_name: &req.filename,
        };
        respond!(
            SendDocumentResponse,
            self.send_media(&request, fields).await?
        )
    }

    async fn send_audio(
        &self,
        request: Request<proto::SendAudioRequest>,
    ) -> Result<Response<proto::SendAudioResponse>, Status> {
        let req = request.get_ref();
        let fields = MediaFields {
            kind: Kind::Audio,
            phone_id: &req.phone_id,
            to: &req.to,
            url: &req.url,
            caption: "",
            file_name: "",
        };
        respond!(SendAudioResponse, self.send_media(&request, fields).await?)
    }

    async fn send_location(
        &self,
        request: Request<proto::SendLocationRequest>,
    ) -> Result<Response<proto::SendLocationResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        check_lat_lng(req.lat, req.lng)?;
        validate::max_len("name", &req.name, 1000)?;
        let outbound = NewOutbound {
            kind: "location".into(),
            lat: req.lat,
            lng: req.lng,
            location_name: Some(req.name.clone()).filter(|n| !n.is_empty()),
            ..Default::default()
        };
        let sent = self
            .send(
                &request,
                caller,
                &req.phone_id,
                to,
                Content::Ready(Box::new(outbound)),
            )
            .await?;
        respond!(SendLocationResponse, sent)
    }
}
