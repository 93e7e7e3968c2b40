//! Who a phone is to its contacts, through its live session: its name
//! (push name), about text and picture (fetched through the guarded
//! fetcher, cropped square and scaled to 640x640 JPEG as WhatsApp requires),
//! whether it shows as online, and the contacts whose presence it follows.

use std::sync::Arc;

use whatsapp_rust::{Client, Jid};

use crate::{
    error::{Error, Result},
    fetch::{FetchError, Fetcher},
    sessions::SessionManager,
    store::entity::phone,
};

/// The largest picture file fetched.
pub(crate) const PICTURE_MAX_BYTES: u64 = 5 * 1024 * 1024;
/// The side of the square picture WhatsApp keeps.
const PICTURE_SIDE: u32 = 640;
/// Longest name WhatsApp takes.
pub(crate) const NAME_MAX_CHARS: usize = 25;
/// Longest about text WhatsApp takes.
pub(crate) const ABOUT_MAX_CHARS: usize = 139;

/// The phone as its contacts see it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Shown {
    pub name: String,
    pub about: Option<String>,
    pub picture_url: Option<String>,
    pub picture_id: Option<String>,
}

/// A change to make; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub(crate) struct Change {
    pub name: Option<String>,
    pub about: Option<String>,
    pub picture_url: Option<url::Url>,
    pub remove_picture: bool,
}

#[derive(Clone)]
pub(crate) struct Profiles {
    sessions: Arc<SessionManager>,
    fetcher: Fetcher,
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("WhatsApp did not take {what}: {err}"))
}

impl Profiles {
    pub(crate) fn new(sessions: Arc<SessionManager>, fetcher: Fetcher) -> Profiles {
        Profiles { sessions, fetcher }
    }

    fn client(&self, phone: &phone::Model) -> Result<Arc<Client>> {
        // A phone being linked again has a connection that is not signed
        // in yet: only a phone whose status is connected can ask WhatsApp.
        self.sessions
            .client(&phone.id)
            .filter(|c| c.is_connected())
            .filter(|_| phone.status == crate::store::entity::vocab::PhoneStatus::Connected)
            .ok_or_else(|| Error::NotFound(format!("phone {} is not connected", phone.id)))
    }

    /// The phone's own name, about text and picture.
    pub(crate) async fn get(&self, phone: &phone::Model) -> Result<Shown> {
        let client = self.client(phone)?;
        let own: Option<Jid> = client.pn().map(|j| j.to_non_ad());
        let mut shown = Shown {
            name: client.push_name(),
            ..Shown::default()
        };
        let Some(own) = own else {
            return Ok(shown);
        };
        let contacts = client.contacts();
        let mut users = contacts
            .get_user_info(std::slice::from_ref(&own))
            .await
            .map_err(|e| unavailable("the profile query", e))?;
        if let Some(user) = users.remove(&own).or_else(|| users.into_values().next()) {
            shown.about = user.status.filter(|s| !s.is_empty());
        }
        if let Some(picture) = contacts
            .get_profile_picture(&own, false)
            .await
            .map_err(|e| unavailable("the picture query", e))?
        {
            shown.picture_url = Some(picture.url);
            shown.picture_id = Some(picture.id);
        }
        Ok(shown)
    }

    /// Makes `change` (the picture first: it is the part that can fail on
    /// the caller's input), then answers the profile as it is now.
    pub(crate) async fn set(&self, phone: &phone::Model, change: Change) -> Result<Shown> {
        let client = self.client(phone)?;
        let picture = match &change.picture_url {
            Some(url) => Some(self.picture(url).await?),
            None => None,
        };
        let profile = client.profile();
        if let Some(jpeg) = picture {
            profile
                .set_profile_picture(jpeg)
                .await
                .map_err(|e| unavailable("the picture", e))?;
        } else if change.remove_picture {
            profile
                .remove_profile_picture()
                .await
                .map_err(|e| unavailable("the picture removal", e))?;
        }
        if let Some(about) = &change.about {
            profile
                .set_status_text(about)
                .await
                .map_err(|e| unavailable("the about text", e))?;
        }
        if let Some(name) = &change.name {
            profile
                .set_push_name(name)
                .await
                .map_err(|e| unavailable("the name", e))?;
        }
        self.get(phone).await
    }

