//! What may be done to a group and by whom, and the `w:gp2` notifications
//! each change sends to the members' devices. Real clients reach these
//! through `w:g2` IQs (`group_iq.rs`), virtual phones through the admin API;
//! both get the same answers and errors.
//!
//! Errors carry WhatsApp's codes: 401 not a member, 403 not an admin (or
//! not allowed), 404 no such group or person, 409 conflict (already a member,
//! a stale description id), 410 a revoked invite code, 304 already a member
//! when joining, 400 a malformed request. A per-participant result is
//! `None` for success or the code for that one participant.

use wacore_binary::builder::NodeBuilder;

use crate::group_notify::{change_node, group_node, notify, notify_admins, notify_to};
use crate::groups::{Description, Group, JoinRequest, Member, Role, random_token};
use crate::nodes::{pn_jid, unix_now};
use crate::state::State;

/// A refused group operation, as the IQ error it becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroupError {
    pub code: u16,
    pub text: &'static str,
}

impl GroupError {
    pub const BAD_REQUEST: GroupError = GroupError {
        code: 400,
        text: "bad-request",
    };
    pub const NOT_MEMBER: GroupError = GroupError {
        code: 401,
        text: "not-authorized",
    };
    pub const NOT_ADMIN: GroupError = GroupError {
        code: 403,
        text: "forbidden",
    };
    pub const NOT_FOUND: GroupError = GroupError {
        code: 404,
        text: "item-not-found",
    };
    pub const CONFLICT: GroupError = GroupError {
        code: 409,
        text: "conflict",
    };
    pub const GONE: GroupError = GroupError {
        code: 410,
        text: "gone",
    };
    pub const ALREADY_MEMBER: GroupError = GroupError {
        code: 304,
        text: "already-member",
    };
}

impl std::fmt::Display for GroupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.text, self.code)
    }
}

pub use crate::groups::Actor;

/// A participant list change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Add,
    Remove,
    Promote,
    Demote,
}

impl Change {
    pub fn tag(self) -> &'static str {
        match self {
            Change::Add => "add",
            Change::Remove => "remove",
            Change::Promote => "promote",
            Change::Demote => "demote",
        }
    }

    pub fn parse(s: &str) -> Option<Change> {
        Some(match s {
            "add" => Change::Add,
            "remove" => Change::Remove,
            "promote" => Change::Promote,
            "demote" => Change::Demote,
            _ => return None,
        })
    }
}

/// A group setting an admin toggles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Setting {
    Announcement(bool),
    Locked(bool),
    /// Seconds (0: off).
    Ephemeral(u32),
    Approval(bool),
    AllMemberAdd(bool),
}

/// What a new group starts with.
#[derive(Clone, Debug, Default)]
pub struct NewGroup {
    pub subject: String,
    /// Numbers to add (unknown ones come back with 404).
    pub participants: Vec<String>,
    pub description: Option<String>,
    pub ephemeral: u32,
    pub approval: bool,
    pub all_member_add: bool,
}

/// `Some(code)` for a participant the operation refused.
pub type Outcome = Vec<Option<u16>>;

fn group_mut<'a>(st: &'a mut State, gid: &str) -> Result<&'a mut Group, GroupError> {
    st.groups.get_mut(gid).ok_or(GroupError::NOT_FOUND)
}

fn require_member(g: &Group, number: &str) -> Result<(), GroupError> {
    g.member(number).map(|_| ()).ok_or(GroupError::NOT_MEMBER)
}

fn require_admin(g: &Group, number: &str) -> Result<(), GroupError> {
    require_member(g, number)?;
    if g.is_admin(number) {
        Ok(())
    } else {
        Err(GroupError::NOT_ADMIN)
    }
}

/// Info edits (subject, description, timer) need an admin once the group is locked.
fn require_editor(g: &Group, number: &str) -> Result<(), GroupError> {
    if g.locked {
        require_admin(g, number)
    } else {
        require_member(g, number)
    }
}

