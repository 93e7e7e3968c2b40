//! Router and key directory between real clients: usync (device lists, LIDs, contacts),
//! prekey bundles, `<message>` fan-out with server acks, `<receipt>` relay, and the
//! per-device offline queue. The server never decrypts `<enc>` payloads.

use std::sync::Arc;

use buffa::Message as _;
use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, Server};
use waproto::whatsapp as wa;

use super::directory::Phone;
use super::login::{be3, logged_in_as, skey_node};
use super::nodes::{self, SERVER, attr, child, children, content_bytes, unix_now};
use super::{ConnRole, Outbound, Shared, State};

/// Prefix of the account signature over an `ADVKeyIndexList` (the client does not check it).
const ADV_PREFIX_KEY_INDEX_LIST: &[u8] = &[6, 2];

fn parse_jid(s: &str) -> Option<Jid> {
    s.parse().ok()
}

fn device_pn_jid(number: &str, device: u32) -> String {
    if device == 0 {
        format!("{number}@s.whatsapp.net")
    } else {
        format!("{number}:{device}@s.whatsapp.net")
    }
}

fn device_lid_jid(lid: &str, device: u32) -> String {
    if device == 0 {
        format!("{lid}@lid")
    } else {
        format!("{lid}:{device}@lid")
    }
}

fn resolve<'a>(st: &'a State, jid: &Jid) -> Option<&'a Phone> {
    match jid.server {
        Server::Lid => st.dir.resolve_user(&jid.user, true),
        Server::Pn => st.dir.resolve_user(&jid.user, false),
        _ => None,
    }
}

/// Below this many one-time prekeys a device is told to upload more.
const PREKEY_LOW: usize = 5;

/// Companion devices a peer may encrypt to: linked, signed, with registered keys.
fn listed_devices(phone: &Phone) -> Vec<(u32, u32)> {
    phone
        .devices
        .values()
        .filter(|d| d.id == 0 || d.adv_identity.is_some())
        .map(|d| (d.id, d.key_index))
        .collect()
}

/// `<notification type="devices"><add|remove>` telling an account's other devices that
/// `device` was linked or unlinked (they refresh their cached device list).
pub(crate) fn devices_notification(
    phone: &Phone,
    op: &'static str,
    device: u32,
    key_index: u32,
) -> Node {
    NodeBuilder::new("notification")
        .attr("from", phone.pn_jid())
        .attr("type", "devices")
        .attr("id", nodes::new_id())
        .attr("t", unix_now().to_string())
        .children([NodeBuilder::new(op)
            .children([
                NodeBuilder::new("device")
                    .attr("jid", device_pn_jid(&phone.number, device))
                    .attr("key-index", key_index.to_string())
                    .build(),
                NodeBuilder::new("key-index-list")
                    .attr("ts", unix_now().to_string())
                    .bytes(key_index_list(phone))
                    .build(),
            ])
            .build()])
        .build()
}

/// Send a devices notification to every companion of the account except `device`.
pub(crate) fn notify_own_devices(
    st: &mut State,
    number: &str,
    op: &'static str,
    device: u32,
    key_index: u32,
) {
    let Some(phone) = st.dir.phone(number) else {
        return;
    };
    let node = devices_notification(phone, op, device, key_index);
    let others: Vec<u32> = phone
        .devices
        .keys()
        .copied()
        .filter(|d| *d != 0 && *d != device)
        .collect();
    for d in others {
        deliver(st, number, d, node.clone());
    }
}

fn key_index_list(phone: &Phone) -> Vec<u8> {
    let valid = phone.valid_key_indexes();
    let details = wa::ADVKeyIndexList {
        raw_id: Some(phone.created_at as u32),
        timestamp: Some(unix_now()),
        current_index: Some(valid.iter().copied().max().unwrap_or(0)),
        valid_indexes: valid,
        account_type: Some(wa::ADVEncryptionType::E2EE),
    }
    .encode_to_vec();
    let mut msg = ADV_PREFIX_KEY_INDEX_LIST.to_vec();
    msg.extend_from_slice(&details);
    let sig = phone
        .account_kp
        .private_key
        .calculate_signature(&msg, &mut rand::rng())
        .map(|s| s.to_vec())
        .unwrap_or_default();
    wa::ADVSignedKeyIndexList {
        details: Some(details),
        account_signature: Some(sig),
        account_signature_key: Some(phone.account_kp.public_key.public_key_bytes().to_vec()),
    }
    .encode_to_vec()
}

