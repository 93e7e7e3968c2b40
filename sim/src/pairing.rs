//! QR pairing: `<pair-device>` refs for an unpaired client, the virtual phone's "scan"
//! (an ADV device identity signed with the phone's account key and MACed with the QR's
//! adv secret), `pair-device-sign`, and the 515 that sends the client to log in.
//! Client side: whatsapp-rust `src/pair.rs`, wacore `src/pair.rs`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use base64::Engine as _;
use base64::prelude::BASE64_STANDARD;
use buffa::Message as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;
use waproto::whatsapp as wa;

use super::directory::{Device, Registration};
use super::nodes::{self, SERVER, attr, be_uint, child, content_bytes, new_id, unix_now};
use super::{ConnRole, Shared, SimEvent};

/// How many QR refs a registering client gets (WhatsApp sends about six).
const QR_REFS: usize = 6;
/// Delay between `pair-device-sign` and the 515 restart: sending it at once races the
/// client's own bookkeeping after `PairSuccess`.
const RESTART_DELAY: Duration = Duration::from_millis(500);

const ADV_PREFIX_ACCOUNT_SIGNATURE: &[u8] = &[6, 0];

/// A device linked by [`super::Simulator::scan`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PairedDevice {
    pub number: String,
    pub device: u32,
    /// `NUMBER:DEVICE@s.whatsapp.net`
    pub jid: String,
    /// `LID:DEVICE@lid`
    pub lid: String,
}

/// A registration `ClientPayload` arrived: remember its keys and hand out QR refs.
pub fn on_registration(
    shared: &Arc<Shared>,
    conn: u64,
    data: &wa::client_payload::DevicePairingRegistrationData,
    push_name: Option<String>,
) -> anyhow::Result<()> {
    let get = |f: &Option<Vec<u8>>, name: &str| -> anyhow::Result<Vec<u8>> {
        f.clone()
            .ok_or_else(|| anyhow!("registration payload without {name}"))
    };
    let reg = Registration {
        registration_id: be_uint(&get(&data.e_regid, "eRegid")?)
            .ok_or_else(|| anyhow!("bad eRegid"))?,
        identity: get(&data.e_ident, "eIdent")?,
        signed_prekey_id: be_uint(&get(&data.e_skey_id, "eSkeyId")?)
            .ok_or_else(|| anyhow!("bad eSkeyId"))?,
        signed_prekey: get(&data.e_skey_val, "eSkeyVal")?,
        signed_prekey_sig: get(&data.e_skey_sig, "eSkeySig")?,
        push_name,
    };
    if reg.identity.len() != 32
        || reg.signed_prekey.len() != 32
        || reg.signed_prekey_sig.len() != 64
    {
        bail!("registration payload has malformed keys");
    }
    let refs: Vec<String> = (0..QR_REFS)
        .map(|_| {
            use rand::RngExt as _;
            let bytes: [u8; 18] = rand::rng().random();
            format!("2@{}", BASE64_STANDARD.encode(bytes))
        })
        .collect();
    {
        let mut st = shared.state.lock().unwrap();
        let h = st
            .conns
            .get_mut(&conn)
            .ok_or_else(|| anyhow!("connection vanished"))?;
        h.role = ConnRole::Registering {
            reg,
            refs: refs.clone(),
        };
    }
    let iq = NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "set")
        .attr("id", new_id())
        .attr("xmlns", "md")
        .children([NodeBuilder::new("pair-device")
            .children(
                refs.iter()
                    .map(|r| NodeBuilder::new("ref").bytes(r.as_bytes().to_vec()).build()),
            )
            .build()])
        .build();
    shared.send_to(conn, iq);
    shared.emit(SimEvent::PairDeviceSent {
        conn,
        refs: refs.len(),
    });
    Ok(())
}

struct QrData {
    pairing_ref: String,
    noise_pub: [u8; 32],
    identity_pub: [u8; 32],
    adv_secret: [u8; 32],
}

