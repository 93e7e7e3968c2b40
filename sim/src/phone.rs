//! The virtual phone's primary device (device 0) as a Signal party of its own.
//!
//! Its identity key is the account key that signs companion identities, as on a real
//! primary. It builds sessions to its companions from the keys they registered and sends
//! them end-to-end encrypted protocol messages, starting with the app-state sync key share
//! a freshly linked companion waits for (whatsapp-rust waits 10 s for it otherwise,
//! `src/client/node_io.rs` KEY_SHARE_GRACE_SECS).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::anyhow;
use async_trait::async_trait;
use wacore::messages::MessageUtils;
use wacore::proto_helpers::MessageExt as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use wacore_libsignal::protocol::{
    CiphertextMessage, DeviceId, Direction, GenericSignedPreKey as _, IdentityChange, IdentityKey,
    IdentityKeyPair, IdentityKeyStore, KeyPair, PreKeyBundle, PreKeyId, PreKeyRecord,
    PreKeySignalMessage, PreKeyStore, ProtocolAddress, PublicKey, SessionRecord, SessionStore,
    SignalMessage, SignalProtocolError, SignedPreKeyId, SignedPreKeyRecord, SignedPreKeyStore,
    Timestamp, UsePQRatchet, message_decrypt, message_encrypt, process_prekey_bundle,
};
use waproto::whatsapp as wa;

use super::nodes::{new_id, unix_now};
use super::{Shared, SimEvent};

type SignalResult<T> = Result<T, SignalProtocolError>;

/// In-memory Signal state of a primary device.
pub struct PrimarySignal {
    pub sessions: Sessions,
    pub ids: Identities,
    pub prekeys: PreKeys,
    pub signed: SignedPreKeys,
}

#[derive(Default)]
pub struct PreKeys(HashMap<u32, PreKeyRecord>);
#[derive(Default)]
pub struct SignedPreKeys(HashMap<u32, SignedPreKeyRecord>);

/// Public keys the primary publishes in the directory (its device 0 bundle).
pub struct PublishedKeys {
    pub registration_id: u32,
    pub identity: Vec<u8>,
    pub signed_prekey_id: u32,
    pub signed_prekey: Vec<u8>,
    pub signed_prekey_sig: Vec<u8>,
    pub prekeys: Vec<(u32, Vec<u8>)>,
}

/// One-time prekeys a primary publishes at a time.
const PRIMARY_PREKEYS: u32 = 200;

/// Session records by address.
#[derive(Default)]
pub struct Sessions(HashMap<String, SessionRecord>);

/// Own identity and the peers' identities (trust on first use).
pub struct Identities {
    identity: IdentityKeyPair,
    registration_id: u32,
    known: HashMap<String, IdentityKey>,
}

fn addr_key(a: &ProtocolAddress) -> String {
    format!("{}.{}", a.name(), u32::from(a.device_id()))
}

