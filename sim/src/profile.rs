//! A phone's public face and its lists, as WhatsApp's server keeps them: the
//! about text (`xmlns="status"`), the profile picture (`w:profile:picture`,
//! served from the media host), a business profile (`w:biz`), the blocklist
//! (`xmlns="blocklist"`, enforced: a blocked number's messages are not
//! delivered) and presence (`<presence>`: available/unavailable with last
//! seen, pushed to the devices that subscribed). usync's status, picture and
//! business protocols read from here too.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use wacore_binary::Node;
use wacore_binary::builder::NodeBuilder;

use crate::nodes::{self, attr, child, children, content_bytes, parse_jid, pn_jid, unix_now};
use crate::state::{Shared, State};

/// What the server keeps of a phone beyond its keys.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Profile {
    /// The "About" text; empty when none is set.
    pub about: String,
    pub picture: Option<Picture>,
    pub business: Option<Business>,
    /// Numbers this phone blocked, with when.
    pub blocked: BTreeMap<String, u64>,
    /// Whether the phone (any of its devices) last said it is available.
    pub available: bool,
    /// When it last went unavailable (Unix seconds).
    pub last_seen: u64,
    /// (number, device) of the devices subscribed to this phone's presence.
    #[serde(skip)]
    pub subscribers: BTreeSet<(String, u32)>,
}

/// A profile picture on the media host.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Picture {
    /// Numeric, as usync's picture protocol carries it.
    pub id: String,
    pub direct_path: String,
    /// Hex SHA-256 of the image.
    pub sha256: String,
    pub size: usize,
}

/// A WhatsApp Business profile.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Business {
    /// The verified name usync reports.
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub website: Vec<String>,
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
}

/// Stores `bytes` as `number`'s picture (replacing any) and returns it.
pub(crate) fn store_picture(shared: &Shared, number: &str, bytes: Vec<u8>) -> Option<Picture> {
    let picture = put_picture(shared, number, bytes);
    let mut st = shared.state();
    st.dir.phone_mut(number)?.profile.picture = Some(picture.clone());
    Some(picture)
}

/// The number a user JID names (phone number or LID), if it is a phone here.
fn number_of(st: &State, jid: &str) -> Option<String> {
    let jid = parse_jid(jid)?;
    st.dir.resolve(&jid).map(|p| p.number.clone())
}

/// `xmlns="status"` set: the about text of the requesting account.
pub(crate) fn status_iq(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    let mut st = shared.state();
    let Some((number, _)) = st.logged_in_as(conn) else {
        return Some(nodes::iq_error(id, 401, "not-authorized"));
    };
    let text = child(node, "status")
        .and_then(content_bytes)
        .map(|b| String::from_utf8_lossy(b).to_string())
        .unwrap_or_default();
    if text.chars().count() > 139 {
        return Some(nodes::iq_error(id, 406, "not-acceptable"));
    }
    st.dir.phone_mut(&number)?.profile.about = text;
    Some(nodes::iq_result(id).build())
}

/// Stores `bytes` on the media host as a picture named `name`.
fn put_picture(shared: &Shared, name: &str, bytes: Vec<u8>) -> Picture {
    use sha2::Digest as _;
    let id = format!("{}", nodes::unix_now_ms());
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let size = bytes.len();
    let direct_path =
        shared
            .media
            .put_from_phone("profile", &format!("{name}-{id}"), Bytes::from(bytes));
    Picture {
        id,
        direct_path,
        sha256,
        size,
    }
}

/// A group's picture: set or removed by a member allowed to edit the
/// group's info (anyone unless the group is locked), read by members.
fn group_picture_iq(shared: &Shared, me: &str, id: &str, node: &Node, group: &str) -> Node {
    let set = attr(node, "type").as_deref() == Some("set");
    let picture = child(node, "picture")
        .and_then(content_bytes)
        .filter(|b| !b.is_empty())
        .map(<[u8]>::to_vec);
    let stored = picture
        .filter(|_| set)
        .map(|bytes| put_picture(shared, crate::groups::group_id_of(group), bytes));
    let mut st = shared.state();
    let Some(g) = st.groups.get_mut(group) else {
        return nodes::iq_error(id, 404, "item-not-found");
    };
    if g.member(me).is_none() {
        return nodes::iq_error(id, 401, "not-authorized");
    }
    if !set {
        return match &g.picture {
            Some(p) => nodes::iq_result(id)
                .children([NodeBuilder::new("picture")
                    .attr("id", p.id.clone())
                    .attr("type", "image")
                    .attr(
                        "url",
                        format!(
                            "https://{}{}?auth={}",
                            shared.media.https_host, p.direct_path, shared.media.auth
                        ),
                    )
                    .attr("direct_path", p.direct_path.clone())
                    .build()])
                .build(),
            None => nodes::iq_error(id, 404, "item-not-found"),
        };
    }
    if g.locked && !g.is_admin(me) {
        return nodes::iq_error(id, 403, "not-authorized");
    }
    g.picture = stored;
    match &g.picture {
        Some(p) => nodes::iq_result(id)
            .children([NodeBuilder::new("picture").attr("id", p.id.clone()).build()])
            .build(),
        None => nodes::iq_result(id).build(),
    }
}