fn parse_qr(text: &str) -> anyhow::Result<QrData> {
    let body = text
        .trim()
        .strip_prefix(wacore::companion_reg::NATIVE_CAMERA_DEEP_LINK_PREFIX)
        .unwrap_or(text.trim());
    let parts: Vec<&str> = body.split(',').collect();
    if parts.len() < 4 {
        bail!("QR text needs at least 4 comma-separated fields");
    }
    let key = |s: &str, what: &str| -> anyhow::Result<[u8; 32]> {
        BASE64_STANDARD
            .decode(s)
            .with_context(|| format!("QR {what} is not base64"))?
            .try_into()
            .map_err(|_| anyhow!("QR {what} is not 32 bytes"))
    };
    Ok(QrData {
        pairing_ref: parts[0].to_string(),
        noise_pub: key(parts[1], "noise key")?,
        identity_pub: key(parts[2], "identity key")?,
        adv_secret: key(parts[3], "adv secret")?,
    })
}

/// The virtual phone `number` scans `qr_text`.
pub fn scan(shared: &Arc<Shared>, qr_text: &str, number: &str) -> anyhow::Result<PairedDevice> {
    let qr = parse_qr(qr_text)?;
    let mut st = shared.state.lock().unwrap();
    let (conn, reg) = st
        .conns
        .iter()
        .find_map(|(id, h)| match &h.role {
            ConnRole::Registering { reg, refs }
                if h.noise_pub == qr.noise_pub && refs.contains(&qr.pairing_ref) =>
            {
                Some((*id, reg.clone()))
            }
            _ => None,
        })
        .ok_or_else(|| anyhow!("no connected unpaired client shows this QR code"))?;
    if reg.identity != qr.identity_pub {
        bail!("QR identity key differs from the one the client registered");
    }
    link_device(
        &mut st,
        conn,
        reg,
        qr.noise_pub,
        qr.identity_pub,
        qr.adv_secret,
        number,
    )
}

/// Link the registering client on `conn` as a new companion of `number`: sign its
/// identity with the account key, MAC it with the adv secret it shares with the phone
/// (from the QR, or derived in the pair-code exchange), and send `<pair-success>`.
fn link_device(
    st: &mut super::State,
    conn: u64,
    reg: Registration,
    noise_pub: [u8; 32],
    identity_pub: [u8; 32],
    adv_secret: [u8; 32],
    number: &str,
) -> anyhow::Result<PairedDevice> {
    let phone = st
        .dir
        .phone_mut(number)
        .ok_or_else(|| anyhow!("{number} is not a virtual phone (create it first)"))?;

    let device_id = phone.next_device;
    phone.next_device += 1;
    let key_index = phone.next_key_index;
    phone.next_key_index += 1;
    let now = unix_now();

    // ADVDeviceIdentity signed by the account key over [6,0] ‖ details ‖ companion identity.
    let details = wa::ADVDeviceIdentity {
        raw_id: Some(phone.created_at as u32),
        timestamp: Some(now),
        key_index: Some(key_index),
        account_type: Some(wa::ADVEncryptionType::E2EE),
        device_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut to_sign = Vec::with_capacity(2 + details.len() + 32);
    to_sign.extend_from_slice(ADV_PREFIX_ACCOUNT_SIGNATURE);
    to_sign.extend_from_slice(&details);
    to_sign.extend_from_slice(&identity_pub);
    let account_sig = phone
        .account_kp
        .private_key
        .calculate_signature(&to_sign, &mut rand::rng())
        .map_err(|e| anyhow!("account signature: {e}"))?;
    let signed = wa::ADVSignedDeviceIdentity {
        details: Some(details),
        account_signature_key: Some(phone.account_kp.public_key.public_key_bytes().to_vec()),
        account_signature: Some(account_sig.to_vec()),
        device_signature: None,
    }
    .encode_to_vec();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&adv_secret)
        .map_err(|e| anyhow!("hmac key: {e}"))?;
    mac.update(&signed);
    let hmac = mac.finalize().into_bytes().to_vec();
    let container = wa::ADVSignedDeviceIdentityHMAC {
        details: Some(signed),
        hmac: Some(hmac),
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();

    // Without a non-empty name here every later login takes the slow app-state path.
    let push_name = reg
        .push_name
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| phone.name.clone());
    phone.devices.insert(
        device_id,
        Device {
            id: device_id,
            noise_pub,
            key_index,
            reg,
            prekeys: Default::default(),
            adv_identity: None,
            push_name: push_name.clone(),
            paired_at: now,
            offline_queue: Default::default(),
            key_shared: false,
        },
    );
    let paired = PairedDevice {
        number: number.to_string(),
        device: device_id,
        jid: format!("{number}:{device_id}@s.whatsapp.net"),
        lid: format!("{}:{device_id}@lid", phone.lid),
    };
    let iq = NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "set")
        .attr("id", new_id())
        .attr("xmlns", "md")
        .attr("t", now.to_string())
        .children([NodeBuilder::new("pair-success")
            .children([
                NodeBuilder::new("device-identity").bytes(container).build(),
                NodeBuilder::new("device")
                    .attr("jid", paired.jid.clone())
                    .attr("lid", paired.lid.clone())
                    .build(),
                NodeBuilder::new("biz").attr("name", push_name).build(),
            ])
            .build()])
        .build();
    let h = st.conns.get_mut(&conn).expect("found above");
    let before = Box::new(h.role.clone());
    h.role = ConnRole::Pairing {
        number: number.to_string(),
        device: device_id,
        before,
    };
    let _ = h.tx.send(super::Outbound::Node(iq));
    log::info!("{number}: linking the client on conn {conn} as device {device_id}");
    Ok(paired)
}

