//! `xmlns="usync"` queries: device lists, LIDs and contacts ("is this number on
//! WhatsApp"); other protocols are answered empty.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::devices::{key_index_list, listed_devices};
use crate::nodes::{self, attr, child, children, content_bytes, parse_jid, unix_now};
use crate::state::Shared;

/// `xmlns="usync"` queries: devices, lid, contact (others are answered empty).
pub(crate) fn handle_usync(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    let usync = child(node, "usync")?;
    let query = child(usync, "query")?;
    let protocols: Vec<String> = children(query).iter().map(|q| q.tag.to_string()).collect();
    let want = |p: &str| protocols.iter().any(|x| x == p);
    let st = shared.state();
    let asker = st.logged_in_as(conn).map(|(n, _)| n);
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
            (Some(j), _) => parse_jid(j).and_then(|j| st.dir.resolve(&j)),
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
            kids.extend(crate::profile::usync_children(p, asker.as_deref(), &want));
        }
        let mut user_node = NodeBuilder::new("user").attr("jid", reply_jid.clone());
        // A LID asked for comes back with its phone number, as WhatsApp answers.
        if let (Some(p), Some(j)) = (phone, parse_jid(&reply_jid))
            && j.server == wacore_binary::Server::Lid
        {
            user_node = user_node.attr("pn_jid", p.pn_jid());
        }
        users.push(user_node.children(kids).build());
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