/// `xmlns="usync"` queries: devices, lid, contact (others are answered empty).
pub fn handle_usync(shared: &Arc<Shared>, _conn: u64, id: &str, node: &Node) -> Option<Node> {
    let usync = child(node, "usync")?;
    let query = child(usync, "query")?;
    let protocols: Vec<String> = children(query).iter().map(|q| q.tag.to_string()).collect();
    let want = |p: &str| protocols.iter().any(|x| x == p);
    let st = shared.state.lock().unwrap();
    let mut users = Vec::new();
    for user in children(child(usync, "list")?)
        .iter()
        .filter(|u| u.tag == "user")
    {
        let asked_jid = attr(user, "jid");
        let contact = child(user, "contact")
            .and_then(content_bytes)
            .map(|b| String::from_utf8_lossy(b).to_string());
        let phone = match (&asked_jid, &contact) {
            (Some(j), _) => parse_jid(j).and_then(|j| resolve(&st, &j)),
            (None, Some(c)) => {
                let digits: String = c.chars().filter(char::is_ascii_digit).collect();
                st.dir.phone(&digits)
            }
            _ => None,
        };
        let reply_jid = match (&asked_jid, phone, &contact) {
            (Some(j), _, _) => j.clone(),
            (None, Some(p), _) => p.pn_jid(),
            (None, None, Some(c)) => {
                let digits: String = c.chars().filter(char::is_ascii_digit).collect();
                format!("{digits}@s.whatsapp.net")
            }
            _ => continue,
        };
        let mut kids = Vec::new();
        if want("contact") {
            let mut b = NodeBuilder::new("contact")
                .attr("type", if phone.is_some() { "in" } else { "out" });
            if let Some(c) = &contact {
                b = b.string_content(c.as_str());
            }
            kids.push(b.build());
        }
        if let Some(p) = phone {
            if want("devices") {
                let devs = listed_devices(p);
                let mut dkids = vec![
                    NodeBuilder::new("device-list")
                        .children(devs.iter().map(|(d, ki)| {
                            let b = NodeBuilder::new("device").attr("id", d.to_string());
                            if *d == 0 {
                                b.build()
                            } else {
                                b.attr("key-index", ki.to_string()).build()
                            }
                        }))
                        .build(),
                ];
                if devs.iter().any(|(d, _)| *d != 0) {
                    dkids.push(
                        NodeBuilder::new("key-index-list")
                            .attr("ts", unix_now().to_string())
                            .bytes(key_index_list(p))
                            .build(),
                    );
                }
                kids.push(NodeBuilder::new("devices").children(dkids).build());
            }
            if want("lid") {
                kids.push(NodeBuilder::new("lid").attr("val", p.lid_jid()).build());
            }
        }
        users.push(
            NodeBuilder::new("user")
                .attr("jid", reply_jid)
                .children(kids)
                .build(),
        );
    }
    let mut out = NodeBuilder::new("usync");
    for key in ["sid", "mode", "context", "index", "last"] {
        if let Some(v) = attr(usync, key) {
            out = out.attr(key, v);
        }
    }
    let result = NodeBuilder::new("result")
        .children(
            protocols
                .iter()
                .map(|p| NodeBuilder::new_dynamic(p.clone()).build()),
        )
        .build();
    Some(
        nodes::iq_result(id)
            .children([out
                .children([result, NodeBuilder::new("list").children(users).build()])
                .build()])
            .build(),
    )
}

