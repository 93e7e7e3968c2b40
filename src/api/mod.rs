//! gRPC service implementations, one file per proto service. Each handler
//! validates, resolves the caller, calls the domain and maps back; REST
//! reaches the same handlers through the gateway.

mod bot;
mod bulk;
mod convert;
mod download;
mod message;
mod paging;
mod phone;
mod send;
pub mod validate;
mod webhook;

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{config::Config, sessions::SessionManager};

pub use bot::BotApi;
pub use bulk::BulkApi;
pub use download::{DownloadState, inbound_media};
pub use message::MessageApi;
pub use phone::PhoneApi;
pub use send::SendApi;
pub use webhook::WebhookApi;

/// What every handler can reach.
#[derive(Clone)]
pub struct State {
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
    /// Every append to the event log goes through it.
    pub events: crate::store::events::EventLog,
    /// The one send path.
    pub sender: crate::send::Sender,
    /// Phones' bots (set up, read).
    pub bot: crate::bot::setup::Bots,
}
