//! Stanzas on their way to devices: live delivery, the per-device offline
//! queue, and acknowledgement.
//!
//! A companion's stanzas go to its live connection if it has one, else to its
//! offline queue, which is flushed (each stanza marked `offline="1"`) after its
//! next `<active/>`. The primary device is simulated: its stanzas go to its
//! inbox task, or to its queue while the phone is offline.

use wacore_binary::Node;

use crate::nodes::attr;
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
        if node.tag == "message" {
            h.unacked.push(node.clone());
        }
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
            if node.tag == "message" {
                h.unacked.push(node.clone());
            }
            h.send(node);
        }
    }
    n
}

/// The client acknowledged a stanza: a `<message>` is no longer redelivered.
pub(crate) fn on_ack(shared: &Shared, conn: u64, node: &Node) {
    if attr(node, "class").as_deref() != Some("message") {
        return;
    }
    let Some(id) = attr(node, "id") else { return };
    let mut st = shared.state();
    if let Some(h) = st.conns.get_mut(&conn) {
        h.unacked
            .retain(|m| attr(m, "id").as_deref() != Some(id.as_str()));
    }
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