/// `w:profile:picture`: get a phone's picture URL (`target`), or set/remove
/// the requester's own; a group's with the group as target.
pub(crate) fn picture_iq(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    let ty = attr(node, "type").unwrap_or_default();
    let Some((me, _)) = shared.state().logged_in_as(conn) else {
        return Some(nodes::iq_error(id, 401, "not-authorized"));
    };
    if let Some(group) = attr(node, "target").filter(|t| t.ends_with("@g.us")) {
        return Some(group_picture_iq(shared, &me, id, node, &group));
    }
    if ty == "set" {
        if attr(node, "target").is_some_and(|t| t != pn_jid(&me)) {
            return Some(nodes::iq_error(id, 403, "not-authorized"));
        }
        return match child(node, "picture").and_then(content_bytes) {
            Some(bytes) if !bytes.is_empty() => {
                let picture = store_picture(shared, &me, bytes.to_vec())?;
                Some(
                    nodes::iq_result(id)
                        .children([NodeBuilder::new("picture").attr("id", picture.id).build()])
                        .build(),
                )
            }
            _ => {
                shared.state().dir.phone_mut(&me)?.profile.picture = None;
                Some(nodes::iq_result(id).build())
            }
        };
    }
    let st = shared.state();
    let target = attr(node, "target").and_then(|t| number_of(&st, &t));
    let Some(phone) = target.and_then(|n| st.dir.phone(&n)) else {
        return Some(nodes::iq_error(id, 404, "item-not-found"));
    };
    if phone.profile.blocked.contains_key(&me) || shown_to(phone, "profile").is_none() {
        return Some(nodes::iq_error(id, 401, "not-authorized"));
    }
    let Some(picture) = &phone.profile.picture else {
        return Some(nodes::iq_error(id, 404, "item-not-found"));
    };
    // Signed as a CDN link is: the media host's key rides in the query.
    let url = format!(
        "https://{}{}?auth={}",
        shared.media.https_host, picture.direct_path, shared.media.auth
    );
    Some(
        nodes::iq_result(id)
            .children([NodeBuilder::new("picture")
                .attr("id", picture.id.clone())
                .attr("type", "image")
                .attr("url", url)
                .attr("direct_path", picture.direct_path.clone())
                .build()])
            .build(),
    )
}

/// The privacy value a phone gives `category` when it is not "none".
fn shown_to<'a>(phone: &'a crate::directory::Phone, category: &str) -> Option<&'a str> {
    phone
        .privacy
        .iter()
        .find(|(c, _)| c == category)
        .map(|(_, v)| v.as_str())
        .filter(|v| *v != "none")
}

/// `xmlns="blocklist"`: the requester's blocklist (get) or one change (set).
pub(crate) fn blocklist_iq(shared: &Shared, conn: u64, id: &str, node: &Node) -> Option<Node> {
    let mut st = shared.state();
    let Some((me, _)) = st.logged_in_as(conn) else {
        return Some(nodes::iq_error(id, 401, "not-authorized"));
    };
    if attr(node, "type").as_deref() == Some("set") {
        let Some(item) = child(node, "item") else {
            return Some(nodes::iq_error(id, 400, "bad-request"));
        };
        let Some(target) = attr(item, "jid").and_then(|j| number_of(&st, &j)) else {
            return Some(nodes::iq_error(id, 404, "item-not-found"));
        };
        let blocked = &mut st.dir.phone_mut(&me)?.profile.blocked;
        match attr(item, "action").as_deref() {
            Some("block") => {
                blocked.insert(target, unix_now());
            }
            Some("unblock") => {
                blocked.remove(&target);
            }
            _ => return Some(nodes::iq_error(id, 400, "bad-request")),
        }
        return Some(nodes::iq_result(id).build());
    }
    let phone = st.dir.phone(&me)?;
    let items = phone.profile.blocked.iter().filter_map(|(number, t)| {
        let p = st.dir.phone(number)?;
        Some(
            NodeBuilder::new("item")
                .attr("jid", p.lid_jid())
                .attr("pn_jid", p.pn_jid())
                .attr("t", t.to_string())
                .build(),
        )
    });
    Some(
        nodes::iq_result(id)
            .children([NodeBuilder::new("list").children(items).build()])
            .build(),
    )
}

/// Whether `recipient` blocked `sender` (its messages are then not delivered).
pub(crate) fn blocks(st: &State, recipient: &str, sender: &str) -> bool {
    st.dir
        .phone(recipient)
        .is_some_and(|p| p.profile.blocked.contains_key(sender))
}

