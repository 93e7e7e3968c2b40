//! The virtual phone's primary device (device 0) receiving: its inbox task
//! decrypts what peers and its own companions send it, records it, downloads
//! and checks media as a real phone does, answers with delivery receipts, and
//! follows receipts for what it sent. Creating phones and taking them offline
//! live here too. Sending is `phone_send.rs`.

use std::sync::Arc;

use anyhow::anyhow;
use wacore::messages::MessageUtils;
use wacore::proto_helpers::MessageExt as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, Server};
use wacore_libsignal::protocol::{
    CiphertextMessage, DeviceId, PreKeySignalMessage, ProtocolAddress, SignalMessage,
};
use waproto::whatsapp as wa;

use crate::delivery::deliver;
use crate::directory::{PhoneInfo, PhoneMessage};
use crate::nodes::{attr, child, children, content_bytes, pn_jid, unix_now, unix_now_ms};
use crate::state::{Shared, SimEvent};

/// Creates the virtual phone `number` (idempotent) and starts its primary's inbox.
pub(crate) fn create_phone(shared: &Arc<Shared>, number: &str) -> PhoneInfo {
    let (info, created) = shared.state().dir.create_phone(number);
    if created {
        spawn_primary(shared, number);
    }
    info
}

/// Takes the phone offline (stanzas for its primary queue up) or back online
/// (the queue is processed). `false` if there is no such phone.
pub(crate) fn set_phone_online(shared: &Shared, number: &str, online: bool) -> bool {
    let mut st = shared.state();
    let Some(p) = st.dir.phone_mut(number) else {
        return false;
    };
    p.primary.online = online;
    if online {
        let queued: Vec<_> = p
            .devices
            .get_mut(&0)
            .map(|d| d.offline_queue.drain(..).collect())
            .unwrap_or_default();
        if let Some(tx) = &p.primary.inbox {
            for n in queued {
                let _ = tx.send(n);
            }
        }
    }
    true
}

/// Start the task that processes stanzas addressed to `number`'s primary device.
fn spawn_primary(shared: &Arc<Shared>, number: &str) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Node>();
    {
        let mut st = shared.state();
        let Some(p) = st.dir.phone_mut(number) else {
            return;
        };
        p.primary.inbox = Some(tx);
        p.primary.online = true;
    }
    let shared = shared.clone();
    let number = number.to_string();
    tokio::spawn(async move {
        while let Some(node) = rx.recv().await {
            let r = match node.tag.as_ref() {
                "message" => on_message(&shared, &number, &node).await,
                "receipt" => {
                    on_receipt(&shared, &number, &node);
                    Ok(())
                }
                _ => Ok(()),
            };
            if let Err(e) = r {
                log::warn!("virtual phone {number}: {} not processed: {e:#}", node.tag);
            }
        }
    });
}

fn sender_of(node: &Node) -> anyhow::Result<Jid> {
    attr(node, "from")
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| anyhow!("stanza without a usable from"))
}

