//! The account and key directory: virtual phones, their linked devices, and what each
//! device published (identity, signed prekey, one-time prekeys, ADV device identity).
//! The server only stores and hands out public key material; a phone's primary
//! device also keeps what it received and sent.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use wacore_binary::{Jid, Node, Server};
use wacore_libsignal::protocol::KeyPair;

use crate::nodes::{pn_jid, unix_now};
use crate::signal::{AppStateKey, OneTimePreKey, PrimarySignal, Registration};

/// A new account's privacy settings, in the order WhatsApp lists them: everyone
/// sees everything, read receipts on.
pub(crate) const DEFAULT_PRIVACY: &[(&str, &str)] = &[
    ("readreceipts", "all"),
    ("last", "all"),
    ("online", "all"),
    ("profile", "all"),
    ("status", "all"),
    ("groupadd", "all"),
    ("calladd", "all"),
    ("messages", "all"),
    ("defense", "off"),
];

pub struct Device {
    pub id: u32,
    /// The client's static Noise key: only this key may log in as this device.
    pub noise_pub: [u8; 32],
    pub key_index: u32,
    pub reg: Registration,
    pub prekeys: VecDeque<OneTimePreKey>,
    /// `ADVSignedDeviceIdentity` the device returned in `pair-device-sign`
    /// (served to peers in prekey bundles).
    pub adv_identity: Option<Vec<u8>>,
    pub push_name: String,
    /// Stanzas for this device while it is not connected (delivered after `<active/>`).
    pub offline_queue: VecDeque<Node>,
    /// Whether the primary already sent this companion what a freshly linked
    /// one gets from its phone (the app-state key, the initial history sync).
    pub welcomed: bool,
}

pub struct Phone {
    pub number: String,
    pub lid: String,
    pub name: String,
    /// The primary's account signing key: signs companion device identities.
    pub account_kp: KeyPair,
    pub devices: BTreeMap<u32, Device>,
    pub next_device: u32,
    pub next_key_index: u32,
    pub created_at: u64,
    /// The primary device's Signal state (its identity key is `account_kp`).
    pub signal: Arc<tokio::sync::Mutex<PrimarySignal>>,
    /// The account's app-state sync key, shared with every companion.
    pub app_state_key: AppStateKey,
    /// Inbox, online flag and records of the primary device.
    pub primary: PrimaryRuntime,
    /// Privacy settings as (category, value), in WhatsApp's order.
    pub privacy: Vec<(String, String)>,
    /// About text, picture, business profile, blocklist, presence.
    pub profile: crate::profile::Profile,
}

/// A message as the virtual phone saw it (received from a peer, or a copy of what one of
/// its own companions sent, `from_me`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct PhoneMessage {
    pub id: String,
    /// Sender's phone number.
    pub from: String,
    pub from_device: u32,
    /// The other party of the chat (for `from_me` copies: the recipient); for
    /// a group message, the group's id (`120363...`).
    pub chat: String,
    /// A group message: the group's id (`120363...`, without `@g.us`).
    pub group: Option<String>,
    pub from_me: bool,
    /// `text`, `image`, `video`, `audio`, `document`, `sticker`, `location`, `other`.
    pub kind: String,
    pub text: Option<String>,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    /// Hex SHA-256 of the media plaintext, as the sender declared it.
    pub media_sha256: Option<String>,
    /// Hex SHA-256 of the media the phone downloaded from the media host and
    /// decrypted (MAC checked), as a real phone does; `None` when that failed.
    pub media_downloaded_sha256: Option<String>,
    /// What the phone downloaded and decrypted (not listed by the admin API).
    #[serde(skip)]
    pub media_downloaded: Option<Vec<u8>>,
    /// The media's declared MIME type and size.
    pub media_mime: Option<String>,
    pub media_size: Option<u64>,
    pub location: Option<(f64, f64, Option<String>)>,
    pub push_name: String,
    pub timestamp: u64,
    /// When this phone received it (Unix ms, the simulator's clock).
    pub received_at_ms: u64,
    /// A reply: the id of the message it quotes, who wrote that (number)
    /// and the quoted text or caption as the quote shows it.
    pub quoted_id: Option<String>,
    pub quoted_from: Option<String>,
    pub quoted_text: Option<String>,
    /// Numbers it mentions.
    pub mentions: Vec<String>,
    /// A reaction: the id of the message reacted to (`text` is the emoji).
    pub reacted_to: Option<String>,
    /// Its texts before each edit the sender made (`text` is the newest).
    pub earlier_texts: Vec<String>,
    /// The sender deleted it for everyone: its content is gone.
    pub revoked: bool,
    /// Contact cards, as the phone reads their vCards.
    pub contacts: Vec<ContactSeen>,
    /// A poll, as the phone shows it.
    pub poll: Option<PollSeen>,
    /// WhatsApp marks it forwarded.
    pub forwarded: bool,
    /// A voice note (`kind` "voice"): its duration as the phone shows it.
    pub seconds: Option<u32>,
    /// A text's link preview, as the phone shows it.
    pub link_preview: Option<LinkPreviewSeen>,
}

/// A link preview a virtual phone was shown.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct LinkPreviewSeen {
    /// The link in the text it previews.
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// The thumbnail's size in bytes (0: none), and whether it is a JPEG.
    pub thumbnail_bytes: usize,
    pub thumbnail_jpeg: bool,
}

/// A contact card a virtual phone received.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ContactSeen {
    /// The card's FN.
    pub name: String,
    /// The numbers WhatsApp links to chats (each TEL's `waid`).
    pub numbers: Vec<String>,
    /// The vCard as it arrived.
    pub vcard: String,
}

