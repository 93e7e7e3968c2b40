//! The account and key directory: virtual phones, their linked devices, and what each
//! device published (identity, signed prekey, one-time prekeys, ADV device identity).
//! The server only stores and hands out public key material.

use std::collections::{BTreeMap, HashMap, VecDeque};

use wacore_libsignal::protocol::KeyPair;

/// Public Signal keys a device registered with (from the pairing `ClientPayload`, later
/// refreshed by its prekey upload).
#[derive(Clone, Debug, Default)]
pub struct Registration {
    pub registration_id: u32,
    pub identity: Vec<u8>,
    pub signed_prekey_id: u32,
    pub signed_prekey: Vec<u8>,
    pub signed_prekey_sig: Vec<u8>,
    pub push_name: Option<String>,
}

/// One-time prekey as uploaded: (id, 32-byte public key). Stored inline (a device
/// uploads ~800 of them; no allocation per key).
pub type OneTimePreKey = (u32, [u8; 32]);

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
    #[allow(dead_code)]
    pub paired_at: u64,
    /// Stanzas for this device while it is not connected (delivered after `<active/>`).
    pub offline_queue: VecDeque<wacore_binary::Node>,
    /// Whether the primary already sent this companion the app-state key.
    pub key_shared: bool,
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
    pub signal: std::sync::Arc<tokio::sync::Mutex<super::phone::PrimarySignal>>,
    /// The account's app-state sync key, shared with every companion.
    pub app_state_key: super::phone::AppStateKey,
    /// Inbox, online flag and records of the primary device.
    pub primary: super::phone::PrimaryRuntime,
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
        format!("{}@s.whatsapp.net", self.number)
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
        let account_kp = KeyPair::generate(&mut rand::rng());
        let (signal, keys) = super::phone::PrimarySignal::new(&account_kp);
        let now = super::nodes::unix_now();
        let primary_device = Device {
            id: 0,
            // Nobody logs in as the primary: no client static key matches this.
            noise_pub: [0; 32],
            key_index: 0,
            reg: Registration {
                registration_id: keys.registration_id,
                identity: keys.identity,
                signed_prekey_id: keys.signed_prekey_id,
                signed_prekey: keys.signed_prekey,
                signed_prekey_sig: keys.signed_prekey_sig,
                push_name: None,
            },
            prekeys: keys
                .prekeys
                .into_iter()
                .filter_map(|(id, k)| Some((id, <[u8; 32]>::try_from(k.as_slice()).ok()?)))
                .collect(),
            adv_identity: None,
            push_name: format!("Sim {number}"),
            paired_at: now,
            offline_queue: VecDeque::new(),
            key_shared: true,
        };
        let phone = Phone {
            number: number.to_string(),
            lid: lid.clone(),
            name: format!("Sim {number}"),
            signal: std::sync::Arc::new(tokio::sync::Mutex::new(signal)),
            app_state_key: super::phone::AppStateKey::generate(),
            primary: Default::default(),
            account_kp,
            devices: BTreeMap::from([(0, primary_device)]),
            next_device: 1,
            next_key_index: 1,
            created_at: super::nodes::unix_now(),
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
