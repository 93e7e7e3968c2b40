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
    /// `host:port` that `media_conn` names and upload answers put in their URLs.
    pub hostname: String,
    blobs: Mutex<HashMap<String, Bytes>>,
}

impl MediaStore {
    pub fn new(hostname: String) -> Self {
        use rand::RngExt as _;
        let a: u128 = rand::rng().random();
        MediaStore {
            auth: format!("sim{a:032x}"),
            hostname,
            blobs: Mutex::new(HashMap::new()),
        }
    }

    /// The encrypted blob stored at `direct_path`.
    pub fn get(&self, direct_path: &str) -> Option<Bytes> {
        lock(&self.blobs).get(direct_path).cloned()
    }

    /// Stores an uploaded blob of kind `kind` (`image`, `md-msg-hist`, ...)
    /// under its encrypted hash `token`; returns its direct path.
    pub fn put(&self, kind: &str, token: &str, blob: Bytes) -> String {
        let direct_path = format!("/v/t62.sim-{kind}/{token}");
        lock(&self.blobs).insert(direct_path.clone(), blob);
        direct_path
    }

    pub fn blob_count(&self) -> usize {
        lock(&self.blobs).len()
    }
}
