//! The admin API's group side: virtual phones create and run groups as their
//! owners would (with the same rules and notifications as a client's `w:g2`
//! IQs), send to groups, and the groups can be inspected. Group ids in paths
//! are `120363...` with or without `@g.us`. Documented in docs/simulator.md.
//!
//! - `GET  /admin/groups`, `GET /admin/groups/{id}`           every group / one group
//! - `GET  /admin/phones/{number}/groups`                      the groups it is in
//! - `POST /admin/phones/{number}/groups`                      `{"subject", "participants",
//!   "description", "ephemeral", "approval", "all_member_add"}`: creates one
//! - `POST /admin/phones/{number}/groups/{id}/participants`   `{"action": "add|remove|promote|
//!   demote", "participants": [numbers]}`
//! - `POST /admin/phones/{number}/groups/{id}/subject`        `{"subject"}`
//! - `POST /admin/phones/{number}/groups/{id}/description`    `{"description": text or null}`
//! - `POST /admin/phones/{number}/groups/{id}/settings`       any of `{"announcement", "locked",
//!   "ephemeral", "approval", "all_member_add"}`
//! - `GET  /admin/phones/{number}/groups/{id}/invite`         `{"code", "link"}`
//! - `POST /admin/phones/{number}/groups/{id}/invite/revoke`  a new code, `{"code", "link"}`
//! - `POST /admin/phones/{number}/join`                       `{"code"}` (or the link):
//!   `{"group", "pending"}`
//! - `POST /admin/phones/{number}/groups/{id}/leave`
//! - `GET  /admin/phones/{number}/groups/{id}/requests`       pending join requests
//! - `POST /admin/phones/{number}/groups/{id}/requests`       `{"action": "approve|reject",
//!   "participants"}`
//! - `POST /admin/phones/{number}/groups/{id}/send`           `{"text"}`: `{"id"}`
//! - `GET  /admin/phones/{number}/groups/{id}/messages`       what it read in the group
//!
//! A refused operation answers `{"error", "code"}` with WhatsApp's code
//! (401 not a member, 403 not an admin, 404, 409, 410, 304) and an HTTP
//! status close to it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::group_ops::{self, Actor, Change, GroupError, NewGroup, Setting};
use crate::groups::{Group, group_id_of};
use crate::state::Shared;

pub(crate) fn routes() -> Router<Arc<Shared>> {
    let g = "/admin/phones/{number}/groups/{id}";
    Router::new()
        .route("/admin/groups", get(list_all))
        .route("/admin/groups/{id}", get(show))
        .route("/admin/phones/{number}/groups", get(list_mine).post(create))
        .route("/admin/phones/{number}/join", post(join))
        .route(&format!("{g}/participants"), post(participants))
        .route(&format!("{g}/subject"), post(subject))
        .route(&format!("{g}/description"), post(description))
        .route(&format!("{g}/settings"), post(settings))
        .route(&format!("{g}/invite"), get(invite))
        .route(&format!("{g}/invite/revoke"), post(revoke_invite))
        .route(&format!("{g}/leave"), post(leave))
        .route(
            &format!("{g}/requests"),
            get(requests).post(answer_requests),
        )
        .route(&format!("{g}/send"), post(send))
        .route(&format!("{g}/messages"), get(messages))
}

fn err(code: StatusCode, msg: impl std::fmt::Display) -> Response {
    (code, axum::Json(json!({ "error": msg.to_string() }))).into_response()
}

fn refused(e: GroupError) -> Response {
    let status = match e.code {
        401 | 403 => StatusCode::FORBIDDEN,
        404 => StatusCode::NOT_FOUND,
        304 | 409 => StatusCode::CONFLICT,
        410 => StatusCode::GONE,
        _ => StatusCode::BAD_REQUEST,
    };
    (
        status,
        axum::Json(json!({ "error": e.text, "code": e.code })),
    )
        .into_response()
}

fn no_phone() -> Response {
    err(StatusCode::NOT_FOUND, "no such virtual phone")
}

fn digits(s: &str) -> String {
    s.split('@')
        .next()
        .unwrap_or(s)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// A group as JSON: its fields, plus `jid`.
pub(crate) fn group_json(g: &Group) -> Value {
    let mut v = serde_json::to_value(g).unwrap_or_else(|_| json!({}));
    if let Some(o) = v.as_object_mut() {
        o.insert("jid".into(), json!(g.jid()));
    }
    v
}

fn outcome_json(numbers: &[String], outcome: &[Option<u16>]) -> Value {
    json!({
        "participants": numbers
            .iter()
            .zip(outcome)
            .map(|(n, r)| json!({ "number": n, "error": r }))
            .collect::<Vec<_>>()
    })
}

/// Why a phone's group operation did not happen.
enum Refusal {
    NoPhone,
    Group(GroupError),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NoPhone => no_phone(),
            Refusal::Group(e) => refused(e),
        }
    }
}

