use tonic::{Request, Response, Status};

use super::{State, validate};
use crate::{
    auth::{AuthContext, caller},
    context::Change,
    error::{Error, Result},
    media::Kind,
    proto::{self, send_service_server::SendService},
    rules,
    send::{Content, Idempotency, MediaSource, Message, Outcome},
    store::{
        entity::{message, vocab::Source},
        messages::Body,
    },
};

pub(crate) struct SendApi(pub State);

impl SendApi {
    /// Every send once its fields are valid: the caller's connected phone,
    /// then the one send path; its outcome becomes the answer.
    async fn send<T: prost::Message>(
        &self,
        request: &Request<T>,
        caller: &AuthContext,
        phone_id: &str,
        to: String,
        content: Content,
        context: crate::context::Context,
    ) -> Result<message::Model> {
        let phone = validate::connected_phone(&self.0, caller, phone_id).await?;
        let outcome = self
            .0
            .sender
            .send(Message {
                phone: &phone,
                to,
                content,
                source: Source::Api,
                idempotency: idempotency(request)?,
                campaign: None,
                context,
            })
            .await?;
        match outcome {
            Outcome::Sent(row) | Outcome::Replayed(row) => Ok(row),
            Outcome::Queued { row, why } => {
                tracing::info!(phone_id = %phone.id, message_id = %row.wa_id, ?why, "send answered queued");
                Ok(row)
            }
            Outcome::Failed { row, failure } => {
                tracing::info!(phone_id = %phone.id, message_id = %row.wa_id, %failure, "send failed");
                Err(failure.into())
            }
            Outcome::Skipped => Err(Error::Internal(anyhow::anyhow!(
                "an API send was answered as a skipped campaign recipient"
            ))),
        }
    }
}

impl SendApi {
    /// A send whose content is ready (no file to fetch): the quoted message
    /// checked, then the one send path.
    async fn send_ready<T: prost::Message>(
        &self,
        request: &Request<T>,
        caller: &AuthContext,
        (phone_id, to): (&str, String),
        body: Body,
        reply_to: &str,
    ) -> Result<message::Model> {
        let context = context(reply_to, &[])?;
        self.send(
            request,
            caller,
            phone_id,
            to,
            Content::Ready(Box::new(body)),
            context,
        )
        .await
    }

    /// An action on a stored message (react, edit, delete for everyone):
    /// the caller's connected phone, the message it names, then the change
    /// through the one send path to that message's chat. The change's row
    /// and the message it changes.
    async fn change<T: prost::Message>(
        &self,
        request: &Request<T>,
        phone_id: &str,
        message_id: &str,
        change: Change,
    ) -> Result<(message::Model, message::Model)> {
        let caller = caller(request)?;
        validate::required("phone_id", phone_id)?;
        let target_id = validate::required("message_id", message_id)?;
        validate::max_len("message_id", target_id, rules::MESSAGE_ID_MAX)?;
        let phone = validate::connected_phone(&self.0, caller, phone_id).await?;
        let target = change.target(&self.0.db, &phone, target_id).await?;
        let body = change.body(&target);
        let row = self
            .send(
                request,
                caller,
                phone_id,
                target.peer.clone(),
                Content::Ready(Box::new(body)),
                Default::default(),
            )
            .await?;
        Ok((row, target))
    }
}

/// The optional text fields of a media send: empty means absent.
fn optional(field: &str, value: &str, max: usize) -> Result<Option<String>> {
    validate::max_len(field, value, max)?;
    Ok(Some(value.trim().to_owned()).filter(|v| !v.is_empty()))
}

/// The `Idempotency-Key` header (gRPC metadata `idempotency-key`), with a
/// digest of the request it came with: the request message's type and its
/// protobuf encoding (REST and gRPC callers sending the same fields get the
/// same digest).
fn idempotency<T: prost::Message>(request: &Request<T>) -> Result<Option<Idempotency>> {
    use sha2::{Digest, Sha256};
    let Some(key) = idempotency_key(request)? else {
        return Ok(None);
    };
    let kind = std::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or_default();
    let mut digest = Sha256::new();
    digest.update(kind.as_bytes());
    digest.update([0]);
    digest.update(request.get_ref().encode_to_vec());
    let request = digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Some(Idempotency { key, request }))
}

