//! Group messages between devices: the fan-out of a client's
//! `<message to="GROUP@g.us">` and the relay of receipts for group messages.
//!
//! A group send carries one `<enc type="skmsg">` (the message, under the
//! sender's sender key) for everyone, and `<participants><to jid><enc
//! type="pkmsg|msg">` with the sender key distribution for the devices that
//! lack it. Every listed device of every member but the sending one gets
//! `<message from="GROUP@g.us" participant="SENDER:DEVICE@s.whatsapp.net">`
//! with its own pairwise `<enc>` (if any) first, then the skmsg, as WhatsApp
//! delivers them. The server decrypts nothing.

use std::collections::HashMap;

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::delivery::deliver;
use crate::devices::listed_devices;
use crate::nodes::{attr, child, children, device_lid_jid, device_pn_jid, parse_jid, unix_now};
use crate::state::State;

/// The device (`number`, `device`) sends `node` to group `gid`: it goes to
/// every other member device. Returns the ack's error code when refused
/// (479: no such group or not a member; 403: only admins may send).
pub(crate) fn fan_out(
    st: &mut State,
    number: &str,
    device: u32,
    node: &Node,
    gid: &str,
) -> Option<&'static str> {
    let Some(g) = st.groups.get(gid) else {
        return Some("479");
    };
    let Some(me) = g.member(number) else {
        return Some("479");
    };
    if g.announcement && !me.role.is_admin() {
        return Some("403");
    }
    let group_jid = g.jid();
    let members = g.numbers();
    let (sender_lid, push_name) = match st.dir.phone(number) {
        Some(p) => (
            p.lid.clone(),
            p.devices
                .get(&device)
                .map(|d| d.push_name.clone())
                .unwrap_or_default(),
        ),
        None => return Some("479"),
    };

    // Pairwise encs (the sender key distribution) by recipient device.
    let mut pairwise: HashMap<(String, u32), Vec<Node>> = HashMap::new();
    if let Some(parts) = child(node, "participants") {
        for to in children(parts).iter().filter(|t| t.tag == "to") {
            let Some(j) = attr(to, "jid").and_then(|s| parse_jid(&s)) else {
                continue;
            };
            let Some(p) = st.dir.resolve(&j) else {
                continue;
            };
            pairwise
                .entry((p.number.clone(), j.device as u32))
                .or_default()
                .extend(children(to).iter().filter(|e| e.tag == "enc").cloned());
        }
    }
    let group_encs: Vec<Node> = children(node)
        .iter()
        .filter(|e| e.tag == "enc")
        .cloned()
        .collect();
    let identity = child(node, "device-identity").cloned();
    let id = attr(node, "id").unwrap_or_default();
    let ty = attr(node, "type").unwrap_or_else(|| "text".to_string());
    let edit = attr(node, "edit");
    let now = unix_now().to_string();

    let mut targets = Vec::new();
    for m in &members {
        if let Some(p) = st.dir.phone(m) {
            for (d, _) in listed_devices(p) {
                if !(m == number && d == device) {
                    targets.push((m.clone(), d));
                }
            }
        }
    }
    for (m, d) in targets {
        let mut kids = pairwise.remove(&(m.clone(), d)).unwrap_or_default();
        let prekey = kids
            .iter()
            .any(|e| attr(e, "type").as_deref() == Some("pkmsg"));
        kids.extend(group_encs.iter().cloned());
        if kids.is_empty() {
            continue;
        }
        if prekey && let Some(di) = &identity {
            kids.push(di.clone());
        }
        let mut b = NodeBuilder::new("message")
            .attr("from", group_jid.clone())
            .attr("participant", device_pn_jid(number, device))
            .attr("participant_lid", device_lid_jid(&sender_lid, device))
            .attr("addressing_mode", "pn")
            .attr("id", id.clone())
            .attr("t", now.clone())
            .attr("type", ty.clone())
            .attr("notify", push_name.clone());
        if let Some(e) = &edit {
            b = b.attr("edit", e.clone());
        }
        deliver(st, &m, d, b.children(kids).build());
    }
    None
}

/// The device (`number`, `device`) sends a receipt for a group message
/// (`to="GROUP@g.us" participant="AUTHOR"`): it goes to the author's device
/// (every device of the author's account when `participant` names no device)
/// as `<receipt from="GROUP@g.us" participant="RECEIVER:DEVICE@...">`.
pub(crate) fn relay_receipt(st: &mut State, number: &str, device: u32, node: &Node, gid: &str) {
    let Some(author) = attr(node, "participant").and_then(|p| parse_jid(&p)) else {
        return;
    };
    let Some(phone) = st.dir.resolve(&author) else {
        return;
    };
    let target = phone.number.clone();
    let devices: Vec<u32> = if author.device != 0 {
        vec![author.device as u32]
    } else {
        listed_devices(phone).into_iter().map(|(d, _)| d).collect()
    };
    let mut b = NodeBuilder::new("receipt")
        .attr("from", format!("{gid}@g.us"))
        .attr("participant", device_pn_jid(number, device))
        .attr("id", attr(node, "id").unwrap_or_default())
        .attr(
            "t",
            attr(node, "t").unwrap_or_else(|| unix_now().to_string()),
        );
    if let Some(t) = attr(node, "type") {
        b = b.attr("type", t);
    }
    let relayed = b.children(children(node).iter().cloned()).build();
    for d in devices {
        if !(target == number && d == device) {
            deliver(st, &target, d, relayed.clone());
        }
    }
}
