//! The virtual phone's primary device sending, end-to-end encrypted over its
//! own Signal state: messages to another account (to every device of it, with
//! a copy to its own companions), read receipts, and the protocol messages a
//! freshly linked companion expects from its phone.

use anyhow::{anyhow, bail};
use wacore::messages::MessageUtils;
use wacore_binary::builder::NodeBuilder;
use wacore_libsignal::protocol::{DeviceId, PreKeyBundle, ProtocolAddress};
use waproto::whatsapp as wa;

use crate::delivery::deliver;
use crate::devices::listed_devices;
use crate::directory::SentStatus;
use crate::nodes::{new_id, pn_jid, unix_now};
use crate::signal::bundle_of;
use crate::state::{Shared, SimEvent};

/// The bundle of `number`'s `device`, spending one of its one-time prekeys as a
/// prekey fetch would.
pub(crate) fn take_bundle(
    shared: &Shared,
    number: &str,
    device: u32,
) -> anyhow::Result<PreKeyBundle> {
    let mut st = shared.state();
    let dev = st
        .dir
        .phone_mut(number)
        .and_then(|p| p.devices.get_mut(&device))
        .ok_or_else(|| anyhow!("no device {number}:{device}"))?;
    let one_time = dev.prekeys.pop_front();
    bundle_of(&dev.reg, device, one_time)
}

/// `<message>` stanza from the primary of `from_number` carrying one `<enc>`.
fn enc_message(b: NodeBuilder, enc_type: &str, ciphertext: Vec<u8>) -> wacore_binary::Node {
    b.children([NodeBuilder::new("enc")
        .attr("v", "2")
        .attr("type", enc_type.to_string())
        .bytes(ciphertext)
        .build()])
        .build()
}

/// Sends the protocol message `message` from `number`'s primary to its own
/// companion `device` (category `peer`, from `NUMBER@s.whatsapp.net`).
pub(crate) async fn send_to_own_companion(
    shared: &Shared,
    number: &str,
    device: u32,
    message: &wa::Message,
) -> anyhow::Result<()> {
    let signal = shared
        .state()
        .dir
        .phone(number)
        .ok_or_else(|| anyhow!("no phone {number}"))?
        .signal
        .clone();
    let address = ProtocolAddress::new(number, DeviceId::from(device));
    let mut party = signal.lock().await;
    let bundle = if party.has_session(&address) {
        None
    } else {
        Some(take_bundle(shared, number, device)?)
    };
    let plaintext = MessageUtils::encode_and_pad(message);
    let (enc_type, ciphertext) = party.encrypt(&address, bundle.as_ref(), &plaintext).await?;
    let node = enc_message(
        NodeBuilder::new("message")
            .attr("from", pn_jid(number))
            .attr("id", new_id())
            .attr("t", unix_now().to_string())
            .attr("type", "text")
            .attr("category", "peer"),
        enc_type,
        ciphertext,
    );
    // Still under the Signal lock: stanzas leave in the order they were encrypted.
    deliver(&mut shared.state(), number, device, node);
    Ok(())
}

/// Send the account's app-state key to companion `device` of `number`.
pub(crate) async fn send_app_state_key_share(
    shared: &Shared,
    number: &str,
    device: u32,
) -> anyhow::Result<()> {
    let key = shared
        .state()
        .dir
        .phone(number)
        .ok_or_else(|| anyhow!("no phone {number}"))?
        .app_state_key
        .clone();
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
    send_to_own_companion(shared, number, device, &message).await?;
    shared.emit(SimEvent::AppStateKeyShared {
        number: number.to_string(),
        device,
    });
    Ok(())
}

/// Send a freshly linked companion `device` of `number` the initial history
/// sync notification (after the app-state key, as a real phone does).
pub(crate) async fn send_initial_history(
    shared: &Shared,
    number: &str,
    device: u32,
) -> anyhow::Result<()> {
    let message = crate::history::initial_bootstrap(&shared.media)?;
    send_to_own_companion(shared, number, device, &message).await?;
    shared.emit(SimEvent::HistorySyncSent {
        number: number.to_string(),
        device,
    });
    Ok(())
}

