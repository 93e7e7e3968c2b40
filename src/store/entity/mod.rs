//! Table definitions. Times are Unix milliseconds (see `store::now_ms`).

pub mod account;
pub mod bot;
pub mod bulk;
pub mod bulk_recipient;
pub mod console_session;
pub mod event;
pub mod message;
pub mod phone;
pub mod token;
pub mod upload;
pub mod vocab;
pub mod webhook;
pub mod webhook_attempt;
pub mod webhook_redelivery;
