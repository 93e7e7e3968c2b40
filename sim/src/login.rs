//! Login of a paired device and the IQs a client sends on its way to `Connected`:
//! `<success>`, passive/active + offline marker, prekey upload/count/digest,
//! props, privacy, blocklist, app-state sync, keepalive.
//! Client side: whatsapp-rust `src/client/node_io.rs` (post-login sequence).

use std::sync::Arc;

use anyhow::anyhow;
use sha1::{Digest, Sha1};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use super::directory::OneTimePreKey;
use super::nodes::{self, SERVER, attr, be_uint, child, child_bytes, children, unix_now};
use super::{ConnRole, Outbound, Shared, SimEvent};

/// A login `ClientPayload` (username + device) arrived over a finished handshake.
pub fn on_login(
    shared: &Arc<Shared>,
    conn: u64,
    username: u64,
    device: u32,
    client_static: &[u8; 32],
) -> anyhow::Result<()> {
    let number = username.to_string();
    let mut st = shared.state.lock().unwrap();
    let known = st
        .dir
        .phone(&number)
        .and_then(|p| p.devices.get(&device).map(|d| (d.noise_pub, p.lid.clone())));
    let lid = match known {
        Some((noise_pub, lid)) if device != 0 && &noise_pub == client_static => lid,
        other => {
            // Unknown device, or a key that is not the one it paired with: logged out.
            log::info!(
                "conn {conn}: login {number}:{device} refused ({})",
                if other.is_some() {
                    "wrong static key"
                } else {
                    "unknown device"
                }
            );
            if let Some(h) = st.conns.get(&conn) {
                let _ = h.tx.send(Outbound::Node(
                    NodeBuilder::new("failure").attr("reason", "401").build(),
                ));
                let _ = h.tx.send(Outbound::Close);
            }
            drop(st);
            shared.emit(SimEvent::LoginRefused { conn, reason: 401 });
            return Err(anyhow!("login refused"));
        }
    };

    // A second login of the same device replaces the first one.
    let replaced: Vec<u64> = st
        .conns
        .iter()
        .filter(|(id, h)| {
            **id != conn
                && matches!(&h.role, ConnRole::LoggedIn { number: n, device: d }
                    if *n == number && *d == device)
        })
        .map(|(id, _)| *id)
        .collect();
    for old in replaced {
        if let Some(h) = st.conns.remove(&old) {
            log::info!("conn {old}: replaced by conn {conn}");
            super::router::requeue_unacked(&mut st, &h);
            let _ = h.tx.send(Outbound::Node(
                NodeBuilder::new("stream:error")
                    .children([NodeBuilder::new("conflict")
                        .attr("type", "replaced")
                        .build()])
                    .build(),
            ));
            let _ = h.tx.send(Outbound::Close);
        }
    }

    let h = st
        .conns
        .get_mut(&conn)
        .ok_or_else(|| anyhow!("connection vanished"))?;
    h.role = ConnRole::LoggedIn {
        number: number.clone(),
        device,
    };
    let _ = h.tx.send(Outbound::Node(
        NodeBuilder::new("success")
            .attr("t", unix_now().to_string())
            .attr("lid", format!("{lid}:{device}@lid"))
            .attr("props", "1")
            .attr("location", "sim")
            .build(),
    ));
    drop(st);
    shared.emit(SimEvent::LoggedIn {
        conn,
        number,
        device,
    });
    Ok(())
}

/// The (number, device) a connection is logged in as.
pub fn logged_in_as(shared: &Shared, conn: u64) -> Option<(String, u32)> {
    let st = shared.state.lock().unwrap();
    match st.conns.get(&conn).map(|h| &h.role) {
        Some(ConnRole::LoggedIn { number, device }) => Some((number.clone(), *device)),
        _ => None,
    }
}

/// Called after the reply to an IQ was queued.
pub fn after_iq(shared: &Arc<Shared>, conn: u64, xmlns: &str, node: &Node) {
    if xmlns == "passive" && child(node, "active").is_some() {
        // Stanzas queued while the device was away go first, then the marker that ends
        // the offline phase (without it the client waits 60 s before its first send).
        let count = super::router::deliver_offline(shared, conn);
        shared.send_to(
            conn,
            NodeBuilder::new("ib")
                .attr("from", SERVER)
                .children([NodeBuilder::new("offline")
                    .attr("count", count.to_string())
                    .build()])
                .build(),
        );
        shared.emit(SimEvent::OfflineMarkerSent { conn });
        share_app_state_key_once(shared, conn);
    }
}

