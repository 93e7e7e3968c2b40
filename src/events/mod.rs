//! Events: the names every emitter, filter and document shares. The log
//! itself (append order, cursors, the live tail) is [`crate::store::events`].

pub mod follow;
mod kind;

pub use kind::{EventFilter, EventKind};
