//! A loopback WhatsApp server that speaks the multi-device protocol as whatsapp-rust 0.7
//! expects it: websocket + Noise (XX, IK, XXfallback), binary nodes, pairing by QR or
//! code with a virtual phone, login, the prekey directory, message and receipt
//! routing with offline queues, a media host (HTTP and HTTPS), and virtual phones
//! whose primary device is a Signal party of its own.
//!
//! The server never decrypts end-to-end payloads between clients: it only stores and
//! forwards the key material and ciphertext that real clients hand it.
//!
//! ```ignore
//! let sim = Simulator::start(SimConfig::default()).await?;
//! sim.create_phone("15550001111");
//! // point a client at sim.ws_url(), wait for its QR event, then:
//! sim.scan(&qr_text, "15550001111").await?;
//! ```
//!
//! Modules, lowest first (each uses only modules before it in this list):
//! `locks`, `nodes`, `handshake`, `tls`, `signal`, `directory`, `blobs`,
//! `history`, `groups`, `state`, `delivery`, `devices`, `usync`, `prekeys`,
//! `settings`, `group_notify`, `group_ops`, `group_iq`, `group_send`, `router`, `pairing`,
//! `paircode`, `sender_keys`, `phone`, `phone_send`, `phone_group`, `media`,
//! `login`, `server`, `admin`, `admin_groups`, `standalone`.

mod admin;
mod admin_groups;
mod blobs;
mod delivery;
mod devices;
mod directory;
mod group_iq;
mod group_notify;
mod group_ops;
mod group_send;
mod groups;
mod handshake;
mod history;
mod locks;
mod login;
mod media;
mod nodes;
mod paircode;
mod pairing;
mod phone;
mod phone_group;
mod phone_send;
mod prekeys;
mod profile;
mod router;
mod sender_keys;
mod server;
mod settings;
mod signal;
pub mod standalone;
mod state;
mod tls;
mod usync;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::broadcast;
use wacore_libsignal::protocol::{KeyPair, PrivateKey};

pub use directory::{
    CallPlaced, ChatStateSeen, ContactSeen, DeviceInfo, LinkPreviewSeen, PhoneInfo, PhoneMessage,
    PollSeen, SentStatus,
};
pub use groups::{
    Description as GroupDescription, Group, JoinRequest, Member as GroupMember, Role as GroupRole,
};
pub use handshake::Pattern;
pub use pairing::PairedDevice;
pub use state::SimEvent;

use blobs::MediaStore;
use state::{ServerKeys, Shared};

/// How to start a simulator.
#[derive(Clone, Default)]
pub struct SimConfig {
    /// Where to listen; `None` means `127.0.0.1:0` (a free loopback port).
    pub listen: Option<SocketAddr>,
    /// The server's static Noise private key. Clients remember the matching public key and
    /// use it for IK on every later connection, so a restarted simulator should be given the
    /// key of the previous run (see [`Simulator::static_private_key`]). `None` = random.
    pub static_private_key: Option<[u8; 32]>,
    /// Where the HTTP side (admin API and media host) listens; `None` = `127.0.0.1:0`.
    pub http_listen: Option<SocketAddr>,
    /// Where the HTTPS media host listens; `None` = `127.0.0.1:0`. Its
    /// certificate comes from the simulator's own CA ([`Simulator::ca_certificate_pem`]).
    pub https_listen: Option<SocketAddr>,
    /// Name the HTTPS media host in `media_conn` answers instead of the plain
    /// HTTP one (whose https:// URLs the clients' HTTP client must send as
    /// plain http). For clients that trust the simulator's CA.
    pub media_conn_https: bool,
}

/// A running simulator. Dropping it stops accepting connections.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    http_addr: SocketAddr,
    https_addr: SocketAddr,
    ca_pem: String,
    accept_task: tokio::task::JoinHandle<()>,
    http_task: tokio::task::JoinHandle<()>,
    https_task: tokio::task::JoinHandle<()>,
}

fn loopback_any_port() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

