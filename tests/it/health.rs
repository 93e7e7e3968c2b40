//! Readiness says what is wrong: a migration the database lacks, a
//! database that stopped answering; liveness stays up meanwhile.

use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

use crate::{
    db_tests,
    support::{Db, TestApp, send},
};

async fn readyz(app: &TestApp) -> (u16, Value) {
    send(app.http.get(app.url("/readyz"))).await
}

async fn readiness_follows_migrations_and_the_database(db: Db) {
    let app = TestApp::spawn(db.clone()).await;
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 200, "{body}");

    // A migration this build knows is missing (as after a rollback of the
    // database, or a newer binary started on an old one without migrating).
    let last = app
        .core
        .db
        .query_one_raw(sea_orm::Statement::from_string(
            app.core.db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
        ))
        .await
        .unwrap()
        .unwrap();
    let version: String = last.try_get("", "version").unwrap();
    app.core
        .db
        .execute_unprepared(&format!(
            "DELETE FROM seaql_migrations WHERE version = '{version}'"
        ))
        .await
        .unwrap();
    let (status, body) = readyz(&app).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["migrations"], "1 pending", "{body}");
    assert_eq!(body["checks"]["database"], "ok", "{body}");
    let (status, _) = send(app.http.get(app.url("/healthz"))).await;
    assert_eq!(status, 200, "liveness is not readiness");
    app.core
        .db
        .execute_unprepared(&format!(
            "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{version}', 0)"
        ))
        .await
        .unwrap();
    assert_eq!(readyz(&app).await.0, 200);

    // PostgreSQL refusing connections: the database check fails.
    if let Db::Postgres(admin_url) = &db {
        let name = app
            .config
            .database_url
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        let admin = Database::connect(admin_url).await.unwrap();
        admin
            .execute_unprepared(&format!(
                "ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"
            ))
            .await
            .unwrap();
        admin
            .execute_unprepared(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{name}' AND pid <> pg_backend_pid()"
            ))
            .await
            .unwrap();
        let (status, body) = readyz(&app).await;
        assert_eq!(status, 503, "{body}");
        assert_ne!(body["checks"]["database"], "ok", "{body}");
        assert_eq!(send(app.http.get(app.url("/healthz"))).await.0, 200);
        admin
            .execute_unprepared(&format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true"))
            .await
            .unwrap();
        let mut again = 0;
        for _ in 0..100 {
            again = readyz(&app).await.0;
            if again == 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(again, 200, "ready again once the database answers");
    }
    app.stop().await;
}

db_tests!(readiness_follows_migrations_and_the_database);
