//! A loopback WhatsApp server that speaks the multi-device protocol as whatsapp-rust 0.7
//! expects it: websocket + Noise (XX, IK, XXfallback), binary nodes, QR pairing by a
//! virtual phone, login, prekey directory and (in progress) message routing.
//!
//! The server never decrypts end-to-end payloads: it only stores and forwards the key
//! material and ciphertext that real clients hand it.
//!
//! ```ignore
//! let sim = Simulator::start(SimConfig::default()).await?;
//! sim.create_phone("15550001111");
//! // point a client at sim.ws_url(), wait for its QR event, then:
//! sim.scan(&qr_text, "15550001111").await?;
//! ```

mod admin;
mod directory;
mod handshake;
mod login;
mod media;
mod nodes;
mod pairing;
mod phone;
mod router;
mod server;
pub mod standalone;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc};
use wacore_libsignal::protocol::{KeyPair, PrivateKey};

pub use directory::{DeviceInfo, PhoneInfo};
pub use handshake::Pattern;
pub use pairing::PairedDevice;
pub use phone::{PhoneMessage, SentStatus};

use directory::Directory;

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
}

/// Something the simulator did or saw; tests subscribe to these to follow the protocol.
#[derive(Debug, Clone, PartialEq)]
pub enum SimEvent {
    /// A Noise handshake completed and the client's `ClientPayload` was decrypted.
    Handshake {
        conn: u64,
        pattern: Pattern,
        /// `true` for a registration payload (a device that is not paired yet).
        registration: bool,
        /// `username` and `device` of a login payload.
        login: Option<(u64, u32)>,
    },
    /// `<pair-device>` with QR refs was sent to a registering client.
    PairDeviceSent { conn: u64, refs: usize },
    /// The client refused `<pair-success>` (e.g. a stale QR's adv secret): link undone.
    PairRefused { number: String, device: u32 },
    /// The client answered `<pair-success>` with its signed device identity.
    PairSigned { number: String, device: u32 },
    /// A paired device logged in and got `<success>`.
    LoggedIn {
        conn: u64,
        number: String,
        device: u32,
    },
    /// A login was refused with `<failure>`.
    LoginRefused { conn: u64, reason: u16 },
    /// A device uploaded its prekeys.
    PreKeysUploaded {
        number: String,
        device: u32,
        count: usize,
    },
    /// `<ib><offline count="0"/></ib>` was sent after `<active/>`.
    OfflineMarkerSent { conn: u64 },
    /// An IQ the simulator does not implement was answered with an error.
    UnhandledIq {
        conn: u64,
        xmlns: String,
        child: String,
    },
    /// The virtual phone sent its app-state sync key to a companion (Signal `pkmsg`).
    AppStateKeyShared { number: String, device: u32 },
    /// A virtual phone's primary device received (and decrypted) a message.
    PhoneReceived { number: String, id: String },
    /// A connection ended.
    Closed { conn: u64 },
    /// A connection was accepted and closed at once because an outage is on
    /// ([`Simulator::set_outage`]).
    RefusedInOutage,
}

/// Outbound work for a connection's writer task.
pub(crate) enum Outbound {
    Node(wacore_binary::Node),
    /// Flush what is queued, then close the websocket.
    Close,
}

/// What the server knows about one live connection.
pub(crate) struct ConnHandle {
    pub tx: mpsc::UnboundedSender<Outbound>,
    /// The client's static Noise public key (its QR code carries it too).
    pub noise_pub: [u8; 32],
    pub role: ConnRole,
    /// `<message>` stanzas sent on this connection that the client has not
    /// acknowledged yet: as on WhatsApp, they go back to the device's
    /// offline queue if the connection ends first.
    pub unacked: Vec<wacore_binary::Node>,
}

#[derive(Clone)]
pub(crate) enum ConnRole {
    /// Handshake done, payload not classified yet.
    Handshaking,
    /// An unpaired device waiting for a phone to scan its QR.
    Registering {
        reg: directory::Registration,
        refs: Vec<String>,
    },
    /// `<pair-success>` sent for this device; waiting for `pair-device-sign`. `before` is
    /// the registering state to return to if the client refuses the identity.
    Pairing {
        number: String,
        device: u32,
        before: Box<ConnRole>,
    },
    /// A paired device that logged in.
    LoggedIn { number: String, device: u32 },
}