fn idempotency_key<T>(request: &Request<T>) -> Result<Option<String>> {
    let Some(value) = request.metadata().get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .map_err(|_| Error::invalid("Idempotency-Key", "must be printable ASCII"))?
        .trim();
    if key.is_empty() || key.len() > rules::IDEMPOTENCY_KEY_MAX {
        return Err(Error::invalid(
            "Idempotency-Key",
            "must be 1 to 255 characters",
        ));
    }
    Ok(Some(key.to_owned()))
}

/// `reply_to` and `mentions` as a send takes them: the id trimmed (empty:
/// no reply), each number checked.
fn context(reply_to: &str, mentions: &[String]) -> Result<crate::context::Context> {
    let reply_to = reply_to.trim();
    validate::max_len("reply_to", reply_to, rules::MESSAGE_ID_MAX)?;
    let mut numbers: Vec<String> = Vec::with_capacity(mentions.len());
    for mention in mentions {
        let number = validate::phone_number("mentions", mention)?;
        if !numbers.contains(&number) {
            numbers.push(number);
        }
    }
    Ok(crate::context::Context {
        reply_to: Some(reply_to.to_owned()).filter(|r| !r.is_empty()),
        mentions: numbers,
    })
}

/// Contact cards as a send takes them: 1 to 10, each with a name and 1 to 5
/// numbers (400 naming `contacts` and the card otherwise).
fn contact_cards(cards: &[proto::ContactCard]) -> Result<Vec<crate::details::Card>> {
    if cards.is_empty() || cards.len() > rules::CONTACT_CARDS_MAX {
        return Err(Error::invalid(
            "contacts",
            format!(
                "give 1 to {} contact cards, not {}",
                rules::CONTACT_CARDS_MAX,
                cards.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(cards.len());
    for (i, card) in cards.iter().enumerate() {
        let n = i + 1;
        let name = card.name.trim();
        if name.is_empty() {
            return Err(Error::invalid("contacts", format!("card {n} has no name")));
        }
        if name.chars().count() > rules::CONTACT_NAME_MAX || name.chars().any(char::is_control) {
            return Err(Error::invalid(
                "contacts",
                format!(
                    "card {n}'s name must be at most {} characters, without control characters",
                    rules::CONTACT_NAME_MAX
                ),
            ));
        }
        if card.numbers.is_empty() || card.numbers.len() > rules::CONTACT_NUMBERS_MAX {
            return Err(Error::invalid(
                "contacts",
                format!("card {n} needs 1 to {} numbers", rules::CONTACT_NUMBERS_MAX),
            ));
        }
        let mut numbers = Vec::with_capacity(card.numbers.len());
        for number in &card.numbers {
            let number = validate::phone_number("contacts", number).map_err(|_| {
                Error::invalid(
                    "contacts",
                    format!("card {n}: {number:?} is not a phone number with country code"),
                )
            })?;
            if !numbers.contains(&number) {
                numbers.push(number);
            }
        }
        out.push(crate::details::Card {
            name: name.to_owned(),
            numbers,
        });
    }
    Ok(out)
}

/// The fields every send shares; the normalized recipient: a number, or a
/// group as `120363...@g.us`.
fn recipient(phone_id: &str, to: &str) -> Result<String> {
    validate::required("phone_id", phone_id)?;
    if crate::groups::is_group(to) {
        let jid = crate::groups::group_jid("to", to)?;
        return Ok(format!("{}@g.us", jid.user));
    }
    validate::phone_number("to", to)
}

/// Answers any send with the shared response fields.
macro_rules! respond {
    ($ty:ident, $row:expr) => {{
        let row: message::Model = $row;
        Ok(Response::new(proto::$ty {
            message_id: row.wa_id,
            to: row.peer,
            status: proto::MessageStatus::from(row.status) as i32,
        }))
    }};
}

impl SendApi {
    /// The shared path of the media sends.
    async fn send_media<T: prost::Message>(
        &self,
        request: &Request<T>,
        fields: MediaFields<'_>,
    ) -> Result<message::Model> {
        let caller = caller(request)?;
        let to = recipient(fields.phone_id, fields.to)?;
        let source = self.media_source(&fields)?;
        let caption = optional("caption", fields.caption, rules::CAPTION_MAX)?;
        let file_name = optional("filename", fields.file_name, rules::FILENAME_MAX)?
            .map(|name| crate::values::file_name("filename", &name))
            .transpose()?;
        let context = context(fields.reply_to, fields.mentions)?;
        let content = Content::Media {
            kind: fields.kind,
            source,
            caption,
            file_name,
        };
        self.send(request, caller, fields.phone_id, to, content, context)
            .await
    }
}

impl SendApi {
    /// The file of a media send: exactly one of `url` (checked against
    /// the fetch guard before anything else), `media_id` or `data`.
    fn media_source(&self, fields: &MediaFields<'_>) -> Result<MediaSource> {
        let media_id = fields.media_id.trim();
        match (
            !fields.url.trim().is_empty(),
            !media_id.is_empty(),
            !fields.data.is_empty(),
        ) {
            (true, false, false) => {
                let url = validate::http_url("url", fields.url)?;
                self.0
                    .fetcher
                    .check_url(&url)
                    .map_err(|e| Error::invalid("url", e.to_string()))?;
                Ok(MediaSource::Url(url))
            }
            (false, true, false) => {
                validate::max_len("media_id", media_id, rules::MESSAGE_ID_MAX)?;
                Ok(MediaSource::Upload(media_id.to_owned()))
            }
            (false, false, true) => Ok(MediaSource::Data(fields.data.to_vec())),
            (false, false, false) => Err(Error::invalid(
                "url",
                "is required: give the file's url, a media_id from POST /api/media, or its data",
            )),
            _ => Err(Error::invalid(
                "url",
                "give only one of url, media_id and data",
            )),
        }
    }
}

/// A media send request's fields: the ones every media request has, then
/// its kind, caption, file name and mentions (empty where it has none).
macro_rules! media_fields {
    ($req:ident, $kind:expr, $caption:expr, $file_name:expr, $mentions:expr) => {
        MediaFields {
            kind: $kind,
            phone_id: &$req.phone_id,
            to: &$req.to,
            url: &$req.url,
            media_id: &$req.media_id,
            data: &$req.data,
            caption: $caption,
            file_name: $file_name,
            reply_to: &$req.reply_to,
            mentions: $mentions,
        }
    };
}

/// The request fields a media send has (absent ones empty).
struct MediaFields<'a> {
    kind: Kind,
    phone_id: &'a str,
    to: &'a str,
    url: &'a str,
    media_id: &'a str,
    data: &'a [u8],
    caption: &'a str,
    file_name: &'a str,
    reply_to: &'a str,
    mentions: &'a [String],
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
        validate::max_len("message", &req.message, rules::MESSAGE_MAX)?;
        let context = context(&req.reply_to, &req.mentions)?;
        let mut body = Body::text(req.message.clone());
        // The preview is made before the send: what goes into the outbox
        // is the text as it will be sent.
        let preview = match req.link_preview {
            true => Some(crate::preview::build(&self.0.fetcher, &req.message).await),
            false => None,
        };
        if let Some(Ok(preview)) = &preview {
            body.media_ref = Some(crate::media::encode(&crate::preview::message(
                &req.message,
                preview,
            )));
        }
        let row = self
            .send(
                &request,
                caller,
                &req.phone_id,
                to,
                Content::Ready(Box::new(body)),
                context,
            )
            .await?;
        let (link_preview, link_preview_error) = match preview {
            Some(Ok(p)) => (
                Some(proto::LinkPreview {
                    url: p.url,
                    title: p.title,
                    description: p.description,
                    thumbnail: p.thumbnail.is_some(),
                }),
                None,
            ),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        Ok(Response::new(proto::SendTextResponse {
            message_id: row.wa_id,
            to: row.peer,
            status: proto::MessageStatus::from(row.status) as i32,
            link_preview,
            link_preview_error,
        }))
    }

    async fn send_image(
        &self,
        request: Request<proto::SendImageRequest>,
    ) -> Result<Response<proto::SendImageResponse>, Status> {
        let req = request.get_ref();
        let fields = media_fields!(req, Kind::Image, &req.caption, "", &req.mentions);
        respond!(SendImageResponse, self.send_media(&request, fields).await?)
    }

    async fn send_video(
        &self,
        request: Request<proto::SendVideoRequest>,
    ) -> Result<Response<proto::SendVideoResponse>, Status> {
        let req = request.get_ref();
        let fields = media_fields!(req, Kind::Video, &req.caption, "", &req.mentions);
        respond!(SendVideoResponse, self.send_media(&request, fields).await?)
    }

    async fn send_document(
        &self,
        request: Request<proto::SendDocumentRequest>,
    ) -> Result<Response<proto::SendDocumentResponse>, Status> {
        let req = request.get_ref();
        let fields = media_fields!(req, Kind::Document, "", &req.filename, &[]);
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
        let fields = media_fields!(req, Kind::Audio, "", "", &[]);
        respond!(SendAudioResponse, self.send_media(&request, fields).await?)
    }

    async fn send_contact(
        &self,
        request: Request<proto::SendContactRequest>,
    ) -> Result<Response<proto::SendContactResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        let cards = contact_cards(&req.contacts)?;
        let body = Body {
            kind: crate::store::entity::vocab::MessageKind::Contact,
            text: Some(
                cards
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            ),
            media_ref: Some(crate::media::encode(&crate::cards::message(&cards))),
            details: crate::details::Details {
                contacts: cards,
                ..Default::default()
            }
            .stored(),
            ..Body::default()
        };
        let sent = self
            .send_ready(&request, caller, (&req.phone_id, to), body, &req.reply_to)
            .await?;
        respond!(SendContactResponse, sent)
    }

    async fn send_poll(
        &self,
        request: Request<proto::SendPollRequest>,
    ) -> Result<Response<proto::SendPollResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        let spec = crate::polls::check(&req.question, &req.options, req.selectable_count)?;
        let body = Body {
            kind: crate::store::entity::vocab::MessageKind::Poll,
            text: Some(spec.question.clone()),
            // With its secret, which opens the votes.
            media_ref: Some(crate::media::encode(&crate::polls::message(&spec))),
            details: crate::details::Details {
                poll: Some(spec),
                ..Default::default()
            }
            .stored(),
            ..Body::default()
        };
        let sent = self
            .send_ready(&request, caller, (&req.phone_id, to), body, &req.reply_to)
            .await?;
        respond!(SendPollResponse, sent)
    }

    async fn forward_message(
        &self,
        request: Request<proto::ForwardMessageRequest>,
    ) -> Result<Response<proto::ForwardMessageResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        let id = validate::required("message_id", &req.message_id)?;
        validate::max_len("message_id", id, rules::MESSAGE_ID_MAX)?;
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        let source = crate::context::forward_source(&self.0.db, &phone, id).await?;
        let body = crate::context::forward(&source);
        let row = self
            .send(
                &request,
                caller,
                &req.phone_id,
                to,
                Content::Ready(Box::new(body)),
                Default::default(),
            )
            .await?;
        Ok(Response::new(proto::ForwardMessageResponse {
            message_id: row.wa_id,
            to: row.peer,
            status: proto::MessageStatus::from(row.status) as i32,
            forwarded: source.wa_id,
        }))
    }

    async fn send_sticker(
        &self,
        request: Request<proto::SendStickerRequest>,
    ) -> Result<Response<proto::SendStickerResponse>, Status> {
        let req = request.get_ref();
        let fields = media_fields!(req, Kind::Sticker, "", "", &[]);
        respond!(
            SendStickerResponse,
            self.send_media(&request, fields).await?
        )
    }

    async fn send_voice(
        &self,
        request: Request<proto::SendVoiceRequest>,
    ) -> Result<Response<proto::SendVoiceResponse>, Status> {
        let req = request.get_ref();
        let fields = media_fields!(req, Kind::Voice, "", "", &[]);
        let row = self.send_media(&request, fields).await?;
        let seconds = crate::details::Details::of(row.details.as_deref())
            .seconds
            .unwrap_or_default();
        Ok(Response::new(proto::SendVoiceResponse {
            message_id: row.wa_id,
            to: row.peer,
            status: proto::MessageStatus::from(row.status) as i32,
            seconds,
        }))
    }

    async fn react_to_message(
        &self,
        request: Request<proto::ReactToMessageRequest>,
    ) -> Result<Response<proto::ReactToMessageResponse>, Status> {
        let req = request.get_ref();
        let emoji = crate::values::emoji("emoji", &req.emoji)?;
        let (row, target) = self
            .change(
                &request,
                &req.phone_id,
                &req.message_id,
                Change::React(emoji),
            )
            .await?;
        Ok(Response::new(proto::ReactToMessageResponse {
            message_id: row.wa_id,
            to: row.peer,
            status: proto::MessageStatus::from(row.status) as i32,
            reacted_to: target.wa_id,
        }))
    }

    async fn edit_message(
        &self,
        request: Request<proto::EditMessageRequest>,
    ) -> Result<Response<proto::EditMessageResponse>, Status> {
        let req = request.get_ref();
        let text = validate::required("text", &req.text)?;
        validate::max_len("text", text, rules::MESSAGE_MAX)?;
        let change = Change::Edit(text.to_owned());
        let (row, target) = self
            .change(&request, &req.phone_id, &req.message_id, change)
            .await?;
        Ok(Response::new(proto::EditMessageResponse {
            message_id: row.wa_id,
            to: row.peer,
            status: proto::MessageStatus::from(row.status) as i32,
            edited: target.wa_id,
        }))
    }

    async fn revoke_message(
        &self,
        request: Request<proto::RevokeMessageRequest>,
    ) -> Result<Response<proto::RevokeMessageResponse>, Status> {
        let req = request.get_ref();
        let (row, target) = self
            .change(&request, &req.phone_id, &req.message_id, Change::Revoke)
            .await?;
        Ok(Response::new(proto::RevokeMessageResponse {
            message_id: row.wa_id,
            to: row.peer,
            status: proto::MessageStatus::from(row.status) as i32,
            revoked: target.wa_id,
        }))
    }

    async fn mark_message_read(
        &self,
        request: Request<proto::MarkMessageReadRequest>,
    ) -> Result<Response<proto::MarkMessageReadResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let id = validate::required("message_id", &req.message_id)?;
        validate::max_len("message_id", id, rules::MESSAGE_ID_MAX)?;
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        let row = self.0.chats.received(&phone, id).await?;
        let marked = self
            .0
            .chats
            .mark_read(&phone, &row.peer, Some(row.created_at))
            .await?;
        Ok(Response::new(proto::MarkMessageReadResponse {
            chat: row.peer,
            marked,
        }))
    }

    async fn mark_chat_read(
        &self,
        request: Request<proto::MarkChatReadRequest>,
    ) -> Result<Response<proto::MarkChatReadResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let chat = validate::phone_number("chat", &req.chat)?;
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        let marked = self.0.chats.mark_read(&phone, &chat, None).await?;
        Ok(Response::new(proto::MarkChatReadResponse { chat, marked }))
    }

    async fn send_typing(
        &self,
        request: Request<proto::SendTypingRequest>,
    ) -> Result<Response<proto::SendTypingResponse>, Status> {
        use crate::chats::Typing;
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let chat = validate::phone_number("chat", &req.chat)?;
        let state = match proto::TypingState::try_from(req.state) {
            Ok(proto::TypingState::Composing) => Typing::Composing,
            Ok(proto::TypingState::Recording) => Typing::Recording,
            Ok(proto::TypingState::Paused) => Typing::Paused,
            _ => {
                return Err(
                    Error::invalid("state", "must be composing, recording or paused").into(),
                );
            }
        };
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        self.0.chats.typing(&phone, &chat, state).await?;
        Ok(Response::new(proto::SendTypingResponse { chat }))
    }

    async fn send_location(
        &self,
        request: Request<proto::SendLocationRequest>,
    ) -> Result<Response<proto::SendLocationResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let to = recipient(&req.phone_id, &req.to)?;
        validate::coordinates(req.lat, req.lng)?;
        validate::max_len("name", &req.name, rules::LOCATION_NAME_MAX)?;
        let body = Body::location(
            req.lat,
            req.lng,
            Some(req.name.clone()).filter(|n| !n.is_empty()),
        );
        let sent = self
            .send_ready(&request, caller, (&req.phone_id, to), body, &req.reply_to)
            .await?;
        respond!(SendLocationResponse, sent)
    }
}
