//! The append-only event log: phone.*, message.*, bulk.* events per account
//! and phone, each with a cursor that only grows. Webhooks and streams read
//! it after a cursor and wait on [`watch`] for more.
//!
//! Appends go through one [`EventLog`] per database, which keeps cursors in
//! commit order: a cursor is a safe resume point. One gateway process per
//! database is assumed (as for sessions).

use std::sync::Arc;

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, NotSet,
    QueryFilter, QueryOrder, QuerySelect, Set, TransactionTrait,
};
use tokio::sync::{Mutex, MutexGuard, broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::{entity::event, new_id, now_ms};
use crate::events::EventKind;

/// The event log of one database, shared by handle: every append goes
/// through it. Appends are serialized (and, inside a transaction, held until
/// it commits: see [`EventLog::append_in`]) so that a reader that has seen
/// cursor N never later finds a smaller one appear; each append adds the
/// payload's `event` and `phone_id` here, once.
#[derive(Clone)]
pub struct EventLog {
    db: DatabaseConnection,
    order: Arc<Mutex<()>>,
    /// The newest cursor this log wrote; readers re-query with their filters.
    latest: Arc<watch::Sender<i64>>,
}

/// One event to append.
pub struct NewEvent<'a> {
    pub account_id: &'a str,
    pub phone_id: Option<&'a str>,
    pub kind: EventKind,
    /// What the event says; the log adds `event` and `phone_id`.
    pub payload: serde_json::Value,
}

impl EventLog {
    pub fn new(db: DatabaseConnection) -> EventLog {
        EventLog {
            db,
            order: Arc::new(Mutex::new(())),
            latest: Arc::new(watch::channel(0).0),
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Wakes up whenever events were appended.
    pub fn watch(&self) -> watch::Receiver<i64> {
        self.latest.subscribe()
    }

    /// Appends one event.
    pub async fn append(&self, new: NewEvent<'_>) -> Result<event::Model, DbErr> {
        let _order = self.order.lock().await;
        let row = insert(&self.db, new).await?;
        self.latest.send_if_modified(|latest| {
            if row.cursor > *latest {
                *latest = row.cursor;
            }
            true
        });
        Ok(row)
    }

    /// Runs `work` in a transaction that may append events with [`insert`]
    /// (a state change and its event, all or nothing), holding the append
    /// order until it commits.
    pub async fn append_in<T, F>(&self, work: F) -> Result<T, DbErr>
    where
        F: for<'c> FnOnce(
                &'c sea_orm::DatabaseTransaction,
            )
                -> std::pin::Pin<Box<dyn Future<Output = Result<T, DbErr>> + Send + 'c>>
            + Send,
        T: Send,
    {
        let _order: MutexGuard<'_, ()> = self.order.lock().await;
        let txn = self.db.begin().await?;
        let out = work(&txn).await?;
        txn.commit().await?;
        // Readers query from their own cursors: waking them is all it takes
        // (no query for the newest cursor on every transaction).
        self.latest.send_modify(|_| {});
        Ok(out)
    }
}

/// Inserts one event; only inside [`EventLog::append_in`].
pub async fn insert<C: ConnectionTrait>(db: &C, new: NewEvent<'_>) -> Result<event::Model, DbErr> {
    let mut payload = new.payload;
    if let Some(map) = payload.as_object_mut() {
        map.insert("event".into(), new.kind.as_str().into());
        if let Some(phone_id) = new.phone_id {
            map.insert("phone_id".into(), phone_id.into());
        }
    }
    event::ActiveModel {
        cursor: NotSet,
        id: Set(new_id("evt")),
        account_id: Set(new.account_id.to_owned()),
        phone_id: Set(new.phone_id.map(str::to_owned)),
        event: Set(new.kind.as_str().to_owned()),
        payload: Set(payload.to_string()),
        created_at: Set(now_ms()),
    }
    .insert(db)
    .await
}

async fn newest_cursor(db: &DatabaseConnection) -> Result<i64, DbErr> {
    Ok(event::Entity::find()
        .select_only()
        .column_as(event::Column::Cursor.max(), "max")
        .into_tuple::<Option<i64>>()
        .one(db)
        .await?
        .flatten()
        .unwrap_or(0))
}

/// The newest cursor in the log (0 when empty): where "from now" starts.
pub async fn head(db: &DatabaseConnection) -> Result<i64, DbErr> {
    newest_cursor(db).await
}

/// Which events to read.
#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub account_id: String,
    /// One phone, or all of the account's.
    pub phone_id: Option<String>,
    /// Only these events; all when empty.
    pub names: Vec<String>,
}

