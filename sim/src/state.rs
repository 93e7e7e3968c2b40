//! What the simulator shares between its tasks: live connections and their
//! roles, the directory, pair-code requests, the server's Noise keys, the
//! media store and the event channel.
//!
//! One `std::sync::Mutex` guards [`State`]; it is never held across an
//! `.await`, and a poisoned one is recovered (see `locks.rs`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use tokio::sync::{broadcast, mpsc};
use wacore_binary::Node;
use wacore_libsignal::protocol::KeyPair;

use crate::blobs::MediaStore;
use crate::directory::Directory;
use crate::groups::Groups;
use crate::handshake::Pattern;
use crate::locks::{lock, read, write};
use crate::signal::Registration;

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
    /// The virtual phone sent a freshly linked companion the initial history
    /// sync notification (its blob is on the media host).
    HistorySyncSent { number: String, device: u32 },
    /// A virtual phone's primary device received (and decrypted) a message.
    PhoneReceived { number: String, id: String },
    /// A connection ended.
    Closed { conn: u64 },
    /// A connection was accepted and closed at once because an outage is on
    /// ([`crate::Simulator::set_outage`]).
    RefusedInOutage,
}

/// Outbound work for a connection's writer task.
pub(crate) enum Outbound {
    Node(Node),
    /// Flush what is queued, then close the websocket.
    Close,
}

/// What the server knows about one live connection.
pub(crate) struct ConnHandle {
    pub tx: mpsc::UnboundedSender<Outbound>,
    /// The client's static Noise public key (its QR code carries it too).
    pub noise_pub: [u8; 32],
    pub role: ConnRole,
    /// Stanzas (messages, receipts, notifications) sent on this connection
    /// that the client has not acknowledged yet, oldest first: as on WhatsApp,
    /// they go back to the device's offline queue if the connection ends first.
    pub unacked: Vec<Node>,
}

impl ConnHandle {
    /// Queues a node for the writer; `false` once the connection is closing.
    pub fn send(&self, node: Node) -> bool {
        self.tx.send(Outbound::Node(node)).is_ok()
    }

    /// Flushes what is queued, then closes the websocket.
    pub fn close(&self) {
        let _ = self.tx.send(Outbound::Close);
    }

    /// The (number, device) this connection is logged in as.
    pub fn logged_in(&self) -> Option<(&str, u32)> {
        match &self.role {
            ConnRole::LoggedIn { number, device } => Some((number, *device)),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub(crate) enum ConnRole {
    /// Handshake done, payload not classified yet.
    Handshaking,
    /// An unpaired device waiting for a phone to scan its QR.
    Registering {
        reg: Registration,
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

/// A pair-code ("link with phone number") request from a registering client.
pub(crate) struct PairCodeRequest {
    pub number: String,
    pub pairing_ref: String,
    pub wrapped_companion_ephemeral: Vec<u8>,
    /// Set once the user entered the code on the phone (`primary_hello` sent).
    pub primary_ephemeral: Option<KeyPair>,
    pub companion_ephemeral: Option<[u8; 32]>,
}

pub(crate) struct State {
    pub next_conn: u64,
    pub conns: HashMap<u64, ConnHandle>,
    pub dir: Directory,
    /// Every group on the server.
    pub groups: Groups,
    /// Pair-code requests by connection.
    pub pair_codes: HashMap<u64, PairCodeRequest>,
}

impl State {
    /// The (number, device) connection `conn` is logged in as.
    pub fn logged_in_as(&self, conn: u64) -> Option<(String, u32)> {
        let (number, device) = self.conns.get(&conn)?.logged_in()?;
        Some((number.to_string(), device))
    }

    /// The live connection logged in as `number`'s `device`.
    pub fn conn_of_mut(&mut self, number: &str, device: u32) -> Option<&mut ConnHandle> {
        self.conns
            .values_mut()
            .find(|h| h.logged_in() == Some((number, device)))
    }
}

/// The server's Noise identity: static key pair and the certificate chain naming it.
pub(crate) struct ServerKeys {
    pub static_kp: KeyPair,
    pub cert_chain: Vec<u8>,
}

impl ServerKeys {
    pub fn new(static_kp: KeyPair) -> anyhow::Result<ServerKeys> {
        let static_pub: [u8; 32] = static_kp.public_key.public_key_bytes().try_into()?;
        let cert_chain = wacore_noise::test_util::build_cert_chain_bytes(&static_pub);
        Ok(ServerKeys {
            static_kp,
            cert_chain,
        })
    }
}

pub(crate) struct Shared {
    keys: RwLock<Arc<ServerKeys>>,
    state: Mutex<State>,
    events: broadcast::Sender<SimEvent>,
    pub media: MediaStore,
    /// The simulator's CA certificate (PEM), for `GET /admin/ca.pem`.
    pub ca_pem: String,
    /// While set, live connections are dropped and new ones closed at once.
    outage: AtomicBool,
}

impl Shared {
    pub fn new(keys: ServerKeys, media: MediaStore, ca_pem: String) -> Shared {
        let (events, _) = broadcast::channel(1024);
        Shared {
            keys: RwLock::new(Arc::new(keys)),
            state: Mutex::new(State {
                next_conn: 1,
                conns: HashMap::new(),
                dir: Directory::default(),
                groups: Groups::default(),
                pair_codes: HashMap::new(),
            }),
            events,
            media,
            ca_pem,
            outage: AtomicBool::new(false),
        }
    }

    /// The state, locked (never hold the guard across an `.await`).
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The current Noise identity.
    pub fn keys(&self) -> Arc<ServerKeys> {
        read(&self.keys).clone()
    }

    pub fn set_keys(&self, keys: ServerKeys) {
        *write(&self.keys) = Arc::new(keys);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<SimEvent> {
        self.events.subscribe()
    }

    pub fn set_outage_flag(&self, on: bool) {
        self.outage.store(on, Ordering::SeqCst);
    }

    pub fn in_outage(&self) -> bool {
        self.outage.load(Ordering::SeqCst)
    }

    pub fn emit(&self, ev: SimEvent) {
        log::debug!("sim event: {ev:?}");
        let _ = self.events.send(ev);
    }

    /// Queue a node for a connection; `false` if that connection is gone.
    pub fn send_to(&self, conn: u64, node: Node) -> bool {
        self.state().conns.get(&conn).is_some_and(|h| h.send(node))
    }
}
