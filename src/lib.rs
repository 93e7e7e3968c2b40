//! wadesk: a self-hosted WhatsApp messaging gateway. REST, gRPC and
//! gRPC-web on one port, over SeaORM storage.

// Items are `pub` only where the binary, tests or benches reach them.
#![warn(unreachable_pub)]

pub mod accounts;
pub(crate) mod api;
pub mod auth;
pub(crate) mod bot;
pub(crate) mod bulk;
pub(crate) mod cards;
pub(crate) mod chats;
pub mod config;
pub(crate) mod contacts;
pub(crate) mod context;
pub mod details;
pub(crate) mod error;
pub mod events;
pub(crate) mod fetch;
#[cfg(test)]
mod fuzz;
pub(crate) mod groups;
pub(crate) mod health;
pub(crate) mod history;
pub(crate) mod media;
pub mod metrics;
pub(crate) mod phones;
pub(crate) mod plan;
pub mod polls;
pub(crate) mod preview;
pub(crate) mod profile;
pub(crate) mod rules;
pub(crate) mod sealed;
pub(crate) mod send;
pub mod server;
pub mod sessions;
pub mod store;
pub mod uploads;
pub(crate) mod values;
pub(crate) mod voice;
pub(crate) mod webhooks;

/// Generated from proto/wadesk/v1.
#[allow(clippy::all)]
pub mod proto {
    tonic::include_proto!("wadesk.v1");
}
