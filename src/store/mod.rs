//! Storage: SeaORM entities, migrations and account-scoped queries.
//!
//! SQLite (a file in the data directory) is the default; a PostgreSQL URL in
//! `database_url` selects PostgreSQL. Handlers reach rows only through the
//! account-scoped functions here, so no query can forget the tenant.

pub mod accounts;
pub mod bots;
pub mod bulks;
pub mod cache;
pub mod entity;
pub mod events;
pub(crate) mod files;
pub mod messages;
mod migration;
pub mod phones;
pub mod sessions;
pub mod stats;
pub mod tokens;
pub mod uploads;
pub mod webhooks;

use std::time::Duration;

use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm_migration::MigratorTrait;

pub use migration::Migrator;

/// Milliseconds since the Unix epoch: how every time is stored, portable
/// across SQLite and PostgreSQL and cheap to compare.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Connects and brings the schema up to date.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    files::private_sqlite(url).map_err(|err| DbErr::Custom(format!("{err:#}")))?;
    let mut opts = ConnectOptions::new(url.to_owned());
    opts.sqlx_logging(false)
        .acquire_timeout(Duration::from_secs(10));
    if url.starts_with("sqlite:") {
        // SQLite allows one writer at a time. Every pooled connection gets
        // WAL (readers never wait on the writer), a busy timeout (writers
        // wait instead of failing) and foreign keys: these are per-connection
        // settings, so they go in the connect options, not one-off PRAGMAs.
        opts.max_connections(8).min_connections(1);
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10))
        });
    } else {
        opts.max_connections(32);
    }
    let db = Database::connect(opts).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

/// Migrations this build knows that the database has not applied.
pub async fn pending_migrations(db: &DatabaseConnection) -> Result<usize, DbErr> {
    Ok(Migrator::get_pending_migrations(db).await?.len())
}

/// A random identifier with a readable prefix, e.g. `ph_7f3k2q9x1m4d`.
pub fn new_id(prefix: &str) -> String {
    use rand::RngExt as _;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let tail: String = (0..16)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}