/// A client answered one of our IQs (`type=result|error`).
pub fn on_client_iq_response(shared: &Arc<Shared>, conn: u64, node: &Node) {
    let Some(sign) = child(node, "pair-device-sign") else {
        if attr(node, "type").as_deref() == Some("error") {
            log::warn!("conn {conn}: client refused our iq: {node:?}");
            // A refused pair-success (e.g. hmac-mismatch from a stale QR): undo the link.
            let mut st = shared.state.lock().unwrap();
            let role = st.conns.get(&conn).map(|h| h.role.clone());
            if let Some(ConnRole::Pairing {
                number,
                device,
                before,
            }) = role
            {
                if let Some(p) = st.dir.phone_mut(&number) {
                    p.devices.remove(&device);
                }
                if let Some(h) = st.conns.get_mut(&conn) {
                    h.role = *before;
                }
                drop(st);
                shared.emit(SimEvent::PairRefused { number, device });
            }
        }
        return;
    };
    let Some(ident) = child(sign, "device-identity") else {
        log::warn!("conn {conn}: pair-device-sign without device-identity");
        return;
    };
    let bytes = content_bytes(ident).map(<[u8]>::to_vec).unwrap_or_default();
    let mut st = shared.state.lock().unwrap();
    let Some(ConnRole::Pairing { number, device, .. }) =
        st.conns.get(&conn).map(|h| h.role.clone())
    else {
        log::warn!("conn {conn}: pair-device-sign on a connection that is not pairing");
        return;
    };
    if let Some(d) = st
        .dir
        .phone_mut(&number)
        .and_then(|p| p.devices.get_mut(&device))
    {
        d.adv_identity = Some(bytes);
        let key_index = d.key_index;
        super::router::notify_own_devices(&mut st, &number, "add", device, key_index);
    }
    drop(st);
    shared.emit(SimEvent::PairSigned {
        number: number.clone(),
        device,
    });
    // Tell the client to restart the stream; it reconnects and logs in.
    let shared = shared.clone();
    tokio::spawn(async move {
        tokio::time::sleep(RESTART_DELAY).await;
        shared.send_to(
            conn,
            NodeBuilder::new("stream:error").attr("code", "515").build(),
        );
    });
}

