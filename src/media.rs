//! Media for outbound messages: which file types each kind accepts, the
//! size limits WhatsApp applies, and the message kept in the outbox so a
//! send after a restart needs neither the URL nor the file.

use whatsapp_rust::{
    download::MediaType, media as wr_media, upload::UploadResponse, waproto::whatsapp as wa,
};

use crate::store::entity::vocab::MessageKind;

/// The four media kinds the API sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Video,
    Audio,
    Document,
}

impl Kind {
    /// The media kind of a message kind (None for text, location, ...).
    pub fn from_kind(kind: MessageKind) -> Option<Kind> {
        Some(match kind {
            MessageKind::Image => Kind::Image,
            MessageKind::Video => Kind::Video,
            MessageKind::Audio => Kind::Audio,
            MessageKind::Document => Kind::Document,
            _ => return None,
        })
    }

    pub fn message_kind(self) -> MessageKind {
        match self {
            Kind::Image => MessageKind::Image,
            Kind::Video => MessageKind::Video,
            Kind::Audio => MessageKind::Audio,
            Kind::Document => MessageKind::Document,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Audio => "audio",
            Kind::Document => "document",
        }
    }

    /// WhatsApp's limits (as its Business API documents them): 5 MB for
    /// images, 16 MB for video and audio, 100 MB for documents.
    pub fn max_bytes(self) -> u64 {
        const MB: u64 = 1024 * 1024;
        match self {
            Kind::Image => 5 * MB,
            Kind::Video | Kind::Audio => 16 * MB,
            Kind::Document => 100 * MB,
        }
    }

    /// What the error message lists as accepted.
    pub fn accepted(self) -> &'static str {
        match self {
            Kind::Image => "JPG, PNG or WEBP",
            Kind::Video => "MP4",
            Kind::Audio => "MP3, OGG or WAV",
            Kind::Document => "PDF, DOCX or XLSX",
        }
    }

    pub fn media_type(self) -> MediaType {
        match self {
            Kind::Image => MediaType::Image,
            Kind::Video => MediaType::Video,
            Kind::Audio => MediaType::Audio,
            Kind::Document => MediaType::Document,
        }
    }

    /// The MIME type WhatsApp is told, from the file's content (never from
    /// the URL or the server's Content-Type, which are often wrong), or
    /// `None` when the content is not an accepted type for this kind.
    pub fn sniff(self, bytes: &[u8]) -> Option<Sniffed> {
        let found = infer::get(bytes)?;
        let (mime, ext) = match (self, found.mime_type()) {
            (Kind::Image, m @ ("image/jpeg" | "image/png" | "image/webp")) => {
                (m, found.extension())
            }
            (Kind::Video, "video/mp4") => ("video/mp4", "mp4"),
            (Kind::Audio, "audio/mpeg") => ("audio/mpeg", "mp3"),
            (Kind::Audio, "audio/ogg") => ("audio/ogg; codecs=opus", "ogg"),
            (Kind::Audio, "audio/x-wav") => ("audio/wav", "wav"),
            (Kind::Document, m @ "application/pdf") => (m, "pdf"),
            (
                Kind::Document,
                m @ ("application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                | "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            ) => (m, found.extension()),
            _ => return None,
        };
        Some(Sniffed {
            mime: mime.to_owned(),
            extension: ext,
        })
    }
}

/// What sniffing found.
#[derive(Debug, Clone)]
pub struct Sniffed {
    pub mime: String,
    pub extension: &'static str,
}

/// What the content looks like, for the error message when it is refused.
pub(crate) fn describe(bytes: &[u8]) -> String {
    match infer::get(bytes) {
        Some(t) => t.mime_type().to_owned(),
        None if std::str::from_utf8(&bytes[..bytes.len().min(512)]).is_ok() => {
            "text (no known file signature)".to_owned()
        }
        None => "an unrecognised file type".to_owned(),
    }
}

/// The WhatsApp message for an uploaded file, as the outbox stores it
/// (protobuf, base64): it carries everything the recipient needs to fetch
/// and decrypt the file, so a send resumed after a restart needs neither
/// the URL nor the file.
pub(crate) struct Outgoing {
    pub kind: Kind,
    pub mime: String,
    pub caption: Option<String>,
    pub file_name: Option<String>,
}

impl Outgoing {
    pub(crate) fn message(self, upload: UploadResponse) -> wa::Message {
        let mimetype = Some(self.mime);
        match self.kind {
            Kind::Image => wr_media::image_message(
                upload,
                wr_media::ImageOptions {
                    caption: self.caption,
                    mimetype,
                    ..Default::default()
                },
            ),
            Kind::Video => wr_media::video_message(
                upload,
                wr_media::VideoOptions {
                    caption: self.caption,
                    mimetype,
                    ..Default::default()
                },
            ),
            Kind::Audio => wr_media::audio_message(
                upload,
                wr_media::AudioOptions {
                    mimetype,
                    ..Default::default()
                },
            ),
            Kind::Document => wr_media::document_message(
                upload,
                wr_media::DocumentOptions {
                    mimetype,
                    title: self.file_name.clone(),
                    file_name: self.file_name,
                    caption: self.caption,
                    ..Default::default()
                },
            ),
        }
    }
}

/// Encodes a message for the outbox.
pub(crate) fn encode(message: &wa::Message) -> String {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use whatsapp_rust::waproto::buffa::Message as _;
    STANDARD.encode(message.encode_to_vec())
}

/// Decodes a message the outbox stored.
pub(crate) fn decode(stored: &str) -> Result<wa::Message, String> {
    use base64::{Engine, engine::general_purpose::STANDARD};
    use whatsapp_rust::waproto::buffa::Message as _;
    let bytes = STANDARD
        .decode(stored)
        .map_err(|e| format!("stored media message: {e}"))?;
    wa::Message::decode_from_slice(&bytes).map_err(|e| format!("stored media message: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_checks_content_not_names() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
        assert_eq!(Kind::Image.sniff(&png).unwrap().mime, "image/png");
        assert!(Kind::Video.sniff(&png).is_none());
        assert!(Kind::Document.sniff(b"%PDF-1.7\n").is_some());
        assert!(Kind::Image.sniff(b"%PDF-1.7\n").is_none());
        assert!(Kind::Audio.sniff(b"OggS\0\x02").is_some());
        assert!(Kind::Image.sniff(b"<html>hello</html>").is_none());
        assert_eq!(describe(b"<html>hello</html>"), "text/html");
    }
}
