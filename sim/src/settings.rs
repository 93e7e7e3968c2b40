//! What the server answers about an account and itself: the account's privacy
//! settings (`xmlns="privacy"`) and the server properties (`xmlns="w"`,
//! protocol 2) and A/B props (`xmlns="abt"`, protocol 1).
//! Client side: wacore `src/iq/privacy.rs`, `src/iq/props.rs`.

use sha1::{Digest, Sha1};
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::nodes::{self, attr, child, children};
use crate::state::Shared;

/// Server properties as `config_code` -> `config_value` (the codes of
/// group_size_limit, group_max_subject, default_media_limit_mb,
/// default_video_limit_mb, default_audio_limit_mb and
/// status_video_max_duration in WhatsApp Web's registry).
const SERVER_PROPS: &[(u32, &str)] = &[
    (1304, "1024"),
    (14801, "100"),
    (3660, "16"),
    (3185, "16"),
    (3657, "16"),
    (175, "60"),
];

/// `xmlns="privacy"`: `get` lists the account's categories, `set` changes
/// categories (and accepts trusted-contact tokens).
pub(crate) fn privacy_iq(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    let ty = attr(node, "type").unwrap_or_default();
    let mut st = shared.state();
    let (number, _) = st.logged_in_as(conn)?;
    let phone = st.dir.phone_mut(&number)?;
    let privacy = child(node, "privacy");
    let categories: Vec<Node> = match (ty.as_str(), privacy) {
        ("get", Some(_)) => phone
            .privacy
            .iter()
            .map(|(name, value)| category(name, value, None))
            .collect(),
        ("set", Some(privacy)) => children(privacy)
            .iter()
            .filter(|c| c.tag == "category")
            .filter_map(|c| {
                let (name, value) = (attr(c, "name")?, attr(c, "value")?);
                match phone.privacy.iter_mut().find(|(n, _)| *n == name) {
                    Some(entry) => entry.1 = value.clone(),
                    None => phone.privacy.push((name.clone(), value.clone())),
                }
                Some(category(&name, &value, attr(c, "dhash")))
            })
            .collect(),
        // `<tokens>` (trusted-contact tokens after a first message): accepted.
        ("set", None) => return Some(nodes::iq_result(id).build()),
        _ => return None,
    };
    Some(
        nodes::iq_result(id)
            .children([NodeBuilder::new("privacy").children(categories).build()])
            .build(),
    )
}

fn category(name: &str, value: &str, dhash: Option<String>) -> Node {
    let mut b = NodeBuilder::new("category")
        .attr("name", name.to_string())
        .attr("value", value.to_string());
    if let Some(d) = dhash {
        b = b.attr("dhash", d);
    }
    b.build()
}

/// The hash naming the current server properties (clients send it back).
fn props_hash() -> String {
    let mut h = Sha1::new();
    for (code, value) in SERVER_PROPS {
        h.update(format!("{code}={value};").as_bytes());
    }
    h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<iq xmlns="w" type="get"><props protocol="2" hash=".."/></iq>`: the server
/// properties; `<iq xmlns="abt"><props protocol="1"/></iq>`: the A/B props,
/// none of which the simulator sets (whatsapp-rust's defaults hold).
pub(crate) fn props_iq(id: &str, xmlns: &str, node: &Node) -> Option<Node> {
    child(node, "props")?;
    let props = match xmlns {
        "w" => NodeBuilder::new("props")
            .attr("protocol", "2")
            .attr("hash", props_hash())
            .children(SERVER_PROPS.iter().map(|(code, value)| {
                NodeBuilder::new("prop")
                    .attr("config_code", code.to_string())
                    .attr("config_value", value.to_string())
                    .build()
            }))
            .build(),
        "abt" => NodeBuilder::new("props")
            .attr("protocol", "1")
            .attr("hash", "sim")
            .build(),
        _ => return None,
    };
    Some(nodes::iq_result(id).children([props]).build())
}