/// `<iq xmlns="encrypt" type="get"><key><user jid reason/>…</key></iq>`: prekey bundles.
pub fn handle_prekey_fetch(
    shared: &Arc<Shared>,
    _conn: u64,
    id: &str,
    node: &Node,
) -> Option<Node> {
    let key = child(node, "key")?;
    let mut st = shared.state.lock().unwrap();
    let mut users = Vec::new();
    let mut low: Vec<(String, u32)> = Vec::new();
    for user in children(key).iter().filter(|u| u.tag == "user") {
        let Some(asked) = attr(user, "jid") else {
            continue;
        };
        let bundle = parse_jid(&asked).and_then(|j| {
            let number = resolve(&st, &j)?.number.clone();
            let phone = st.dir.phone_mut(&number)?;
            let dev = phone.devices.get_mut(&(j.device as u32))?;
            if dev.id != 0 {
                dev.adv_identity.as_ref()?; // not fully linked yet
            }
            let mut kids = vec![
                NodeBuilder::new("registration")
                    .bytes(dev.reg.registration_id.to_be_bytes().to_vec())
                    .build(),
                NodeBuilder::new("type").bytes(vec![5u8]).build(),
                NodeBuilder::new("identity")
                    .bytes(dev.reg.identity.clone())
                    .build(),
                skey_node(&dev.reg),
            ];
            let popped = dev.prekeys.pop_front();
            if dev.id != 0 && popped.is_some() && dev.prekeys.len() < PREKEY_LOW {
                low.push((number.clone(), dev.id));
            }
            if let Some((kid, val)) = popped {
                kids.push(
                    NodeBuilder::new("key")
                        .children([
                            NodeBuilder::new("id").bytes(be3(kid)).build(),
                            NodeBuilder::new("value").bytes(val.to_vec()).build(),
                        ])
                        .build(),
                );
            }
            if let Some(adv) = &dev.adv_identity {
                kids.push(
                    NodeBuilder::new("device-identity")
                        .bytes(adv.clone())
                        .build(),
                );
            }
            Some(kids)
        });
        let kids = bundle.unwrap_or_else(|| {
            vec![
                NodeBuilder::new("error")
                    .attr("code", "406")
                    .attr("text", "not-acceptable")
                    .build(),
            ]
        });
        users.push(
            NodeBuilder::new("user")
                .attr("jid", asked)
                .children(kids)
                .build(),
        );
    }
    for (number, device) in low {
        // `<notification type="encrypt"><count/>`: the device uploads a new batch.
        let n = NodeBuilder::new("notification")
            .attr("from", SERVER)
            .attr("type", "encrypt")
            .attr("id", nodes::new_id())
            .attr("t", unix_now().to_string())
            .children([NodeBuilder::new("count").attr("value", "0").build()])
            .build();
        deliver(&mut st, &number, device, n);
    }
    Some(
        nodes::iq_result(id)
            .children([NodeBuilder::new("list").children(users).build()])
            .build(),
    )
}

