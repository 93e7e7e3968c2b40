//! The Signal state of a virtual phone's primary device (device 0), kept in
//! memory: sessions, the identities it has seen, and its own prekeys.
//!
//! Its identity key is the account key that signs companion identities, as on a
//! real primary. The keys come from wacore's own device key generation (the
//! same a whatsapp-rust client makes for itself), so a primary is made without
//! any signing step of ours that could fail.

use std::collections::HashMap;

use anyhow::anyhow;
use async_trait::async_trait;
use wacore_libsignal::protocol::{
    CiphertextMessage, DeviceId, Direction, GenericSignedPreKey as _, IdentityChange, IdentityKey,
    IdentityKeyPair, IdentityKeyStore, KeyPair, PreKeyBundle, PreKeyId, PreKeyRecord, PreKeyStore,
    ProtocolAddress, PublicKey, SessionRecord, SessionStore, SignalProtocolError, SignedPreKeyId,
    SignedPreKeyRecord, SignedPreKeyStore, Timestamp, UsePQRatchet, message_decrypt,
    message_encrypt, process_prekey_bundle,
};

use crate::nodes::unix_now;

type SignalResult<T> = Result<T, SignalProtocolError>;

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

/// One-time prekeys a primary publishes at a time.
const PRIMARY_PREKEYS: u32 = 200;

/// In-memory Signal state of a primary device.
pub struct PrimarySignal {
    sessions: Sessions,
    ids: Identities,
    prekeys: PreKeys,
    signed: SignedPreKeys,
    /// Group sender keys (see `sender_keys.rs`).
    pub(crate) sender_keys: crate::sender_keys::SenderKeys,
}

#[derive(Default)]
pub struct PreKeys(HashMap<u32, PreKeyRecord>);
#[derive(Default)]
pub struct SignedPreKeys(HashMap<u32, SignedPreKeyRecord>);

/// Session records by address.
#[derive(Default)]
pub struct Sessions(HashMap<String, SessionRecord>);

/// Own identity and the peers' identities (trust on first use).
pub struct Identities {
    identity: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<String, IdentityKey>,
}

/// A new primary: its account key pair (the identity that signs companions),
/// its Signal state, and the public keys it registers in the directory.
pub struct NewPrimary {
    pub account: KeyPair,
    pub signal: PrimarySignal,
    pub registration: Registration,
    pub prekeys: Vec<OneTimePreKey>,
}

fn addr_key(a: &ProtocolAddress) -> String {
    format!("{}.{}", a.name(), u32::from(a.device_id()))
}

impl PrimarySignal {
    /// A primary with fresh keys.
    pub fn generate() -> NewPrimary {
        let keys = wacore::store::Device::new();
        let account = keys.identity_key.clone();
        let mut signed = SignedPreKeys::default();
        signed.0.insert(
            keys.signed_pre_key_id,
            SignedPreKeyRecord::new(
                SignedPreKeyId::from(keys.signed_pre_key_id),
                Timestamp::from_epoch_millis(unix_now() * 1000),
                &keys.signed_pre_key,
                &keys.signed_pre_key_signature,
            ),
        );
        let mut rng = rand::rng();
        let mut prekeys = PreKeys::default();
        let mut published = Vec::new();
        for id in 1..=PRIMARY_PREKEYS {
            let kp = KeyPair::generate(&mut rng);
            if let Ok(public) = <[u8; 32]>::try_from(kp.public_key.public_key_bytes()) {
                published.push((id, public));
                prekeys
                    .0
                    .insert(id, PreKeyRecord::new(PreKeyId::from(id), &kp));
            }
        }
        let registration = Registration {
            registration_id: keys.registration_id,
            identity: account.public_key.public_key_bytes().to_vec(),
            signed_prekey_id: keys.signed_pre_key_id,
            signed_prekey: keys.signed_pre_key.public_key.public_key_bytes().to_vec(),
            signed_prekey_sig: keys.signed_pre_key_signature.to_vec(),
            push_name: None,
        };
        let signal = PrimarySignal {
            sessions: Sessions::default(),
            ids: Identities {
                identity: IdentityKeyPair::from(account.clone()),
                registration_id: keys.registration_id,
                known: HashMap::new(),
            },
            prekeys,
            signed,
            sender_keys: Default::default(),
        };
        NewPrimary {
            account,
            signal,
            registration,
            prekeys: published,
        }
    }

    pub fn has_session(&self, address: &ProtocolAddress) -> bool {
        self.sessions.0.contains_key(&addr_key(address))
    }

    /// Decrypts a message from `address`; a one-time prekey it used is spent.
    pub async fn decrypt(
        &mut self,
        address: &ProtocolAddress,
        ciphertext: &CiphertextMessage,
    ) -> anyhow::Result<Vec<u8>> {
        let res = message_decrypt(
            ciphertext,
            address,
            &mut self.sessions,
            &mut self.ids,
            &mut self.prekeys,
            &self.signed,
            &mut rand::make_rng::<rand::rngs::StdRng>(),
            UsePQRatchet::No,
        )
        .await?;
        if let Some(used) = res.consumed_prekey_id {
            self.prekeys.0.remove(&u32::from(used));
        }
        Ok(res.plaintext)
    }

