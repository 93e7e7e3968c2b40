//! A virtual phone in groups: its primary device takes in the sender keys
//! other members distribute (a pairwise `pkmsg`/`msg` carrying a
//! `SenderKeyDistributionMessage`), decrypts their `skmsg`, records what it
//! read with the group and the sender, and receipts it to the sender as
//! `<receipt to=GROUP participant=SENDER>` arrives from WhatsApp. Sending, it
//! does what clients do: its own sender key goes pairwise to every member
//! device that lacks it (a new one to all after someone left), then one
//! skmsg for everyone.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{anyhow, bail};
use wacore::messages::MessageUtils;
use wacore::proto_helpers::MessageExt as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node};
use wacore_libsignal::protocol::{
    CiphertextMessage, DeviceId, PreKeySignalMessage, ProtocolAddress, SignalMessage,
};
use waproto::whatsapp as wa;

use crate::delivery::deliver;
use crate::devices::listed_devices;
use crate::directory::SentStatus;
use crate::nodes::{attr, children, content_bytes, pn_jid, unix_now, unix_now_ms};
use crate::phone::{describe, download_media};
use crate::phone_send::{new_message_id, take_bundle};
use crate::sender_keys::key_name;
use crate::state::{Shared, SimEvent};

fn decode(plaintext: &[u8]) -> anyhow::Result<wa::Message> {
    let unpadded = MessageUtils::unpad_message_ref(plaintext, 2)?;
    Ok(waproto::codec::message_decode(unpadded)?)
}