/// Deliver a stanza to a device now, or keep it for its next login.
pub(crate) fn deliver(st: &mut State, number: &str, device: u32, node: Node) {
    if device == 0 {
        // The primary is simulated: its inbox, or its queue while it is offline.
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
    let online = st.conns.values_mut().find(|h| {
        matches!(&h.role, ConnRole::LoggedIn { number: n, device: d } if n == number && *d == device)
    });
    if let Some(h) = online {
        if node.tag == "message" {
            h.unacked.push(node.clone());
        }
        let _ = h.tx.send(Outbound::Node(node));
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
pub fn deliver_offline(shared: &Arc<Shared>, conn: u64) -> usize {
    let Some((number, device)) = logged_in_as(shared, conn) else {
        return 0;
    };
    let mut st = shared.state.lock().unwrap();
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
            let _ = h.tx.send(Outbound::Node(node));
        }
    }
    n
}

/// The client acknowledged a stanza: a `<message>` is no longer redelivered.
pub fn on_ack(shared: &Arc<Shared>, conn: u64, node: &Node) {
    if attr(node, "class").as_deref() != Some("message") {
        return;
    }
    let Some(id) = attr(node, "id") else { return };
    let mut st = shared.state.lock().unwrap();
    if let Some(h) = st.conns.get_mut(&conn) {
        h.unacked
            .retain(|m| attr(m, "id").as_deref() != Some(id.as_str()));
    }
}

/// A connection ended: what it never acknowledged waits for the device's
/// next login, ahead of anything queued since.
pub(crate) fn requeue_unacked(st: &mut State, h: &super::ConnHandle) {
    let ConnRole::LoggedIn { number, device } = &h.role else {
        return;
    };
    if h.unacked.is_empty() {
        return;
    }
    if let Some(dev) = st
        .dir
        .phone_mut(number)
        .and_then(|p| p.devices.get_mut(device))
    {
        for node in h.unacked.iter().rev().cloned() {
            dev.offline_queue.push_front(node);
        }
    }
}

/// A client sends a `<message>`: fan it out per `<to jid>` and ack the sender.
pub fn on_message(shared: &Arc<Shared>, conn: u64, node: Node) {
    let Some((number, device)) = logged_in_as(shared, conn) else {
        return;
    };
    let id = attr(&node, "id").unwrap_or_default();
    let to = attr(&node, "to").unwrap_or_default();
    let ty = attr(&node, "type").unwrap_or_else(|| "text".to_string());
    let now = unix_now();
    let mut st = shared.state.lock().unwrap();
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

    // (target number, target device, enc)
    let mut targets: Vec<(String, u32, Node)> = Vec::new();
    if let Some(parts) = child(&node, "participants") {
        for t in children(parts).iter().filter(|t| t.tag == "to") {
            let Some(j) = attr(t, "jid").and_then(|s| parse_jid(&s)) else {
                continue;
            };
            let Some(p) = resolve(&st, &j) else {
                continue;
            };
            for enc in children(t).iter().filter(|e| e.tag == "enc") {
                targets.push((p.number.clone(), j.device as u32, enc.clone()));
            }
        }
    } else if let Some(j) = &to_jid {
        // A single-device stanza (e.g. a retry resend) carries <enc> directly.
        if let Some(p) = resolve(&st, j) {
            for enc in children(&node).iter().filter(|e| e.tag == "enc") {
                targets.push((p.number.clone(), j.device as u32, enc.clone()));
            }
        }
    }
    match &to_jid {
        Some(j) if j.server == Server::Group || j.server == Server::Broadcast => {
            error = Some("479"); // groups and broadcasts are not simulated yet
        }
        Some(j) if resolve(&st, j).is_none() => error = Some("479"),
        None => error = Some("400"),
        _ => {}
    }

    let peer_pn = to_jid
        .as_ref()
        .and_then(|j| resolve(&st, j))
        .map(|p| p.pn_jid());
    for (tnum, tdev, enc) in targets {
        let own = tnum == number;
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

    let mut ack = NodeBuilder::new("ack")
        .attr("class", "message")
        .attr("id", id)
        .attr("from", to)
        .attr("t", now.to_string());
    if let Some(e) = error {
        ack = ack.attr("error", e);
    }
    if let Some(h) = st.conns.get(&conn) {
        let _ = h.tx.send(Outbound::Node(ack.build()));
    }
}

/// A client sends a `<receipt>`: relay it to the addressed device(s) and ack it.
pub fn on_receipt(shared: &Arc<Shared>, conn: u64, node: Node) {
    let Some((number, device)) = logged_in_as(shared, conn) else {
        return;
    };
    let id = attr(&node, "id").unwrap_or_default();
    let to = attr(&node, "to").unwrap_or_default();
    let ty = attr(&node, "type");
    let mut st = shared.state.lock().unwrap();
    if let Some(j) = parse_jid(&to)
        && let Some(p) = resolve(&st, &j)
    {
        let target = p.number.clone();
        // A device-qualified `to` goes to that device; a bare user to all its devices.
        let devices: Vec<u32> = if j.device != 0 {
            vec![j.device as u32]
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
        let _ = h.tx.send(Outbound::Node(ack.build()));
    }
}
