//! Group state as the server keeps it: id, subject, description, members and
//! their roles, settings, invite codes and pending join requests.
//!
//! Members are accounts (phone numbers), never devices: a message to a group
//! goes to every listed device of every member. Groups are PN-addressed (their
//! participants are `NUMBER@s.whatsapp.net`). The rules that change a group
//! (who may do what, which notification goes out) live in `group_ops.rs`.

use std::collections::BTreeMap;

use crate::nodes::unix_now;

/// Who acts: an account and the device it acts from (that device gets no
/// notification of its own change: it has the IQ's answer).
#[derive(Clone, Copy)]
pub struct Actor<'a> {
    pub number: &'a str,
    pub device: u32,
}

/// A member's rank.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Admin,
    /// The creator: an admin nobody can demote.
    SuperAdmin,
}

impl Role {
    pub fn is_admin(self) -> bool {
        matches!(self, Role::Admin | Role::SuperAdmin)
    }

    /// The `type` attribute of a `<participant>` (`None` for a plain member).
    pub fn wire(self) -> Option<&'static str> {
        match self {
            Role::Member => None,
            Role::Admin => Some("admin"),
            Role::SuperAdmin => Some("superadmin"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Member {
    pub number: String,
    pub role: Role,
    pub joined_at: u64,
}

/// A group's description and who set it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Description {
    /// The id clients name as `prev` when they replace it.
    pub id: String,
    pub text: String,
    pub owner: String,
    pub time: u64,
}

/// A request to join waiting for an admin (membership approval mode).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct JoinRequest {
    pub number: String,
    pub requested_at: u64,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Group {
    /// The user part of the group JID: `120363` and 12 more digits.
    pub id: String,
    pub subject: String,
    pub subject_owner: String,
    pub subject_time: u64,
    pub description: Option<Description>,
    pub creator: String,
    pub creation: u64,
    pub participants: Vec<Member>,
    /// Only admins send messages.
    pub announcement: bool,
    /// Only admins edit the group's info.
    pub locked: bool,
    /// Disappearing messages timer in seconds (0: off).
    pub ephemeral: u32,
    /// Joining by link needs an admin's approval.
    pub approval: bool,
    /// `true`: every member may add people (`all_member_add`), else admins only.
    pub all_member_add: bool,
    pub invite_code: String,
    /// Codes revoked so far (joining with one is answered 410 gone).
    #[serde(skip)]
    pub revoked_codes: Vec<String>,
    pub pending: Vec<JoinRequest>,
    /// The group's picture (`w:profile:picture` with the group as target).
    pub picture: Option<crate::profile::Picture>,
}

impl Group {
    pub fn jid(&self) -> String {
        format!("{}@g.us", self.id)
    }

    pub fn member(&self, number: &str) -> Option<&Member> {
        self.participants.iter().find(|m| m.number == number)
    }

    pub fn member_mut(&mut self, number: &str) -> Option<&mut Member> {
        self.participants.iter_mut().find(|m| m.number == number)
    }

    pub fn is_admin(&self, number: &str) -> bool {
        self.member(number).is_some_and(|m| m.role.is_admin())
    }

    pub fn numbers(&self) -> Vec<String> {
        self.participants.iter().map(|m| m.number.clone()).collect()
    }
}

/// Every group on the server, by id.
#[derive(Default)]
pub struct Groups {
    pub by_id: BTreeMap<String, Group>,
}

/// Random alphanumerics, as invite codes and description ids are made of.
pub fn random_token(len: usize) -> String {
    use rand::RngExt as _;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

impl Groups {
    /// A new group with `creator` as its superadmin and no other member yet.
    pub fn create(&mut self, creator: &str, subject: &str) -> &mut Group {
        use rand::RngExt as _;
        let id = loop {
            let n: u64 = rand::rng().random_range(0..1_000_000_000_000);
            let id = format!("120363{n:012}");
            if !self.by_id.contains_key(&id) {
                break id;
            }
        };
        let now = unix_now();
        let group = Group {
            id: id.clone(),
            subject: subject.to_string(),
            subject_owner: creator.to_string(),
            subject_time: now,
            description: None,
            creator: creator.to_string(),
            creation: now,
            participants: vec![Member {
                number: creator.to_string(),
                role: Role::SuperAdmin,
                joined_at: now,
            }],
            announcement: false,
            locked: false,
            ephemeral: 0,
            approval: false,
            all_member_add: true,
            invite_code: random_token(22),
            revoked_codes: Vec::new(),
            pending: Vec::new(),
            picture: None,
        };
        self.by_id.entry(id).or_insert(group)
    }

    /// The group a JID or bare id names (`120363...` or `120363...@g.us`).
    pub fn get(&self, id_or_jid: &str) -> Option<&Group> {
        self.by_id.get(group_id_of(id_or_jid))
    }

    pub fn get_mut(&mut self, id_or_jid: &str) -> Option<&mut Group> {
        self.by_id.get_mut(group_id_of(id_or_jid))
    }

    /// The group whose current invite code is `code`, or `Err(true)` if the
    /// code was revoked, `Err(false)` if nobody ever had it.
    pub fn by_code(&self, code: &str) -> Result<&Group, bool> {
        if let Some(g) = self.by_id.values().find(|g| g.invite_code == code) {
            return Ok(g);
        }
        Err(self
            .by_id
            .values()
            .any(|g| g.revoked_codes.iter().any(|c| c == code)))
    }

    /// Groups `number` is a member of.
    pub fn of_member(&self, number: &str) -> Vec<&Group> {
        self.by_id
            .values()
            .filter(|g| g.member(number).is_some())
            .collect()
    }
}

/// `120363...@g.us` or `120363...` -> `120363...`.
pub fn group_id_of(id_or_jid: &str) -> &str {
    id_or_jid.split('@').next().unwrap_or(id_or_jid)
}
