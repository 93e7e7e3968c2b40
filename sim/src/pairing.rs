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

use crate::devices::notify_own_devices;
use crate::directory::Device;
use crate::nodes::{
    self, SERVER, attr, be_uint, child, content_bytes, device_lid_jid, device_pn_jid, new_id,
    parse_jid, unix_now,
};
use crate::signal::Registration;
use crate::state::{ConnRole, Shared, SimEvent, State};

/// How many QR refs a registering client gets (WhatsApp sends about six).
const QR_REFS: usize = 6;
/// Delay between `pair-device-sign` and the 515 restart: sending it at once races the
/// client's own bookkeeping after `PairSuccess`.
const RESTART_DELAY: Duration = Duration::from_millis(500);

const ADV_PREFIX_ACCOUNT_SIGNATURE: &[u8] = &[6, 0];

/// A device linked by [`crate::Simulator::scan`].
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
pub(crate) fn on_registration(
    shared: &Shared,
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
        let mut st = shared.state();
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
pub(crate) fn scan(shared: &Shared, qr_text: &str, number: &str) -> anyhow::Result<PairedDevice> {
    let qr = parse_qr(qr_text)?;
    let mut st = shared.state();
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
pub(crate) fn link_device(
    st: &mut State,
    conn: u64,
    reg: Registration,
    noise_pub: [u8; 32],
    identity_pub: [u8; 32],
    adv_secret: [u8; 32],
    number: &str,
) -> anyhow::Result<PairedDevice> {
    if !st.conns.contains_key(&conn) {
        bail!("the client went away");
    }
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
            offline_queue: Default::default(),
            welcomed: false,
        },
    );
    let paired = PairedDevice {
        number: number.to_string(),
        device: device_id,
        jid: device_pn_jid(number, device_id),
        lid: device_lid_jid(&phone.lid, device_id),
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
    // Checked at the top; nothing since has removed connections.
    let Some(h) = st.conns.get_mut(&conn) else {
        bail!("the client went away");
    };
    let before = Box::new(h.role.clone());
    h.role = ConnRole::Pairing {
        number: number.to_string(),
        device: device_id,
        before,
    };
    h.send(iq);
    log::info!("{number}: linking the client on conn {conn} as device {device_id}");
    Ok(paired)
}

/// A client answered one of our IQs (`type=result|error`).
pub(crate) fn on_client_iq_response(shared: &Arc<Shared>, conn: u64, node: &Node) {
    let Some(sign) = child(node, "pair-device-sign") else {
        if attr(node, "type").as_deref() == Some("error") {
            log::warn!("conn {conn}: client refused our iq: {node:?}");
            // A refused pair-success (e.g. hmac-mismatch from a stale QR): undo the link.
            let mut st = shared.state();
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
    let mut st = shared.state();
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
        notify_own_devices(&mut st, &number, "add", device, key_index);
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

/// `<remove-companion-device jid>`: a logged-in companion unlinks itself (logout)
/// or another device of its account.
pub(crate) fn remove_companion(shared: &Shared, conn: u64, id: &str, rm: &Node) -> Node {
    let jid = attr(rm, "jid").unwrap_or_default();
    let mut st = shared.state();
    if let Some((number, device)) = st.logged_in_as(conn) {
        let dev = parse_jid(&jid).map_or(device, |j| j.device as u32);
        if dev != 0
            && let Some(removed) = st
                .dir
                .phone_mut(&number)
                .and_then(|p| p.devices.remove(&dev))
        {
            log::info!("{number}: device {dev} removed ({jid})");
            notify_own_devices(&mut st, &number, "remove", dev, removed.key_index);
        }
    }
    nodes::iq_result(id).build()
}

/// Remove a companion from its account; a live connection gets the stream error WhatsApp
/// sends to a removed device, the account's other devices a `devices` notification.
pub(crate) fn unlink(shared: &Shared, number: &str, device: u32) -> bool {
    if device == 0 {
        return false; // the primary is the phone itself
    }
    let mut st = shared.state();
    let Some(phone) = st.dir.phone_mut(number) else {
        return false;
    };
    let Some(removed) = phone.devices.remove(&device) else {
        return false;
    };
    if let Some(h) = st.conn_of_mut(number, device) {
        h.send(
            NodeBuilder::new("stream:error")
                .attr("code", "401")
                .children([NodeBuilder::new("conflict")
                    .attr("type", "device_removed")
                    .build()])
                .build(),
        );
        h.close();
    }
    notify_own_devices(&mut st, number, "remove", device, removed.key_index);
    log::info!("{number}: device {device} unlinked by the phone");
    true
}

/// `<notification type="companion_reg_refresh">` to every registering client.
pub(crate) fn refresh_qr_codes(shared: &Shared) -> usize {
    let st = shared.state();
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
            if h.send(node) {
                n += 1;
            }
        }
    }
    n
}