    /// Shows the phone as online (`available`) or offline.
    pub(crate) async fn set_presence(&self, phone: &phone::Model, available: bool) -> Result<()> {
        let client = self.client(phone)?;
        let presence = client.presence();
        let done = if available {
            presence.set_available().await
        } else {
            presence.set_unavailable().await
        };
        done.map_err(|e| unavailable("the presence", e))
    }

    /// Follows `number`'s presence: presence.update events.
    pub(crate) async fn subscribe(&self, phone: &phone::Model, number: &str) -> Result<()> {
        let client = self.client(phone)?;
        let jid: Jid = format!("{number}@s.whatsapp.net")
            .parse()
            .map_err(|e| Error::invalid("number", format!("{number}: {e:?}")))?;
        client
            .presence()
            .subscribe(jid)
            .await
            .map_err(|e| unavailable("the presence subscription", e))
    }

    /// The picture at `url` as WhatsApp keeps it: a centred square, 640x640 JPEG.
    pub(crate) async fn picture(&self, url: &url::Url) -> Result<Vec<u8>> {
        let fetched = self
            .fetcher
            .get(url, PICTURE_MAX_BYTES)
            .await
            .map_err(|err| match err {
                FetchError::TooLarge { .. } => Error::invalid(
                    "picture_url",
                    format!(
                        "the file is larger than {} MB",
                        PICTURE_MAX_BYTES / (1024 * 1024)
                    ),
                ),
                other => Error::invalid("picture_url", other.to_string()),
            })?;
        tokio::task::spawn_blocking(move || square_jpeg(&fetched.body))
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("picture task: {e}")))?
            .map_err(|reason| Error::invalid("picture_url", reason))
    }
}

/// A JPEG or PNG cropped to its centred square and scaled to 640x640 JPEG.
pub(crate) fn square_jpeg(bytes: &[u8]) -> std::result::Result<Vec<u8>, String> {
    use image::{ImageFormat, ImageReader, imageops};
    let mime = crate::media::sniff_any(bytes).map(|s| s.mime);
    let format = match mime.as_deref() {
        Some("image/jpeg") => ImageFormat::Jpeg,
        Some("image/png") => ImageFormat::Png,
        Some(other) => return Err(format!("the file is {other}; a picture is a JPEG or PNG")),
        None => return Err("the file is not a JPEG or PNG picture".into()),
    };
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(crate::media::decoder_limits());
    let image = reader
        .decode()
        .map_err(|e| format!("the picture cannot be read: {e}"))?
        .into_rgb8();
    let side = image.width().min(image.height());
    if side < 96 {
        return Err(format!(
            "the picture is {}x{}; WhatsApp needs at least 96x96",
            image.width(),
            image.height()
        ));
    }
    let square = imageops::crop_imm(
        &image,
        (image.width() - side) / 2,
        (image.height() - side) / 2,
        side,
        side,
    )
    .to_image();
    let scaled = imageops::resize(
        &square,
        PICTURE_SIDE,
        PICTURE_SIDE,
        imageops::FilterType::Lanczos3,
    );
    let mut out = std::io::Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&scaled)
        .map_err(|e| format!("encoding the picture as JPEG failed: {e}"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = image::RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let mut out = std::io::Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn a_wide_png_becomes_a_640_square_jpeg_of_its_middle() {
        let jpeg = square_jpeg(&png(1200, 300)).unwrap();
        let decoded = image::load_from_memory(&jpeg).unwrap().into_rgb8();
        assert_eq!((decoded.width(), decoded.height()), (640, 640));
        // The middle 300x300 of a half-red, half-blue image: red left, blue right.
        assert!(decoded.get_pixel(100, 320)[0] > 200);
        assert!(decoded.get_pixel(540, 320)[2] > 200);
    }

    #[test]
    fn tiny_and_non_pictures_are_refused() {
        assert!(square_jpeg(&png(50, 80)).unwrap_err().contains("96x96"));
        assert!(square_jpeg(b"%PDF-1.4 not a picture").is_err());
    }
}
