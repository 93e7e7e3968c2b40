//! Small helpers over wacore-binary's owned `Node`, JIDs and the clock.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Jid, Node, NodeContent};

pub const SERVER: &str = "s.whatsapp.net";

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn unix_now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub fn parse_jid(s: &str) -> Option<Jid> {
    s.parse().ok()
}

/// `NUMBER@s.whatsapp.net`: an account (all its devices).
pub fn pn_jid(number: &str) -> String {
    format!("{number}@{SERVER}")
}

/// `NUMBER:DEVICE@s.whatsapp.net` (device 0, the primary, has no suffix).
pub fn device_pn_jid(number: &str, device: u32) -> String {
    if device == 0 {
        pn_jid(number)
    } else {
        format!("{number}:{device}@{SERVER}")
    }
}

/// `LID:DEVICE@lid` (device 0 has no suffix).
pub fn device_lid_jid(lid: &str, device: u32) -> String {
    if device == 0 {
        format!("{lid}@lid")
    } else {
        format!("{lid}:{device}@lid")
    }
}

/// An attribute as a string (JID-typed attributes are rendered).
pub fn attr(node: &Node, key: &str) -> Option<String> {
    node.attrs.get(key).map(|v| v.as_str().into_owned())
}

/// Binary (or string) content of a node.
pub fn content_bytes(node: &Node) -> Option<&[u8]> {
    match &node.content {
        Some(NodeContent::Bytes(b)) => Some(b),
        Some(NodeContent::String(s)) => Some(s.as_bytes()),
        _ => None,
    }
}

pub fn child<'a>(node: &'a Node, tag: &str) -> Option<&'a Node> {
    node.get_optional_child(tag)
}

pub fn child_bytes<'a>(node: &'a Node, tag: &str) -> Option<&'a [u8]> {
    child(node, tag).and_then(content_bytes)
}

pub fn children(node: &Node) -> &[Node] {
    node.children().unwrap_or(&[])
}

/// Big-endian unsigned integer from 1..=4 bytes (registration ids, prekey ids).
pub fn be_uint(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 4 {
        return None;
    }
    Some(bytes.iter().fold(0u32, |acc, b| (acc << 8) | *b as u32))
}

/// `<iq type="result" id=.. from="s.whatsapp.net">` for a client IQ.
pub fn iq_result(id: &str) -> NodeBuilder {
    NodeBuilder::new("iq")
        .attr("type", "result")
        .attr("id", id.to_string())
        .attr("from", SERVER)
}

/// `<iq type="error" id=..><error code text/></iq>`.
pub fn iq_error(id: &str, code: u16, text: &str) -> Node {
    NodeBuilder::new("iq")
        .attr("type", "error")
        .attr("id", id.to_string())
        .attr("from", SERVER)
        .children([NodeBuilder::new("error")
            .attr("code", code.to_string())
            .attr("text", text.to_string())
            .build()])
        .build()
}

/// The 3-byte big-endian form of prekey ids on the wire.
pub fn be3(v: u32) -> Vec<u8> {
    v.to_be_bytes()[1..].to_vec()
}

/// A fresh stanza id for server-initiated stanzas.
pub fn new_id() -> String {
    use rand::RngExt as _;
    let n: u64 = rand::rng().random();
    format!("{n:016X}")
}
