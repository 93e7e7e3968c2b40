//! whatsapp-rust's storage [`Backend`](wacore::store::traits::Backend) over
//! SeaORM, keyed by phone id: one database (SQLite by default, PostgreSQL by
//! URL) keeps the session keys of every phone the gateway links.
//!
//! - [`SeaOrmBackend::new`]`(db, phone_id)` gives one phone's backend; wrap it
//!   in an `Arc` and hand it to whatsapp-rust as `Arc<dyn Backend>`.
//! - [`delete_phone`] removes every row of a phone (logout, phone deletion):
//!   whatsapp-rust's own logout keeps the keys.
//! - [`migrations`] are appended to the main crate's Migrator; [`Migrator`]
//!   runs them alone.
//!
//! Every trait method is implemented, including the pending-inbound buffer
//! used by the inbound durability hook. Batch methods are one multi-row
//! statement (or one transaction past 500 rows); upserts use
//! `ON CONFLICT ... DO UPDATE`, which SQLite and PostgreSQL both support.

mod appsync;
mod backend;
mod device;
mod devices;
mod inbound;
mod kv;
mod lid;
mod migration;
mod msgsecret;
mod protocol;
pub mod schema;
mod signal;
mod tctoken;

pub use backend::{DbOpError, SeaOrmBackend, delete_phone};
pub use migration::{CreateTables, Migrator, migrations};