/// IQs not covered by another module. `None` = not implemented.
pub fn handle_iq(
    shared: &Arc<Shared>,
    conn: u64,
    id: &str,
    xmlns: &str,
    node: &Node,
) -> Option<Node> {
    let ty = attr(node, "type").unwrap_or_default();
    let first = children(node).first();
    let first_tag = first.map(|c| c.tag.as_ref()).unwrap_or("");
    match (xmlns, first_tag) {
        // keepalive
        ("w:p", _) => Some(
            nodes::iq_result(id)
                .attr("t", unix_now().to_string())
                .build(),
        ),
        ("urn:xmpp:ping", _) => Some(nodes::iq_result(id).build()),
        ("passive", "active" | "passive") => Some(nodes::iq_result(id).build()),
        ("abt", "props") => Some(
            nodes::iq_result(id)
                .children([NodeBuilder::new("props")
                    .attr("protocol", "1")
                    .attr("hash", "sim")
                    .build()])
                .build(),
        ),
        ("props", "props") => Some(
            nodes::iq_result(id)
                .children([NodeBuilder::new("props").attr("protocol", "2").build()])
                .build(),
        ),
        ("blocklist", _) if ty == "get" => Some(
            nodes::iq_result(id)
                .children([NodeBuilder::new("list").build()])
                .build(),
        ),
        ("privacy", "privacy") if ty == "get" => Some(
            nodes::iq_result(id)
                .children([NodeBuilder::new("privacy").build()])
                .build(),
        ),
        // tc tokens and privacy changes: accepted
        ("privacy", _) if ty == "set" => Some(nodes::iq_result(id).build()),
        ("w:sync:app:state", "sync") => Some(app_state_sync(id, first?)),
        ("w:m", "media_conn") => super::media::media_conn(shared, id),
        _ => {
            let _ = (shared, conn);
            None
        }
    }
}

/// App-state sync: every collection is empty on the server (version 0, no patches), so
/// the client considers it synced. The simulator keeps no app-state mutations yet.
fn app_state_sync(id: &str, sync: &Node) -> Node {
    let cols = children(sync)
        .iter()
        .filter(|c| c.tag == "collection")
        .map(|c| {
            let name = attr(c, "name").unwrap_or_default();
            let version = attr(c, "version").unwrap_or_else(|| "0".to_string());
            NodeBuilder::new("collection")
                .attr("name", name)
                .attr("version", version)
                .build()
        })
        .collect::<Vec<_>>();
    nodes::iq_result(id)
        .children([NodeBuilder::new("sync").children(cols).build()])
        .build()
}

