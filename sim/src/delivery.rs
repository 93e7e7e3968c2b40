//! Stanzas on their way to devices: live delivery, the per-device offline
//! queue, and acknowledgement.
//!
//! A companion's stanzas go to its live connection if it has one, else to its
//! offline queue, which is flushed (each stanza marked `offline="1"`) after its
//! next `<active/>`. As on WhatsApp, a stanza stays the server's until the
//! device acknowledges it: every `<message>`, `<receipt>` and `<notification>`
//! sent on a connection is kept until the client's `<ack class=..>` for it (a
//! `<message>` also by the device's `<receipt>` for its id, which is how
//! WhatsApp's own clients acknowledge one), and goes back to the front of the
//! device's queue, in order, if the connection ends first. The primary device is
//! simulated: its stanzas go to its inbox task, or to its queue while the phone
//! is offline.

use wacore_binary::Node;

use crate::nodes::{attr, child, children, parse_jid};
use crate::state::{ConnHandle, Shared, State};

/// Deliver a stanza to a device now, or keep it for its next login.
pub(crate) fn deliver(st: &mut State, number: &str, device: u32, node: Node) {
    if device == 0 {
        let Some(p) = st.dir.phone_mut(number) else {
            return;
        };
        if p.primary.online
            && let Some(tx) = &p.primary.inbox
            && tx.send(node.clone()).is_ok()
        {
            return;
        }
        if let Some(d) = p.devices.get_mut(&0) {
            d.offline_queue.push_back(node);
        }
        return;
    }
    if let Some(h) = st.conn_of_mut(number, device) {
        h.unacked.push(node.clone());
        h.send(node);
        return;
    }
    if let Some(dev) = st
        .dir
        .phone_mut(number)
        .and_then(|p| p.devices.get_mut(&device))
    {
        dev.offline_queue.push_back(node);
    }
}

/// Flush a device's offline queue after `<active/>`; returns how many stanzas went out.
pub(crate) fn deliver_offline(shared: &Shared, conn: u64) -> usize {
    let mut st = shared.state();
    let Some((number, device)) = st.logged_in_as(conn) else {
        return 0;
    };
    let queued: Vec<Node> = st
        .dir
        .phone_mut(&number)
        .and_then(|p| p.devices.get_mut(&device))
        .map(|d| d.offline_queue.drain(..).collect())
        .unwrap_or_default();
    let n = queued.len();
    if let Some(h) = st.conns.get_mut(&conn) {
        for mut node in queued {
            node.attrs.insert("offline", "1");
            h.unacked.push(node.clone());
            h.send(node);
        }
    }
    n
}

/// `<ack class id [type] [to]>`: the client acknowledges one stanza we sent it
/// (`to` names the stanza's `from`, `type` its type).
pub(crate) fn on_ack(shared: &Shared, conn: u64, ack: &Node) {
    let (Some(class), Some(id)) = (attr(ack, "class"), attr(ack, "id")) else {
        return;
    };
    let ty = attr(ack, "type");
    let to = attr(ack, "to");
    let mut st = shared.state();
    let Some(h) = st.conns.get_mut(&conn) else {
        return;
    };
    let matches = |n: &Node| {
        n.tag == class.as_str()
            && attr(n, "id").as_deref() == Some(id.as_str())
            && (ty.is_none() || attr(n, "type") == ty)
            && match (&to, attr(n, "from")) {
                (Some(to), Some(from)) => same_jid(to, &from),
                _ => true,
            }
    };
    if let Some(i) = h.unacked.iter().position(matches) {
        h.unacked.remove(i);
    }
}

fn same_jid(a: &str, b: &str) -> bool {
    match (parse_jid(a), parse_jid(b)) {
        (Some(a), Some(b)) => a == b,
        _ => a == b,
    }
}

/// The device on `conn` sent a `<receipt>` for the message ids `id` (and
/// `<list><item id>`): it has those messages, so they are acknowledged for it
/// and not redelivered. `sender` is the account the receipt goes to (the
/// messages' sender) when known; without it the ids alone decide.
pub(crate) fn acknowledge_by_receipt(
    st: &mut State,
    conn: u64,
    receipt: &Node,
    sender: Option<&str>,
) {
    let mut ids: Vec<String> = attr(receipt, "id").into_iter().collect();
    if let Some(list) = child(receipt, "list") {
        ids.extend(children(list).iter().filter_map(|i| attr(i, "id")));
    }
    let Some(h) = st.conns.get_mut(&conn) else {
        return;
    };
    h.unacked.retain(|n| {
        let acked = n.tag == "message"
            && attr(n, "id").is_some_and(|id| ids.contains(&id))
            && sender.is_none_or(|s| {
                attr(n, "from")
                    .and_then(|f| parse_jid(&f))
                    .is_some_and(|f| f.user.as_str() == s)
            });
        !acked
    });
}

/// A connection ended: what it never acknowledged waits for the device's
/// next login, ahead of anything queued since.
pub(crate) fn requeue_unacked(st: &mut State, h: &ConnHandle) {
    let Some((number, device)) = h.logged_in() else {
        return;
    };
    if h.unacked.is_empty() {
        return;
    }
    if let Some(dev) = st
        .dir
        .phone_mut(number)
        .and_then(|p| p.devices.get_mut(&device))
    {
        for node in h.unacked.iter().rev().cloned() {
            dev.offline_queue.push_front(node);
        }
    }
}

/// Removes connection `conn`, requeueing what it left unacknowledged, and
/// tells its writer to close. Returns whether it was still registered.
pub(crate) fn drop_conn(st: &mut State, conn: u64) -> bool {
    let Some(h) = st.conns.remove(&conn) else {
        return false;
    };
    requeue_unacked(st, &h);
    h.close();
    true
}
