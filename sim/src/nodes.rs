//! Small helpers over wacore-binary's owned `Node`.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Node, NodeContent};

pub const SERVER: &str = "s.whatsapp.net";

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
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

/// A fresh stanza id for server-initiated stanzas.
pub fn new_id() -> String {
    use rand::RngExt as _;
    let n: u64 = rand::rng().random();
    format!("{n:016X}")
}