    /// Encrypts `plaintext` for `address`, starting a session from `bundle`
    /// when there is none yet. Returns the `<enc type>` and the ciphertext.
    pub async fn encrypt(
        &mut self,
        address: &ProtocolAddress,
        bundle: Option<&PreKeyBundle>,
        plaintext: &[u8],
    ) -> anyhow::Result<(&'static str, Vec<u8>)> {
        if !self.has_session(address) {
            let bundle =
                bundle.ok_or_else(|| anyhow!("no session with and no bundle for {address}"))?;
            process_prekey_bundle(
                address,
                &mut self.sessions,
                &mut self.ids,
                bundle,
                &mut rand::make_rng::<rand::rngs::StdRng>(),
                UsePQRatchet::No,
            )
            .await?;
        }
        let ct = message_encrypt(plaintext, address, &mut self.sessions, &mut self.ids).await?;
        let (enc_type, _, bytes) = wacore::send::extract_ciphertext(ct)
            .ok_or_else(|| anyhow!("unexpected ciphertext type"))?;
        Ok((enc_type, bytes.to_vec()))
    }
}

/// The bundle a device registered, with one of its one-time prekeys if given.
pub fn bundle_of(
    reg: &Registration,
    device: u32,
    one_time: Option<OneTimePreKey>,
) -> anyhow::Result<PreKeyBundle> {
    let one_time = match one_time {
        Some((id, key)) => Some((id.into(), PublicKey::from_djb_public_key_bytes(&key)?)),
        None => None,
    };
    Ok(PreKeyBundle::new(
        reg.registration_id,
        DeviceId::from(device),
        one_time,
        reg.signed_prekey_id.into(),
        PublicKey::from_djb_public_key_bytes(&reg.signed_prekey)?,
        reg.signed_prekey_sig.clone(),
        IdentityKey::new(PublicKey::from_djb_public_key_bytes(&reg.identity)?),
    )?)
}

#[async_trait]
impl PreKeyStore for PreKeys {
    async fn get_pre_key(&self, id: PreKeyId) -> SignalResult<PreKeyRecord> {
        self.0
            .get(&u32::from(id))
            .cloned()
            .ok_or(SignalProtocolError::InvalidPreKeyId)
    }
    async fn save_pre_key(&mut self, id: PreKeyId, record: &PreKeyRecord) -> SignalResult<()> {
        self.0.insert(u32::from(id), record.clone());
        Ok(())
    }
    async fn remove_pre_key(&mut self, id: PreKeyId) -> SignalResult<()> {
        self.0.remove(&u32::from(id));
        Ok(())
    }
}

#[async_trait]
impl SignedPreKeyStore for SignedPreKeys {
    async fn get_signed_pre_key(&self, id: SignedPreKeyId) -> SignalResult<SignedPreKeyRecord> {
        self.0
            .get(&u32::from(id))
            .cloned()
            .ok_or(SignalProtocolError::InvalidSignedPreKeyId)
    }
    async fn save_signed_pre_key(
        &mut self,
        id: SignedPreKeyId,
        record: &SignedPreKeyRecord,
    ) -> SignalResult<()> {
        self.0.insert(u32::from(id), record.clone());
        Ok(())
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, address: &ProtocolAddress) -> SignalResult<Option<SessionRecord>> {
        Ok(self.0.get(&addr_key(address)).cloned())
    }
    async fn has_session(&self, address: &ProtocolAddress) -> SignalResult<bool> {
        Ok(self.0.contains_key(&addr_key(address)))
    }
    async fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> SignalResult<()> {
        self.0.insert(addr_key(address), record);
        Ok(())
    }
}

#[async_trait]
impl IdentityKeyStore for Identities {
    async fn get_identity_key_pair(&self) -> SignalResult<IdentityKeyPair> {
        Ok(self.identity.clone())
    }
    async fn get_local_registration_id(&self) -> SignalResult<u32> {
        Ok(self.registration_id)
    }
    async fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
    ) -> SignalResult<IdentityChange> {
        let prev = self.known.insert(addr_key(address), *identity);
        Ok(match prev {
            Some(p) if p != *identity => IdentityChange::ReplacedExisting,
            _ => IdentityChange::NewOrUnchanged,
        })
    }
    async fn is_trusted_identity(
        &self,
        _address: &ProtocolAddress,
        _identity: &IdentityKey,
        _direction: Direction,
    ) -> SignalResult<bool> {
        // Trust on first use, like WhatsApp clients (identity changes are notified, not refused).
        Ok(true)
    }
    async fn get_identity(&self, address: &ProtocolAddress) -> SignalResult<Option<IdentityKey>> {
        Ok(self.known.get(&addr_key(address)).copied())
    }
}

/// The account's app-state sync key that the primary shares with its companions.
#[derive(Clone)]
pub struct AppStateKey {
    pub key_id: Vec<u8>,
    pub key_data: Vec<u8>,
    pub timestamp_ms: i64,
}

impl AppStateKey {
    pub fn generate() -> Self {
        use rand::RngExt as _;
        let id: [u8; 6] = rand::rng().random();
        let data: [u8; 32] = rand::rng().random();
        AppStateKey {
            key_id: id.to_vec(),
            key_data: data.to_vec(),
            timestamp_ms: (unix_now() * 1000) as i64,
        }
    }
}