/// `xmlns="md"` IQs from a logged-in companion.
pub fn handle_md_iq(shared: &Arc<Shared>, conn: u64, id: &str, node: &Node) -> Option<Node> {
    if let Some(reg) = child(node, "link_code_companion_reg") {
        return Some(link_code_iq(shared, conn, id, reg));
    }
    if let Some(rm) = child(node, "remove-companion-device") {
        let jid = attr(rm, "jid").unwrap_or_default();
        let mut st = shared.state.lock().unwrap();
        let role = st.conns.get(&conn).map(|h| h.role.clone());
        if let Some(ConnRole::LoggedIn { number, device }) = role {
            let target: Option<wacore_binary::Jid> = jid.parse().ok();
            let dev = target.map(|j| j.device as u32).unwrap_or(device);
            if dev != 0
                && let Some(removed) = st
                    .dir
                    .phone_mut(&number)
                    .and_then(|p| p.devices.remove(&dev))
            {
                log::info!("{number}: device {dev} removed ({jid})");
                super::router::notify_own_devices(
                    &mut st,
                    &number,
                    "remove",
                    dev,
                    removed.key_index,
                );
            }
        }
        return Some(nodes::iq_result(id).build());
    }
    None
}

/// Remove a companion from its account; a live connection gets the stream error WhatsApp
/// sends to a removed device, the account's other devices a `devices` notification.
pub fn unlink(shared: &Arc<Shared>, number: &str, device: u32) -> bool {
    if device == 0 {
        return false; // the primary is the phone itself
    }
    let mut st = shared.state.lock().unwrap();
    let Some(phone) = st.dir.phone_mut(number) else {
        return false;
    };
    let Some(removed) = phone.devices.remove(&device) else {
        return false;
    };
    let conns: Vec<(u64, bool)> = st
        .conns
        .iter()
        .filter_map(|(id, h)| match &h.role {
            ConnRole::LoggedIn {
                number: n,
                device: d,
            } if n == number => Some((*id, *d == device)),
            _ => None,
        })
        .collect();
    for (id, is_removed) in conns {
        let h = st.conns.get(&id).expect("listed above");
        if is_removed {
            let _ = h.tx.send(super::Outbound::Node(
                NodeBuilder::new("stream:error")
                    .attr("code", "401")
                    .children([NodeBuilder::new("conflict")
                        .attr("type", "device_removed")
                        .build()])
                    .build(),
            ));
            let _ = h.tx.send(super::Outbound::Close);
        }
    }
    super::router::notify_own_devices(&mut st, number, "remove", device, removed.key_index);
    log::info!("{number}: device {device} unlinked by the phone");
    true
}

/// A pair-code ("link with phone number") request from a registering client.
pub struct PairCodeRequest {
    pub number: String,
    pub pairing_ref: String,
    wrapped_companion_ephemeral: Vec<u8>,
    primary_ephemeral: Option<wacore_libsignal::protocol::KeyPair>,
    companion_ephemeral: Option<[u8; 32]>,
}

fn link_code_iq(shared: &Arc<Shared>, conn: u64, id: &str, reg: &Node) -> Node {
    match attr(reg, "stage").as_deref() {
        Some("companion_hello") => {
            let number = attr(reg, "jid")
                .and_then(|j| j.parse::<wacore_binary::Jid>().ok())
                .map(|j| j.user.to_string())
                .unwrap_or_default();
            let wrapped =
                nodes::child_bytes(reg, "link_code_pairing_wrapped_companion_ephemeral_pub")
                    .map(<[u8]>::to_vec)
                    .unwrap_or_default();
            let mut st = shared.state.lock().unwrap();
            let registering = matches!(
                st.conns.get(&conn).map(|h| &h.role),
                Some(ConnRole::Registering { .. })
            );
            if !registering || wrapped.len() != 80 {
                return nodes::iq_error(id, 400, "bad-request");
            }
            if st.dir.phone(&number).is_none() {
                // As on WhatsApp: a number that is not registered cannot link devices.
                return nodes::iq_error(id, 404, "item-not-found");
            }
            let pairing_ref = format!("2@{}", BASE64_STANDARD.encode(new_id()));
            st.pair_codes.insert(
                conn,
                PairCodeRequest {
                    number,
                    pairing_ref: pairing_ref.clone(),
                    wrapped_companion_ephemeral: wrapped,
                    primary_ephemeral: None,
                    companion_ephemeral: None,
                },
            );
            nodes::iq_result(id)
                .children([NodeBuilder::new("link_code_companion_reg")
                    .attr("stage", "companion_hello")
                    .children([NodeBuilder::new("link_code_pairing_ref")
                        .bytes(pairing_ref.into_bytes())
                        .build()])
                    .build()])
                .build()
        }
        Some("companion_finish") => match finish_pair_code(shared, conn, reg) {
            Ok(()) => nodes::iq_result(id).build(),
            Err(e) => {
                log::warn!("conn {conn}: pair-code finish refused: {e:#}");
                nodes::iq_error(id, 400, "bad-request")
            }
        },
        _ => nodes::iq_error(id, 400, "bad-request"),
    }
}