async fn on_message(shared: &Arc<Shared>, number: &str, node: &Node) -> anyhow::Result<()> {
    let from = sender_of(node)?;
    if from.server == Server::Group {
        return crate::phone_group::on_message(shared, number, node, &from).await;
    }
    let id = attr(node, "id").unwrap_or_default();
    let Some(enc) = children(node).iter().find(|c| c.tag == "enc") else {
        return Ok(());
    };
    let enc_type = attr(enc, "type").unwrap_or_default();
    let bytes = content_bytes(enc).unwrap_or_default();
    let ciphertext = match enc_type.as_str() {
        "pkmsg" => CiphertextMessage::PreKeySignalMessage(PreKeySignalMessage::try_from(bytes)?),
        "msg" => CiphertextMessage::SignalMessage(SignalMessage::try_from(bytes)?),
        other => {
            log::info!("virtual phone {number}: <enc type={other}> outside a group ignored");
            return Ok(());
        }
    };
    let signal = {
        let st = shared.state();
        st.dir
            .phone(number)
            .ok_or_else(|| anyhow!("phone vanished"))?
            .signal
            .clone()
    };
    let address = ProtocolAddress::new(&from.user, DeviceId::from(from.device as u32));
    let plaintext = signal.lock().await.decrypt(&address, &ciphertext).await?;
    let unpadded = MessageUtils::unpad_message_ref(&plaintext, 2)?;
    let msg = waproto::codec::message_decode(unpadded)?;

    let from_me = from.user.as_str() == number;
    let (inner, chat) = match msg.device_sent_message.as_option() {
        Some(dsm) if from_me => (
            dsm.message.as_option().cloned().unwrap_or_default(),
            dsm.destination_jid
                .as_deref()
                .map(|j| j.split('@').next().unwrap_or(j).to_string())
                .unwrap_or_default(),
        ),
        _ => (msg.clone(), from.user.to_string()),
    };
    if apply_change(shared, number, &from.user, &id, &inner) {
        return Ok(());
    }
    if inner.protocol_message.is_set() && inner.text_content().is_none() {
        return Ok(()); // protocol traffic (key requests, etc.), nothing to record
    }
    let mut rec = describe(&inner);
    download_media(shared, &inner, &mut rec);
    rec.id = id.clone();
    rec.from = from.user.to_string();
    rec.from_device = from.device as u32;
    rec.chat = chat;
    rec.from_me = from_me;
    rec.push_name = attr(node, "notify").unwrap_or_default();
    rec.timestamp = attr(node, "t")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(unix_now);
    rec.received_at_ms = unix_now_ms();
    {
        let mut st = shared.state();
        if !from_me {
            // Delivery receipt back to the sending device.
            let receipt = NodeBuilder::new("receipt")
                .attr("from", pn_jid(number))
                .attr("id", id.clone())
                .attr("t", unix_now().to_string())
                .build();
            deliver(&mut st, &from.user, from.device as u32, receipt);
        }
        // A phone keeps one message per (sender, id), as WhatsApp's own do: a
        // sender that resends a message it is unsure went out (after a crash,
        // or on a retry receipt) uses the same id, and the copy is only
        // acknowledged again.
        let Some(p) = st.dir.phone_mut(number) else {
            return Ok(());
        };
        if p.primary
            .received
            .iter()
            .any(|r| r.id == rec.id && r.from == rec.from)
        {
            log::info!(
                "virtual phone {number}: {id} from {} again, kept once",
                rec.from
            );
            return Ok(());
        }
        p.primary.received.push(rec);
    }
    shared.emit(SimEvent::PhoneReceived {
        number: number.to_string(),
        id,
    });
    Ok(())
}

/// An edit or deletion (`protocolMessage` with a key) of a message `from`
/// sent this phone earlier: applied once to what the phone recorded, as a
/// phone shows it. `true` if `inner` was such a change (or other protocol
/// traffic with a key), so there is nothing more to record.
pub(crate) fn apply_change(
    shared: &Shared,
    number: &str,
    from: &str,
    id: &str,
    inner: &wa::Message,
) -> bool {
    let Some(pm) = inner.protocol_message.as_option() else {
        return false;
    };
    if let Some(target) = pm.key.as_option().and_then(|k| k.id.clone())
        && let Some(kind) = pm.r#type
    {
        use wa::message::protocol_message::Type;
        let edited = match kind {
            Type::MESSAGE_EDIT => Some(
                pm.edited_message
                    .as_option()
                    .and_then(|e| e.get_base_message().text_content().map(str::to_owned)),
            ),
            Type::REVOKE => None,
            _ => return true,
        };
        // The change applies to the sender's own message, as a phone shows
        // it, once per change (a resent change keeps its id).
        let mut st = shared.state();
        if let Some(p) = st.dir.phone_mut(number)
            && p.primary
                .changes_seen
                .insert((from.to_string(), id.to_string()))
            && let Some(rec) = p
                .primary
                .received
                .iter_mut()
                .find(|r| r.id == target && r.from == from)
        {
            match edited {
                Some(text) => {
                    rec.earlier_texts.extend(rec.text.take());
                    rec.text = text;
                }
                None => {
                    rec.revoked = true;
                    rec.text = None;
                    rec.caption = None;
                    rec.location = None;
                    rec.earlier_texts.clear();
                }
            }
        }
        return true;
    }
    false
}