impl PrimarySignal {
    /// A primary whose identity is the account key; also returns what it publishes.
    pub fn new(account: &KeyPair) -> (Self, PublishedKeys) {
        use rand::RngExt as _;
        let mut rng = rand::rng();
        let registration_id = rng.random_range(1..16380u32);
        let skey = KeyPair::generate(&mut rng);
        let skey_sig = account
            .private_key
            .calculate_signature(&skey.public_key.serialize(), &mut rng)
            .expect("signing with a fresh key");
        let mut signed = SignedPreKeys::default();
        signed.0.insert(
            1,
            SignedPreKeyRecord::new(
                SignedPreKeyId::from(1),
                Timestamp::from_epoch_millis(unix_now() * 1000),
                &skey,
                &skey_sig,
            ),
        );
        let mut prekeys = PreKeys::default();
        let mut published = Vec::new();
        for id in 1..=PRIMARY_PREKEYS {
            let kp = KeyPair::generate(&mut rng);
            published.push((id, kp.public_key.public_key_bytes().to_vec()));
            prekeys
                .0
                .insert(id, PreKeyRecord::new(PreKeyId::from(id), &kp));
        }
        let keys = PublishedKeys {
            registration_id,
            identity: account.public_key.public_key_bytes().to_vec(),
            signed_prekey_id: 1,
            signed_prekey: skey.public_key.public_key_bytes().to_vec(),
            signed_prekey_sig: skey_sig.to_vec(),
            prekeys: published,
        };
        let party = PrimarySignal {
            sessions: Sessions::default(),
            ids: Identities {
                identity: IdentityKeyPair::from(account.clone()),
                registration_id,
                known: HashMap::new(),
            },
            prekeys,
            signed,
        };
        (party, keys)
    }
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

/// Send the account's app-state key to companion `device` of `number`, encrypted by the
/// primary over Signal (a `pkmsg` from `NUMBER@s.whatsapp.net`, category `peer`).
pub async fn send_app_state_key_share(
    shared: Arc<Shared>,
    number: String,
    device: u32,
) -> anyhow::Result<()> {
    // Copy what is needed out of the directory; the Signal work runs without the lock.
    let (signal, key, bundle) = {
        let st = shared.state.lock().unwrap();
        let phone = st
            .dir
            .phone(&number)
            .ok_or_else(|| anyhow!("no phone {number}"))?;
        let dev = phone
            .devices
            .get(&device)
            .ok_or_else(|| anyhow!("no device {number}:{device}"))?;
        let r = &dev.reg;
        let otk = dev
            .prekeys
            .front()
            .and_then(|(id, k)| Some((*id, PublicKey::from_djb_public_key_bytes(k).ok()?)));
        let bundle = PreKeyBundle::new(
            r.registration_id,
            DeviceId::from(device),
            otk.map(|(id, k)| (id.into(), k)),
            r.signed_prekey_id.into(),
            PublicKey::from_djb_public_key_bytes(&r.signed_prekey)?,
            r.signed_prekey_sig.clone(),
            IdentityKey::new(PublicKey::from_djb_public_key_bytes(&r.identity)?),
        )?;
        (phone.signal.clone(), phone.app_state_key.clone(), bundle)
    };
    // A one-time prekey used by the primary is consumed like any other fetch.
    if bundle.pre_key_id()?.is_some() {
        let mut st = shared.state.lock().unwrap();
        if let Some(d) = st
            .dir
            .phone_mut(&number)
            .and_then(|p| p.devices.get_mut(&device))
        {
            d.prekeys.pop_front();
        }
    }

    let message = wa::Message {
        protocol_message: buffa::MessageField::some(wa::message::ProtocolMessage {
            r#type: Some(wa::message::protocol_message::Type::AppStateSyncKeyShare),
            app_state_sync_key_share: buffa::MessageField::some(
                wa::message::AppStateSyncKeyShare {
                    keys: vec![wa::message::AppStateSyncKey {
                        key_id: buffa::MessageField::some(wa::message::AppStateSyncKeyId {
                            key_id: Some(key.key_id.clone()),
                        }),
                        key_data: buffa::MessageField::some(wa::message::AppStateSyncKeyData {
                            key_data: Some(key.key_data.clone()),
                            fingerprint: buffa::MessageField::some(
                                wa::message::AppStateSyncKeyFingerprint {
                                    raw_id: Some(1),
                                    current_index: Some(0),
                                    device_indexes: vec![0],
                                },
                            ),
                            timestamp: Some(key.timestamp_ms),
                        }),
                    }],
                },
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    let plaintext = MessageUtils::encode_and_pad(&message);
    let address = ProtocolAddress::new(&number, DeviceId::from(device));
    let (enc_type, bytes) = {
        let mut guard = signal.lock().await;
        let party: &mut PrimarySignal = &mut guard;
        if !party.sessions.0.contains_key(&addr_key(&address)) {
            process_prekey_bundle(
                &address,
                &mut party.sessions,
                &mut party.ids,
                &bundle,
                &mut rand::make_rng::<rand::rngs::StdRng>(),
                UsePQRatchet::No,
            )
            .await?;
        }
        let ct = message_encrypt(&plaintext, &address, &mut party.sessions, &mut party.ids).await?;
        let (t, _, b) = wacore::send::extract_ciphertext(ct)
            .ok_or_else(|| anyhow!("unexpected ciphertext type"))?;
        (t, b.to_vec())
    };

    let node = NodeBuilder::new("message")
        .attr("from", format!("{number}@s.whatsapp.net"))
        .attr("id", new_id())
        .attr("t", unix_now().to_string())
        .attr("type", "text")
        .attr("category", "peer")
        .children([NodeBuilder::new("enc")
            .attr("v", "2")
            .attr("type", enc_type)
            .bytes(bytes)
            .build()])
        .build();
    {
        let mut st = shared.state.lock().unwrap();
        super::router::deliver(&mut st, &number, device, node);
    }
    shared.emit(SimEvent::AppStateKeyShared { number, device });
    Ok(())
}

/// A message as the virtual phone saw it (received from a peer, or a copy of what one of
/// its own companions sent, `from_me`).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct PhoneMessage {
    pub id: String,
    /// Sender's phone number.
    pub from: String,
    pub from_device: u32,
    /// The other party of the chat (for `from_me` copies: the recipient).
    pub chat: String,
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
    /// The media's declared MIME type and size.
    pub media_mime: Option<String>,
    pub media_size: Option<u64>,
    pub location: Option<(f64, f64, Option<String>)>,
    pub push_name: String,
    pub timestamp: u64,
    /// When this phone received it (Unix ms, the simulator's clock).
    pub received_at_ms: u64,
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
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Downloads and decrypts the media of `msg` from the simulator's media host,
/// recording what was declared and the hash of what actually arrived.
fn download_media(shared: &Arc<Shared>, msg: &wa::Message, rec: &mut PhoneMessage) {
    use sha2::Digest;
    use wacore::download::{DownloadUtils, MediaType};
    let m = msg.get_base_message();
    let found = if let Some(i) = m.image_message.as_option() {
        Some((
            MediaType::Image,
            i.direct_path.clone(),
            i.media_key.clone(),
            i.mimetype.clone(),
            i.file_length,
        ))
    } else if let Some(v) = m.video_message.as_option() {
        Some((
            MediaType::Video,
            v.direct_path.clone(),
            v.media_key.clone(),
            v.mimetype.clone(),
            v.file_length,
        ))
    } else if let Some(a) = m.audio_message.as_option() {
        Some((
            MediaType::Audio,
            a.direct_path.clone(),
            a.media_key.clone(),
            a.mimetype.clone(),
            a.file_length,
        ))
    } else {
        m.document_message.as_option().map(|d| {
            (
                MediaType::Document,
                d.direct_path.clone(),
                d.media_key.clone(),
                d.mimetype.clone(),
                d.file_length,
            )
        })
    };
    let Some((media_type, Some(path), Some(key), mime, size)) = found else {
        return;
    };
    rec.media_mime = mime;
    rec.media_size = size;
    rec.media_downloaded_sha256 = shared
        .media
        .get(&path)
        .and_then(|blob| DownloadUtils::verify_and_decrypt(&blob, &key, media_type).ok())
        .map(|plain| hex(&sha2::Sha256::digest(&plain)));
}

fn describe(msg: &wa::Message) -> PhoneMessage {
    let m = msg.get_base_message();
    let mut out = PhoneMessage {
        kind: "other".into(),
        ..Default::default()
    };
    if let Some(t) = m.text_content() {
        out.kind = "text".into();
        out.text = Some(t.to_string());
    }
    if let Some(i) = m.image_message.as_option() {
        out.kind = "image".into();
        out.caption = i.caption.clone();
        out.media_sha256 = i.file_sha256.as_deref().map(hex);
    } else if let Some(v) = m.video_message.as_option() {
        out.kind = "video".into();
        out.caption = v.caption.clone();
        out.media_sha256 = v.file_sha256.as_deref().map(hex);
    } else if let Some(a) = m.audio_message.as_option() {
        out.kind = "audio".into();
        out.media_sha256 = a.file_sha256.as_deref().map(hex);
    } else if let Some(d) = m.document_message.as_option() {
        out.kind = "document".into();
        out.caption = d.caption.clone();
        out.file_name = d.file_name.clone();
        out.media_sha256 = d.file_sha256.as_deref().map(hex);
    } else if let Some(s) = m.sticker_message.as_option() {
        out.kind = "sticker".into();
        out.media_sha256 = s.file_sha256.as_deref().map(hex);
    } else if let Some(l) = m.location_message.as_option() {
        out.kind = "location".into();
        out.location = Some((
            l.degrees_latitude.unwrap_or_default(),
            l.degrees_longitude.unwrap_or_default(),
            l.name.clone(),
        ));
    }
    out
}

/// Start the task that processes stanzas addressed to `number`'s primary device.
pub fn spawn_primary(shared: &Arc<Shared>, number: &str) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Node>();
    {
        let mut st = shared.state.lock().unwrap();
        let Some(p) = st.dir.phone_mut(number) else {
            return;
        };
        p.primary.inbox = Some(tx);
        p.primary.online = true;
    }
    let shared = shared.clone();
    let number = number.to_string();
    tokio::spawn(async move {
        while let Some(node) = rx.recv().await {
            let r = match node.tag.as_ref() {
                "message" => on_message(&shared, &number, &node).await,
                "receipt" => on_receipt(&shared, &number, &node),
                _ => Ok(()),
            };
            if let Err(e) = r {
                log::warn!("virtual phone {number}: {} not processed: {e:#}", node.tag);
            }
        }
    });
}

fn sender_of(node: &Node) -> anyhow::Result<Jid> {
    super::nodes::attr(node, "from")
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| anyhow!("stanza without a usable from"))
}

async fn on_message(shared: &Arc<Shared>, number: &str, node: &Node) -> anyhow::Result<()> {
    let from = sender_of(node)?;
    let id = super::nodes::attr(node, "id").unwrap_or_default();
    let Some(enc) = super::nodes::children(node).iter().find(|c| c.tag == "enc") else {
        return Ok(());
    };
    let enc_type = super::nodes::attr(enc, "type").unwrap_or_default();
    let bytes = super::nodes::content_bytes(enc).unwrap_or_default();
    let ciphertext = match enc_type.as_str() {
        "pkmsg" => CiphertextMessage::PreKeySignalMessage(PreKeySignalMessage::try_from(bytes)?),
        "msg" => CiphertextMessage::SignalMessage(SignalMessage::try_from(bytes)?),
        other => {
            log::info!("virtual phone {number}: <enc type={other}> not supported (groups)");
            return Ok(());
        }
    };
    let signal = {
        let st = shared.state.lock().unwrap();
        st.dir
            .phone(number)
            .ok_or_else(|| anyhow!("phone vanished"))?
            .signal
            .clone()
    };
    let address = ProtocolAddress::new(&from.user, DeviceId::from(from.device as u32));
    let plaintext = {
        let mut g = signal.lock().await;
        let party: &mut PrimarySignal = &mut g;
        let res = message_decrypt(
            &ciphertext,
            &address,
            &mut party.sessions,
            &mut party.ids,
            &mut party.prekeys,
            &party.signed,
            &mut rand::make_rng::<rand::rngs::StdRng>(),
            UsePQRatchet::No,
        )
        .await?;
        if let Some(used) = res.consumed_prekey_id {
            party.prekeys.0.remove(&u32::from(used));
        }
        res.plaintext
    };
    let unpadded = MessageUtils::unpad_message_ref(&plaintext, 2)?;
    let msg = waproto::codec::message_decode(unpadded)?;

    let from_me = from.user.as_str() == number;
    let (inner, chat) = match msg.device_sent_message.as_option() {
        Some(dsm) if from_me => (
            dsm.message.as_option().cloned().unwrap_or_default(),
            dsm.destination_jid
                .as_deref()
                .map(|j| j.split('@').next().unwrap_or(j).to_string())
                .unwrap_or_default(),
        ),
        _ => (msg.clone(), from.user.to_string()),
    };
    if inner.protocol_message.is_set() && inner.text_content().is_none() {
        return Ok(()); // protocol traffic (key requests, etc.), nothing to record
    }
    let mut rec = describe(&inner);
    download_media(shared, &inner, &mut rec);
    rec.id = id.clone();
    rec.from = from.user.to_string();
    rec.from_device = from.device as u32;
    rec.chat = chat;
    rec.from_me = from_me;
    rec.push_name = super::nodes::attr(node, "notify").unwrap_or_default();
    rec.timestamp = super::nodes::attr(node, "t")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(unix_now);
    rec.received_at_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    {
        let mut st = shared.state.lock().unwrap();
        if !from_me {
            // Delivery receipt back to the sending device.
            let receipt = NodeBuilder::new("receipt")
                .attr("from", format!("{number}@s.whatsapp.net"))
                .attr("id", id.clone())
                .attr("t", unix_now().to_string())
                .build();
            super::router::deliver(&mut st, &from.user, from.device as u32, receipt);
        }
        // A phone keeps one message per (sender, id), as WhatsApp's own do: a
        // sender that resends a message it is unsure went out (after a crash,
        // or on a retry receipt) uses the same id, and the copy is only
        // acknowledged again.
        let Some(p) = st.dir.phone_mut(number) else {
            return Ok(());
        };
        if p.primary
            .received
            .iter()
            .any(|r| r.id == rec.id && r.from == rec.from)
        {
            log::info!(
                "virtual phone {number}: {id} from {} again, kept once",
                rec.from
            );
            return Ok(());
        }
        p.primary.received.push(rec);
    }
    shared.emit(SimEvent::PhoneReceived {
        number: number.to_string(),
        id,
    });
    Ok(())
}

fn on_receipt(shared: &Arc<Shared>, number: &str, node: &Node) -> anyhow::Result<()> {
    let status = match super::nodes::attr(node, "type").as_deref() {
        None | Some("") => "delivered",
        Some("read") => "read",
        Some("played") => "played",
        Some(_) => return Ok(()),
    };
    let mut ids = vec![super::nodes::attr(node, "id").unwrap_or_default()];
    if let Some(list) = super::nodes::child(node, "list") {
        ids.extend(
            super::nodes::children(list)
                .iter()
                .filter_map(|i| super::nodes::attr(i, "id")),
        );
    }
    let mut st = shared.state.lock().unwrap();
    if let Some(p) = st.dir.phone_mut(number) {
        for s in p.primary.sent.iter_mut().filter(|s| ids.contains(&s.id)) {
            let rank = |x: &str| {
                ["sent", "delivered", "read", "played"]
                    .iter()
                    .position(|y| *y == x)
            };
            if rank(status) > rank(&s.status) {
                s.status = status.to_string();
            }
        }
    }
    Ok(())
}

/// The virtual phone `number` sends `message` to the account `to` (a phone number).
pub async fn send(
    shared: &Arc<Shared>,
    number: &str,
    to: &str,
    message: wa::Message,
) -> anyhow::Result<String> {
    use rand::RngExt as _;
    let id = format!(
        "3EB0{:018X}",
        rand::rng().random::<u64>() as u128 * 1000 + 7
    );
    let id = id[..22].to_string();
    let to_pn = format!("{to}@s.whatsapp.net");
    let dsm = wa::Message {
        device_sent_message: buffa::MessageField::some(wa::message::DeviceSentMessage {
            destination_jid: Some(to_pn.clone()),
            message: buffa::MessageField::some(message.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    // Targets and their bundles, read from the directory.
    struct Target {
        number: String,
        device: u32,
        bundle: Option<PreKeyBundle>,
        own: bool,
    }
    let signal = {
        let st = shared.state.lock().unwrap();
        if st.dir.phone(to).is_none() {
            anyhow::bail!("{to} is not on WhatsApp");
        }
        st.dir
            .phone(number)
            .ok_or_else(|| anyhow!("no phone {number}"))?
            .signal
            .clone()
    };
    // One send at a time per primary: its Signal state is held for the whole fan-out.
    let mut guard = signal.lock().await;
    let party: &mut PrimarySignal = &mut guard;
    let (name, lid, targets) = {
        let mut st = shared.state.lock().unwrap();
        let me = st
            .dir
            .phone(number)
            .ok_or_else(|| anyhow!("no phone {number}"))?;
        let (name, lid) = (me.name.clone(), me.lid.clone());
        let mut targets = Vec::new();
        for (acct, own) in [(to.to_string(), false), (number.to_string(), true)] {
            let devices: Vec<u32> = st
                .dir
                .phone(&acct)
                .map(|p| {
                    p.devices
                        .values()
                        .filter(|d| d.id == 0 || d.adv_identity.is_some())
                        .map(|d| d.id)
                        .collect()
                })
                .unwrap_or_default();
            for d in devices {
                if own && d == 0 {
                    continue;
                }
                targets.push(Target {
                    number: acct.clone(),
                    device: d,
                    bundle: None,
                    own,
                });
            }
        }
        // Devices without a session get a bundle (one-time prekey consumed, as a fetch would).
        for t in targets.iter_mut() {
            let a = ProtocolAddress::new(&t.number, DeviceId::from(t.device));
            if party.sessions.0.contains_key(&addr_key(&a)) {
                continue;
            }
            let Some(dev) = st
                .dir
                .phone_mut(&t.number)
                .and_then(|p| p.devices.get_mut(&t.device))
            else {
                continue;
            };
            let otk = dev.prekeys.pop_front();
            let r = &dev.reg;
            t.bundle = PreKeyBundle::new(
                r.registration_id,
                DeviceId::from(t.device),
                otk.and_then(|(id, k)| {
                    Some((id.into(), PublicKey::from_djb_public_key_bytes(&k).ok()?))
                }),
                r.signed_prekey_id.into(),
                PublicKey::from_djb_public_key_bytes(&r.signed_prekey)?,
                r.signed_prekey_sig.clone(),
                IdentityKey::new(PublicKey::from_djb_public_key_bytes(&r.identity)?),
            )
            .ok();
        }
        (name, lid, targets)
    };

    let plain_peer = MessageUtils::encode_and_pad(&message);
    let plain_own = MessageUtils::encode_and_pad(&dsm);
    let mut out = Vec::new();
    for t in &targets {
        let address = ProtocolAddress::new(&t.number, DeviceId::from(t.device));
        if !party.sessions.0.contains_key(&addr_key(&address)) {
            let Some(bundle) = &t.bundle else {
                log::warn!(
                    "virtual phone {number}: no bundle for {}:{}",
                    t.number,
                    t.device
                );
                continue;
            };
            process_prekey_bundle(
                &address,
                &mut party.sessions,
                &mut party.ids,
                bundle,
                &mut rand::make_rng::<rand::rngs::StdRng>(),
                UsePQRatchet::No,
            )
            .await?;
        }
        let plain = if t.own { &plain_own } else { &plain_peer };
        let ct = message_encrypt(plain, &address, &mut party.sessions, &mut party.ids).await?;
        let (enc_type, _, bytes) = wacore::send::extract_ciphertext(ct)
            .ok_or_else(|| anyhow!("unexpected ciphertext type"))?;
        out.push((t.number.clone(), t.device, t.own, enc_type, bytes.to_vec()));
    }
    drop(guard);
    let now = unix_now().to_string();
    let ty = if message.location_message.is_set() {
        "media"
    } else {
        "text"
    };
    {
        let mut st = shared.state.lock().unwrap();
        for (acct, device, own, enc_type, bytes) in out {
            let mut b = NodeBuilder::new("message")
                .attr("from", format!("{number}@s.whatsapp.net"))
                .attr("id", id.clone())
                .attr("t", now.clone())
                .attr("type", ty)
                .attr("notify", name.clone())
                .attr("sender_lid", format!("{lid}@lid"));
            if own {
                b = b.attr("recipient", to_pn.clone());
            }
            let node = b
                .children([NodeBuilder::new("enc")
                    .attr("v", "2")
                    .attr("type", enc_type)
                    .bytes(bytes)
                    .build()])
                .build();
            super::router::deliver(&mut st, &acct, device, node);
        }
        if let Some(p) = st.dir.phone_mut(number) {
            p.primary.sent.push(SentStatus {
                id: id.clone(),
                to: to.to_string(),
                status: "sent".into(),
            });
        }
    }
    Ok(id)
}

/// The virtual phone reads messages it received: read receipts go to every device of
/// each sender's account.
pub fn mark_read(shared: &Arc<Shared>, number: &str, ids: &[String]) -> anyhow::Result<usize> {
    let mut st = shared.state.lock().unwrap();
    let msgs: Vec<(String, String)> = st
        .dir
        .phone(number)
        .ok_or_else(|| anyhow!("no phone {number}"))?
        .primary
        .received
        .iter()
        .filter(|m| !m.from_me && ids.contains(&m.id))
        .map(|m| (m.id.clone(), m.from.clone()))
        .collect();
    let now = unix_now().to_string();
    for (id, sender) in &msgs {
        let devices: Vec<u32> = st
            .dir
            .phone(sender)
            .map(|p| p.devices.keys().copied().collect())
            .unwrap_or_default();
        for d in devices {
            let r = NodeBuilder::new("receipt")
                .attr("from", format!("{number}@s.whatsapp.net"))
                .attr("id", id.clone())
                .attr("t", now.clone())
                .attr("type", "read")
                .build();
            super::router::deliver(&mut st, sender, d, r);
        }
    }
    Ok(msgs.len())
}