pub(crate) struct State {
    pub next_conn: u64,
    pub conns: HashMap<u64, ConnHandle>,
    pub dir: Directory,
    /// Pair-code requests by connection.
    pub pair_codes: HashMap<u64, pairing::PairCodeRequest>,
}

/// The server's Noise identity: static key pair and the certificate chain naming it.
pub(crate) struct ServerKeys {
    pub static_kp: KeyPair,
    pub cert_chain: Vec<u8>,
}

impl ServerKeys {
    fn new(static_kp: KeyPair) -> anyhow::Result<ServerKeys> {
        let static_pub: [u8; 32] = static_kp.public_key.public_key_bytes().try_into()?;
        let cert_chain = wacore_noise::test_util::build_cert_chain_bytes(&static_pub);
        Ok(ServerKeys {
            static_kp,
            cert_chain,
        })
    }
}

pub(crate) struct Shared {
    pub keys: std::sync::RwLock<Arc<ServerKeys>>,
    pub state: Mutex<State>,
    pub events: broadcast::Sender<SimEvent>,
    pub media: media::MediaStore,
    /// While set, live connections are dropped and new ones closed at once.
    pub outage: std::sync::atomic::AtomicBool,
}

impl Shared {
    pub fn create_phone(self: &Arc<Self>, number: &str) -> PhoneInfo {
        let (info, created) = self.state.lock().unwrap().dir.create_phone(number);
        if created {
            phone::spawn_primary(self, number);
        }
        info
    }