/// Creates a group: the creator is its superadmin; each participant that is on
/// WhatsApp is added (`None`), others come back 404. Returns the group id.
pub(crate) fn create(
    st: &mut State,
    actor: Actor<'_>,
    new: &NewGroup,
) -> Result<(String, Outcome), GroupError> {
    if new.subject.trim().is_empty() || new.subject.chars().count() > 100 {
        return Err(GroupError::BAD_REQUEST);
    }
    if st.dir.phone(actor.number).is_none() {
        return Err(GroupError::NOT_MEMBER);
    }
    let results: Outcome = new
        .participants
        .iter()
        .map(|n| {
            if st.dir.phone(n).is_none() {
                Some(404)
            } else if n == actor.number {
                Some(409)
            } else {
                None
            }
        })
        .collect();
    let now = unix_now();
    let g = st.groups.create(actor.number, new.subject.trim());
    for (n, r) in new.participants.iter().zip(&results) {
        if r.is_none() && g.member(n).is_none() {
            g.participants.push(Member {
                number: n.clone(),
                role: Role::Member,
                joined_at: now,
            });
        }
    }
    g.ephemeral = new.ephemeral;
    g.approval = new.approval;
    g.all_member_add = new.all_member_add;
    if let Some(text) = &new.description {
        g.description = Some(Description {
            id: random_token(8),
            text: text.clone(),
            owner: actor.number.to_string(),
            time: now,
        });
    }
    let gid = g.id.clone();
    let snapshot = g.clone();
    let create = NodeBuilder::new("create")
        .attr("reason", "create")
        .children([group_node(st, &snapshot)])
        .build();
    notify(st, &gid, actor, create, &[]);
    Ok((gid, results))
}

/// Adds, removes, promotes or demotes `numbers`, each answered on its own.
pub(crate) fn change(
    st: &mut State,
    actor: Actor<'_>,
    gid: &str,
    change: Change,
    numbers: &[String],
) -> Result<Outcome, GroupError> {
    let known: Vec<bool> = numbers.iter().map(|n| st.dir.phone(n).is_some()).collect();
    let g = group_mut(st, gid)?;
    match change {
        Change::Add if g.all_member_add => require_member(g, actor.number)?,
        _ => require_admin(g, actor.number)?,
    }
    let now = unix_now();
    let mut done = Vec::new();
    let mut results = Vec::new();
    for (n, known) in numbers.iter().zip(known) {
        let r = match change {
            Change::Add if !known => Some(404),
            Change::Add if g.member(n).is_some() => Some(409),
            Change::Add => {
                g.participants.push(Member {
                    number: n.clone(),
                    role: Role::Member,
                    joined_at: now,
                });
                g.pending.retain(|p| &p.number != n);
                None
            }
            _ if g.member(n).is_none() => Some(404),
            // Nobody removes or demotes the group's creator.
            Change::Remove | Change::Demote
                if g.member(n).is_some_and(|m| m.role == Role::SuperAdmin) && n != actor.number =>
            {
                Some(406)
            }
            Change::Remove => {
                g.participants.retain(|m| &m.number != n);
                None
            }
            Change::Promote | Change::Demote => {
                if let Some(m) = g.member_mut(n) {
                    m.role = if change == Change::Promote {
                        if m.role == Role::SuperAdmin {
                            Role::SuperAdmin
                        } else {
                            Role::Admin
                        }
                    } else {
                        Role::Member
                    };
                }
                None
            }
        };
        if r.is_none() {
            done.push(n.clone());
        }
        results.push(r);
    }
    if !done.is_empty() {
        let node = change_node(st, change.tag(), &done, None);
        let extra = if change == Change::Remove {
            done.clone()
        } else {
            Vec::new()
        };
        notify(st, gid, actor, node, &extra);
    }
    Ok(results)
}

pub(crate) fn set_subject(
    st: &mut State,
    actor: Actor<'_>,
    gid: &str,
    subject: &str,
) -> Result<(), GroupError> {
    let subject = subject.trim();
    if subject.is_empty() || subject.chars().count() > 100 {
        return Err(GroupError::BAD_REQUEST);
    }
    let g = group_mut(st, gid)?;
    require_editor(g, actor.number)?;
    g.subject = subject.to_string();
    g.subject_owner = actor.number.to_string();
    g.subject_time = unix_now();
    let node = NodeBuilder::new("subject")
        .attr("subject", subject.to_string())
        .attr("s_o", pn_jid(actor.number))
        .attr("s_t", g.subject_time.to_string())
        .build();
    notify(st, gid, actor, node, &[]);
    Ok(())
}