/// A message id in the form WhatsApp clients use (`3EB0` and 18 hex digits).
pub(crate) fn new_message_id() -> String {
    use rand::RngExt as _;
    let n: u128 = rand::rng().random::<u128>() & ((1u128 << 72) - 1);
    format!("3EB0{n:018X}")
}

/// The virtual phone `number` sends `message` to the account `to` (a phone number).
pub(crate) async fn send(
    shared: &Shared,
    number: &str,
    to: &str,
    message: wa::Message,
) -> anyhow::Result<String> {
    let id = new_message_id();
    let to_pn = pn_jid(to);
    let dsm = wa::Message {
        device_sent_message: buffa::MessageField::some(wa::message::DeviceSentMessage {
            destination_jid: Some(to_pn.clone()),
            message: buffa::MessageField::some(message.clone()),
            ..Default::default()
        }),
        ..Default::default()
    };
    // (account, device, own companion?) for every device that gets a copy.
    let (signal, name, lid, targets) = {
        let st = shared.state();
        let Some(peer) = st.dir.phone(to) else {
            bail!("{to} is not on WhatsApp");
        };
        let me = st
            .dir
            .phone(number)
            .ok_or_else(|| anyhow!("no phone {number}"))?;
        let mut targets = Vec::new();
        for (d, _) in listed_devices(peer) {
            targets.push((to.to_string(), d, false));
        }
        for (d, _) in listed_devices(me) {
            if d != 0 {
                targets.push((number.to_string(), d, true));
            }
        }
        (me.signal.clone(), me.name.clone(), me.lid.clone(), targets)
    };
    // One send at a time per primary: its Signal state is held for the whole fan-out.
    let mut party = signal.lock().await;
    let plain_peer = MessageUtils::encode_and_pad(&message);
    let plain_own = MessageUtils::encode_and_pad(&dsm);
    let mut out = Vec::new();
    for (acct, device, own) in targets {
        let address = ProtocolAddress::new(&acct, DeviceId::from(device));
        let bundle = if party.has_session(&address) {
            None
        } else {
            match take_bundle(shared, &acct, device) {
                Ok(b) => Some(b),
                Err(e) => {
                    log::warn!("virtual phone {number}: no bundle for {acct}:{device}: {e:#}");
                    continue;
                }
            }
        };
        let plain = if own { &plain_own } else { &plain_peer };
        let (enc_type, bytes) = party.encrypt(&address, bundle.as_ref(), plain).await?;
        out.push((acct, device, own, enc_type, bytes));
    }
    drop(party);
    let now = unix_now().to_string();
    let ty = if message.location_message.is_set() {
        "media"
    } else {
        "text"
    };
    let mut st = shared.state();
    for (acct, device, own, enc_type, bytes) in out {
        if !own && crate::profile::blocks(&st, &acct, number) {
            continue; // a phone that blocked this one gets nothing from it
        }
        let mut b = NodeBuilder::new("message")
            .attr("from", pn_jid(number))
            .attr("id", id.clone())
            .attr("t", now.clone())
            .attr("type", ty)
            .attr("notify", name.clone())
            .attr("sender_lid", format!("{lid}@lid"));
        if own {
            b = b.attr("recipient", to_pn.clone());
        }
        deliver(&mut st, &acct, device, enc_message(b, enc_type, bytes));
    }
    if let Some(p) = st.dir.phone_mut(number) {
        p.primary.sent.push(SentStatus {
            id: id.clone(),
            to: to.to_string(),
            status: "sent".into(),
        });
    }
    Ok(id)
}