/// `number`'s primary receives a message in `group` (the stanza's `from`).
pub(crate) async fn on_message(
    shared: &Arc<Shared>,
    number: &str,
    node: &Node,
    group: &Jid,
) -> anyhow::Result<()> {
    let sender: Jid = attr(node, "participant")
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow!("group message without a usable participant"))?;
    let id = attr(node, "id").unwrap_or_default();
    let group_jid = format!("{}@g.us", group.user);
    let sender_device = sender.device as u32;
    let name = key_name(&group_jid, &sender.user, sender_device);
    let signal = shared
        .state()
        .dir
        .phone(number)
        .ok_or_else(|| anyhow!("phone vanished"))?
        .signal
        .clone();
    let mut content = None;
    {
        let mut party = signal.lock().await;
        for enc in children(node).iter().filter(|c| c.tag == "enc") {
            let bytes = content_bytes(enc).unwrap_or_default();
            match attr(enc, "type").as_deref() {
                Some(t @ ("pkmsg" | "msg")) => {
                    let ct = if t == "pkmsg" {
                        CiphertextMessage::PreKeySignalMessage(PreKeySignalMessage::try_from(
                            bytes,
                        )?)
                    } else {
                        CiphertextMessage::SignalMessage(SignalMessage::try_from(bytes)?)
                    };
                    let address = ProtocolAddress::new(&sender.user, DeviceId::from(sender_device));
                    let msg = decode(&party.decrypt(&address, &ct).await?)?;
                    if let Some(skdm) = msg.sender_key_distribution_message.as_option()
                        && let Some(b) = &skdm.axolotl_sender_key_distribution_message
                    {
                        party.process_distribution(&name, b).await?;
                    }
                }
                Some("skmsg") => {
                    content = Some(decode(&party.group_decrypt(&name, bytes).await?)?);
                }
                other => log::info!("virtual phone {number}: group <enc type={other:?}> ignored"),
            }
        }
    }
    let Some(msg) = content else {
        return Ok(());
    };
    if crate::phone::apply_change(shared, number, &sender.user, &id, &msg) {
        return Ok(()); // an edit or deletion of an earlier group message
    }
    if msg.protocol_message.is_set() && msg.text_content().is_none() {
        return Ok(()); // protocol traffic, nothing to show
    }
    let from_me = sender.user.as_str() == number;
    let mut rec = describe(&msg);
    download_media(shared, &msg, &mut rec);
    rec.id = id.clone();
    rec.from = sender.user.to_string();
    rec.from_device = sender_device;
    rec.chat = group.user.to_string();
    rec.group = Some(group.user.to_string());
    rec.from_me = from_me;
    rec.push_name = attr(node, "notify").unwrap_or_default();
    rec.timestamp = attr(node, "t")
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(unix_now);
    rec.received_at_ms = unix_now_ms();
    {
        let mut st = shared.state();
        if !from_me {
            let receipt = NodeBuilder::new("receipt")
                .attr("from", group_jid.clone())
                .attr("participant", pn_jid(number))
                .attr("id", id.clone())
                .attr("t", unix_now().to_string())
                .build();
            deliver(&mut st, &sender.user, sender_device, receipt);
        }
        let Some(p) = st.dir.phone_mut(number) else {
            return Ok(());
        };
        if p.primary
            .received
            .iter()
            .any(|r| r.id == rec.id && r.from == rec.from)
        {
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

/// The virtual phone `number` sends `message` to the group `gid`. Returns the message id.
pub(crate) async fn send(
    shared: &Shared,
    number: &str,
    gid: &str,
    message: wa::Message,
) -> anyhow::Result<String> {
    let id = new_message_id();
    let (signal, name, lid, group_jid, devices) = {
        let st = shared.state();
        let me = st
            .dir
            .phone(number)
            .ok_or_else(|| anyhow!("no phone {number}"))?;
        let Some(g) = st.groups.get(gid) else {
            bail!("no group {gid}");
        };
        let Some(m) = g.member(number) else {
            bail!("{number} is not a member of {gid}");
        };
        if g.announcement && !m.role.is_admin() {
            bail!("only admins send to {gid}");
        }
        let mut devices = Vec::new();
        for n in g.numbers() {
            if let Some(p) = st.dir.phone(&n) {
                for (d, _) in listed_devices(p) {
                    if !(n == number && d == 0) {
                        devices.push((n.clone(), d));
                    }
                }
            }
        }
        (
            me.signal.clone(),
            me.name.clone(),
            me.lid.clone(),
            g.jid(),
            devices,
        )
    };
    let key = key_name(&group_jid, number, 0);
    // One send at a time per primary: its Signal state is held for the whole fan-out.
    let mut party = signal.lock().await;
    let need = party.devices_needing_key(&key, &group_jid, &devices);
    let skdm = party.own_distribution(&key).await?;
    let wrapper = wa::Message {
        sender_key_distribution_message: buffa::MessageField::some(
            wa::message::SenderKeyDistributionMessage {
                group_id: Some(group_jid.clone()),
                axolotl_sender_key_distribution_message: Some(skdm),
            },
        ),
        ..Default::default()
    };
    let wrapper_plain = MessageUtils::encode_and_pad(&wrapper);
    let mut pairwise = HashMap::new();
    for (acct, device) in need {
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
        let (enc_type, bytes) = party
            .encrypt(&address, bundle.as_ref(), &wrapper_plain)
            .await?;
        party.mark_distributed(&group_jid, (acct.clone(), device));
        pairwise.insert((acct, device), (enc_type, bytes));
    }
    let skmsg = party
        .group_encrypt(&key, &MessageUtils::encode_and_pad(&message))
        .await?;
    drop(party);
    let ty = if message.conversation.is_some() || message.extended_text_message.is_set() {
        "text"
    } else {
        "media"
    };
    let now = unix_now().to_string();
    let mut st = shared.state();
    for (acct, device) in devices {
        let mut kids = Vec::new();
        if let Some((enc_type, bytes)) = pairwise.remove(&(acct.clone(), device)) {
            kids.push(
                NodeBuilder::new("enc")
                    .attr("v", "2")
                    .attr("type", enc_type)
                    .bytes(bytes)
                    .build(),
            );
        }
        kids.push(
            NodeBuilder::new("enc")
                .attr("v", "2")
                .attr("type", "skmsg")
                .bytes(skmsg.clone())
                .build(),
        );
        let node = NodeBuilder::new("message")
            .attr("from", group_jid.clone())
            .attr("participant", pn_jid(number))
            .attr("participant_lid", format!("{lid}@lid"))
            .attr("addressing_mode", "pn")
            .attr("id", id.clone())
            .attr("t", now.clone())
            .attr("type", ty)
            .attr("notify", name.clone())
            .children(kids)
            .build();
        deliver(&mut st, &acct, device, node);
    }
    if let Some(p) = st.dir.phone_mut(number) {
        p.primary.sent.push(SentStatus {
            id: id.clone(),
            to: group_jid,
            status: "sent".into(),
        });
    }
    Ok(id)
}