/// Events after `after` matching `filter`, oldest first, at most `limit`.
pub async fn list_after(
    db: &DatabaseConnection,
    filter: &Filter,
    after: i64,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    let mut query = event::Entity::find()
        .filter(event::Column::AccountId.eq(filter.account_id.as_str()))
        .filter(event::Column::Cursor.gt(after));
    if let Some(phone_id) = &filter.phone_id {
        query = query.filter(event::Column::PhoneId.eq(phone_id.as_str()));
    }
    if !filter.names.is_empty() {
        query = query.filter(event::Column::Event.is_in(filter.names.iter().map(String::as_str)));
    }
    query
        .order_by_asc(event::Column::Cursor)
        .limit(limit)
        .all(db)
        .await
}

/// A phone's events after `cursor`, oldest first.
pub async fn list_for_phone(
    db: &DatabaseConnection,
    account_id: &str,
    phone_id: &str,
    after: i64,
) -> Result<Vec<event::Model>, DbErr> {
    let filter = Filter {
        account_id: account_id.to_owned(),
        phone_id: Some(phone_id.to_owned()),
        names: Vec::new(),
    };
    list_after(db, &filter, after, u64::MAX >> 1).await
}

/// One event by id, for redelivery.
pub async fn find(
    db: &DatabaseConnection,
    account_id: &str,
    id: &str,
) -> Result<Option<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::AccountId.eq(account_id))
        .filter(event::Column::Id.eq(id))
        .one(db)
        .await
}

/// Every event after `after` (all accounts), oldest first, at most `limit`.
async fn list_all_after(
    db: &DatabaseConnection,
    after: i64,
    limit: u64,
) -> Result<Vec<event::Model>, DbErr> {
    event::Entity::find()
        .filter(event::Column::Cursor.gt(after))
        .order_by_asc(event::Column::Cursor)
        .limit(limit)
        .all(db)
        .await
}

/// Events a [`Tail`] keeps for receivers that fall behind; one that falls
/// further behind reads the log itself.
const TAIL_BUFFER: usize = 1024;

/// Reads new events once per append and hands them to every live stream of
/// this database, in cursor order: a hundred subscribers cost one query per
/// append, not a hundred, and no subscriber costs none (the tail stops
/// reading and starts again from the head when the next stream subscribes).
#[derive(Clone)]
pub struct Tail {
    tx: broadcast::Sender<Arc<event::Model>>,
    db: DatabaseConnection,
    at: Arc<Mutex<TailAt>>,
}

/// Where the tail has read to; `stale` when it skipped appends because no
/// stream was listening.
struct TailAt {
    after: i64,
    stale: bool,
}

impl Tail {
    /// Starts following the log: every event appended after a
    /// [`subscribe`](Self::subscribe) returns is published to it.
    pub async fn start(
        log: &EventLog,
        stop: CancellationToken,
        tasks: &tokio_util::task::TaskTracker,
    ) -> Result<Tail, DbErr> {
        let db = log.db().clone();
        let (tx, _) = broadcast::channel(TAIL_BUFFER);
        let at = Arc::new(Mutex::new(TailAt {
            after: 0,
            stale: true,
        }));
        let mut wake = log.watch();
        let (sender, reader, tail_at) = (tx.clone(), db.clone(), at.clone());
        tasks.spawn(async move {
            loop {
                wake.borrow_and_update();
                let mut at = tail_at.lock().await;
                if sender.receiver_count() == 0 {
                    // Nobody to hand events to: the next subscriber resyncs.
                    at.stale = true;
                } else {
                    loop {
                        match list_all_after(&reader, at.after, 200).await {
                            Ok(page) => {
                                let full = page.len() == 200;
                                for event in page {
                                    at.after = event.cursor;
                                    // A receiver gone meanwhile is fine.
                                    let _ = sender.send(Arc::new(event));
                                }
                                if !full {
                                    break;
                                }
                            }
                            Err(err) => {
                                // Nothing is skipped: the same cursor is read again.
                                tracing::error!(error = %err, "reading the event log for streams");
                                tokio::select! {
                                    _ = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                                    _ = stop.cancelled() => return,
                                }
                            }
                        }
                    }
                }
                drop(at);
                tokio::select! {
                    changed = wake.changed() => if changed.is_err() { return },
                    _ = stop.cancelled() => return,
                }
            }
        });
        Ok(Tail { tx, db, at })
    }

    /// The database the log is in.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Live streams following the log now (each holds one receiver for
    /// its whole life, catching up or live).
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Events published from now on: every event committed after this
    /// returns reaches the receiver (unless it falls behind by more than the
    /// tail's buffer; then it sees `Lagged` and reads the log itself).
    pub async fn subscribe(&self) -> Result<broadcast::Receiver<Arc<event::Model>>, DbErr> {
        let mut at = self.at.lock().await;
        if at.stale {
            // Appends are serialized and commit under their lock, so every
            // event not yet in the head is newer than it.
            at.after = head(&self.db).await?;
            at.stale = false;
        }
        Ok(self.tx.subscribe())
    }
}