/// `w:biz` `<business_profile>`: the profiles of business phones asked for.
pub(crate) fn business_iq(shared: &Shared, id: &str, node: &Node) -> Option<Node> {
    let st = shared.state();
    let query = child(node, "business_profile")?;
    let profiles = children(query)
        .iter()
        .filter(|p| p.tag == "profile")
        .filter_map(|p| {
            let jid = attr(p, "jid")?;
            let phone = st.dir.phone(&number_of(&st, &jid)?)?;
            let b = phone.profile.business.as_ref()?;
            // Text as bytes: the binary encoder reads a string with `@` as a JID.
            let text = |tag: &'static str, v: &str| {
                NodeBuilder::new(tag).bytes(v.as_bytes().to_vec()).build()
            };
            let mut kids = vec![text("description", &b.description)];
            kids.extend(b.email.iter().map(|e| text("email", e)));
            kids.extend(b.website.iter().map(|w| text("website", w)));
            kids.extend(b.address.iter().map(|a| text("address", a)));
            if let Some(c) = &b.category {
                kids.push(
                    NodeBuilder::new("categories")
                        .children([NodeBuilder::new("category")
                            .attr("id", "1")
                            .bytes(c.as_bytes().to_vec())
                            .build()])
                        .build(),
                );
            }
            Some(
                NodeBuilder::new("profile")
                    .attr("jid", phone.pn_jid())
                    .children(kids)
                    .build(),
            )
        });
    Some(
        nodes::iq_result(id)
            .children([NodeBuilder::new("business_profile")
                .children(profiles)
                .build()])
            .build(),
    )
}

/// usync's status, picture and business answers for `phone`, as asked by `asker`.
pub(crate) fn usync_children(
    phone: &crate::directory::Phone,
    asker: Option<&str>,
    want: &dyn Fn(&str) -> bool,
) -> Vec<Node> {
    let hidden = asker.is_some_and(|a| phone.profile.blocked.contains_key(a));
    let mut kids = Vec::new();
    if want("status") && !hidden && shown_to(phone, "status").is_some() {
        let about = &phone.profile.about;
        if !about.is_empty() {
            kids.push(
                NodeBuilder::new("status")
                    .attr("t", phone.created_at.to_string())
                    .bytes(about.as_bytes().to_vec())
                    .build(),
            );
        }
    }
    if want("picture")
        && !hidden
        && shown_to(phone, "profile").is_some()
        && let Some(p) = &phone.profile.picture
    {
        kids.push(NodeBuilder::new("picture").attr("id", p.id.clone()).build());
    }
    if want("business")
        && let Some(b) = &phone.profile.business
    {
        kids.push(
            NodeBuilder::new("business")
                .children([NodeBuilder::new("verified_name")
                    .attr("name", b.name.clone())
                    .build()])
                .build(),
        );
    }
    kids
}

/// A `<presence>` from a client: its own availability (pushed to its
/// subscribers), or a subscription to another phone's.
pub(crate) fn on_presence(shared: &Shared, conn: u64, node: &Node) {
    let mut st = shared.state();
    let Some((me, device)) = st.logged_in_as(conn) else {
        return;
    };
    // `<presence name=..>` carries the device's (new) push name.
    if let Some(name) = attr(node, "name").filter(|n| !n.is_empty())
        && let Some(d) = st
            .dir
            .phone_mut(&me)
            .and_then(|p| p.devices.get_mut(&device))
    {
        d.push_name = name;
    }
    match attr(node, "type").as_deref() {
        Some("subscribe") => {
            let Some(target) = attr(node, "to").and_then(|t| number_of(&st, &t)) else {
                return;
            };
            let Some(phone) = st.dir.phone_mut(&target) else {
                return;
            };
            phone.profile.subscribers.insert((me.clone(), device));
            let update = presence_node(phone, &me);
            if let Some(h) = st.conn_of_mut(&me, device) {
                h.send(update);
            }
        }
        Some("unsubscribe") => {
            let target = attr(node, "to").and_then(|t| number_of(&st, &t));
            if let Some(phone) = target.and_then(|t| st.dir.phone_mut(&t)) {
                phone.profile.subscribers.remove(&(me, device));
            }
        }
        Some(kind @ ("available" | "unavailable")) => {
            set_available(&mut st, &me, kind == "available");
        }
        _ => {}
    }
}

/// Sets a phone's availability and tells the devices subscribed to it.
pub(crate) fn set_available(st: &mut State, number: &str, available: bool) -> bool {
    let Some(phone) = st.dir.phone_mut(number) else {
        return false;
    };
    if phone.profile.available && !available {
        phone.profile.last_seen = unix_now();
    }
    phone.profile.available = available;
    let updates: Vec<(String, u32, Node)> = phone
        .profile
        .subscribers
        .iter()
        .map(|(n, d)| (n.clone(), *d, presence_node(phone, n)))
        .collect();
    for (n, d, update) in updates {
        if let Some(h) = st.conn_of_mut(&n, d) {
            h.send(update);
        }
    }
    true
}

