//! The history sync a phone sends a companion it has just linked.
//!
//! A real phone uploads its chat history as encrypted `md-msg-hist` blobs and
//! tells the companion where to fetch each one with a `HistorySyncNotification`
//! in a protocol message; companions wait for the first of them after a fresh
//! link (Baileys holds its events back up to 20 s). The simulator's phones keep
//! no history to hand over, so the initial bootstrap they send lists no
//! conversations: the blob, its encryption and the notification are real.
//! Client side: whatsapp-rust `src/history_sync.rs`, wacore `src/history_sync.rs`.

use anyhow::{anyhow, ensure};
use base64::Engine as _;
use base64::prelude::BASE64_URL_SAFE_NO_PAD;
use buffa::Message as _;
use bytes::Bytes;
use wacore::download::MediaType;
use waproto::whatsapp as wa;

use crate::blobs::MediaStore;

/// zlib, as history blobs are compressed.
fn zlib(data: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut out = vec![0u8; zlib_rs::compress_bound(data.len())];
    let (compressed, rc) =
        zlib_rs::compress_slice(&mut out, data, zlib_rs::DeflateConfig::default());
    ensure!(rc == zlib_rs::ReturnCode::Ok, "zlib: {rc:?}");
    let len = compressed.len();
    out.truncate(len);
    Ok(out)
}

/// Builds the initial bootstrap chunk, stores its encrypted blob on the media
/// host, and returns the protocol message that announces it.
pub(crate) fn initial_bootstrap(media: &MediaStore) -> anyhow::Result<wa::Message> {
    let history = wa::HistorySync {
        sync_type: wa::history_sync::HistorySyncType::InitialBootstrap,
        chunk_order: Some(1),
        progress: Some(100),
        ..Default::default()
    }
    .encode_to_vec();
    let compressed = zlib(&history)?;
    let blob = wacore::upload::encrypt_media(&compressed, MediaType::History)
        .map_err(|e| anyhow!("encrypting the history blob: {e}"))?;
    let token = BASE64_URL_SAFE_NO_PAD.encode(blob.file_enc_sha256);
    let direct_path = media.put_from_phone(
        MediaType::History.mms_type(),
        &token,
        Bytes::from(blob.data_to_upload),
    );
    let notification = wa::message::HistorySyncNotification {
        file_sha256: Some(blob.file_sha256.to_vec()),
        file_length: Some(compressed.len() as u64),
        media_key: Some(blob.media_key.to_vec()),
        file_enc_sha256: Some(blob.file_enc_sha256.to_vec()),
        direct_path: Some(direct_path),
        sync_type: Some(wa::message::HistorySyncType::InitialBootstrap),
        chunk_order: Some(1),
        progress: Some(100),
        ..Default::default()
    };
    Ok(wa::Message {
        protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(wa::message::protocol_message::Type::HistorySyncNotification),
            history_sync_notification: buffa::MessageField::some(notification),
            ..Default::default()
        }),
        ..Default::default()
    })
}