impl Simulator {
    /// Bind (default `127.0.0.1:0`) and start serving.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        let static_kp = match config.static_private_key {
            Some(bytes) => KeyPair::try_from(PrivateKey::deserialize(&bytes)?)?,
            None => KeyPair::generate(&mut rand::rng()),
        };
        let listener =
            tokio::net::TcpListener::bind(config.listen.unwrap_or_else(loopback_any_port)).await?;
        let addr = listener.local_addr()?;
        let http_listener =
            tokio::net::TcpListener::bind(config.http_listen.unwrap_or_else(loopback_any_port))
                .await?;
        let http_addr = http_listener.local_addr()?;
        let https_listener =
            tokio::net::TcpListener::bind(config.https_listen.unwrap_or_else(loopback_any_port))
                .await?;
        let https_addr = https_listener.local_addr()?;
        let tls = tls::Tls::generate()?;
        let media_conn_host = if config.media_conn_https {
            https_addr
        } else {
            http_addr
        };
        let shared = Arc::new(Shared::new(
            ServerKeys::new(static_kp)?,
            MediaStore::new(media_conn_host.to_string(), https_addr.to_string()),
            tls.ca_pem.clone(),
        ));
        let accept_task = tokio::spawn(server::accept_loop(shared.clone(), listener));
        let http_task = tokio::spawn(admin::serve(shared.clone(), http_listener));
        let https_task = tokio::spawn(media::serve_https(
            shared.clone(),
            https_listener,
            tls.acceptor,
        ));
        log::info!(
            "WhatsApp simulator listening on ws://{addr}/ws/chat, admin and media on http://{http_addr}, media on https://{https_addr}"
        );
        Ok(Simulator {
            shared,
            addr,
            http_addr,
            https_addr,
            ca_pem: tls.ca_pem,
            accept_task,
            http_task,
            https_task,
        })
    }

    /// The websocket URL to give `TokioWebSocketTransportFactory::with_url`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL of the admin API and media host (`http://127.0.0.1:PORT`). Media URLs the
    /// clients build are `https://127.0.0.1:PORT/...`: their HTTP client must use plain http.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http_addr)
    }

    /// Base URL of the HTTPS media host (`https://127.0.0.1:PORT`), whose
    /// certificate is signed by [`Self::ca_certificate_pem`].
    pub fn https_url(&self) -> String {
        format!("https://{}", self.https_addr)
    }

    /// The simulator's CA certificate (PEM): the one root a client needs to
    /// trust the HTTPS media host. Also served at `GET /admin/ca.pem`.
    pub fn ca_certificate_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Number of media blobs clients uploaded to the media host (the virtual
    /// phones' own history-sync blobs are not counted).
    pub fn media_blob_count(&self) -> usize {
        self.shared.media.uploaded_count()
    }

    /// The static Noise private key, to restart a simulator that clients still trust (IK).
    pub fn static_private_key(&self) -> [u8; 32] {
        *self.shared.keys().static_kp.private_key.serialize()
    }

    /// Replace the server's static Noise key (as WhatsApp does when it rotates keys).
    /// Clients that cached the old key fail IK and finish with XXfallback.
    pub fn rotate_static_key(&self) -> anyhow::Result<()> {
        let keys = ServerKeys::new(KeyPair::generate(&mut rand::rng()))?;
        self.shared.set_keys(keys);
        Ok(())
    }

    /// Unlink a companion device from the phone side: it is removed from the account and,
    /// if connected, told so (`LoggedOut` on the client). `false` if there was no such device.
    pub fn unlink(&self, number: &str, device: u32) -> bool {
        pairing::unlink(&self.shared, number, device)
    }

    /// Follow what the simulator does (handshakes, pairing, logins, ...).
    pub fn subscribe(&self) -> broadcast::Receiver<SimEvent> {
        self.shared.subscribe()
    }

    /// Create a virtual phone (a WhatsApp account whose primary device is simulated).
    /// Numbers nobody created are not on WhatsApp. Idempotent.
    pub fn create_phone(&self, number: &str) -> PhoneInfo {
        phone::create_phone(&self.shared, number)
    }

    /// The virtual phone `number` sends a text to the account `to`, end-to-end encrypted
    /// from its primary device to every device of `to` (and a copy to its own companions).
    /// Returns the message id.
    pub async fn phone_send_text(
        &self,
        number: &str,
        to: &str,
        text: &str,
    ) -> anyhow::Result<String> {
        let msg = waproto::whatsapp::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        };
        phone_send::send(&self.shared, number, to, msg).await
    }

    /// The virtual phone `number` sends a text to the group `group` (`120363...`,
    /// with or without `@g.us`), under its own sender key. Returns the message id.
    pub async fn phone_send_group_text(
        &self,
        number: &str,
        group: &str,
        text: &str,
    ) -> anyhow::Result<String> {
        let msg = waproto::whatsapp::Message {
            conversation: Some(text.to_string()),
            ..Default::default()
        };
        phone_group::send(&self.shared, number, group, msg).await
    }

    /// The virtual phone sends any `wa::Message` (location, ...).
    pub async fn phone_send_message(
        &self,
        number: &str,
        to: &str,
        message: waproto::whatsapp::Message,
    ) -> anyhow::Result<String> {
        phone_send::send(&self.shared, number, to, message).await
    }

    /// The group `id` (`120363...`, with or without `@g.us`), as the server keeps it.
    pub fn group(&self, id: &str) -> Option<Group> {
        self.shared.state().groups.get(id).cloned()
    }

    /// Every group on the server.
    pub fn groups(&self) -> Vec<Group> {
        self.shared.state().groups.by_id.values().cloned().collect()
    }

    /// Messages the virtual phone's primary device received, oldest first.
    pub fn phone_messages(&self, number: &str) -> Vec<PhoneMessage> {
        self.shared
            .state()
            .dir
            .phone(number)
            .map(|p| p.primary.received.clone())
            .unwrap_or_default()
    }

    /// The chat states ("typing...") other numbers showed the virtual phone.
    pub fn phone_chat_states(&self, number: &str) -> Vec<directory::ChatStateSeen> {
        self.shared
            .state()
            .dir
            .phone(number)
            .map(|p| p.primary.chat_states.clone())
            .unwrap_or_default()
    }

    /// Calls the virtual phone placed, with whether they were rejected.
    pub fn phone_calls(&self, number: &str) -> Vec<CallPlaced> {
        self.shared
            .state()
            .dir
            .phone(number)
            .map(|p| p.primary.calls.clone())
            .unwrap_or_default()
    }

    /// What the virtual phone sent, with delivery state from receipts.
    pub fn phone_sent(&self, number: &str) -> Vec<SentStatus> {
        self.shared
            .state()
            .dir
            .phone(number)
            .map(|p| p.primary.sent.clone())
            .unwrap_or_default()
    }

    /// The virtual phone reads received messages (read receipts to the senders).
    pub fn phone_mark_read(&self, number: &str, ids: &[String]) -> anyhow::Result<usize> {
        phone_send::mark_read(&self.shared, number, ids)
    }

    /// Take the virtual phone offline (stanzas for it queue up) or back online (the queue
    /// is processed).
    pub fn set_phone_online(&self, number: &str, online: bool) -> bool {
        phone::set_phone_online(&self.shared, number, online)
    }

    /// The virtual phone `number`, if it exists.
    pub fn phone(&self, number: &str) -> Option<PhoneInfo> {
        self.shared.state().dir.phone(number).map(|p| p.info())
    }

    /// Scan a QR code shown by an unpaired client with the virtual phone `number`: links
    /// that client as a new companion device of `number`. Returns once `<pair-success>` is
    /// on its way; the client then signs the identity, gets a 515 and logs in again.
    pub async fn scan(&self, qr_text: &str, number: &str) -> anyhow::Result<PairedDevice> {
        pairing::scan(&self.shared, qr_text, number)
    }

    /// The user enters the pair code a client shows ("link with phone number") into the
    /// virtual phone `number`; pairing then completes as after a QR scan.
    pub fn enter_pair_code(&self, number: &str, code: &str) -> anyhow::Result<()> {
        paircode::enter_pair_code(&self.shared, number, code)
    }

    /// Tell every client showing QR codes to retire its adv secret
    /// (`companion_reg_refresh`): each re-renders its QR at once. Returns how many.
    pub fn refresh_qr_codes(&self) -> usize {
        pairing::refresh_qr_codes(&self.shared)
    }

    /// Simulate a network outage: `true` drops every live connection (clients
    /// see their socket close) and closes each new one right after accepting
    /// it ([`SimEvent::RefusedInOutage`]) until `false` ends the outage.
    /// Phones, devices and queued stanzas are kept. Returns how many
    /// connections were dropped.
    pub fn set_outage(&self, on: bool) -> usize {
        server::set_outage(&self.shared, on)
    }

    /// Whether an outage is on.
    pub fn in_outage(&self) -> bool {
        self.shared.in_outage()
    }

    /// Companion devices currently connected and logged in, as (number, device id).
    pub fn online_devices(&self) -> Vec<(String, u32)> {
        let mut v: Vec<_> = self
            .shared
            .state()
            .conns
            .values()
            .filter_map(|h| h.logged_in().map(|(n, d)| (n.to_string(), d)))
            .collect();
        v.sort();
        v
    }

    /// Stop accepting new connections and drop every live one.
    pub fn shutdown(&self) {
        self.accept_task.abort();
        self.http_task.abort();
        self.https_task.abort();
        let mut st = self.shared.state();
        for (_, h) in st.conns.drain() {
            h.close();
        }
        // Primary-device tasks hold the shared state; closing their inboxes ends them.
        for p in st.dir.phones.values_mut() {
            p.primary.inbox = None;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}