/// `<presence from=.. type=..>` of `phone` as `viewer` may see it: no last
/// seen when the phone hides it, nothing but "unavailable" from a phone that
/// blocked the viewer.
fn presence_node(phone: &crate::directory::Phone, viewer: &str) -> Node {
    let blocked = phone.profile.blocked.contains_key(viewer);
    let available = phone.profile.available && !blocked && shown_to(phone, "online").is_some();
    let mut b = NodeBuilder::new("presence")
        .attr("from", phone.pn_jid())
        .attr(
            "type",
            if available {
                "available"
            } else {
                "unavailable"
            },
        );
    if !available && !blocked && shown_to(phone, "last").is_some() && phone.profile.last_seen > 0 {
        b = b.attr("last", phone.profile.last_seen.to_string());
    }
    b.build()
}

/// `POST /admin/phones/{number}/profile` body: what to change.
#[derive(serde::Deserialize)]
struct ProfileBody {
    about: Option<String>,
    /// Base64 image; an empty string removes the picture.
    picture: Option<String>,
    /// A business profile; `null` makes the phone a personal account again.
    #[serde(default, deserialize_with = "some")]
    business: Option<Option<Business>>,
    /// Privacy settings to change, e.g. `{"last": "none"}`.
    #[serde(default)]
    privacy: BTreeMap<String, String>,
}

fn some<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<Business>>, D::Error> {
    serde::Deserialize::deserialize(d).map(Some)
}

/// The admin API's routes for profiles and presence (see admin.rs).
pub(crate) fn admin_routes() -> axum::Router<std::sync::Arc<Shared>> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route(
            "/admin/phones/{number}/profile",
            get(show_profile).post(set_profile),
        )
        .route("/admin/phones/{number}/presence", post(set_presence))
}

type AdminState = axum::extract::State<std::sync::Arc<Shared>>;
type AdminPath = axum::extract::Path<String>;

fn not_found() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"error": "no such virtual phone"})),
    )
        .into_response()
}

/// The phone's profile, blocklist, presence and each device's push name.
async fn show_profile(
    axum::extract::State(shared): AdminState,
    axum::extract::Path(number): AdminPath,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let st = shared.state();
    let Some(p) = st.dir.phone(&number) else {
        return not_found();
    };
    let push_names: BTreeMap<String, String> = p
        .devices
        .values()
        .map(|d| (d.id.to_string(), d.push_name.clone()))
        .collect();
    let mut json = serde_json::to_value(&p.profile).unwrap_or_default();
    json["push_names"] = serde_json::json!(push_names);
    axum::Json(json).into_response()
}

async fn set_profile(
    axum::extract::State(shared): AdminState,
    axum::extract::Path(number): AdminPath,
    axum::Json(body): axum::Json<ProfileBody>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    use base64::Engine as _;
    let picture = match body
        .picture
        .as_deref()
        .map(|b| base64::engine::general_purpose::STANDARD.decode(b))
    {
        Some(Err(e)) => {
            return (
                axum::http::StatusCode::BAD_REQUEST,
                axum::Json(serde_json::json!({"error": format!("picture: {e}")})),
            )
                .into_response();
        }
        Some(Ok(bytes)) => Some(bytes),
        None => None,
    };
    {
        let mut st = shared.state();
        let Some(p) = st.dir.phone_mut(&number) else {
            return not_found();
        };
        if let Some(about) = body.about {
            p.profile.about = about;
        }
        if let Some(business) = body.business {
            p.profile.business = business;
        }
        for (category, value) in body.privacy {
            match p.privacy.iter_mut().find(|(c, _)| *c == category) {
                Some(entry) => entry.1 = value,
                None => p.privacy.push((category, value)),
            }
        }
        if picture.as_ref().is_some_and(Vec::is_empty) {
            p.profile.picture = None;
        }
    }
    if let Some(bytes) = picture.filter(|b| !b.is_empty()) {
        store_picture(&shared, &number, bytes);
    }
    axum::http::StatusCode::NO_CONTENT.into_response()
}

#[derive(serde::Deserialize)]
struct PresenceBody {
    available: bool,
}

/// The virtual phone comes online or goes offline (its subscribers are told).
async fn set_presence(
    axum::extract::State(shared): AdminState,
    axum::extract::Path(number): AdminPath,
    axum::Json(body): axum::Json<PresenceBody>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if set_available(&mut shared.state(), &number, body.available) {
        axum::http::StatusCode::NO_CONTENT.into_response()
    } else {
        not_found()
    }
}
