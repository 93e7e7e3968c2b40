//! SeaORM-only checks that the trait cannot observe: the pre-key `uploaded`
//! flag, re-running migrations, and the migration names the main crate sorts.

use sea_orm::ConnectionTrait;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm_migration::MigratorTrait;
use wadesk_wastore::schema::{PHONE_ID, prekey};
use wadesk_wastore::{Migrator, migrations};

use crate::harness::{Env, Kind};

async fn uploaded_flags(env: &Env) -> Vec<(i64, bool)> {
    let db = env.db().expect("sql env");
    let q = Query::select()
        .from(prekey::TABLE)
        .columns([prekey::PREKEY_ID, prekey::UPLOADED])
        .and_where(Expr::col(PHONE_ID).eq("ph_a"))
        .order_by(prekey::PREKEY_ID, sea_orm::Order::Asc)
        .to_owned();
    db.query_all(&q)
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                r.try_get("", prekey::PREKEY_ID).unwrap(),
                r.try_get("", prekey::UPLOADED).unwrap(),
            )
        })
        .collect()
}

async fn prekey_uploaded_flag(kind: Kind) {
    let Some(env) = Env::new(kind).await else {
        return;
    };
    let b = env.backend("ph_a");
    b.store_prekeys_batch(&[(1, "a".into()), (2, "b".into()), (3, "c".into())], false)
        .await
        .unwrap();
    b.store_prekey(4, b"d", true).await.unwrap();
    b.remove_prekey(3).await.unwrap();
    b.mark_prekeys_uploaded(&[2, 3]).await.unwrap();
    assert_eq!(
        uploaded_flags(&env).await,
        vec![(1, false), (2, true), (4, true)]
    );
    // Re-running the migrations is a no-op.
    Migrator::up(env.db().unwrap(), None).await.unwrap();
    assert_eq!(uploaded_flags(&env).await.len(), 3);
    env.finish().await;
}

#[tokio::test]
async fn prekey_uploaded_flag_sqlite() {
    prekey_uploaded_flag(Kind::Sqlite).await;
}

#[tokio::test]
async fn prekey_uploaded_flag_postgres() {
    prekey_uploaded_flag(Kind::Postgres).await;
}

#[test]
fn migration_names_sort_after_main_ones() {
    for m in migrations() {
        assert!(m.name().starts_with("m1000_wastore_"), "{}", m.name());
    }
}

/// Many phones flushing Signal state at once through one pool: the gateway's
/// normal load. On SQLite this leans on the busy timeout between writers.
async fn concurrent_phones(kind: Kind) {
    let Some(env) = Env::new(kind).await else {
        return;
    };
    let mut tasks = Vec::new();
    for p in 0..12 {
        let b = env.backend(&format!("ph_{p}"));
        tasks.push(tokio::spawn(async move {
            for round in 0..10u8 {
                let sessions: Vec<(std::sync::Arc<str>, bytes::Bytes)> = (0..20)
                    .map(|i| (format!("{i}@lid").into(), vec![round; 64].into()))
                    .collect();
                b.put_sessions_batch(&sessions).await.unwrap();
                b.put_identity("1@lid", [round; 32]).await.unwrap();
                b.store_sent_message("c@lid", &format!("M{round}"), b"p")
                    .await
                    .unwrap();
            }
            b
        }));
    }
    for t in tasks {
        let b = t.await.unwrap();
        assert_eq!(
            b.get_session("19@lid").await.unwrap().unwrap(),
            vec![9u8; 64]
        );
        assert_eq!(b.load_identity("1@lid").await.unwrap(), Some([9; 32]));
    }
    env.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_phones_sqlite() {
    concurrent_phones(Kind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_phones_postgres() {
    concurrent_phones(Kind::Postgres).await;
}
