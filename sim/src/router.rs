//! The router between real clients: `<message>` fan-out per `<to jid>` with the
//! server's ack to the sender, and the `<receipt>` relay (a receipt also
//! acknowledges the receipted messages for the device that sends it). The
//! server never decrypts `<enc>` payloads.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Node, Server};

use crate::delivery::{acknowledge_by_receipt, deliver};
use crate::group_send;
use crate::nodes::{
    SERVER, attr, child, children, device_lid_jid, device_pn_jid, parse_jid, unix_now,
};
use crate::state::{Shared, State};

/// A client sends a `<message>`: fan it out per `<to jid>` and ack the sender.
pub(crate) fn on_message(shared: &Shared, conn: u64, node: Node) {
    let mut st = shared.state();
    let Some((number, device)) = st.logged_in_as(conn) else {
        return;
    };
    let id = attr(&node, "id").unwrap_or_default();
    let to = attr(&node, "to").unwrap_or_default();
    let ty = attr(&node, "type").unwrap_or_else(|| "text".to_string());
    let now = unix_now();
    let (sender_lid, push_name) = match st.dir.phone(&number) {
        Some(p) => (
            p.lid.clone(),
            p.devices
                .get(&device)
                .map(|d| d.push_name.clone())
                .unwrap_or_default(),
        ),
        None => return,
    };
    let sender_identity = child(&node, "device-identity").cloned();
    let to_jid = parse_jid(&to);
    let mut error = None;
    if let Some(j) = to_jid.as_ref().filter(|j| j.server == Server::Group) {
        let error = group_send::fan_out(&mut st, &number, device, &node, &j.user);
        send_message_ack(&st, conn, id, to, now, error);
        return;
    }

    // (target number, target device, enc)
    let mut targets: Vec<(String, u32, Node)> = Vec::new();
    if let Some(parts) = child(&node, "participants") {
        for t in children(parts).iter().filter(|t| t.tag == "to") {
            let Some(j) = attr(t, "jid").and_then(|s| parse_jid(&s)) else {
                continue;
            };
            let Some(p) = st.dir.resolve(&j) else {
                continue;
            };
            for enc in children(t).iter().filter(|e| e.tag == "enc") {
                targets.push((p.number.clone(), j.device as u32, enc.clone()));
            }
        }
    } else if let Some(j) = &to_jid {
        // A single-device stanza (e.g. a retry resend) carries <enc> directly.
        if let Some(p) = st.dir.resolve(j) {
            for enc in children(&node).iter().filter(|e| e.tag == "enc") {
                targets.push((p.number.clone(), j.device as u32, enc.clone()));
            }
        }
    }
    match &to_jid {
        Some(j) if j.server == Server::Broadcast => {
            error = Some("479"); // broadcasts are not simulated yet
        }
        Some(j) if st.dir.resolve(j).is_none() => error = Some("479"),
        None => error = Some("400"),
        _ => {}
    }

    let peer_pn = to_jid
        .as_ref()
        .and_then(|j| st.dir.resolve(j))
        .map(|p| p.pn_jid());
    for (tnum, tdev, enc) in targets {
        let own = tnum == number;
        if !own && crate::profile::blocks(&st, &tnum, &number) {
            continue; // a phone that blocked the sender gets nothing from it
        }
        let mut b = NodeBuilder::new("message")
            .attr("from", device_pn_jid(&number, device))
            .attr("id", id.clone())
            .attr("t", now.to_string())
            .attr("type", ty.clone())
            .attr("notify", push_name.clone())
            .attr("sender_lid", device_lid_jid(&sender_lid, device));
        if own && let Some(peer) = &peer_pn {
            b = b.attr("recipient", peer.clone());
        }
        let mut kids = vec![enc];
        if let Some(di) = &sender_identity {
            kids.push(di.clone());
        }
        deliver(&mut st, &tnum, tdev, b.children(kids).build());
    }

    send_message_ack(&st, conn, id, to, now, error);
}

/// The server's `<ack class="message">` to the sender, with an error code if refused.
fn send_message_ack(
    st: &State,
    conn: u64,
    id: String,
    to: String,
    now: u64,
    error: Option<&'static str>,
) {
    let mut ack = NodeBuilder::new("ack")
        .attr("class", "message")
        .attr("id", id)
        .attr("from", to)
        .attr("t", now.to_string());
    if let Some(e) = error {
        ack = ack.attr("error", e);
    }
    if let Some(h) = st.conns.get(&conn) {
        h.send(ack.build());
    }
}

