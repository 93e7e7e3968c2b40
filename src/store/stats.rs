//! What the metrics read from the database when scraped: a few aggregate
//! queries, each on an index, so a scrape costs the same with a hundred
//! phones or ten thousand (and the caller bounds it with a timeout).

use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, QuerySelect,
    Statement,
};

use super::{
    entity::{
        phone,
        vocab::{BulkStatus, PhoneStatus},
    },
    events,
};

/// A webhook's lag is counted up to this many cursors past its own: enough
/// to see one fall behind, and a bound on what one scrape reads.
pub const LAG_WINDOW: i64 = 100_000;

/// The state the metrics report, as the database has it.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    /// Phones by status; every status is listed, 0 included.
    pub phones: Vec<(PhoneStatus, i64)>,
    /// Linked phones (not pending, not logged out) and whether each is
    /// connected; only when asked for.
    pub linked: Vec<(String, bool)>,
    /// Outbound messages waiting in the outbox.
    pub outbox: i64,
    /// Campaign recipients not yet sent to, by the campaign's status (the
    /// ones still to run: queued, running, paused).
    pub bulk_queue: Vec<(BulkStatus, i64)>,
    /// The newest event cursor (0 for an empty log).
    pub head: i64,
    /// Each enabled webhook and the events of its phone (that it takes)
    /// after its cursor, up to [`LAG_WINDOW`] cursors on.
    pub webhook_lag: Vec<(String, i64)>,
}

/// Campaign statuses whose recipients still wait.
const WAITING: [BulkStatus; 3] = [BulkStatus::Queued, BulkStatus::Running, BulkStatus::Paused];

/// Reads everything the metrics report; `per_phone` adds the linked phones.
pub async fn read(db: &DatabaseConnection, per_phone: bool) -> Result<Stats, DbErr> {
    let by_status: Vec<(PhoneStatus, i64)> = phone::Entity::find()
        .select_only()
        .column(phone::Column::Status)
        .column_as(phone::Column::Id.count(), "n")
        .group_by(phone::Column::Status)
        .into_tuple()
        .all(db)
        .await?;
    let phones = <PhoneStatus as sea_orm::Iterable>::iter()
        .map(|status| {
            let n = by_status
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            (status, n)
        })
        .collect();
    let linked = if per_phone {
        phone::Entity::find()
            .select_only()
            .column(phone::Column::Id)
            .column(phone::Column::Status)
            .filter(phone::Column::Number.is_not_null())
            .filter(phone::Column::Status.is_not_in([PhoneStatus::Pending, PhoneStatus::LoggedOut]))
            .into_tuple::<(String, PhoneStatus)>()
            .all(db)
            .await?
            .into_iter()
            .map(|(id, status)| (id, status == PhoneStatus::Connected))
            .collect()
    } else {
        Vec::new()
    };
    let backend = db.get_database_backend();
    // By phone, so the (phone_id, status) index answers it.
    let outbox = db
        .query_one_raw(Statement::from_string(
            backend,
            r#"SELECT COUNT(*) AS n FROM "messages"
               WHERE "phone_id" IN (SELECT "id" FROM "phones") AND "status" = 'queued'"#,
        ))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    // Per campaign still to run, on the (bulk_id, status) index: CROSS
    // JOIN makes SQLite read the campaigns first, not every recipient ever
    // written (PostgreSQL plans it as an inner join).
    let waiting: Vec<(String, i64)> = db
        .query_all_raw(Statement::from_string(
            backend,
            r#"SELECT b."status" AS status, COUNT(*) AS n
               FROM "bulks" b CROSS JOIN "bulk_recipients" r
               WHERE r."bulk_id" = b."id" AND r."status" = 'pending'
                 AND b."status" IN ('queued', 'running', 'paused')
               GROUP BY b."status""#,
        ))
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "status")?,
                row.try_get::<i64>("", "n")?,
            ))
        })
        .collect::<Result<_, DbErr>>()?;
    let bulk_queue = WAITING
        .into_iter()
        .map(|status| {
            let n = waiting
                .iter()
                .find(|(s, _)| s == status.as_str())
                .map_or(0, |(_, n)| *n);
            (status, n)
        })
        .collect();
    let head = events::head(db).await?;
    // What the delivery worker would still send: its phone's events after
    // its cursor that its names let through (an empty list lets all
    // through), on the (account_id, cursor) index, within the window.
    let webhook_lag = db
        .query_all_raw(Statement::from_string(
            backend,
            format!(
                r#"SELECT w."id" AS id, COUNT(e."cursor") AS lag
                   FROM "webhooks" w
                   LEFT JOIN "events" e
                     ON e."account_id" = w."account_id"
                    AND e."cursor" > w."last_cursor"
                    AND e."cursor" <= w."last_cursor" + {LAG_WINDOW}
                    AND e."phone_id" = w."phone_id"
                    AND (w."events" = '[]' OR w."events" LIKE '%"' || e."event" || '"%')
                   WHERE w."enabled"
                   GROUP BY w."id""#
            ),
        ))
        .await?
        .into_iter()
        .map(|row| {
            Ok((
                row.try_get::<String>("", "id")?,
                row.try_get::<i64>("", "lag")?,
            ))
        })
        .collect::<Result<_, DbErr>>()?;
    Ok(Stats {
        phones,
        linked,
        outbox,
        bulk_queue,
        head,
        webhook_lag,
    })
}

/// The database pool: connections open, idle, and the most it opens.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pool {
    pub size: u32,
    pub idle: u32,
    pub max: u32,
}

/// The pool's numbers (from memory, no query).
pub fn pool(db: &DatabaseConnection) -> Option<Pool> {
    use sea_orm::DatabaseConnectionType as Type;
    // Each getter panics on another kind of connection: matched first.
    let (size, idle, max) = match &db.inner {
        Type::SqlxSqlitePoolConnection(_) => {
            let pool = db.get_sqlite_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        Type::SqlxPostgresPoolConnection(_) => {
            let pool = db.get_postgres_connection_pool();
            (
                pool.size(),
                pool.num_idle(),
                pool.options().get_max_connections(),
            )
        }
        _ => return None,
    };
    Some(Pool {
        size,
        idle: u32::try_from(idle).unwrap_or(u32::MAX),
        max,
    })
}
