//! The groups a phone is in, run through its live session with
//! whatsapp-rust's group features. Groups are WhatsApp's, not stored here:
//! a phone reaches a group by being in it, and a group it is not in answers
//! as one that does not exist (404). What WhatsApp refuses is a 400 with
//! its code and reason, never a 500.

use std::sync::Arc;

use whatsapp_rust::{
    Client, GroupError, GroupMetadata, Jid, ParticipantChangeResponse, request::IqError,
};

use crate::{
    error::{Error, Result},
    sessions::SessionManager,
    store::entity::phone,
};

/// Participants one change may name.
pub(crate) const MAX_PARTICIPANTS: usize = 256;
/// WhatsApp's longest subject.
pub(crate) const SUBJECT_MAX: usize = 100;
/// WhatsApp's longest description.
pub(crate) const DESCRIPTION_MAX: usize = 2048;
/// The disappearing-message timers WhatsApp offers.
pub(crate) const TIMERS: [u32; 4] = [0, 86_400, 604_800, 7_776_000];

/// A group id as callers give it: `120363...@g.us`, the same without
/// `@g.us`, or an older `<number>-<time>` id.
pub(crate) fn group_jid(field: &str, raw: &str) -> Result<Jid> {
    let raw = raw.trim();
    let user = raw.strip_suffix("@g.us").unwrap_or(raw);
    let mut parts = user.splitn(2, '-');
    let head = parts.next().unwrap_or_default();
    let tail = parts.next();
    let digits = |s: &str, max: usize| {
        !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
    };
    if !digits(head, 30) || tail.is_some_and(|t| !digits(t, 20)) {
        return Err(Error::invalid(
            field,
            format!(
                "{raw:?} is not a group id: use the id the API answers, e.g. 120363012345678901@g.us"
            ),
        ));
    }
    format!("{user}@g.us")
        .parse()
        .map_err(|e| Error::invalid(field, format!("{raw:?}: {e:?}")))
}

/// Whether `to` names a group rather than a number.
pub(crate) fn is_group(to: &str) -> bool {
    let to = to.trim();
    to.ends_with("@g.us") || (to.starts_with("120363") && to.len() >= 18 && !to.contains(' '))
}

/// A WhatsApp refusal or failure, as the caller's answer. `field` names
/// what the request asked for.
pub(crate) fn refused(field: &str, err: GroupError) -> Error {
    match err {
        GroupError::Iq(IqError::ServerError { code, text, .. }) => match code {
            401 | 404 => Error::NotFound(format!(
                "group not found: this phone is not in it ({code} {text})"
            )),
            403 => Error::invalid(
                field,
                format!("WhatsApp refused it ({code} {text}): only the group's admins may do this"),
            ),
            _ => Error::invalid(field, format!("WhatsApp refused it ({code} {text})")),
        },
        GroupError::Iq(other) => Error::Unavailable(format!(
            "WhatsApp did not answer the group request: {other}"
        )),
        GroupError::InvalidRequest(why) => Error::invalid(field, why),
        GroupError::DescriptionConflict => Error::Conflict(
            "the group's description changed since it was read: read the group and try again"
                .into(),
        ),
        other => Error::Unavailable(format!("the group request failed: {other}")),
    }
}

/// One number's outcome of a participant change, as the API names it.
pub(crate) fn outcome(r: &ParticipantChangeResponse) -> (String, &'static str, Option<u32>) {
    let number = r
        .phone_number
        .as_ref()
        .filter(|_| r.jid.is_lid())
        .unwrap_or(&r.jid)
        .user
        .to_string();
    let code = r.error.as_deref().and_then(|e| e.parse::<u32>().ok());
    let status = match (r.error.as_deref(), r.add_request.is_some()) {
        (None, _) => "ok",
        (Some(_), true) => "invited",
        (Some("409"), _) => "already_in",
        (Some("404"), _) => "not_on_whatsapp",
        (Some("403"), _) => "not_allowed",
        (Some("406"), _) => "not_allowed",
        (Some("401"), _) => "not_allowed",
        _ => "error",
    };
    (number, status, code)
}

/// How long a group's subject is kept for inbound payloads.
const SUBJECT_KEPT: std::time::Duration = std::time::Duration::from_secs(600);

type Subjects = std::collections::HashMap<String, (String, std::time::Instant)>;

fn subjects() -> std::sync::MutexGuard<'static, Subjects> {
    static SUBJECTS: std::sync::OnceLock<std::sync::Mutex<Subjects>> = std::sync::OnceLock::new();
    SUBJECTS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Keeps `group`'s subject (digits of its id) as it is now.
pub(crate) fn remember_subject(group: &str, subject: &str) {
    let mut kept = subjects();
    if kept.len() > 50_000 {
        kept.retain(|_, (_, at)| at.elapsed() < SUBJECT_KEPT);
    }
    kept.insert(
        group.to_owned(),
        (subject.to_owned(), std::time::Instant::now()),
    );
}

#[derive(Clone)]
pub(crate) struct Groups {
    sessions: Arc<SessionManager>,
}

impl Groups {
    pub(crate) fn new(sessions: Arc<SessionManager>) -> Groups {
        Groups { sessions }
    }

    /// The phone's connected client (404 otherwise).
    pub(crate) fn client(&self, phone: &phone::Model) -> Result<Arc<Client>> {
        // A phone being linked again has a connection that is not signed
        // in yet: only a phone whose status is connected can ask WhatsApp.
        self.sessions
            .client(&phone.id)
            .filter(|c| c.is_connected())
            .filter(|_| phone.status == crate::store::entity::vocab::PhoneStatus::Connected)
            .ok_or_else(|| Error::NotFound(format!("phone {} is not connected", phone.id)))
    }

    /// A group's metadata, fresh from WhatsApp.
    pub(crate) async fn metadata(&self, client: &Client, jid: &Jid) -> Result<GroupMetadata> {
        client
            .groups()
            .get_metadata(jid)
            .await
            .map_err(|e| refused("group_id", e))
    }

    /// The number a participant JID names (its phone number when the group
    /// addresses by LID and WhatsApp gave the number).
    pub(crate) fn number(jid: &Jid, phone_number: Option<&Jid>) -> String {
        if jid.is_lid() {
            phone_number.unwrap_or(jid).user.to_string()
        } else {
            jid.user.to_string()
        }
    }

    /// The subject of `group` (digits of its id), for inbound payloads: kept
    /// for [`SUBJECT_KEPT`] (a subject change seen as an event replaces it).
    pub(crate) async fn subject(client: &Client, group: &str) -> Option<String> {
        if let Some((subject, at)) = subjects().get(group)
            && at.elapsed() < SUBJECT_KEPT
        {
            return Some(subject.clone());
        }
        let jid: Jid = format!("{group}@g.us").parse().ok()?;
        let meta = client.groups().get_metadata(&jid).await.ok()?;
        remember_subject(group, &meta.subject);
        Some(meta.subject).filter(|s| !s.is_empty())
    }

    /// Everyone in `group` but the phone itself (for the trial count).
    pub(crate) async fn members(&self, phone: &phone::Model, group: &Jid) -> Result<Vec<String>> {
        let client = self.client(phone)?;
        let meta = self.metadata(&client, group).await?;
        let own = client.pn().map(|j| j.user.to_string());
        Ok(meta
            .participants
            .iter()
            .map(|p| Self::number(&p.jid, p.phone_number.as_ref()))
            .filter(|n| Some(n) != own.as_ref())
            .collect())
    }
}