    pub fn set_phone_online(&self, number: &str, online: bool) -> bool {
        let mut st = self.state.lock().unwrap();
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

    /// Starts or ends an outage. Starting one closes every live connection;
    /// returns how many were closed.
    pub fn set_outage(&self, on: bool) -> usize {
        self.outage.store(on, std::sync::atomic::Ordering::SeqCst);
        if !on {
            return 0;
        }
        let mut st = self.state.lock().unwrap();
        st.pair_codes.clear();
        let dropped = st.conns.len();
        for (_, h) in st.conns.drain() {
            let _ = h.tx.send(Outbound::Close);
        }
        log::info!("outage on: {dropped} connections dropped, new ones are refused");
        dropped
    }

    pub fn in_outage(&self) -> bool {
        self.outage.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn emit(&self, ev: SimEvent) {
        log::debug!("sim event: {ev:?}");
        let _ = self.events.send(ev);
    }

    /// Queue a node for a connection; `false` if that connection is gone.
    pub fn send_to(&self, conn: u64, node: wacore_binary::Node) -> bool {
        let st = self.state.lock().unwrap();
        match st.conns.get(&conn) {
            Some(h) => h.tx.send(Outbound::Node(node)).is_ok(),
            None => false,
        }
    }
}

/// A running simulator. Dropping it stops accepting connections.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    http_addr: SocketAddr,
    accept_task: tokio::task::JoinHandle<()>,
    http_task: tokio::task::JoinHandle<()>,
}

impl Simulator {
    /// Bind (default `127.0.0.1:0`) and start serving.
    pub async fn start(config: SimConfig) -> anyhow::Result<Simulator> {
        let static_kp = match config.static_private_key {
            Some(bytes) => KeyPair::try_from(PrivateKey::deserialize(&bytes)?)?,
            None => KeyPair::generate(&mut rand::rng()),
        };
        let (events, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            keys: std::sync::RwLock::new(Arc::new(ServerKeys::new(static_kp)?)),
            state: Mutex::new(State {
                next_conn: 1,
                conns: HashMap::new(),
                dir: Directory::default(),
                pair_codes: HashMap::new(),
            }),
            events,
            media: media::MediaStore::new(),
            outage: std::sync::atomic::AtomicBool::new(false),
        });
        let listen = config
            .listen
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let accept_task = tokio::spawn(server::accept_loop(shared.clone(), listener));
        let http_listener = tokio::net::TcpListener::bind(
            config
                .http_listen
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
        )
        .await?;
        let http_addr = http_listener.local_addr()?;
        *shared.media.hostname.lock().unwrap() = Some(http_addr.to_string());
        let http_task = tokio::spawn(admin::serve(shared.clone(), http_listener));
        log::info!(
            "WhatsApp simulator listening on ws://{addr}/ws/chat, admin and media on http://{http_addr}"
        );
        Ok(Simulator {
            shared,
            addr,
            http_addr,
            accept_task,
            http_task,
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

    /// Number of media blobs stored by the media host.
    pub fn media_blob_count(&self) -> usize {
        self.shared.media.blob_count()
    }

    /// The static Noise private key, to restart a simulator that clients still trust (IK).
    pub fn static_private_key(&self) -> [u8; 32] {
        *self
            .shared
            .keys
            .read()
            .unwrap()
            .static_kp
            .private_key
            .serialize()
    }

    /// Replace the server's static Noise key (as WhatsApp does when it rotates keys).
    /// Clients that cached the old key fail IK and finish with XXfallback.
    pub fn rotate_static_key(&self) {
        let keys = ServerKeys::new(KeyPair::generate(&mut rand::rng())).expect("32-byte key");
        *self.shared.keys.write().unwrap() = Arc::new(keys);
    }

    /// Unlink a companion device from the phone side: it is removed from the account and,
    /// if connected, told so (`LoggedOut` on the client). `false` if there was no such device.
    pub fn unlink(&self, number: &str, device: u32) -> bool {
        pairing::unlink(&self.shared, number, device)
    }

    /// Follow what the simulator does (handshakes, pairing, logins, ...).
    pub fn subscribe(&self) -> broadcast::Receiver<SimEvent> {
        self.shared.events.subscribe()
    }

    /// Create a virtual phone (a WhatsApp account whose primary device is simulated).
    /// Numbers nobody created are not on WhatsApp. Idempotent.
    pub fn create_phone(&self, number: &str) -> PhoneInfo {
        self.shared.create_phone(number)
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
        phone::send(&self.shared, number, to, msg).await
    }

    /// The virtual phone sends any `wa::Message` (location, ...).
    pub async fn phone_send_message(
        &self,
        number: &str,
        to: &str,
        message: waproto::whatsapp::Message,
    ) -> anyhow::Result<String> {
        phone::send(&self.shared, number, to, message).await
    }

    /// Messages the virtual phone's primary device received, oldest first.
    pub fn phone_messages(&self, number: &str) -> Vec<PhoneMessage> {
        let st = self.shared.state.lock().unwrap();
        st.dir
            .phone(number)
            .map(|p| p.primary.received.clone())
            .unwrap_or_default()
    }

    /// What the virtual phone sent, with delivery state from receipts.
    pub fn phone_sent(&self, number: &str) -> Vec<SentStatus> {
        let st = self.shared.state.lock().unwrap();
        st.dir
            .phone(number)
            .map(|p| p.primary.sent.clone())
            .unwrap_or_default()
    }

    /// The virtual phone reads received messages (read receipts to the senders).
    pub fn phone_mark_read(&self, number: &str, ids: &[String]) -> anyhow::Result<usize> {
        phone::mark_read(&self.shared, number, ids)
    }

    /// Take the virtual phone offline (stanzas for it queue up) or back online (the queue
    /// is processed).
    pub fn set_phone_online(&self, number: &str, online: bool) -> bool {
        self.shared.set_phone_online(number, online)
    }

    /// The virtual phone `number`, if it exists.
    pub fn phone(&self, number: &str) -> Option<PhoneInfo> {
        let st = self.shared.state.lock().unwrap();
        st.dir.phone(number).map(|p| p.info())
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
        pairing::enter_pair_code(&self.shared, number, code)
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
        self.shared.set_outage(on)
    }

    /// Whether an outage is on.
    pub fn in_outage(&self) -> bool {
        self.shared.in_outage()
    }

    /// Companion devices currently connected and logged in, as (number, device id).
    pub fn online_devices(&self) -> Vec<(String, u32)> {
        let st = self.shared.state.lock().unwrap();
        let mut v: Vec<_> = st
            .conns
            .values()
            .filter_map(|h| match &h.role {
                ConnRole::LoggedIn { number, device } => Some((number.clone(), *device)),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    /// Stop accepting new connections and drop every live one.
    pub fn shutdown(&self) {
        self.accept_task.abort();
        self.http_task.abort();
        let mut st = self.shared.state.lock().unwrap();
        for (_, h) in st.conns.drain() {
            let _ = h.tx.send(Outbound::Close);
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