/// The user types `code` into the virtual phone `number`: the phone answers the waiting
/// client's companion_hello with its `primary_hello`.
pub fn enter_pair_code(shared: &Arc<Shared>, number: &str, code: &str) -> anyhow::Result<()> {
    let code = code.trim().to_ascii_uppercase();
    let (conn, wrapped_companion, account) = {
        let st = shared.state.lock().unwrap();
        let account = st
            .dir
            .phone(number)
            .ok_or_else(|| anyhow!("{number} is not a virtual phone"))?
            .account_kp
            .clone();
        let (conn, req) = st
            .pair_codes
            .iter()
            .find(|(_, r)| r.number == number && r.primary_ephemeral.is_none())
            .ok_or_else(|| anyhow!("no client is waiting for a pair code on {number}"))?;
        (*conn, req.wrapped_companion_ephemeral.clone(), account)
    };
    // PBKDF2 with 131072 rounds, twice: done outside the state lock.
    let companion_eph =
        wacore::pair_code::PairCodeUtils::decrypt_primary_ephemeral_pub(&wrapped_companion, &code)
            .map_err(|e| anyhow!("unwrap companion ephemeral: {e:?}"))?;
    let primary_eph = wacore_libsignal::protocol::KeyPair::generate(&mut rand::rng());
    let eph_pub: [u8; 32] = primary_eph.public_key.public_key_bytes().try_into()?;
    let wrapped = wacore::pair_code::PairCodeUtils::encrypt_ephemeral_pub(&eph_pub, &code);

    let mut st = shared.state.lock().unwrap();
    let req = st
        .pair_codes
        .get_mut(&conn)
        .ok_or_else(|| anyhow!("the client went away"))?;
    req.companion_ephemeral = Some(companion_eph);
    req.primary_ephemeral = Some(primary_eph);
    let node = NodeBuilder::new("notification")
        .attr("from", SERVER)
        .attr("type", "link_code_companion_reg")
        .attr("id", new_id())
        .attr("t", unix_now().to_string())
        .children([NodeBuilder::new("link_code_companion_reg")
            .attr("stage", "primary_hello")
            .children([
                NodeBuilder::new("link_code_pairing_wrapped_primary_ephemeral_pub")
                    .bytes(wrapped.to_vec())
                    .build(),
                NodeBuilder::new("primary_identity_pub")
                    .bytes(account.public_key.public_key_bytes().to_vec())
                    .build(),
                NodeBuilder::new("link_code_pairing_ref")
                    .bytes(req.pairing_ref.clone().into_bytes())
                    .build(),
            ])
            .build()])
        .build();
    let h = st
        .conns
        .get(&conn)
        .ok_or_else(|| anyhow!("the client went away"))?;
    let _ = h.tx.send(super::Outbound::Node(node));
    Ok(())
}

