//! Media for outbound messages: which file types each kind accepts, the
//! size limits WhatsApp applies, and the message kept in the outbox so a
//! send after a restart needs neither the URL nor the file.

use whatsapp_rust::{
    download::MediaType, media as wr_media, upload::UploadResponse, waproto::whatsapp as wa,
};

use crate::store::entity::vocab::MessageKind;

/// The media kinds the API sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Image,
    Video,
    Audio,
    Document,
    /// A 512x512 WebP (PNG and JPEG are converted).
    Sticker,
    /// A voice note: OGG/Opus, shown with a play button and its duration.
    Voice,
}

impl Kind {
    /// The media kind of a message kind (None for text, location, ...).
    pub fn from_kind(kind: MessageKind) -> Option<Kind> {
        Some(match kind {
            MessageKind::Image => Kind::Image,
            MessageKind::Video => Kind::Video,
            MessageKind::Audio => Kind::Audio,
            MessageKind::Document => Kind::Document,
            MessageKind::Sticker => Kind::Sticker,
            MessageKind::Voice => Kind::Voice,
            _ => return None,
        })
    }

    pub fn message_kind(self) -> MessageKind {
        match self {
            Kind::Image => MessageKind::Image,
            Kind::Video => MessageKind::Video,
            Kind::Audio => MessageKind::Audio,
            Kind::Document => MessageKind::Document,
            Kind::Sticker => MessageKind::Sticker,
            Kind::Voice => MessageKind::Voice,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Kind::Image => "image",
            Kind::Video => "video",
            Kind::Audio => "audio",
            Kind::Document => "document",
            Kind::Sticker => "sticker",
            Kind::Voice => "voice note",
        }
    }

