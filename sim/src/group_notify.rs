//! The wire side of group changes: the `<group>` node that metadata
//! answers, create results and invite info carry, and the
//! `<notification type="w:gp2" from="GROUP@g.us" participant="ACTOR">`
//! stanzas (with one `<add|remove|promote|demote|subject|description|...>`
//! child, as wacore's `stanza/groups.rs` parses them) sent to the devices of
//! those a change concerns.

use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::delivery::deliver;
use crate::devices::listed_devices;
use crate::groups::{Actor, Group, Role};
use crate::nodes::{new_id, pn_jid, unix_now};
use crate::state::State;

/// `<participant jid type? lid?>` for a member or a number.
pub(crate) fn participant_node(st: &State, number: &str, role: Option<Role>) -> Node {
    let mut b = NodeBuilder::new("participant").attr("jid", pn_jid(number));
    if let Some(t) = role.and_then(Role::wire) {
        b = b.attr("type", t);
    }
    if let Some(p) = st.dir.phone(number) {
        b = b.attr("lid", p.lid_jid());
    }
    b.build()
}

/// The `<group>` node of metadata answers, create results and invite info.
pub(crate) fn group_node(st: &State, g: &Group) -> Node {
    let mut kids: Vec<Node> = g
        .participants
        .iter()
        .map(|m| participant_node(st, &m.number, Some(m.role)))
        .collect();
    if let Some(d) = &g.description {
        kids.push(
            NodeBuilder::new("description")
                .attr("id", d.id.clone())
                .attr("participant", pn_jid(&d.owner))
                .attr("t", d.time.to_string())
                .children([NodeBuilder::new("body")
                    .string_content(d.text.clone())
                    .build()])
                .build(),
        );
    }
    if g.locked {
        kids.push(NodeBuilder::new("locked").build());
    }
    if g.announcement {
        kids.push(NodeBuilder::new("announcement").build());
    }
    if g.ephemeral > 0 {
        kids.push(
            NodeBuilder::new("ephemeral")
                .attr("expiration", g.ephemeral.to_string())
                .build(),
        );
    }
    if g.approval {
        kids.push(
            NodeBuilder::new("membership_approval_mode")
                .children([NodeBuilder::new("group_join").attr("state", "on").build()])
                .build(),
        );
    }
    kids.push(
        NodeBuilder::new("member_add_mode")
            .string_content(if g.all_member_add {
                "all_member_add"
            } else {
                "admin_add"
            })
            .build(),
    );
    kids.push(
        NodeBuilder::new("member_link_mode")
            .string_content("admin_link")
            .build(),
    );
    NodeBuilder::new("group")
        .attr("id", g.id.clone())
        .attr("subject", g.subject.clone())
        .attr("s_o", pn_jid(&g.subject_owner))
        .attr("s_t", g.subject_time.to_string())
        .attr("creator", pn_jid(&g.creator))
        .attr("creation", g.creation.to_string())
        .attr("addressing_mode", "pn")
        .attr("size", g.participants.len().to_string())
        .children(kids)
        .build()
}

/// Sends `<notification type="w:gp2">` with `child` to every device of the
/// group's members and of `extra` (people who just left or were removed),
/// except the acting device.
pub(crate) fn notify(st: &mut State, gid: &str, actor: Actor<'_>, child: Node, extra: &[String]) {
    let mut numbers = st.groups.get(gid).map(Group::numbers).unwrap_or_default();
    numbers.extend(extra.iter().cloned());
    notify_to(st, gid, actor, child, numbers);
}

/// Like [`notify`], to the group's admins only.
pub(crate) fn notify_admins(st: &mut State, gid: &str, actor: Actor<'_>, child: Node) {
    let admins = st
        .groups
        .get(gid)
        .map(|g| {
            g.participants
                .iter()
                .filter(|m| m.role.is_admin())
                .map(|m| m.number.clone())
                .collect()
        })
        .unwrap_or_default();
    notify_to(st, gid, actor, child, admins);
}

/// The group notification `child` to every device of `numbers` but the actor's.
pub(crate) fn notify_to(
    st: &mut State,
    gid: &str,
    actor: Actor<'_>,
    child: Node,
    mut numbers: Vec<String>,
) {
    let Some(g) = st.groups.get(gid) else {
        return;
    };
    numbers.sort();
    numbers.dedup();
    let notify_name = st
        .dir
        .phone(actor.number)
        .map(|p| p.name.clone())
        .unwrap_or_default();
    let node = NodeBuilder::new("notification")
        .attr("from", g.jid())
        .attr("type", "w:gp2")
        .attr("id", new_id())
        .attr("t", unix_now().to_string())
        .attr("participant", pn_jid(actor.number))
        .attr("notify", notify_name)
        .attr("addressing_mode", "pn")
        .children([child])
        .build();
    for number in numbers {
        let devices: Vec<u32> = st
            .dir
            .phone(&number)
            .map(|p| listed_devices(p).into_iter().map(|(d, _)| d).collect())
            .unwrap_or_default();
        for d in devices {
            if !(number == actor.number && d == actor.device) {
                deliver(st, &number, d, node.clone());
            }
        }
    }
}

/// `<add|remove|...><participant/>...</...>` naming `numbers`.
pub(crate) fn change_node(
    st: &State,
    tag: &'static str,
    numbers: &[String],
    reason: Option<&str>,
) -> Node {
    let mut b = NodeBuilder::new(tag);
    if let Some(r) = reason {
        b = b.attr("reason", r.to_string());
    }
    b.children(numbers.iter().map(|n| participant_node(st, n, None)))
        .build()
}