/// The virtual phone reads messages it received: read receipts go to every device of
/// each sender's account.
pub(crate) fn mark_read(shared: &Shared, number: &str, ids: &[String]) -> anyhow::Result<usize> {
    let mut st = shared.state();
    let msgs: Vec<(String, String, Option<String>)> = st
        .dir
        .phone(number)
        .ok_or_else(|| anyhow!("no phone {number}"))?
        .primary
        .received
        .iter()
        .filter(|m| !m.from_me && ids.contains(&m.id))
        .map(|m| (m.id.clone(), m.from.clone(), m.group.clone()))
        .collect();
    let now = unix_now().to_string();
    for (id, sender, group) in &msgs {
        let devices: Vec<u32> = st
            .dir
            .phone(sender)
            .map(|p| p.devices.keys().copied().collect())
            .unwrap_or_default();
        for d in devices {
            // In a group the receipt comes from the group, naming the reader.
            let r = match group {
                Some(g) => NodeBuilder::new("receipt")
                    .attr("from", format!("{g}@g.us"))
                    .attr("participant", pn_jid(number)),
                None => NodeBuilder::new("receipt").attr("from", pn_jid(number)),
            }
            .attr("id", id.clone())
            .attr("t", now.clone())
            .attr("type", "read")
            .build();
            deliver(&mut st, sender, d, r);
        }
    }
    Ok(msgs.len())
}

/// The virtual phone `number` shows `to` a chat state (`composing`,
/// `recording` or `paused`), as WhatsApp relays it to every device of `to`
/// that is not a phone's primary.
pub(crate) fn chat_state(
    shared: &Shared,
    number: &str,
    to: &str,
    state: &str,
) -> anyhow::Result<()> {
    let child = match state {
        "composing" => NodeBuilder::new("composing").build(),
        "recording" => NodeBuilder::new("composing").attr("media", "audio").build(),
        "paused" => NodeBuilder::new("paused").build(),
        other => bail!("unknown chat state {other}: composing, recording or paused"),
    };
    let mut st = shared.state();
    let devices = companions(
        st.dir
            .phone(to)
            .ok_or_else(|| anyhow!("{to} is not on WhatsApp"))?,
    );
    for device in devices {
        let node = NodeBuilder::new("chatstate")
            .attr("from", pn_jid(number))
            .children([child.clone()])
            .build();
        deliver(&mut st, to, device, node);
    }
    Ok(())
}

/// The virtual phone `number` calls `to` (voice or video): an `<offer>` to
/// every companion device of `to`; the call is recorded, and a `<reject>`
/// from any of them marks it rejected.
pub(crate) fn place_call(
    shared: &Shared,
    number: &str,
    to: &str,
    video: bool,
) -> anyhow::Result<String> {
    let call_id = {
        use rand::RngExt as _;
        let n: u128 = rand::rng().random::<u128>() & ((1u128 << 64) - 1);
        format!("{n:016X}")
    };
    let mut st = shared.state();
    let name = st
        .dir
        .phone(number)
        .ok_or_else(|| anyhow!("no phone {number}"))?
        .name
        .clone();
    let devices = companions(
        st.dir
            .phone(to)
            .ok_or_else(|| anyhow!("{to} is not on WhatsApp"))?,
    );
    let mut offer = vec![
        NodeBuilder::new("audio")
            .attr("enc", "opus")
            .attr("rate", "16000")
            .build(),
        NodeBuilder::new("audio")
            .attr("enc", "opus")
            .attr("rate", "8000")
            .build(),
    ];
    if video {
        offer.push(NodeBuilder::new("video").attr("enc", "vp8").build());
    }
    for device in devices {
        let node = NodeBuilder::new("call")
            .attr("from", pn_jid(number))
            .attr("id", new_message_id())
            .attr("t", unix_now().to_string())
            .attr("notify", name.clone())
            .children([NodeBuilder::new("offer")
                .attr("call-id", call_id.clone())
                .attr("call-creator", pn_jid(number))
                .children(offer.clone())
                .build()])
            .build();
        deliver(&mut st, to, device, node);
    }
    if let Some(p) = st.dir.phone_mut(number) {
        p.primary.calls.push(crate::directory::CallPlaced {
            call_id: call_id.clone(),
            to: to.to_owned(),
            video,
            rejected: false,
        });
    }
    Ok(call_id)
}

/// The linked companion devices of an account (not its primary).
fn companions(phone: &crate::directory::Phone) -> Vec<u32> {
    listed_devices(phone)
        .into_iter()
        .map(|(d, _)| d)
        .filter(|d| *d != 0)
        .collect()
}
