//! `xmlns="encrypt"`: a device's prekey upload, count, digest and signed-prekey
//! rotation, and the prekey bundles peers fetch to start sessions with it.

use sha1::{Digest, Sha1};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::delivery::deliver;
use crate::nodes::{
    self, SERVER, attr, be_uint, be3, child, child_bytes, children, parse_jid, unix_now,
};
use crate::signal::{OneTimePreKey, Registration};
use crate::state::{Shared, SimEvent};

/// Below this many one-time prekeys a device is told to upload more.
const PREKEY_LOW: usize = 5;

/// `xmlns="encrypt"`: prekey upload, count, digest, signed-prekey rotation, bundle fetch.
pub(crate) fn handle_encrypt(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    if child(node, "key").is_some() {
        return handle_prekey_fetch(shared, id, node);
    }
    let mut st = shared.state();
    let (number, device) = st.logged_in_as(conn)?;
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

fn apply_skey(reg: &mut Registration, skey: &Node) {
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

fn skey_node(reg: &Registration) -> Node {
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

/// `<iq xmlns="encrypt" type="get"><key><user jid reason/>…</key></iq>`: prekey bundles.
fn handle_prekey_fetch(shared: &Shared, id: &str, node: &Node) -> Option<Node> {
    let key = child(node, "key")?;
    let mut st = shared.state();
    let mut users = Vec::new();
    let mut low: Vec<(String, u32)> = Vec::new();
    for user in children(key).iter().filter(|u| u.tag == "user") {
        let Some(asked) = attr(user, "jid") else {
            continue;
        };
        let bundle = parse_jid(&asked).and_then(|j| {
            let number = st.dir.resolve(&j)?.number.clone();
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