/// companion_finish: recover the adv secret from the key bundle, then link as after a scan.
fn finish_pair_code(shared: &Arc<Shared>, conn: u64, reg_node: &Node) -> anyhow::Result<()> {
    use wacore_libsignal::protocol::PublicKey;
    let bundle = nodes::child_bytes(reg_node, "link_code_pairing_wrapped_key_bundle")
        .ok_or_else(|| anyhow!("no key bundle"))?;
    let companion_identity: [u8; 32] = nodes::child_bytes(reg_node, "companion_identity_public")
        .ok_or_else(|| anyhow!("no companion identity"))?
        .try_into()
        .map_err(|_| anyhow!("companion identity is not 32 bytes"))?;
    let mut st = shared.state.lock().unwrap();
    let req = st
        .pair_codes
        .remove(&conn)
        .ok_or_else(|| anyhow!("no pair-code request on this connection"))?;
    let (Some(primary_eph), Some(companion_eph)) = (req.primary_ephemeral, req.companion_ephemeral)
    else {
        bail!("the phone has not entered the code yet");
    };
    let (reg, noise_pub) = match st.conns.get(&conn) {
        Some(h) => match &h.role {
            ConnRole::Registering { reg, .. } => (reg.clone(), h.noise_pub),
            _ => bail!("connection is not registering"),
        },
        None => bail!("connection vanished"),
    };
    if reg.identity != companion_identity {
        bail!("companion identity differs from the registered one");
    }
    let account = st
        .dir
        .phone(&req.number)
        .ok_or_else(|| anyhow!("phone vanished"))?
        .account_kp
        .clone();
    let eph_shared = primary_eph
        .private_key
        .calculate_agreement(&PublicKey::from_djb_public_key_bytes(&companion_eph)?)?;
    if bundle.len() < 32 + 12 + 16 {
        bail!("key bundle too short");
    }
    let (salt, rest) = bundle.split_at(32);
    let (iv, ct) = rest.split_at(12);
    let mut key = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(
        &eph_shared,
        Some(salt),
        b"link_code_pairing_key_bundle_encryption_key",
        &mut key,
    )
    .map_err(|e| anyhow!("hkdf: {e:?}"))?;
    let mut plain = Vec::new();
    let iv: [u8; 12] = iv.try_into()?;
    wacore_libsignal::crypto::aes_256_gcm_decrypt(&key, &iv, b"", ct, &mut plain)
        .map_err(|_| anyhow!("key bundle does not decrypt (wrong code?)"))?;
    if plain.len() != 96
        || plain[..32] != companion_identity
        || plain[32..64] != *account.public_key.public_key_bytes()
    {
        bail!("key bundle content mismatch");
    }
    let id_shared = account
        .private_key
        .calculate_agreement(&PublicKey::from_djb_public_key_bytes(&companion_identity)?)?;
    let mut ikm = Vec::with_capacity(96);
    ikm.extend_from_slice(&eph_shared);
    ikm.extend_from_slice(&id_shared);
    ikm.extend_from_slice(&plain[64..96]);
    let mut adv_secret = [0u8; 32];
    wacore::crypto::hkdf_sha256_into(&ikm, None, b"adv_secret", &mut adv_secret)
        .map_err(|e| anyhow!("hkdf: {e:?}"))?;
    let number = req.number.clone();
    link_device(
        &mut st,
        conn,
        reg,
        noise_pub,
        companion_identity,
        adv_secret,
        &number,
    )?;
    Ok(())
}

/// `<notification type="companion_reg_refresh">` to every registering client.
pub fn refresh_qr_codes(shared: &Arc<Shared>) -> usize {
    let st = shared.state.lock().unwrap();
    let mut n = 0;
    for h in st.conns.values() {
        if matches!(h.role, ConnRole::Registering { .. }) {
            let node = NodeBuilder::new("notification")
                .attr("from", SERVER)
                .attr("type", "companion_reg_refresh")
                .attr("id", new_id())
                .attr("t", unix_now().to_string())
                .children([NodeBuilder::new("companion_reg_refresh").build()])
                .build();
            if h.tx.send(super::Outbound::Node(node)).is_ok() {
                n += 1;
            }
        }
    }
    n
}