/// `xmlns="encrypt"`: prekey upload, count, digest, signed-prekey rotation, bundle fetch.
pub fn handle_encrypt(shared: &Arc<Shared>, conn: u64, id: &str, node: &Node) -> Option<Node> {
    if child(node, "key").is_some() {
        return super::router::handle_prekey_fetch(shared, conn, id, node);
    }
    let (number, device) = logged_in_as(shared, conn)?;
    let mut st = shared.state.lock().unwrap();
    let dev = st
        .dir
        .phone_mut(&number)
        .and_then(|p| p.devices.get_mut(&device))?;

    if child(node, "count").is_some() {
        return Some(
            nodes::iq_result(id)
                .children([NodeBuilder::new("count")
                    .attr("value", dev.prekeys.len().to_string())
                    .build()])
                .build(),
        );
    }
    if child(node, "digest").is_some() {
        if dev.prekeys.is_empty() {
            // No bundle on record: the client re-uploads.
            return Some(nodes::iq_error(id, 404, "item-not-found"));
        }
        let mut h = Sha1::new();
        h.update(&dev.reg.identity);
        h.update(&dev.reg.signed_prekey);
        h.update(&dev.reg.signed_prekey_sig);
        for (_, k) in &dev.prekeys {
            h.update(k);
        }
        let hash = h.finalize().to_vec();
        let ids = dev
            .prekeys
            .iter()
            .map(|(kid, _)| NodeBuilder::new("id").bytes(be3(*kid)).build());
        return Some(
            nodes::iq_result(id)
                .children([NodeBuilder::new("digest")
                    .children([
                        NodeBuilder::new("registration")
                            .bytes(dev.reg.registration_id.to_be_bytes().to_vec())
                            .build(),
                        NodeBuilder::new("type").bytes(vec![5u8]).build(),
                        NodeBuilder::new("identity")
                            .bytes(dev.reg.identity.clone())
                            .build(),
                        skey_node(&dev.reg),
                        NodeBuilder::new("list").children(ids).build(),
                        NodeBuilder::new("hash").bytes(hash).build(),
                    ])
                    .build()])
                .build(),
        );
    }
    if let Some(rotate) = child(node, "rotate") {
        if let Some(skey) = child(rotate, "skey") {
            apply_skey(&mut dev.reg, skey);
        }
        return Some(nodes::iq_result(id).build());
    }
    if child(node, "list").is_some() || child(node, "skey").is_some() {
        // Prekey upload.
        if let Some(r) = child_bytes(node, "registration").and_then(be_uint) {
            dev.reg.registration_id = r;
        }
        if let Some(i) = child_bytes(node, "identity") {
            dev.reg.identity = i.to_vec();
        }
        if let Some(skey) = child(node, "skey") {
            apply_skey(&mut dev.reg, skey);
        }
        let mut added = 0;
        if let Some(list) = child(node, "list") {
            for k in children(list).iter().filter(|k| k.tag == "key") {
                let kid = child_bytes(k, "id").and_then(be_uint);
                let val = child_bytes(k, "value");
                let val = val.and_then(|v| <[u8; 32]>::try_from(v).ok());
                if let (Some(kid), Some(val)) = (kid, val) {
                    let entry: OneTimePreKey = (kid, val);
                    dev.prekeys.retain(|(x, _)| *x != kid);
                    dev.prekeys.push_back(entry);
                    added += 1;
                }
            }
        }
        drop(st);
        shared.emit(SimEvent::PreKeysUploaded {
            number,
            device,
            count: added,
        });
        return Some(nodes::iq_result(id).build());
    }
    None
}

fn apply_skey(reg: &mut super::directory::Registration, skey: &Node) {
    if let Some(v) = child_bytes(skey, "id").and_then(be_uint) {
        reg.signed_prekey_id = v;
    }
    if let Some(v) = child_bytes(skey, "value") {
        reg.signed_prekey = v.to_vec();
    }
    if let Some(v) = child_bytes(skey, "signature") {
        reg.signed_prekey_sig = v.to_vec();
    }
}

pub fn be3(v: u32) -> Vec<u8> {
    v.to_be_bytes()[1..].to_vec()
}

pub fn skey_node(reg: &super::directory::Registration) -> Node {
    NodeBuilder::new("skey")
        .children([
            NodeBuilder::new("id")
                .bytes(be3(reg.signed_prekey_id))
                .build(),
            NodeBuilder::new("value")
                .bytes(reg.signed_prekey.clone())
                .build(),
            NodeBuilder::new("signature")
                .bytes(reg.signed_prekey_sig.clone())
                .build(),
        ])
        .build()
}

/// A companion that never got the account's app-state key gets it from the primary now
/// (right after the offline marker, when the client starts waiting for it).
fn share_app_state_key_once(shared: &Arc<Shared>, conn: u64) {
    let Some((number, device)) = logged_in_as(shared, conn) else {
        return;
    };
    {
        let mut st = shared.state.lock().unwrap();
        let Some(dev) = st
            .dir
            .phone_mut(&number)
            .and_then(|p| p.devices.get_mut(&device))
        else {
            return;
        };
        if dev.key_shared {
            return;
        }
        dev.key_shared = true;
    }
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(e) =
            super::phone::send_app_state_key_share(shared.clone(), number.clone(), device).await
        {
            log::warn!("{number}: app-state key share to device {device} failed: {e:#}");
        }
    });
}
