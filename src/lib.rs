//! wadesk: a self-hosted WhatsApp messaging gateway. REST, gRPC and
//! gRPC-web on one port, over SeaORM storage.

pub mod api;
pub mod auth;
pub mod bot;
pub mod bulk;
pub mod config;
pub mod error;
pub mod events;
pub mod fetch;
pub mod health;
pub mod history;
pub mod media;
pub mod phones;
pub mod plan;
pub mod send;
pub mod server;
pub mod sessions;
pub mod store;
pub mod values;
pub mod webhooks;

/// Generated from proto/wadesk/v1.
#[allow(clippy::all)]
pub mod proto {
    tonic::include_proto!("wadesk.v1");
}
