//! `GET /api/phones/{phone_id}/messages/{message_id}/media`: the file of a
//! stored media message, fetched from WhatsApp through the phone's session,
//! decrypted and checked (MAC and hash) into a temporary file, then streamed
//! to the caller; never held in memory whole. A plain HTTP route beside the
//! transcoded API (a file is not JSON), with the same token and limits.

use axum::{
    body::Body,
    extract::{Path, State as AxumState},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use tokio_util::io::ReaderStream;
use whatsapp_rust::{download::Downloadable, waproto::whatsapp as wa};

use super::{State, validate};
use crate::{auth::Authenticator, error::Error, media};

#[derive(Clone)]
pub(crate) struct DownloadState {
    pub api: State,
    pub auth: Authenticator,
}

pub(crate) async fn inbound_media(
    AxumState(ctx): AxumState<DownloadState>,
    Path((phone_id, message_id)): Path<(String, String)>,
    request: axum::extract::Request,
) -> Response {
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip());
    match serve(&ctx, &phone_id, &message_id, request.headers(), peer).await {
        Ok(response) => response,
        Err(err) => crate::error::rest_response(err),
    }
}

async fn serve(
    ctx: &DownloadState,
    phone_id: &str,
    message_id: &str,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Response, Error> {
    let caller = ctx.auth.authenticate(headers, peer).await?;
    let phone = validate::owned_phone(&ctx.api, &caller, phone_id).await?;
    let row = crate::history::find(&ctx.api.db, &phone, message_id).await?;
    let stored = row
        .media_ref
        .as_deref()
        .ok_or_else(|| Error::NotFound(format!("message {message_id} has no media")))?;
    let message = media::decode(stored).map_err(|e| Error::Internal(anyhow::anyhow!(e)))?;
    let client = ctx
        .api
        .sessions
        .client(&phone.id)
        .filter(|c| c.is_connected())
        .ok_or_else(|| Error::NotFound(format!("phone {} is not connected", phone.id)))?;

    let dir = ctx.api.config.data_dir.join("tmp");
    std::fs::create_dir_all(&dir).map_err(|e| Error::Internal(e.into()))?;
    let file = tempfile::tempfile_in(&dir).map_err(|e| Error::Internal(e.into()))?;
    let downloaded = match downloadable(&message) {
        Some(d) => client.download_to_writer(d, file).await,
        None => {
            return Err(Error::NotFound(format!(
                "message {message_id} has no media"
            )));
        }
    };
    let mut file = downloaded.map_err(|e| {
        Error::Unavailable(format!("downloading the media from WhatsApp failed: {e}"))
    })?;
    use std::io::Seek as _;
    let size = file
        .seek(std::io::SeekFrom::End(0))
        .and_then(|n| file.rewind().map(|_| n))
        .map_err(|e| Error::Internal(e.into()))?;
    let body = Body::from_stream(ReaderStream::new(tokio::fs::File::from_std(file)));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    let mime = row
        .mime_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    if let Some(name) = row.file_name.as_deref() {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
            h.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    Ok(response)
}

fn downloadable(m: &wa::Message) -> Option<&dyn Downloadable> {
    if let Some(x) = m.image_message.as_option() {
        Some(x)
    } else if let Some(x) = m.video_message.as_option() {
        Some(x)
    } else if let Some(x) = m.audio_message.as_option() {
        Some(x)
    } else if let Some(x) = m.document_message.as_option() {
        Some(x)
    } else if let Some(x) = m.sticker_message.as_option() {
        Some(x)
    } else {
        None
    }
}
