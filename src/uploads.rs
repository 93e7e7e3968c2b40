//! Files uploaded once to be sent later by `media_id` (`POST /api/media`).
//! A file is streamed to disk while it is hashed and counted (never held in
//! memory whole), checked by its content like a fetched URL, and kept until
//! it expires; a sweeper deletes expired files and their records.

use std::{path::PathBuf, time::Duration};

use bytes::Bytes;
use futures::{Stream, StreamExt};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{
    config,
    error::{Error, Result},
    media::{self, Kind},
    store::{self, entity::upload, now_ms},
};

/// The uploads of every account; cheap to clone.
#[derive(Clone)]
pub struct Uploads {
    db: DatabaseConnection,
    dir: PathBuf,
    settings: config::Uploads,
}

/// How the caller sent the file: its name and how long to keep it.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub file_name: Option<String>,
    pub expires_in_seconds: Option<u64>,
}

impl Uploads {
    pub(crate) fn new(
        db: DatabaseConnection,
        data_dir: &std::path::Path,
        settings: config::Uploads,
    ) -> Uploads {
        Uploads {
            db,
            dir: data_dir.join("uploads"),
            settings,
        }
    }

    /// Stores the file `body` yields for `account_id`. 400 naming `field`
    /// when it is empty, too large or not a type WhatsApp takes; nothing
    /// is kept then.
    pub(crate) async fn save<S, E>(
        &self,
        account_id: &str,
        field: &str,
        mut body: S,
        meta: Meta,
    ) -> Result<upload::Model>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let file_name = match meta.file_name.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(name) => Some(crate::values::file_name("file_name", name)?),
        };
        let ttl = match meta.expires_in_seconds {
            None | Some(0) => self.settings.ttl,
            Some(secs) if secs > self.settings.max_ttl.as_secs() => {
                return Err(Error::invalid(
                    "expires_in_seconds",
                    format!("must be at most {}", self.settings.max_ttl.as_secs()),
                ));
            }
            Some(secs) => Duration::from_secs(secs),
        };
        tokio::fs::create_dir_all(&self.dir)
            .await
            .map_err(|e| Error::Internal(e.into()))?;
        let temp =
            tempfile::NamedTempFile::new_in(&self.dir).map_err(|e| Error::Internal(e.into()))?;
        let (std_file, temp_path) = temp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut head: Vec<u8> = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk
                .map_err(|e| Error::invalid(field, format!("reading the upload failed: {e}")))?;
            size += chunk.len() as u64;
            if size > self.settings.max_bytes {
                return Err(Error::invalid(
                    field,
                    format!(
                        "the file is larger than the {} MB uploads take",
                        self.settings.max_bytes / (1024 * 1024)
                    ),
                ));
            }
            if head.len() < 8192 {
                head.extend_from_slice(&chunk[..chunk.len().min(8192 - head.len())]);
            }
            hasher.update(&chunk);
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::Internal(e.into()))?;
        }
        file.flush().await.map_err(|e| Error::Internal(e.into()))?;
        if size == 0 {
            return Err(Error::invalid(field, "the file is empty"));
        }
        let mime = media::sniff_any(&head)
            .ok_or_else(|| {
                Error::invalid(
                    field,
                    format!(
                        "the file is {}, not a type WhatsApp sends (JPG, PNG, WEBP, MP4, MP3, OGG, WAV, PDF, DOCX, XLSX)",
                        media::describe(&head)
                    ),
                )
            })?
            .mime;
        let now = now_ms();
        let row = upload::Model {
            id: store::new_id("md"),
            account_id: account_id.to_owned(),
            mime_type: mime,
            size: size as i64,
            sha256: hex(&hasher.finalize()),
            file_name,
            created_at: now,
            expires_at: now + ttl.as_millis() as i64,
        };
        let id = row.id.clone();
        temp_path
            .persist(self.dir.join(&id))
            .map_err(|e| Error::Internal(e.error.into()))?;
        match store::uploads::insert(&self.db, row).await {
            Ok(row) => Ok(row),
            Err(err) => {
                // No record, no file.
                self.remove_file(&id).await;
                Err(err.into())
            }
        }
    }

    /// The account's upload, 404 otherwise (another account's is unknown).
    pub(crate) async fn find(&self, account_id: &str, id: &str) -> Result<upload::Model> {
        store::uploads::find_valid(&self.db, account_id, id.trim())
            .await?
            .ok_or_else(|| Error::NotFound(format!("no upload {} (uploads expire)", id.trim())))
    }

    /// The file of the account's upload `id` for a send of `kind`: 400
    /// naming `media_id` when it is unknown, expired or too large for the
    /// kind. Its bytes and its name.
    pub(crate) async fn file_for(
        &self,
        account_id: &str,
        id: &str,
        kind: Kind,
    ) -> Result<(Vec<u8>, Option<String>)> {
        let row = store::uploads::find_valid(&self.db, account_id, id.trim())
            .await?
            .ok_or_else(|| {
                Error::invalid(
                    "media_id",
                    format!("no upload {} on this account (uploads expire)", id.trim()),
                )
            })?;
        if row.size as u64 > kind.max_bytes() {
            return Err(Error::invalid(
                "media_id",
                format!(
                    "the file is larger than WhatsApp's {} MB limit for {}",
                    kind.max_bytes() / (1024 * 1024),
                    kind.plural()
                ),
            ));
        }
        let bytes = tokio::fs::read(self.dir.join(&row.id))
            .await
            .map_err(|e| Error::Internal(anyhow::anyhow!("reading upload {}: {e}", row.id)))?;
        Ok((bytes, row.file_name))
    }

    /// Deletes the account's upload (404 when there is none).
    pub(crate) async fn delete(&self, account_id: &str, id: &str) -> Result<()> {
        let id = id.trim();
        if !store::uploads::delete(&self.db, account_id, id).await? {
            return Err(Error::NotFound(format!("no upload {id}")));
        }
        self.remove_file(id).await;
        Ok(())
    }

    /// Deletes expired uploads, files first; how many.
    pub async fn sweep(&self) -> Result<usize> {
        let mut deleted = 0;
        loop {
            let ids = store::uploads::expired(&self.db, 500).await?;
            if ids.is_empty() {
                return Ok(deleted);
            }
            for id in &ids {
                self.remove_file(id).await;
            }
            store::uploads::delete_ids(&self.db, &ids).await?;
            deleted += ids.len();
        }
    }

    /// Sweeps every few minutes until `shutdown`.
    pub(crate) fn spawn_sweeper(
        &self,
        shutdown: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let uploads = self.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(300));
            loop {
                tokio::select! {
                    _ = every.tick() => {}
                    _ = shutdown.cancelled() => return,
                }
                match uploads.sweep().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(deleted = n, "expired uploads deleted"),
                    Err(err) => tracing::warn!(error = %err, "deleting expired uploads"),
                }
            }
        })
    }

    async fn remove_file(&self, id: &str) {
        // Ids are ours (md_ and letters), never a path.
        if let Err(err) = tokio::fs::remove_file(self.dir.join(id)).await
            && err.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(upload = %id, error = %err, "deleting an upload's file");
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