/// Runs `f` as the virtual phone `number` (its primary device) on the locked state.
fn as_phone<T>(
    shared: &Shared,
    number: &str,
    f: impl FnOnce(&mut crate::state::State, Actor<'_>) -> Result<T, GroupError>,
) -> Result<T, Refusal> {
    let mut st = shared.state();
    if st.dir.phone(number).is_none() {
        return Err(Refusal::NoPhone);
    }
    f(&mut st, Actor { number, device: 0 }).map_err(Refusal::Group)
}

async fn list_all(State(shared): State<Arc<Shared>>) -> Response {
    let st = shared.state();
    let all: Vec<Value> = st.groups.by_id.values().map(group_json).collect();
    axum::Json(all).into_response()
}

async fn show(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.state().groups.get(&id) {
        Some(g) => axum::Json(group_json(g)).into_response(),
        None => err(StatusCode::NOT_FOUND, "no such group"),
    }
}

async fn list_mine(State(shared): State<Arc<Shared>>, Path(number): Path<String>) -> Response {
    let st = shared.state();
    if st.dir.phone(&number).is_none() {
        return no_phone();
    }
    let mine: Vec<Value> = st
        .groups
        .of_member(&number)
        .into_iter()
        .map(group_json)
        .collect();
    axum::Json(mine).into_response()
}

#[derive(Deserialize)]
struct CreateBody {
    subject: String,
    #[serde(default)]
    participants: Vec<String>,
    description: Option<String>,
    #[serde(default)]
    ephemeral: u32,
    #[serde(default)]
    approval: bool,
    all_member_add: Option<bool>,
}

async fn create(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    axum::Json(body): axum::Json<CreateBody>,
) -> Response {
    let new = NewGroup {
        subject: body.subject,
        participants: body.participants.iter().map(|n| digits(n)).collect(),
        description: body.description,
        ephemeral: body.ephemeral,
        approval: body.approval,
        all_member_add: body.all_member_add.unwrap_or(true),
    };
    let r = as_phone(&shared, &number, |st, actor| {
        let (gid, outcome) = group_ops::create(st, actor, &new)?;
        let g = st.groups.get(&gid).ok_or(GroupError::NOT_FOUND)?;
        let mut v = outcome_json(&new.participants, &outcome);
        v["group"] = group_json(g);
        Ok(v)
    });
    match r {
        Ok(v) => (StatusCode::CREATED, axum::Json(v)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(Deserialize)]
struct ParticipantsBody {
    action: String,
    participants: Vec<String>,
}

async fn participants(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<ParticipantsBody>,
) -> Response {
    let Some(change) = Change::parse(&body.action) else {
        return err(
            StatusCode::BAD_REQUEST,
            "action: add, remove, promote or demote",
        );
    };
    let numbers: Vec<String> = body.participants.iter().map(|n| digits(n)).collect();
    match as_phone(&shared, &number, |st, actor| {
        group_ops::change(st, actor, group_id_of(&id), change, &numbers)
    }) {
        Ok(outcome) => axum::Json(outcome_json(&numbers, &outcome)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

fn done(r: Result<(), Refusal>) -> Response {
    match r {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(Deserialize)]
struct SubjectBody {
    subject: String,
}

async fn subject(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<SubjectBody>,
) -> Response {
    done(as_phone(&shared, &number, |st, actor| {
        group_ops::set_subject(st, actor, group_id_of(&id), &body.subject)
    }))
}

#[derive(Deserialize)]
struct DescriptionBody {
    description: Option<String>,
}

async fn description(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<DescriptionBody>,
) -> Response {
    done(as_phone(&shared, &number, |st, actor| {
        let gid = group_id_of(&id);
        // The phone replaces what it sees: the current description.
        let prev = st
            .groups
            .get(gid)
            .and_then(|g| g.description.as_ref().map(|d| d.id.clone()));
        group_ops::set_description(
            st,
            actor,
            gid,
            body.description.as_deref(),
            None,
            prev.as_deref(),
        )
    }))
}

#[derive(Deserialize)]
struct SettingsBody {
    announcement: Option<bool>,
    locked: Option<bool>,
    ephemeral: Option<u32>,
    approval: Option<bool>,
    all_member_add: Option<bool>,
}

async fn settings(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<SettingsBody>,
) -> Response {
    let wanted: Vec<Setting> = [
        body.announcement.map(Setting::Announcement),
        body.locked.map(Setting::Locked),
        body.ephemeral.map(Setting::Ephemeral),
        body.approval.map(Setting::Approval),
        body.all_member_add.map(Setting::AllMemberAdd),
    ]
    .into_iter()
    .flatten()
    .collect();
    if wanted.is_empty() {
        return err(
            StatusCode::BAD_REQUEST,
            "give announcement, locked, ephemeral, approval or all_member_add",
        );
    }
    done(as_phone(&shared, &number, |st, actor| {
        wanted
            .iter()
            .try_for_each(|s| group_ops::set_setting(st, actor, group_id_of(&id), s))
    }))
}

fn code_json(code: String) -> Response {
    axum::Json(json!({ "link": format!("https://chat.whatsapp.com/{code}"), "code": code }))
        .into_response()
}

async fn invite(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
) -> Response {
    match as_phone(&shared, &number, |st, actor| {
        group_ops::invite_code(st, actor, group_id_of(&id), false)
    }) {
        Ok(code) => code_json(code),
        Err(refusal) => refusal.into_response(),
    }
}

async fn revoke_invite(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
) -> Response {
    match as_phone(&shared, &number, |st, actor| {
        group_ops::invite_code(st, actor, group_id_of(&id), true)
    }) {
        Ok(code) => code_json(code),
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(Deserialize)]
struct JoinBody {
    code: String,
}

async fn join(
    State(shared): State<Arc<Shared>>,
    Path(number): Path<String>,
    axum::Json(body): axum::Json<JoinBody>,
) -> Response {
    let code = body.code.rsplit('/').next().unwrap_or_default().to_string();
    match as_phone(&shared, &number, |st, actor| {
        group_ops::join(st, actor, &code)
    }) {
        Ok(j) => axum::Json(json!({ "group": format!("{}@g.us", j.gid), "pending": j.pending }))
            .into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn leave(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
) -> Response {
    done(as_phone(&shared, &number, |st, actor| {
        group_ops::leave(st, actor, group_id_of(&id))
    }))
}

async fn requests(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
) -> Response {
    match as_phone(&shared, &number, |st, actor| {
        group_ops::requests(st, actor, group_id_of(&id))
    }) {
        Ok(reqs) => axum::Json(reqs).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

async fn answer_requests(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<ParticipantsBody>,
) -> Response {
    let approve = match body.action.as_str() {
        "approve" => true,
        "reject" => false,
        _ => return err(StatusCode::BAD_REQUEST, "action: approve or reject"),
    };
    let numbers: Vec<String> = body.participants.iter().map(|n| digits(n)).collect();
    match as_phone(&shared, &number, |st, actor| {
        group_ops::answer_requests(st, actor, group_id_of(&id), approve, &numbers)
    }) {
        Ok(outcome) => axum::Json(outcome_json(&numbers, &outcome)).into_response(),
        Err(refusal) => refusal.into_response(),
    }
}

#[derive(Deserialize)]
struct SendBody {
    text: String,
}

async fn send(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
    axum::Json(body): axum::Json<SendBody>,
) -> Response {
    {
        let st = shared.state();
        if st.dir.phone(&number).is_none() {
            return no_phone();
        }
        match st.groups.get(&id) {
            None => return err(StatusCode::NOT_FOUND, "no such group"),
            Some(g) if g.member(&number).is_none() => {
                return refused(GroupError::NOT_MEMBER);
            }
            Some(g) if g.announcement && !g.is_admin(&number) => {
                return refused(GroupError::NOT_ADMIN);
            }
            Some(_) => {}
        }
    }
    let msg = waproto::whatsapp::Message {
        conversation: Some(body.text),
        ..Default::default()
    };
    match crate::phone_group::send(&shared, &number, group_id_of(&id), msg).await {
        Ok(id) => axum::Json(json!({ "id": id })).into_response(),
        Err(e) => err(StatusCode::BAD_REQUEST, format!("{e:#}")),
    }
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    Path((number, id)): Path<(String, String)>,
) -> Response {
    let st = shared.state();
    let Some(p) = st.dir.phone(&number) else {
        return no_phone();
    };
    let gid = group_id_of(&id);
    let mine: Vec<_> = p
        .primary
        .received
        .iter()
        .filter(|m| m.group.as_deref() == Some(gid))
        .cloned()
        .collect();
    axum::Json(mine).into_response()
}
