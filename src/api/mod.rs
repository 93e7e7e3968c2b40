//! gRPC service implementations, one file per proto service. Each handler
//! validates, resolves the caller, calls the domain and maps back; REST
//! reaches the same handlers through the gateway.

mod account;
mod bot;
mod bulk;
mod contact;
mod convert;
mod download;
mod group;
mod media;
mod message;
mod paging;
mod phone;
mod profile;
mod send;
pub(crate) mod validate;
mod webhook;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{config::Config, sessions::SessionManager};

pub(crate) use account::AccountApi;
pub(crate) use bot::BotApi;
pub(crate) use bulk::BulkApi;
pub(crate) use contact::ContactApi;
pub(crate) use download::{DownloadState, inbound_media};
pub(crate) use group::GroupApi;
pub(crate) use media::{MediaApi, upload_files};
pub(crate) use message::MessageApi;
pub(crate) use phone::PhoneApi;
pub(crate) use profile::ProfileApi;
pub(crate) use send::SendApi;
pub(crate) use webhook::WebhookApi;

/// What every handler can reach.
#[derive(Clone)]
pub(crate) struct State {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub sessions: Arc<SessionManager>,
    /// Phones (owned, created, deleted).
    pub phones: crate::phones::Phones,
    pub fetcher: crate::fetch::Fetcher,
    /// Cancelled when the server stops (streams end on it).
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Background work of requests (event streams), awaited at shutdown.
    pub tasks: tokio_util::task::TaskTracker,
    /// Phones' webhooks (set, read, delete, deliveries).
    pub webhooks: crate::webhooks::Webhooks,
    /// Wakes a phone's campaign worker after a change.
    pub bulk: crate::bulk::Engine,
    /// New events for live streams.
    pub tail: crate::store::events::Tail,
    /// The one send path.
    pub sender: crate::send::Sender,
    /// Phones' bots (set up, read).
    pub bot: crate::bot::setup::Bots,
    /// The phones' chats (list, read receipts, typing).
    pub chats: crate::chats::Chats,
    /// Accounts, console sign-in and API tokens.
    pub accounts: crate::accounts::Accounts,
    /// Who is calling (its token cache is cleared on a revocation).
    pub auth: crate::auth::Authenticator,
    /// Files uploaded to send later.
    pub uploads: crate::uploads::Uploads,
    /// Who is on WhatsApp, contacts' profiles, the blocklist.
    pub contacts: crate::contacts::Contacts,
    /// The phones' own profiles and presence.
    pub profiles: crate::profile::Profiles,
    /// The groups the phones are in.
    pub groups: crate::groups::Groups,
}