/// A client sends a `<chatstate>` ("typing..."): the addressed virtual phone
/// records it, as a phone shows it; other addressees are not simulated.
pub(crate) fn on_chatstate(shared: &Shared, conn: u64, node: Node) {
    let mut st = shared.state();
    let Some((number, _)) = st.logged_in_as(conn) else {
        return;
    };
    let to = attr(&node, "to").unwrap_or_default();
    let Some(target) = parse_jid(&to)
        .and_then(|j| st.dir.resolve(&j))
        .map(|p| p.number.clone())
    else {
        return;
    };
    let Some(child) = children(&node).first() else {
        return;
    };
    let state = match (child.tag.as_ref(), attr(child, "media").as_deref()) {
        ("composing", Some("audio")) => "recording",
        ("composing", _) => "composing",
        ("paused", _) => "paused",
        _ => return,
    };
    if let Some(p) = st.dir.phone_mut(&target) {
        p.primary.chat_states.push(crate::directory::ChatStateSeen {
            from: number,
            state: state.to_owned(),
            at_ms: crate::nodes::unix_now_ms(),
        });
    }
}

/// A client sends a `<call>`: a `<reject>` of a call a virtual phone
/// placed marks that call rejected.
pub(crate) fn on_call(shared: &Shared, conn: u64, node: Node) {
    let mut st = shared.state();
    if st.logged_in_as(conn).is_none() {
        return;
    }
    for action in children(&node) {
        if action.tag.as_ref() != "reject" {
            continue;
        }
        let call_id = attr(action, "call-id").unwrap_or_default();
        let Some(creator) = attr(action, "call-creator")
            .and_then(|c| parse_jid(&c))
            .and_then(|j| st.dir.resolve(&j))
            .map(|p| p.number.clone())
        else {
            continue;
        };
        if let Some(p) = st.dir.phone_mut(&creator)
            && let Some(call) = p.primary.calls.iter_mut().find(|c| c.call_id == call_id)
        {
            call.rejected = true;
        }
    }
}

/// A client sends a `<receipt>`: relay it to the addressed device(s) and ack it.
pub(crate) fn on_receipt(shared: &Shared, conn: u64, node: Node) {
    let mut st = shared.state();
    let Some((number, device)) = st.logged_in_as(conn) else {
        return;
    };
    let id = attr(&node, "id").unwrap_or_default();
    let to = attr(&node, "to").unwrap_or_default();
    let ty = attr(&node, "type");
    let to_jid = parse_jid(&to);
    let target = to_jid
        .as_ref()
        .and_then(|j| st.dir.resolve(j))
        .map(|p| p.number.clone());
    // The device has the messages it receipts: they are acknowledged for it.
    acknowledge_by_receipt(&mut st, conn, &node, target.as_deref());
    if let Some(j) = to_jid.as_ref().filter(|j| j.server == Server::Group) {
        group_send::relay_receipt(&mut st, &number, device, &node, &j.user);
    }
    if let (Some(j), Some(target)) = (to_jid, target)
        && let Some(p) = st.dir.phone(&target)
    {
        // A device-qualified `to` goes to that device; a bare user to all its
        // devices, except a companion's receipt for a protocol message from its
        // own phone (history sync, peer data), which only the phone wants.
        let own_protocol =
            target == number && matches!(ty.as_deref(), Some("hist_sync" | "peer_msg"));
        let devices: Vec<u32> = if j.device != 0 {
            vec![j.device as u32]
        } else if own_protocol {
            vec![0]
        } else {
            p.devices.keys().copied().collect()
        };
        let mut b = NodeBuilder::new("receipt")
            .attr("from", device_pn_jid(&number, device))
            .attr("id", id.clone())
            .attr(
                "t",
                attr(&node, "t").unwrap_or_else(|| unix_now().to_string()),
            );
        if let Some(t) = &ty {
            b = b.attr("type", t.clone());
        }
        let relayed = b.children(children(&node).iter().cloned()).build();
        for d in devices {
            if !(target == number && d == device) {
                deliver(&mut st, &target, d, relayed.clone());
            }
        }
    }
    let mut ack = NodeBuilder::new("ack")
        .attr("class", "receipt")
        .attr("id", id)
        .attr(
            "from",
            if to.is_empty() {
                SERVER.to_string()
            } else {
                to
            },
        );
    if let Some(t) = ty {
        ack = ack.attr("type", t);
    }
    if let Some(h) = st.conns.get(&conn) {
        h.send(ack.build());
    }
}