fn on_receipt(shared: &Shared, number: &str, node: &Node) {
    let status = match attr(node, "type").as_deref() {
        None | Some("") => "delivered",
        Some("read") => "read",
        Some("played") => "played",
        Some(_) => return,
    };
    let mut ids = vec![attr(node, "id").unwrap_or_default()];
    if let Some(list) = child(node, "list") {
        ids.extend(children(list).iter().filter_map(|i| attr(i, "id")));
    }
    let mut st = shared.state();
    if let Some(p) = st.dir.phone_mut(number) {
        for s in p.primary.sent.iter_mut().filter(|s| ids.contains(&s.id)) {
            let rank = |x: &str| {
                ["sent", "delivered", "read", "played"]
                    .iter()
                    .position(|y| *y == x)
            };
            if rank(status) > rank(&s.status) {
                s.status = status.to_string();
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Downloads and decrypts the media of `msg` from the simulator's media host,
/// recording what was declared and the hash of what actually arrived.
pub(crate) fn download_media(shared: &Shared, msg: &wa::Message, rec: &mut PhoneMessage) {
    use sha2::Digest;
    use wacore::download::{DownloadUtils, MediaType};
    let m = msg.get_base_message();
    let found = if let Some(i) = m.image_message.as_option() {
        Some((
            MediaType::Image,
            i.direct_path.clone(),
            i.media_key.clone(),
            i.mimetype.clone(),
            i.file_length,
        ))
    } else if let Some(v) = m.video_message.as_option() {
        Some((
            MediaType::Video,
            v.direct_path.clone(),
            v.media_key.clone(),
            v.mimetype.clone(),
            v.file_length,
        ))
    } else if let Some(a) = m.audio_message.as_option() {
        Some((
            MediaType::Audio,
            a.direct_path.clone(),
            a.media_key.clone(),
            a.mimetype.clone(),
            a.file_length,
        ))
    } else if let Some(s) = m.sticker_message.as_option() {
        Some((
            MediaType::Sticker,
            s.direct_path.clone(),
            s.media_key.clone(),
            s.mimetype.clone(),
            s.file_length,
        ))
    } else {
        m.document_message.as_option().map(|d| {
            (
                MediaType::Document,
                d.direct_path.clone(),
                d.media_key.clone(),
                d.mimetype.clone(),
                d.file_length,
            )
        })
    };
    let Some((media_type, Some(path), Some(key), mime, size)) = found else {
        return;
    };
    rec.media_mime = mime;
    rec.media_size = size;
    let plain = shared
        .media
        .get(&path)
        .and_then(|blob| DownloadUtils::verify_and_decrypt(&blob, &key, media_type).ok());
    rec.media_downloaded_sha256 = plain.as_ref().map(|p| hex(&sha2::Sha256::digest(p)));
    rec.media_downloaded = plain;
}

pub(crate) fn describe(msg: &wa::Message) -> PhoneMessage {
    let m = msg.get_base_message();
    let mut out = PhoneMessage {
        kind: "other".into(),
        ..Default::default()
    };
    if let Some(t) = m.text_content() {
        out.kind = "text".into();
        out.text = Some(t.to_string());
    }
    if let Some(e) = m.extended_text_message.as_option()
        && let Some(url) = e.matched_text.clone()
    {
        let thumbnail = e.jpeg_thumbnail.clone().unwrap_or_default();
        out.link_preview = Some(crate::directory::LinkPreviewSeen {
            url,
            title: e.title.clone(),
            description: e.description.clone(),
            thumbnail_bytes: thumbnail.len(),
            thumbnail_jpeg: thumbnail.starts_with(&[0xff, 0xd8, 0xff]),
        });
    }
    if let Some(i) = m.image_message.as_option() {
        out.kind = "image".into();
        out.caption = i.caption.clone();
        out.media_sha256 = i.file_sha256.as_deref().map(hex);
    } else if let Some(v) = m.video_message.as_option() {
        out.kind = "video".into();
        out.caption = v.caption.clone();
        out.media_sha256 = v.file_sha256.as_deref().map(hex);
    } else if let Some(a) = m.audio_message.as_option() {
        // A voice note is audio recorded "push to talk".
        out.kind = if a.ptt == Some(true) {
            "voice"
        } else {
            "audio"
        }
        .into();
        out.seconds = a.seconds;
        out.media_sha256 = a.file_sha256.as_deref().map(hex);
    } else if let Some(d) = m.document_message.as_option() {
        out.kind = "document".into();
        out.caption = d.caption.clone();
        out.file_name = d.file_name.clone();
        out.media_sha256 = d.file_sha256.as_deref().map(hex);
    } else if let Some(s) = m.sticker_message.as_option() {
        out.kind = "sticker".into();
        out.media_sha256 = s.file_sha256.as_deref().map(hex);
    } else if let Some(r) = m.reaction_message.as_option() {
        out.kind = "reaction".into();
        out.text = Some(r.text.clone().unwrap_or_default());
        out.reacted_to = r.key.as_option().and_then(|k| k.id.clone());
    } else if m.contact_message.is_set() || m.contacts_array_message.is_set() {
        out.kind = "contact".into();
        let cards = m.contact_message.as_option().into_iter().chain(
            m.contacts_array_message
                .as_option()
                .into_iter()
                .flat_map(|a| a.contacts.iter()),
        );
        out.contacts = cards
            .map(|c| read_vcard(c.vcard.as_deref().unwrap_or_default()))
            .collect();
    } else if let Some(p) = m
        .poll_creation_message
        .as_option()
        .or(m.poll_creation_message_v3.as_option())
    {
        out.kind = "poll".into();
        out.text = p.name.clone();
        out.poll = Some(crate::directory::PollSeen {
            question: p.name.clone().unwrap_or_default(),
            options: p
                .options
                .iter()
                .map(|o| o.option_name.clone().unwrap_or_default())
                .collect(),
            selectable: p.selectable_options_count.unwrap_or_default(),
            secret: msg
                .message_context_info
                .as_option()
                .and_then(|c| c.message_secret.clone())
                .unwrap_or_default(),
        });
    } else if let Some(l) = m.location_message.as_option() {
        out.kind = "location".into();
        out.location = Some((
            l.degrees_latitude.unwrap_or_default(),
            l.degrees_longitude.unwrap_or_default(),
            l.name.clone(),
        ));
    }
    if let Some(info) = context_info(m) {
        let number = |jid: &str| jid.split(['@', ':']).next().unwrap_or_default().to_owned();
        out.quoted_id = info.stanza_id.clone();
        out.quoted_from = info.participant.as_deref().map(number);
        out.quoted_text = info.quoted_message.as_option().and_then(|q| {
            q.text_content()
                .map(str::to_owned)
                .or_else(|| q.get_caption().map(str::to_owned))
                .or_else(|| {
                    q.location_message
                        .as_option()
                        .map(|l| l.name.clone().unwrap_or_else(|| "location".into()))
                })
        });
        out.mentions = info.mentioned_jid.iter().map(|j| number(j)).collect();
        out.forwarded = info.is_forwarded == Some(true);
    }
    out
}

/// A vCard as a phone's contact viewer reads it: the FN, and each TEL's
/// `waid` (the number WhatsApp links to a chat).
fn read_vcard(vcard: &str) -> crate::directory::ContactSeen {
    let mut card = crate::directory::ContactSeen {
        vcard: vcard.to_owned(),
        ..Default::default()
    };
    for line in vcard.lines() {
        let Some((head, value)) = line.split_once(':') else {
            continue;
        };
        let mut params = head.split(';');
        match params.next().map(str::to_ascii_uppercase).as_deref() {
            Some("FN") => card.name = value.replace("\\,", ",").replace("\\;", ";"),
            Some("TEL") => card
                .numbers
                .extend(params.filter_map(|p| p.strip_prefix("waid=").map(str::to_owned))),
            _ => {}
        }
    }
    card
}

/// The context (reply, mentions) of whichever part of `m` carries one.
fn context_info(m: &wa::Message) -> Option<&wa::ContextInfo> {
    macro_rules! first {
        ($($field:ident),+) => {
            None$(.or_else(|| m.$field.as_option().and_then(|x| x.context_info.as_option())))+
        };
    }
    first!(
        extended_text_message,
        image_message,
        video_message,
        audio_message,
        document_message,
        sticker_message,
        location_message,
        contact_message,
        contacts_array_message,
        poll_creation_message,
        poll_creation_message_v3
    )
}
