//! The three stores every case runs against, behind one [`Env`]:
//! wacore's `InMemoryBackend` (the reference), `SeaOrmBackend` on a fresh
//! SQLite file, and `SeaOrmBackend` on a fresh PostgreSQL database when
//! `WADESK_TEST_POSTGRES_URL` is set.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use sea_orm_migration::MigratorTrait;
use wacore::store::InMemoryBackend;
use wacore::store::traits::Backend;
use wadesk_wastore::{Migrator, SeaOrmBackend, delete_phone};

pub const PG_ENV: &str = "WADESK_TEST_POSTGRES_URL";
const PG_PREFIX: &str = "wadesk_ws_";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Memory,
    Sqlite,
    Postgres,
}

/// One test's store. `backend(phone)` returns that phone's view; two calls
/// with the same phone see the same data, different phones never do.
pub struct Env {
    db: Option<DatabaseConnection>,
    memory: Mutex<HashMap<String, Arc<InMemoryBackend>>>,
    _dir: Option<tempfile::TempDir>,
    pg: Option<(String, String)>,
}

impl Env {
    /// `None` (after printing why) when the kind cannot run here.
    pub async fn new(kind: Kind) -> Option<Env> {
        let mut env = Env {
            db: None,
            memory: Mutex::new(HashMap::new()),
            _dir: None,
            pg: None,
        };
        match kind {
            Kind::Memory => {}
            Kind::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("wastore.db").display()
                );
                env.db = Some(connect_and_migrate(&url).await);
                env._dir = Some(dir);
            }
            Kind::Postgres => {
                let Ok(admin_url) = std::env::var(PG_ENV) else {
                    eprintln!("skipped: {PG_ENV} is not set, PostgreSQL cases not run");
                    return None;
                };
                let name = fresh_pg_database(&admin_url).await;
                env.db = Some(connect_and_migrate(&with_database(&admin_url, &name)).await);
                env.pg = Some((admin_url, name));
            }
        }
        Some(env)
    }

    pub fn backend(&self, phone: &str) -> Arc<dyn Backend> {
        match &self.db {
            Some(db) => Arc::new(SeaOrmBackend::new(db.clone(), phone)),
            None => self
                .memory
                .lock()
                .unwrap()
                .entry(phone.to_string())
                .or_insert_with(|| Arc::new(InMemoryBackend::new()))
                .clone(),
        }
    }

    /// The SeaORM connection, for cases that look at rows directly.
    pub fn db(&self) -> Option<&DatabaseConnection> {
        self.db.as_ref()
    }

    /// Forgets a phone: `delete_phone` on SQL, a fresh in-memory store
    /// otherwise (backends obtained before must be fetched again).
    pub async fn delete_phone(&self, phone: &str) {
        match &self.db {
            Some(db) => delete_phone(db, phone).await.expect("delete_phone"),
            None => {
                self.memory.lock().unwrap().remove(phone);
            }
        }
    }

    /// Closes the connection and drops this test's PostgreSQL database.
    pub async fn finish(self) {
        if let Some(db) = self.db {
            let _ = db.close().await;
        }
        if let Some((admin_url, name)) = self.pg {
            let admin = Database::connect(&admin_url)
                .await
                .expect("pg admin connect");
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
            let _ = admin.close().await;
        }
    }
}

async fn connect_and_migrate(url: &str) -> DatabaseConnection {
    let db = Database::connect(url)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    Migrator::up(&db, None).await.expect("migrate");
    db
}

/// `url` with its database path replaced by `name` (query string kept).
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..host_end])
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Creates `wadesk_ws_<unixtime>_<random>`; first drops such databases older
/// than an hour (left behind by killed or failed runs).
async fn fresh_pg_database(admin_url: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let admin = Database::connect(admin_url)
        .await
        .unwrap_or_else(|e| panic!("connect {admin_url}: {e}"));
    let now = unix_now();
    let rows = admin
        .query_all_raw(sea_orm::Statement::from_string(
            admin.get_database_backend(),
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{PG_PREFIX}%'"),
        ))
        .await
        .expect("list databases");
    for row in rows {
        let name: String = row.try_get("", "datname").expect("datname");
        let born = name
            .strip_prefix(PG_PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|t| t.parse::<u64>().ok());
        if born.is_some_and(|born| born + 3600 < now) {
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
    let random =
        RandomState::new().hash_one((COUNTER.fetch_add(1, Ordering::Relaxed), std::process::id()));
    let name = format!("{PG_PREFIX}{now}_{:012x}", random & 0xffff_ffff_ffff);
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap_or_else(|e| panic!("create database {name}: {e}"));
    let _ = admin.close().await;
    name
}

/// Instantiates each case for the three stores: `mod <case> { memory, sqlite,
/// postgres }`, so `cargo test sqlite` or `cargo test lid` select slices.
macro_rules! conformance {
    ($($module:ident :: $case:ident),* $(,)?) => {
        $(
            mod $case {
                use $crate::harness::{Env, Kind};

                async fn run(kind: Kind) {
                    let Some(env) = Env::new(kind).await else { return };
                    $crate::$module::$case(&env).await;
                    env.finish().await;
                }

                #[tokio::test]
                async fn memory() {
                    run(Kind::Memory).await;
                }

                #[tokio::test]
                async fn sqlite() {
                    run(Kind::Sqlite).await;
                }

                #[tokio::test]
                async fn postgres() {
                    run(Kind::Postgres).await;
                }
            }
        )*
    };
}
pub(crate) use conformance;
