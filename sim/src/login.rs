//! Login of a paired device and the IQs a client sends on its way to `Connected`:
//! `<success>`, passive/active + offline marker, blocklist, app-state sync,
//! keepalive, media_conn (prekeys: `prekeys.rs`; privacy and props:
//! `settings.rs`).
//! Client side: whatsapp-rust `src/client/node_io.rs` (post-login sequence).

use std::sync::Arc;

use anyhow::anyhow;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::delivery::{deliver_offline, drop_conn};
use crate::nodes::{self, SERVER, attr, child, children, device_lid_jid, unix_now};
use crate::phone_send;
use crate::state::{ConnRole, Shared, SimEvent};

/// A login `ClientPayload` (username + device) arrived over a finished handshake.
pub(crate) fn on_login(
    shared: &Arc<Shared>,
    conn: u64,
    username: u64,
    device: u32,
    client_static: &[u8; 32],
) -> anyhow::Result<()> {
    let number = username.to_string();
    let mut st = shared.state();
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
                h.send(NodeBuilder::new("failure").attr("reason", "401").build());
                h.close();
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
        .filter(|(id, h)| **id != conn && h.logged_in() == Some((number.as_str(), device)))
        .map(|(id, _)| *id)
        .collect();
    for old in replaced {
        log::info!("conn {old}: replaced by conn {conn}");
        if let Some(h) = st.conns.get(&old) {
            h.send(
                NodeBuilder::new("stream:error")
                    .children([NodeBuilder::new("conflict")
                        .attr("type", "replaced")
                        .build()])
                    .build(),
            );
        }
        drop_conn(&mut st, old);
    }

    let h = st
        .conns
        .get_mut(&conn)
        .ok_or_else(|| anyhow!("connection vanished"))?;
    h.role = ConnRole::LoggedIn {
        number: number.clone(),
        device,
    };
    h.send(
        NodeBuilder::new("success")
            .attr("t", unix_now().to_string())
            .attr("lid", device_lid_jid(&lid, device))
            .attr("props", "1")
            .attr("location", "sim")
            .build(),
    );
    drop(st);
    shared.emit(SimEvent::LoggedIn {
        conn,
        number,
        device,
    });
    Ok(())
}

/// Called after the reply to an IQ was queued.
pub(crate) fn after_iq(shared: &Arc<Shared>, conn: u64, xmlns: &str, node: &Node) {
    if xmlns == "passive" && child(node, "active").is_some() {
        // Stanzas queued while the device was away go first, then the marker that ends
        // the offline phase (without it the client waits 60 s before its first send).
        let count = deliver_offline(shared, conn);
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
        welcome_once(shared, conn);
    }
}

/// IQs not covered by another module. `None` = not implemented.
pub(crate) fn handle_iq(shared: &Shared, id: &str, xmlns: &str, node: &Node) -> Option<Node> {
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
        ("blocklist", _) if ty == "get" => Some(
            nodes::iq_result(id)
                .children([NodeBuilder::new("list").build()])
                .build(),
        ),
        ("w:sync:app:state", "sync") => Some(app_state_sync(id, first?)),
        ("w:m", "media_conn") => Some(crate::media::media_conn(shared, id)),
        _ => None,
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

/// A companion logging in for the first time since it was linked gets from
/// its phone, right after the offline marker (when it starts waiting for
/// them): the account's app-state key, then the initial history sync.
fn welcome_once(shared: &Arc<Shared>, conn: u64) {
    let (number, device) = {
        let mut st = shared.state();
        let Some((number, device)) = st.logged_in_as(conn) else {
            return;
        };
        let Some(dev) = st
            .dir
            .phone_mut(&number)
            .and_then(|p| p.devices.get_mut(&device))
        else {
            return;
        };
        if dev.welcomed {
            return;
        }
        dev.welcomed = true;
        (number, device)
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Err(e) = phone_send::send_app_state_key_share(&shared, &number, device).await {
            log::warn!("{number}: app-state key share to device {device} failed: {e:#}");
        }
        if let Err(e) = phone_send::send_initial_history(&shared, &number, device).await {
            log::warn!("{number}: history sync to device {device} failed: {e:#}");
        }
    });
}
