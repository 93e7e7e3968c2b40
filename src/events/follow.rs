//! Following the event log: a subscriber's events after its cursor, then
//! live ones as they are appended, until it goes away, falls too far
//! behind, or the server stops. Any transport (the gRPC Subscribe stream,
//! the SSE endpoint through the gateway) adapts the items it yields.

use std::sync::Arc;

use tokio::sync::{broadcast, mpsc};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use super::EventFilter;
use crate::{
    error::{Error, Result},
    store::{
        self,
        entity::event,
        events::{Filter, Tail},
    },
};

/// Why a subscription ended (the last item it yields).
#[derive(Debug)]
pub enum Ended {
    /// The subscriber left its buffer full too long; it resumes from
    /// `cursor`.
    TooSlow { cursor: i64 },
    /// The server is shutting down; resume from `cursor`.
    Stopping { cursor: i64 },
    /// Reading the log failed.
    Failed(Error),
}

/// One event, or the end.
pub type Item = std::result::Result<event::Model, Ended>;

/// Where a subscription runs: the live tail, the server's shutdown signal
/// and its task tracker.
pub struct Follower<'a> {
    pub tail: &'a Tail,
    pub shutdown: &'a CancellationToken,
    pub tasks: &'a TaskTracker,
}

/// Starts following the log for `filter` after `cursor` (0: from now).
/// Subscribes to new events before choosing the start, so nothing appended
/// in between is missed.
pub async fn subscribe(
    at: Follower<'_>,
    filter: Filter,
    names: EventFilter,
    cursor: i64,
) -> Result<tokio_stream::wrappers::ReceiverStream<Item>> {
    let Follower {
        tail,
        shutdown,
        tasks,
    } = at;
    let db = tail.db().clone();
    let live = tail.subscribe().await?;
    let start = match cursor {
        0 => store::events::head(&db).await?,
        n => n,
    };
    let (tx, rx) = mpsc::channel(STREAM_BUFFER);
    tasks.spawn(follow(db, filter, names, start, live, tx, shutdown.clone()));
    Ok(tokio_stream::wrappers::ReceiverStream::new(rx))
}

/// Events buffered per subscriber before it counts as too slow.
const STREAM_BUFFER: usize = 256;
/// How long a subscriber may leave a full buffer unread.
const SLOW_SUBSCRIBER: std::time::Duration = std::time::Duration::from_secs(30);
/// Events read from the log per query.
const PAGE: u64 = 200;

/// Replays the log after `after`, then follows it live, until the
/// subscriber goes away or stops reading. Live events come from the
/// database's [`store::events::Tail`] (one query per append for every
/// stream); a subscriber that falls behind it reads the log again from its
/// own cursor. Memory per subscriber is the bounded buffer plus one page:
/// the log itself is the backlog.
async fn follow(
    db: sea_orm::DatabaseConnection,
    filter: Filter,
    names: EventFilter,
    mut after: i64,
    mut live: broadcast::Receiver<Arc<event::Model>>,
    tx: mpsc::Sender<Item>,
    shutdown: CancellationToken,
) {
    use broadcast::error::RecvError;
    loop {
        // Catch up from the log.
        loop {
            let page = match store::events::list_after(&db, &filter, after, PAGE).await {
                Ok(page) => page,
                Err(err) => {
                    let _ = tx.send(Err(Ended::Failed(err.into()))).await;
                    return;
                }
            };
            let full = page.len() as u64 == PAGE;
            for event in page {
                after = event.cursor;
                if names.matches(&event.event) && !deliver(&tx, event, &shutdown).await {
                    return;
                }
            }
            if !full {
                break;
            }
        }
        // Then live, until this subscriber falls behind the tail.
        loop {
            let event = tokio::select! {
                received = live.recv() => match received {
                    Ok(event) => event,
                    Err(RecvError::Lagged(_)) => break,
                    Err(RecvError::Closed) => return,
                },
                _ = tx.closed() => return,
                _ = shutdown.cancelled() => {
                    let _ = tx.try_send(Err(Ended::Stopping { cursor: after }));
                    return;
                }
            };
            if event.cursor <= after {
                continue; // read from the log already
            }
            let ours = event.account_id == filter.account_id
                && filter
                    .phone_id
                    .as_ref()
                    .is_none_or(|p| event.phone_id.as_ref() == Some(p));
            if !ours {
                continue;
            }
            after = event.cursor;
            if names.matches(&event.event) && !deliver(&tx, (*event).clone(), &shutdown).await {
                return;
            }
        }
    }
}

/// Hands one event to the subscriber's buffer; false when the stream is
/// over (gone, too slow, or the server stopping).
async fn deliver(
    tx: &mpsc::Sender<Item>,
    event: event::Model,
    shutdown: &CancellationToken,
) -> bool {
    let reserve = tokio::select! {
        reserved = tokio::time::timeout(SLOW_SUBSCRIBER, tx.reserve()) => reserved,
        _ = shutdown.cancelled() => {
            let _ = tx.try_send(Err(Ended::Stopping {
                cursor: event.cursor - 1,
            }));
            return false;
        }
    };
    match reserve {
        Ok(Ok(permit)) => {
            permit.send(Ok(event));
            true
        }
        Ok(Err(_)) => false, // the subscriber is gone
        Err(_) => {
            tracing::info!(
                cursor = event.cursor - 1,
                "event subscriber too slow; disconnected"
            );
            let ended = Ended::TooSlow {
                cursor: event.cursor - 1,
            };
            let _ = tokio::time::timeout(SLOW_SUBSCRIBER, tx.send(Err(ended))).await;
            false
        }
    }
}
