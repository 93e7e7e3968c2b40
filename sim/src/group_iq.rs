//! `xmlns="w:g2"` IQs as wacore's `iq/groups.rs` builds them, answered in the
//! shapes it parses. To the group server (`to="@g.us"`): `<create>`,
//! `<participating>`, `<leave>`, `<invite code>` (get: info, set: join). To a
//! group: `<query>`, `<add|remove|promote|demote>`, `<subject>`,
//! `<description>`, `<invite/>` (get, or set to revoke), the settings
//! toggles, `<membership_approval_requests/>`, `<membership_requests_action>`,
//! `<member_add_mode>`, `<ack/>`. A refused operation is an IQ error, never a
//! dropped connection.

use wacore_binary::builder::NodeBuilder;
use wacore_binary::{Node, NodeContent};

use crate::group_notify;
use crate::group_ops::{self, Actor, Change, GroupError, NewGroup, Setting};
use crate::groups::group_id_of;
use crate::nodes::{attr, child, children, content_bytes, iq_error, iq_result, parse_jid, pn_jid};
use crate::state::{Shared, State};

/// Answers one `w:g2` IQ from connection `conn`; `None` if it is not one we know.
pub(crate) fn handle(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    let mut st = shared.state();
    let Some((number, device)) = st.logged_in_as(conn) else {
        return Some(iq_error(id, 401, "not-authorized"));
    };
    let actor = Actor {
        number: &number,
        device,
    };
    let to = attr(node, "to").unwrap_or_default();
    let gid = group_id_of(&to);
    let to_server = gid.is_empty() || gid == "g.us";
    let set = attr(node, "type").as_deref() == Some("set");
    let op = children(node).first()?;
    let tag = op.tag.as_ref();
    let reply = if to_server {
        server_iq(&mut st, actor, set, op)?
    } else {
        group_iq(&mut st, actor, gid, set, tag, op)?
    };
    Some(match reply {
        Ok(kids) => iq_result(id).children(kids).build(),
        Err(e) => iq_error(id, e.code, e.text),
    })
}

type Reply = Result<Vec<Node>, GroupError>;

/// The account a participant JID names (a number; an unknown one as given).
fn number_of(st: &State, jid: &str) -> String {
    parse_jid(jid)
        .and_then(|j| st.dir.resolve(&j).map(|p| p.number.clone()))
        .unwrap_or_else(|| jid.split(['@', ':']).next().unwrap_or_default().to_string())
}

/// The `jid`s of `<participant>` children.
fn participant_jids(node: &Node) -> Vec<String> {
    children(node)
        .iter()
        .filter(|c| c.tag == "participant")
        .filter_map(|c| attr(c, "jid"))
        .collect()
}

/// `<participant jid error?>` per asked JID.
fn results(jids: &[String], outcome: &[Option<u16>]) -> Vec<Node> {
    jids.iter()
        .zip(outcome)
        .map(|(j, r)| {
            let b = NodeBuilder::new("participant").attr("jid", j.clone());
            match r {
                Some(code) => b.attr("error", code.to_string()).build(),
                None => b.build(),
            }
        })
        .collect()
}

fn text_of(node: &Node) -> String {
    content_bytes(node)
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .unwrap_or_default()
}

fn server_iq(st: &mut State, actor: Actor<'_>, set: bool, op: &Node) -> Option<Reply> {
    Some(match (op.tag.as_ref(), set) {
        ("create", true) => create(st, actor, op),
        ("participating", false) => {
            let groups: Vec<Node> = st
                .groups
                .of_member(actor.number)
                .into_iter()
                .map(|g| group_notify::group_node(st, g))
                .collect();
            Ok(vec![NodeBuilder::new("groups").children(groups).build()])
        }
        ("leave", true) => {
            let ids: Vec<String> = children(op)
                .iter()
                .filter(|c| c.tag == "group")
                .filter_map(|c| attr(c, "id"))
                .collect();
            if ids.is_empty() {
                return Some(Err(GroupError::BAD_REQUEST));
            }
            ids.iter()
                .try_for_each(|g| group_ops::leave(st, actor, group_id_of(g)))
                .map(|()| Vec::new())
        }
        ("invite", _) => {
            let Some(code) = attr(op, "code") else {
                return Some(Err(GroupError::BAD_REQUEST));
            };
            if set {
                group_ops::join(st, actor, &code).map(|j| {
                    let jid = format!("{}@g.us", j.gid);
                    let tag = if j.pending {
                        "membership_approval_request"
                    } else {
                        "group"
                    };
                    vec![NodeBuilder::new(tag).attr("jid", jid).build()]
                })
            } else {
                group_ops::by_code(st, &code).map(|g| vec![group_notify::group_node(st, g)])
            }
        }
        _ => return None,
    })
}

fn create(st: &mut State, actor: Actor<'_>, op: &Node) -> Reply {
    let jids = participant_jids(op);
    let new = NewGroup {
        subject: attr(op, "subject").unwrap_or_default(),
        participants: jids.iter().map(|j| number_of(st, j)).collect(),
        description: child(op, "description")
            .and_then(|d| child(d, "body"))
            .map(text_of),
        ephemeral: child(op, "ephemeral")
            .and_then(|e| attr(e, "expiration"))
            .and_then(|e| e.parse().ok())
            .unwrap_or(0),
        approval: child(op, "membership_approval_mode")
            .and_then(|m| child(m, "group_join"))
            .and_then(|j| attr(j, "state"))
            .as_deref()
            == Some("on"),
        all_member_add: child(op, "member_add_mode")
            .map(text_of)
            .is_none_or(|m| m != "admin_add"),
    };
    let (gid, outcome) = group_ops::create(st, actor, &new)?;
    let g = st.groups.get(&gid).ok_or(GroupError::NOT_FOUND)?;
    let mut node = group_notify::group_node(st, g);
    // Participants that could not be added are listed with their error, as WhatsApp does.
    let failed: Vec<Node> = results(&jids, &outcome)
        .into_iter()
        .zip(&outcome)
        .filter(|(_, r)| r.is_some())
        .map(|(n, _)| n)
        .collect();
    if let Some(NodeContent::Nodes(kids)) = &mut node.content {
        kids.extend(failed);
    }
    Ok(vec![node])
}

