//! The status writer: every message status change of this process's
//! sessions (sent or failed after a send, delivered and read from receipts,
//! failed from a server's rejection) goes through one task, which commits
//! whatever has queued up since its last commit in one transaction, each
//! change with its message.status event ([`store::messages::advance_recorded`]).
//!
//! So a session never waits on the database for a receipt, a session
//! answers the next send while the last one's status is being written, and
//! under load many changes share one commit. A sender that must not answer
//! before its status is durable waits for [`Statuses::enqueue`]'s answer.

use tokio::sync::{mpsc, oneshot};
use tokio_util::task::TaskTracker;

use crate::metrics::Metrics;
use crate::store::{
    self,
    entity::{message, vocab::MessageStatus},
    events::EventLog,
    messages::{Change, Target},
};

/// A change once the writer is done with it: the updated row, None when the
/// message did not move, or the database error (logged) that kept it out.
pub type Stored = Result<Option<message::Model>, String>;

/// At most this many changes per transaction.
const MAX_BATCH: usize = 512;

enum Job {
    Change(Change, Option<oneshot::Sender<Stored>>),
    /// Answered once everything queued before it is committed.
    Flush(oneshot::Sender<()>),
    /// Commit what is queued and end (the process is stopping; every
    /// session has stopped).
    Close,
}

#[derive(Clone)]
pub struct Statuses {
    jobs: mpsc::UnboundedSender<Job>,
}

impl Statuses {
    /// Starts the writer on `tasks`; it ends after [`close`](Self::close)
    /// (or once every handle is dropped), with all queued changes written.
    pub fn start(log: EventLog, tasks: &TaskTracker, metrics: &Metrics) -> Statuses {
        let (jobs, queue) = mpsc::unbounded_channel();
        tasks.spawn(run(log, queue, metrics.clone()));
        Statuses { jobs }
    }

    /// Ends the writer once everything queued so far is written.
    pub fn close(&self) {
        let _ = self.jobs.send(Job::Close);
    }

    /// Records a change without waiting for it (receipts, acks).
    pub fn record(&self, target: Target, status: MessageStatus, reason: Option<String>) {
        let _ = self
            .jobs
            .send(Job::Change(change(target, status, reason), None));
    }

    /// Queues a change; the answer comes once it is committed (or failed).
    pub fn enqueue(
        &self,
        target: Target,
        status: MessageStatus,
        reason: Option<String>,
    ) -> oneshot::Receiver<Stored> {
        let (tx, rx) = oneshot::channel();
        let _ = self
            .jobs
            .send(Job::Change(change(target, status, reason), Some(tx)));
        rx
    }

    /// Waits until every change queued before this call is committed (or
    /// has failed and been logged).
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.jobs.send(Job::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn change(target: Target, status: MessageStatus, reason: Option<String>) -> Change {
    Change {
        target,
        status,
        reason,
    }
}

async fn run(log: EventLog, mut queue: mpsc::UnboundedReceiver<Job>, metrics: Metrics) {
    let mut batch = Vec::new();
    let mut closing = false;
    while !closing && let Some(job) = queue.recv().await {
        closing = matches!(job, Job::Close);
        batch.push(job);
        while !closing && batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => {
                    closing = matches!(job, Job::Close);
                    batch.push(job);
                }
                Err(_) => break,
            }
        }
        commit(&log, &metrics, std::mem::take(&mut batch)).await;
    }
}

/// Writes one batch in one transaction; if that fails, each change alone,
/// so one bad change does not sink the others.
async fn commit(log: &EventLog, metrics: &Metrics, batch: Vec<Job>) {
    let mut changes = Vec::with_capacity(batch.len());
    let mut answers = Vec::with_capacity(batch.len());
    let mut flushed = Vec::new();
    for job in batch {
        match job {
            Job::Change(change, answer) => {
                changes.push(change);
                answers.push(answer);
            }
            Job::Flush(done) => flushed.push(done),
            Job::Close => {}
        }
    }
    // A copy to retry each change alone, only where there is more than one.
    let copies = (changes.len() > 1).then(|| changes.clone());
    let rows: Vec<Stored> = if changes.is_empty() {
        Vec::new()
    } else {
        match store::messages::advance_recorded(log, changes).await {
            Ok(rows) => rows.into_iter().map(Ok).collect(),
            Err(err) => match copies {
                None => {
                    tracing::error!(error = %err, "updating message status");
                    vec![Err(err.to_string())]
                }
                Some(copies) => {
                    tracing::warn!(error = %err, count = copies.len(), "status batch failed; writing each alone");
                    let mut rows = Vec::with_capacity(copies.len());
                    for change in copies {
                        let row = match store::messages::advance_recorded(log, vec![change]).await {
                            Ok(mut one) => Ok(one.pop().flatten()),
                            Err(err) => {
                                tracing::error!(error = %err, "updating message status");
                                Err(err.to_string())
                            }
                        };
                        rows.push(row);
                    }
                    rows
                }
            },
        }
    };
    for (answer, row) in answers.into_iter().zip(rows) {
        // Counted once committed, and only when the message moved.
        if let Ok(Some(row)) = &row {
            metrics.message(row.kind, row.source, row.status);
        }
        if let Some(answer) = answer {
            let _ = answer.send(row);
        }
    }
    for done in flushed {
        let _ = done.send(());
    }
}