/// Sets (`Some`) or deletes (`None`) the description. `prev` must name the
/// current description when there is one (409 otherwise), as WhatsApp checks.
pub(crate) fn set_description(
    st: &mut State,
    actor: Actor<'_>,
    gid: &str,
    text: Option<&str>,
    new_id: Option<&str>,
    prev: Option<&str>,
) -> Result<(), GroupError> {
    let g = group_mut(st, gid)?;
    require_editor(g, actor.number)?;
    if let Some(cur) = &g.description
        && prev != Some(cur.id.as_str())
    {
        return Err(GroupError::CONFLICT);
    }
    let id = new_id
        .map(str::to_string)
        .unwrap_or_else(|| random_token(8));
    let body = match text {
        Some(t) => {
            g.description = Some(Description {
                id: id.clone(),
                text: t.to_string(),
                owner: actor.number.to_string(),
                time: unix_now(),
            });
            NodeBuilder::new("body")
                .string_content(t.to_string())
                .build()
        }
        None => {
            g.description = None;
            NodeBuilder::new("delete").build()
        }
    };
    let node = NodeBuilder::new("description")
        .attr("id", id)
        .children([body])
        .build();
    notify(st, gid, actor, node, &[]);
    Ok(())
}

pub(crate) fn set_setting(
    st: &mut State,
    actor: Actor<'_>,
    gid: &str,
    setting: &Setting,
) -> Result<(), GroupError> {
    let g = group_mut(st, gid)?;
    match setting {
        Setting::Ephemeral(_) => require_editor(g, actor.number)?,
        _ => require_admin(g, actor.number)?,
    }
    let node = match *setting {
        Setting::Announcement(on) => {
            g.announcement = on;
            NodeBuilder::new(if on {
                "announcement"
            } else {
                "not_announcement"
            })
            .build()
        }
        Setting::Locked(on) => {
            g.locked = on;
            NodeBuilder::new(if on { "locked" } else { "unlocked" }).build()
        }
        Setting::Ephemeral(secs) => {
            g.ephemeral = secs;
            if secs == 0 {
                NodeBuilder::new("not_ephemeral").build()
            } else {
                NodeBuilder::new("ephemeral")
                    .attr("expiration", secs.to_string())
                    .build()
            }
        }
        Setting::Approval(on) => {
            g.approval = on;
            NodeBuilder::new("membership_approval_mode")
                .children([NodeBuilder::new("group_join")
                    .attr("state", if on { "on" } else { "off" })
                    .build()])
                .build()
        }
        Setting::AllMemberAdd(on) => {
            g.all_member_add = on;
            NodeBuilder::new("member_add_mode")
                .string_content(if on { "all_member_add" } else { "admin_add" })
                .build()
        }
    };
    notify(st, gid, actor, node, &[]);
    Ok(())
}

/// The group's invite code (admins only); `reset` revokes it for a new one.
pub(crate) fn invite_code(
    st: &mut State,
    actor: Actor<'_>,
    gid: &str,
    reset: bool,
) -> Result<String, GroupError> {
    let g = group_mut(st, gid)?;
    require_admin(g, actor.number)?;
    if !reset {
        return Ok(g.invite_code.clone());
    }
    let old = std::mem::replace(&mut g.invite_code, random_token(22));
    g.revoked_codes.push(old);
    let code = g.invite_code.clone();
    notify(st, gid, actor, NodeBuilder::new("revoke").build(), &[]);
    Ok(code)
}

/// The group an invite code leads to (anyone may look).
pub(crate) fn by_code<'a>(st: &'a State, code: &str) -> Result<&'a Group, GroupError> {
    st.groups.by_code(code).map_err(|revoked| {
        if revoked {
            GroupError::GONE
        } else {
            GroupError::NOT_FOUND
        }
    })
}