    /// The kind in the plural, for messages ("images", "audio files").
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Image => "images",
            Kind::Video => "videos",
            Kind::Audio => "audio files",
            Kind::Document => "documents",
            Kind::Sticker => "stickers",
            Kind::Voice => "voice notes",
        }
    }

    /// WhatsApp's limits (as its Business API documents them): 5 MB for
    /// images, 16 MB for video and audio, 100 MB for documents.
    pub fn max_bytes(self) -> u64 {
        const MB: u64 = 1024 * 1024;
        match self {
            // A sticker's source image; what is sent is far smaller.
            Kind::Image | Kind::Sticker => 5 * MB,
            Kind::Video | Kind::Audio | Kind::Voice => 16 * MB,
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
            Kind::Sticker => "WEBP, PNG or JPG",
            // No Opus encoder without a system library: other audio is
            // refused rather than converted.
            Kind::Voice => "OGG/Opus",
        }
    }

    pub fn media_type(self) -> MediaType {
        match self {
            Kind::Image => MediaType::Image,
            Kind::Video => MediaType::Video,
            Kind::Audio => MediaType::Audio,
            Kind::Document => MediaType::Document,
            Kind::Sticker => MediaType::Sticker,
            Kind::Voice => MediaType::Audio,
        }
    }

    /// The MIME type WhatsApp is told, from the file's content (never from
    /// the URL or the server's Content-Type, which are often wrong), or
    /// `None` when the content is not an accepted type for this kind.
    pub fn sniff(self, bytes: &[u8]) -> Option<Sniffed> {
        let found = infer::get(bytes)?;
        let (mime, ext) = match (self, found.mime_type()) {
            (Kind::Image | Kind::Sticker, m @ ("image/jpeg" | "image/png" | "image/webp")) => {
                (m, found.extension())
            }
            (Kind::Voice, "audio/ogg" | "audio/opus") => ("audio/ogg; codecs=opus", "ogg"),
            (Kind::Video, "video/mp4") => ("video/mp4", "mp4"),
            (Kind::Audio, "audio/mpeg") => ("audio/mpeg", "mp3"),
            (Kind::Audio, "audio/ogg" | "audio/opus") => ("audio/ogg; codecs=opus", "ogg"),
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

/// The type of a file any media kind takes (checked again against the
/// kind it is sent as).
pub(crate) fn sniff_any(bytes: &[u8]) -> Option<Sniffed> {
    [Kind::Image, Kind::Video, Kind::Audio, Kind::Document]
        .into_iter()
        .find_map(|kind| kind.sniff(bytes))
}

/// What sniffing found.
#[derive(Debug, Clone)]
pub struct Sniffed {
    pub mime: String,
    pub extension: &'static str,
}

/// A file ready to upload: what prepare made of the fetched one.
#[derive(Debug)]
pub struct Prepared {
    pub bytes: Vec<u8>,
    pub mime: String,
    /// A voice note's length.
    pub seconds: Option<u32>,
    /// A sticker's size in pixels.
    pub dimensions: Option<(u32, u32)>,
}

/// The side of a sticker, as WhatsApp's own stickers are.
pub(crate) const STICKER_SIDE: u32 = 512;
/// The largest sticker sent (after conversion).
pub(crate) const STICKER_MAX_BYTES: usize = 500 * 1024;

impl Kind {
    /// Turns a fetched file of this kind (its type sniffed) into what is
    /// uploaded: a sticker becomes a 512x512 WebP, a voice note has its
    /// duration read from its container; other kinds go as they are. An
    /// `Err` says what is wrong with the file, for a 400.
    pub fn prepare(self, bytes: Vec<u8>, sniffed: &Sniffed) -> Result<Prepared, String> {
        match self {
            Kind::Sticker => sticker(bytes, &sniffed.mime),
            Kind::Voice => {
                let seconds = crate::voice::duration(&bytes)?;
                Ok(Prepared {
                    bytes,
                    mime: sniffed.mime.clone(),
                    seconds: Some(seconds),
                    dimensions: None,
                })
            }
            _ => Ok(Prepared {
                bytes,
                mime: sniffed.mime.clone(),
                seconds: None,
                dimensions: None,
            }),
        }
    }
}

/// What the image decoder may use on a file from a caller or a web page: a
/// small file may claim a huge canvas, and decoding stops at these.
pub(crate) fn decoder_limits() -> image::Limits {
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(8192);
    limits.max_image_height = Some(8192);
    limits.max_alloc = Some(256 * 1024 * 1024);
    limits
}

/// A sticker: WebP as it is (its size read from it), PNG or JPEG scaled to
/// fit 512x512 (aspect kept, the rest transparent) and encoded as WebP.
fn sticker(bytes: Vec<u8>, mime: &str) -> Result<Prepared, String> {
    use image::{ImageFormat, ImageReader, imageops};
    let format = match mime {
        "image/webp" => ImageFormat::WebP,
        "image/png" => ImageFormat::Png,
        _ => ImageFormat::Jpeg,
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(&bytes), format);
    reader.limits(decoder_limits());
    if format == ImageFormat::WebP {
        let (width, height) = reader
            .into_dimensions()
            .map_err(|e| format!("the WebP file cannot be read: {e}"))?;
        if bytes.len() > STICKER_MAX_BYTES {
            return Err(format!(
                "the WebP sticker is {} KB; WhatsApp takes stickers up to {} KB",
                bytes.len() / 1024,
                STICKER_MAX_BYTES / 1024
            ));
        }
        return Ok(Prepared {
            bytes,
            mime: "image/webp".into(),
            seconds: None,
            dimensions: Some((width, height)),
        });
    }
    let image = reader
        .decode()
        .map_err(|e| format!("the image cannot be read: {e}"))?
        .into_rgba8();
    // Fit the longest side to 512, keeping the aspect.
    let (width, height) = (image.width().max(1), image.height().max(1));
    let longest = width.max(height);
    let scaled = imageops::resize(
        &image,
        (width * STICKER_SIDE / longest).max(1),
        (height * STICKER_SIDE / longest).max(1),
        imageops::FilterType::Lanczos3,
    );
    let mut canvas = image::RgbaImage::new(STICKER_SIDE, STICKER_SIDE);
    imageops::overlay(
        &mut canvas,
        &scaled,
        i64::from((STICKER_SIDE - scaled.width()) / 2),
        i64::from((STICKER_SIDE - scaled.height()) / 2),
    );
    let mut out = std::io::Cursor::new(Vec::new());
    canvas
        .write_to(&mut out, ImageFormat::WebP)
        .map_err(|e| format!("converting the image to WebP failed: {e}"))?;
    let out = out.into_inner();
    if out.len() > STICKER_MAX_BYTES {
        return Err(format!(
            "the image is {} KB as a 512x512 WebP; WhatsApp takes stickers up to {} KB: \
             use a simpler image (flat colours, a transparent background)",
            out.len() / 1024,
            STICKER_MAX_BYTES / 1024
        ));
    }
    Ok(Prepared {
        bytes: out,
        mime: "image/webp".into(),
        seconds: None,
        dimensions: Some((STICKER_SIDE, STICKER_SIDE)),
    })
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
    pub seconds: Option<u32>,
    pub dimensions: Option<(u32, u32)>,
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
            Kind::Voice => wr_media::audio_message(
                upload,
                wr_media::AudioOptions {
                    mimetype,
                    duration_seconds: self.seconds,
                    ptt: Some(true),
                    ..Default::default()
                },
            ),
            Kind::Sticker => wa::Message {
                sticker_message: whatsapp_rust::waproto::buffa::MessageField::some(
                    wa::message::StickerMessage {
                        url: Some(upload.url),
                        direct_path: Some(upload.direct_path),
                        media_key: Some(upload.media_key.to_vec()),
                        file_sha256: Some(upload.file_sha256.to_vec()),
                        file_enc_sha256: Some(upload.file_enc_sha256.to_vec()),
                        file_length: Some(upload.file_length),
                        media_key_timestamp: Some(upload.media_key_timestamp),
                        mimetype,
                        width: self.dimensions.map(|d| d.0),
                        height: self.dimensions.map(|d| d.1),
                        ..Default::default()
                    },
                ),
                ..Default::default()
            },
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