fn group_iq(
    st: &mut State,
    actor: Actor<'_>,
    gid: &str,
    set: bool,
    tag: &str,
    op: &Node,
) -> Option<Reply> {
    match (tag, set) {
        ("query", false) => Some(match st.groups.get(gid) {
            Some(g) if g.member(actor.number).is_some() => {
                Ok(vec![group_notify::group_node(st, g)])
            }
            Some(_) => Err(GroupError::NOT_MEMBER),
            None => Err(GroupError::NOT_FOUND),
        }),
        ("add" | "remove" | "promote" | "demote", true) => {
            let change = Change::parse(tag)?;
            let jids = participant_jids(op);
            let numbers: Vec<String> = jids.iter().map(|j| number_of(st, j)).collect();
            Some(
                group_ops::change(st, actor, gid, change, &numbers).map(|outcome| {
                    vec![
                        NodeBuilder::new(change.tag())
                            .children(results(&jids, &outcome))
                            .build(),
                    ]
                }),
            )
        }
        ("subject", true) => {
            Some(group_ops::set_subject(st, actor, gid, &text_of(op)).map(|()| Vec::new()))
        }
        ("description", true) => {
            let delete = attr(op, "delete").as_deref() == Some("true");
            let body = child(op, "body").map(text_of);
            let text = if delete { None } else { body };
            let new_id = attr(op, "id");
            let prev = attr(op, "prev");
            Some(
                group_ops::set_description(
                    st,
                    actor,
                    gid,
                    text.as_deref(),
                    new_id.as_deref(),
                    prev.as_deref(),
                )
                .map(|()| Vec::new()),
            )
        }
        ("invite", _) => Some(
            group_ops::invite_code(st, actor, gid, set)
                .map(|code| vec![NodeBuilder::new("invite").attr("code", code).build()]),
        ),
        ("locked", true) => setting(st, actor, gid, Setting::Locked(true)),
        ("unlocked", true) => setting(st, actor, gid, Setting::Locked(false)),
        ("announcement", true) => setting(st, actor, gid, Setting::Announcement(true)),
        ("not_announcement", true) => setting(st, actor, gid, Setting::Announcement(false)),
        ("not_ephemeral", true) => setting(st, actor, gid, Setting::Ephemeral(0)),
        ("ephemeral", true) => {
            let secs = attr(op, "expiration").and_then(|e| e.parse().ok());
            match secs {
                Some(s) => setting(st, actor, gid, Setting::Ephemeral(s)),
                None => Some(Err(GroupError::BAD_REQUEST)),
            }
        }
        ("membership_approval_mode", true) => {
            let state = child(op, "group_join").and_then(|j| attr(j, "state"));
            match state.as_deref() {
                Some("on") => setting(st, actor, gid, Setting::Approval(true)),
                Some("off") => setting(st, actor, gid, Setting::Approval(false)),
                _ => Some(Err(GroupError::BAD_REQUEST)),
            }
        }
        ("member_add_mode", true) => match text_of(op).as_str() {
            "all_member_add" => setting(st, actor, gid, Setting::AllMemberAdd(true)),
            "admin_add" => setting(st, actor, gid, Setting::AllMemberAdd(false)),
            _ => Some(Err(GroupError::BAD_REQUEST)),
        },
        ("membership_approval_requests", false) => {
            Some(group_ops::requests(st, actor, gid).map(|reqs| {
                vec![
                    NodeBuilder::new("membership_approval_requests")
                        .children(reqs.into_iter().map(|r| {
                            NodeBuilder::new("membership_approval_request")
                                .attr("jid", pn_jid(&r.number))
                                .attr("request_time", r.requested_at.to_string())
                                .build()
                        }))
                        .build(),
                ]
            }))
        }
        ("membership_requests_action", true) => {
            let inner = children(op).first()?;
            let approve = match inner.tag.as_ref() {
                "approve" => true,
                "reject" => false,
                _ => return Some(Err(GroupError::BAD_REQUEST)),
            };
            let jids = participant_jids(inner);
            let numbers: Vec<String> = jids.iter().map(|j| number_of(st, j)).collect();
            Some(
                group_ops::answer_requests(st, actor, gid, approve, &numbers).map(|outcome| {
                    vec![
                        NodeBuilder::new("membership_requests_action")
                            .children([NodeBuilder::new_dynamic(inner.tag.to_string())
                                .children(results(&jids, &outcome))
                                .build()])
                            .build(),
                    ]
                }),
            )
        }
        ("ack", true) => Some(match st.groups.get(gid) {
            Some(_) => Ok(Vec::new()),
            None => Err(GroupError::NOT_FOUND),
        }),
        _ => None,
    }
}

fn setting(st: &mut State, actor: Actor<'_>, gid: &str, s: Setting) -> Option<Reply> {
    Some(group_ops::set_setting(st, actor, gid, &s).map(|()| Vec::new()))
}
