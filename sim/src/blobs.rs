//! The media host's store: encrypted blobs by direct path and the auth token
//! that `media_conn` hands out. The HTTP routes (`media.rs`) and the virtual
//! phones (which fetch what their peers uploaded) share it; the server never
//! sees plaintext.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;

use crate::locks::lock;

pub struct MediaStore {
    pub auth: String,
    /// `host:port` that `media_conn` names.
    pub hostname: String,
    /// `host:port` of the HTTPS media host (upload answers' URLs name it).
    pub https_host: String,
    blobs: Mutex<HashMap<String, Blob>>,
}

struct Blob {
    bytes: Bytes,
    /// Stored by a virtual phone itself (its history-sync blobs), not uploaded.
    from_phone: bool,
}

impl MediaStore {
    pub fn new(hostname: String, https_host: String) -> Self {
        use rand::RngExt as _;
        let a: u128 = rand::rng().random();
        MediaStore {
            auth: format!("sim{a:032x}"),
            hostname,
            https_host,
            blobs: Mutex::new(HashMap::new()),
        }
    }

    /// The encrypted blob stored at `direct_path`.
    pub fn get(&self, direct_path: &str) -> Option<Bytes> {
        lock(&self.blobs).get(direct_path).map(|b| b.bytes.clone())
    }

    /// Stores a blob a client uploaded, of kind `kind` (`image`, ...) under its
    /// encrypted hash `token`; returns its direct path.
    pub fn put(&self, kind: &str, token: &str, blob: Bytes) -> String {
        self.insert(kind, token, blob, false)
    }

    /// Stores a blob a virtual phone made itself (as a real phone uploads it).
    pub fn put_from_phone(&self, kind: &str, token: &str, blob: Bytes) -> String {
        self.insert(kind, token, blob, true)
    }

    fn insert(&self, kind: &str, token: &str, bytes: Bytes, from_phone: bool) -> String {
        let direct_path = format!("/v/t62.sim-{kind}/{token}");
        lock(&self.blobs).insert(direct_path.clone(), Blob { bytes, from_phone });
        direct_path
    }

    /// Blobs clients uploaded (not counting the phones' own).
    pub fn uploaded_count(&self) -> usize {
        lock(&self.blobs).values().filter(|b| !b.from_phone).count()
    }
}