/// A poll a virtual phone received.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PollSeen {
    pub question: String,
    pub options: Vec<String>,
    pub selectable: u32,
    /// The poll's secret, which the phone's votes are keyed with.
    #[serde(skip)]
    pub secret: Vec<u8>,
}

/// A chat state ("typing...") a virtual phone was shown.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ChatStateSeen {
    /// Who is typing (a number).
    pub from: String,
    /// `composing`, `recording` or `paused`.
    pub state: String,
    pub at_ms: u64,
}

/// What the virtual phone sent and how far it got.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SentStatus {
    pub id: String,
    pub to: String,
    /// `sent`, `delivered`, `read`, `played`.
    pub status: String,
}

/// Runtime side of a virtual phone's primary device: its inbox and what it recorded.
#[derive(Default)]
pub struct PrimaryRuntime {
    pub inbox: Option<tokio::sync::mpsc::UnboundedSender<Node>>,
    pub online: bool,
    pub received: Vec<PhoneMessage>,
    pub sent: Vec<SentStatus>,
    /// Chat states other numbers sent it, oldest first.
    pub chat_states: Vec<ChatStateSeen>,
    /// Calls this phone placed, with what became of them.
    pub calls: Vec<CallPlaced>,
    /// Edits and deletions applied, by (sender, message id): a phone applies
    /// a change once, however often it arrives.
    pub changes_seen: std::collections::HashSet<(String, String)>,
}

/// A call a virtual phone placed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CallPlaced {
    pub call_id: String,
    pub to: String,
    pub video: bool,
    /// A device of the callee declined it (`<reject>`).
    pub rejected: bool,
}

/// Public view of a virtual phone.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PhoneInfo {
    pub number: String,
    pub lid: String,
    pub name: String,
    pub devices: Vec<DeviceInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DeviceInfo {
    pub id: u32,
    pub key_index: u32,
    pub prekeys_available: usize,
    pub signed: bool,
}

impl Phone {
    pub fn info(&self) -> PhoneInfo {
        PhoneInfo {
            number: self.number.clone(),
            lid: self.lid.clone(),
            name: self.name.clone(),
            devices: self
                .devices
                .values()
                .filter(|d| d.id != 0)
                .map(|d| DeviceInfo {
                    id: d.id,
                    key_index: d.key_index,
                    prekeys_available: d.prekeys.len(),
                    signed: d.adv_identity.is_some(),
                })
                .collect(),
        }
    }

    pub fn pn_jid(&self) -> String {
        pn_jid(&self.number)
    }

    pub fn lid_jid(&self) -> String {
        format!("{}@lid", self.lid)
    }

    /// Key indexes currently valid for this account (one per linked companion).
    pub fn valid_key_indexes(&self) -> Vec<u32> {
        self.devices
            .values()
            .filter(|d| d.id != 0)
            .map(|d| d.key_index)
            .collect()
    }
}

#[derive(Default)]
pub struct Directory {
    pub phones: HashMap<String, Phone>,
    pub lid_to_number: HashMap<String, String>,
    next_lid: u64,
}

impl Directory {
    /// Create a phone; `(info, true)` if it is new.
    pub fn create_phone(&mut self, number: &str) -> (PhoneInfo, bool) {
        if let Some(p) = self.phones.get(number) {
            return (p.info(), false);
        }
        // LIDs are opaque 15-digit user ids, distinct from phone numbers.
        self.next_lid += 1;
        let lid = format!("{}", 100_000_000_000_000u64 + self.next_lid);
        let primary = PrimarySignal::generate();
        let primary_device = Device {
            id: 0,
            // Nobody logs in as the primary: no client static key matches this.
            noise_pub: [0; 32],
            key_index: 0,
            reg: primary.registration,
            prekeys: primary.prekeys.into_iter().collect(),
            adv_identity: None,
            push_name: format!("Sim {number}"),
            offline_queue: VecDeque::new(),
            welcomed: true,
        };
        let phone = Phone {
            number: number.to_string(),
            lid: lid.clone(),
            name: format!("Sim {number}"),
            signal: Arc::new(tokio::sync::Mutex::new(primary.signal)),
            app_state_key: AppStateKey::generate(),
            primary: PrimaryRuntime::default(),
            privacy: DEFAULT_PRIVACY
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            profile: crate::profile::Profile::default(),
            account_kp: primary.account,
            devices: BTreeMap::from([(0, primary_device)]),
            next_device: 1,
            next_key_index: 1,
            created_at: unix_now(),
        };
        let info = phone.info();
        self.lid_to_number.insert(lid, number.to_string());
        self.phones.insert(number.to_string(), phone);
        (info, true)
    }

    pub fn phone(&self, number: &str) -> Option<&Phone> {
        self.phones.get(number)
    }

    pub fn phone_mut(&mut self, number: &str) -> Option<&mut Phone> {
        self.phones.get_mut(number)
    }

    /// The phone a user or device JID (phone number or LID) belongs to.
    pub fn resolve(&self, jid: &Jid) -> Option<&Phone> {
        match jid.server {
            Server::Lid => self.resolve_user(&jid.user, true),
            Server::Pn => self.resolve_user(&jid.user, false),
            _ => None,
        }
    }

    /// The phone a user part belongs to, whether it is a phone number or a LID.
    pub fn resolve_user(&self, user: &str, is_lid: bool) -> Option<&Phone> {
        if is_lid {
            self.lid_to_number
                .get(user)
                .and_then(|n| self.phones.get(n))
        } else {
            self.phones.get(user)
        }
    }
}