/// How a join by invite code ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Joined {
    pub gid: String,
    /// `true`: the group needs an admin's approval; a request is waiting.
    pub pending: bool,
}

pub(crate) fn join(st: &mut State, actor: Actor<'_>, code: &str) -> Result<Joined, GroupError> {
    let gid = by_code(st, code)?.id.clone();
    let g = group_mut(st, &gid)?;
    if g.member(actor.number).is_some() {
        return Err(GroupError::ALREADY_MEMBER);
    }
    let now = unix_now();
    if g.approval {
        if !g.pending.iter().any(|p| p.number == actor.number) {
            g.pending.push(JoinRequest {
                number: actor.number.to_string(),
                requested_at: now,
            });
        }
        let node = NodeBuilder::new("created_membership_requests")
            .attr("request_method", "invite_link")
            .children([NodeBuilder::new("requested_user")
                .attr("jid", pn_jid(actor.number))
                .build()])
            .build();
        notify_admins(st, &gid, actor, node);
        return Ok(Joined { gid, pending: true });
    }
    g.participants.push(Member {
        number: actor.number.to_string(),
        role: Role::Member,
        joined_at: now,
    });
    let node = change_node(st, "add", &[actor.number.to_string()], Some("invite"));
    notify(st, &gid, actor, node, &[]);
    Ok(Joined {
        gid,
        pending: false,
    })
}

/// The member leaves. A group left without admins gets its oldest member promoted.
pub(crate) fn leave(st: &mut State, actor: Actor<'_>, gid: &str) -> Result<(), GroupError> {
    let g = group_mut(st, gid)?;
    require_member(g, actor.number)?;
    g.participants.retain(|m| m.number != actor.number);
    let promoted =
        if !g.participants.is_empty() && !g.participants.iter().any(|m| m.role.is_admin()) {
            g.participants[0].role = Role::Admin;
            Some(g.participants[0].number.clone())
        } else {
            None
        };
    let node = change_node(st, "remove", &[actor.number.to_string()], Some("leave"));
    notify(st, gid, actor, node, &[actor.number.to_string()]);
    if let Some(p) = promoted {
        let node = change_node(st, "promote", &[p], None);
        notify(st, gid, actor, node, &[]);
    }
    Ok(())
}

/// Pending join requests (admins only).
pub(crate) fn requests(
    st: &State,
    actor: Actor<'_>,
    gid: &str,
) -> Result<Vec<JoinRequest>, GroupError> {
    let g = st.groups.get(gid).ok_or(GroupError::NOT_FOUND)?;
    require_admin(g, actor.number)?;
    Ok(g.pending.clone())
}

/// Approves (they become members) or rejects pending requests; a number
/// without a request comes back 404.
pub(crate) fn answer_requests(
    st: &mut State,
    actor: Actor<'_>,
    gid: &str,
    approve: bool,
    numbers: &[String],
) -> Result<Outcome, GroupError> {
    let g = group_mut(st, gid)?;
    require_admin(g, actor.number)?;
    let now = unix_now();
    let mut done = Vec::new();
    let results: Outcome = numbers
        .iter()
        .map(|n| {
            let Some(i) = g.pending.iter().position(|p| &p.number == n) else {
                return Some(404);
            };
            g.pending.remove(i);
            if approve && g.member(n).is_none() {
                g.participants.push(Member {
                    number: n.clone(),
                    role: Role::Member,
                    joined_at: now,
                });
            }
            done.push(n.clone());
            None
        })
        .collect();
    if !done.is_empty() {
        if approve {
            let node = change_node(st, "add", &done, Some("approval"));
            notify(st, gid, actor, node, &[]);
        } else {
            let revoked = || {
                NodeBuilder::new("revoked_membership_requests")
                    .children(done.iter().map(|n| {
                        NodeBuilder::new("participant")
                            .attr("jid", pn_jid(n))
                            .build()
                    }))
                    .build()
            };
            let node = revoked();
            notify_admins(st, gid, actor, node);
            // The requesters learn it too.
            let node = revoked();
            notify_to(st, gid, actor, node, done.clone());
        }
    }
    Ok(results)
}
