//! A campaign's life as its owner drives it: created with its recipients,
//! paused, resumed, cancelled, listed and described. The phone's worker
//! (in the parent module) drives the rest. Every state change and the
//! bulk.* event that says so are written in one transaction, so that a
//! webhook never announces a change that did not happen, and a change never
//! happens unannounced.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Engine, sheet, sheet::Sheet};
use crate::{
    error::{Error, Result},
    events::EventKind,
    store::{
        bulks::{self, Counts, NewBulk, NewRecipient, RecipientFilter},
        entity::{
            bulk, bulk_recipient, message, phone,
            vocab::{BulkStatus, MessageStatus, PauseKind, RecipientStatus},
        },
        events::{NewEvent, insert},
        now_ms,
    },
};

/// A campaign as its owner sees it.
#[derive(Debug, Clone)]
pub struct View {
    pub campaign: bulk::Model,
    pub counts: Counts,
    /// The number it sends to next, while it runs.
    pub current_recipient: Option<String>,
    /// When it should be done (Unix ms), from the gaps of this campaign and
    /// the phone's older ones; none while paused by its owner or failures.
    pub expected_finish_at: Option<i64>,
}

/// One recipient as its owner sees it.
#[derive(Debug, Clone)]
pub struct RecipientView {
    pub position: u32,
    pub number: String,
    pub row: Option<u32>,
    /// pending, skipped, or its message's status.
    pub status: &'static str,
    pub message: Option<message::Model>,
}

/// The statuses a recipient list can be filtered by, as the API names them.
pub(crate) fn recipient_filter(raw: &str) -> Result<Option<RecipientFilter>> {
    Ok(Some(match raw.trim() {
        "" => return Ok(None),
        "pending" => RecipientFilter::Pending,
        "skipped" => RecipientFilter::Skipped,
        "sent" => RecipientFilter::Message(MessageStatus::Sent),
        "delivered" => RecipientFilter::Message(MessageStatus::Delivered),
        "read" => RecipientFilter::Message(MessageStatus::Read),
        "failed" => RecipientFilter::Message(MessageStatus::Failed),
        _ => {
            return Err(Error::invalid(
                "status",
                "must be one of pending, sent, delivered, read, failed, skipped",
            ));
        }
    }))
}

/// The answer to pausing, resuming or cancelling a finished campaign.
fn finished(row: &bulk::Model) -> Error {
    Error::invalid(
        "bulk_id",
        format!(
            "campaign {} is {} and cannot change any more",
            row.id, row.status
        ),
    )
}

/// A state change of one campaign.
pub(super) struct Change {
    pub from: &'static [BulkStatus],
    pub to: BulkStatus,
    pub pause: Option<(PauseKind, String)>,
    /// Said when the change happens: the payload gets `bulk_id`, and the
    /// final `total` and `counts` when the campaign ends.
    pub event: Option<(EventKind, Value)>,
}

impl super::Inner {
    /// Moves a campaign (if it is in one of `change.from`) and writes its
    /// event in the same transaction; false when someone else moved it first.
    pub(super) async fn change(&self, campaign: &bulk::Model, change: Change) -> Result<bool> {
        let campaign = campaign.clone();
        let moved = self
            .events
            .append_in(move |txn| {
                Box::pin(async move {
                    let pause = change.pause.as_ref().map(|(k, r)| (*k, r.as_str()));
                    if !bulks::transition(txn, &campaign.id, change.from, change.to, pause).await? {
                        return Ok(false);
                    }
                    if change.to == BulkStatus::Cancelled {
                        bulks::skip_pending(txn, &campaign.id).await?;
                    }
                    if let Some((kind, mut payload)) = change.event {
                        if let Some(map) = payload.as_object_mut() {
                            map.insert("bulk_id".into(), json!(campaign.id));
                            if matches!(change.to, BulkStatus::Completed | BulkStatus::Cancelled) {
                                let counts = bulks::counts(txn, &campaign.id).await?;
                                map.insert("total".into(), json!(campaign.total));
                                map.insert("counts".into(), counts.json());
                            }
                        }
                        insert(
                            txn,
                            NewEvent {
                                account_id: &campaign.account_id,
                                phone_id: Some(&campaign.phone_id),
                                kind,
                                payload,
                            },
                        )
                        .await?;
                    }
                    Ok(true)
                })
            })
            .await?;
        Ok(moved)
    }
}

impl Engine {
    /// Reads a sheet's rows (the sheet must be shared by link).
    pub async fn read_sheet(&self, sheet_id: &str) -> Result<Sheet> {
        let settings = &self.0.settings;
        let csv = sheet::fetch(
            &self.0.fetcher,
            &settings.sheets_base_url,
            sheet_id,
            settings.sheet_max_bytes,
        )
        .await?;
        sheet::parse(&csv)
    }

    /// Creates a campaign of `phone` with its recipients (after the plan
    /// admits them) and its bulk.created event, all or nothing, and wakes
    /// the phone's worker.
    pub async fn create(
        &self,
        phone: &phone::Model,
        new: NewBulk,
        list: Vec<NewRecipient>,
    ) -> Result<bulk::Model> {
        let numbers: Vec<&str> = list.iter().map(|r| r.number.as_str()).collect();
        crate::plan::admit(&self.0.db, phone, &numbers).await?;
        let row = self
            .0
            .events
            .append_in(move |txn| {
                Box::pin(async move {
                    let row = bulks::create(txn, new, list).await?;
                    insert(
                        txn,
                        NewEvent {
                            account_id: &row.account_id,
                            phone_id: Some(&row.phone_id),
                            kind: EventKind::BulkCreated,
                            payload: json!({
                                "bulk_id": row.id,
                                "total": row.total,
                                "source": row.source,
                            }),
                        },
                    )
                    .await?;
                    Ok(row)
                })
            })
            .await?;
        self.kick(&phone.id);
        Ok(row)
    }

    /// A campaign of the account, or 404 (another account's is not told
    /// apart from one that does not exist).
    pub async fn owned(&self, account_id: &str, bulk_id: &str) -> Result<bulk::Model> {
        let bulk_id = crate::values::required("bulk_id", bulk_id)?;
        bulks::find_for_account(&self.0.db, account_id, bulk_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("campaign {bulk_id} not found")))
    }

    /// Pauses a campaign, running or waiting (a waiting one then stays
    /// paused when its phone comes back). Pausing a paused one changes
    /// nothing and says nothing.
    pub async fn pause(&self, campaign: bulk::Model) -> Result<View> {
        let reason = "paused through the API";
        let moved = self
            .0
            .change(
                &campaign,
                Change {
                    from: &[BulkStatus::Queued, BulkStatus::Running, BulkStatus::Paused],
                    to: BulkStatus::Paused,
                    pause: Some((PauseKind::User, reason.into())),
                    event: (campaign.status != BulkStatus::Paused)
                        .then(|| (EventKind::BulkPaused, json!({"reason": reason}))),
                },
            )
            .await?;
        if !moved {
            return Err(finished(&campaign));
        }
        self.changed(campaign).await
    }

    /// Resumes a paused campaign: queued, it starts when it is its turn and
    /// the phone is connected. A running or waiting one is left as it is.
    pub async fn resume(&self, campaign: bulk::Model) -> Result<View> {
        match campaign.status {
            BulkStatus::Paused => {
                self.0
                    .change(
                        &campaign,
                        Change {
                            from: &[BulkStatus::Paused],
                            to: BulkStatus::Queued,
                            pause: None,
                            event: Some((
                                EventKind::BulkResumed,
                                json!({"reason": "resumed through the API"}),
                            )),
                        },
                    )
                    .await?;
            }
            BulkStatus::Queued | BulkStatus::Running => {}
            BulkStatus::Completed | BulkStatus::Cancelled => return Err(finished(&campaign)),
        }
        self.changed(campaign).await
    }

    /// Cancels a campaign: recipients not yet handed over are skipped; one
    /// already handed over still goes out.
    pub async fn cancel(&self, campaign: bulk::Model) -> Result<View> {
        let moved = self
            .0
            .change(
                &campaign,
                Change {
                    from: &[BulkStatus::Queued, BulkStatus::Running, BulkStatus::Paused],
                    to: BulkStatus::Cancelled,
                    pause: None,
                    event: Some((EventKind::BulkCancelled, json!({}))),
                },
            )
            .await?;
        if !moved {
            return Err(finished(&campaign));
        }
        self.changed(campaign).await
    }

    /// After a change: wakes the phone's worker and shows the campaign as
    /// it is now.
    async fn changed(&self, campaign: bulk::Model) -> Result<View> {
        self.kick(&campaign.phone_id);
        let campaign = bulks::find(&self.0.db, &campaign.id)
            .await?
            .unwrap_or(campaign);
        self.view(campaign).await
    }

    /// One campaign as its owner sees it.
    pub async fn view(&self, campaign: bulk::Model) -> Result<View> {
        let mut views = self.views(vec![campaign]).await?;
        views
            .pop()
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("a campaign without its view")))
    }

    /// A page of the account's campaigns (of one phone, or all), newest
    /// first, after the previous page's last (created_at, id).
    pub async fn list(
        &self,
        account_id: &str,
        phone_id: Option<&str>,
        limit: u64,
        after: Option<(i64, String)>,
    ) -> Result<Vec<View>> {
        let rows = bulks::list(&self.0.db, account_id, phone_id, limit, after).await?;
        self.views(rows).await
    }

    /// Campaigns as their owner sees them, in a fixed number of queries
    /// however many there are (plus none per campaign).
    async fn views(&self, campaigns: Vec<bulk::Model>) -> Result<Vec<View>> {
        let db = &self.0.db;
        let settings = &self.0.settings;
        // The finish estimate queues each unfinished campaign behind its
        // phone's older active ones.
        let mut phones: Vec<&str> = campaigns
            .iter()
            .filter(|c| !matches!(c.status, BulkStatus::Completed | BulkStatus::Cancelled))
            .map(|c| c.phone_id.as_str())
            .collect();
        phones.sort_unstable();
        phones.dedup();
        let active = bulks::active_for_phones(db, &phones).await?;
        let mut ids: Vec<&str> = campaigns
            .iter()
            .chain(&active)
            .map(|c| c.id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let counts = bulks::counts_for(db, &ids).await?;
        let running: Vec<&str> = campaigns
            .iter()
            .filter(|c| c.status == BulkStatus::Running)
            .map(|c| c.id.as_str())
            .collect();
        let mut next = bulks::next_numbers(db, &running).await?;
        // Per phone, when each active campaign should be done.
        let now = now_ms();
        let mut finish: HashMap<&str, i64> = HashMap::new();
        let mut phone_at: HashMap<&str, i64> = HashMap::new();
        for campaign in &active {
            let at = phone_at.entry(campaign.phone_id.as_str()).or_insert(now);
            let left = counts.get(&campaign.id).map_or(0, |c| c.pending) as i64;
            *at += left * settings.mean_gap(campaign).as_millis() as i64;
            finish.insert(campaign.id.as_str(), *at);
        }
        let views = campaigns
            .iter()
            .map(|campaign| {
                let expected_finish_at = match campaign.status {
                    BulkStatus::Completed | BulkStatus::Cancelled => campaign.finished_at,
                    BulkStatus::Paused if campaign.pause_kind != Some(PauseKind::Disconnected) => {
                        None
                    }
                    _ => finish.get(campaign.id.as_str()).copied(),
                };
                View {
                    counts: counts.get(&campaign.id).copied().unwrap_or_default(),
                    current_recipient: next.remove(&campaign.id),
                    expected_finish_at,
                    campaign: campaign.clone(),
                }
            })
            .collect();
        Ok(views)
    }

    /// A page of a campaign's recipients in sending order, after position
    /// `after`.
    pub async fn recipients(
        &self,
        campaign: &bulk::Model,
        filter: Option<RecipientFilter>,
        after: Option<i32>,
        limit: u64,
    ) -> Result<Vec<RecipientView>> {
        let rows = bulks::recipients(&self.0.db, &campaign.id, filter, after, limit).await?;
        Ok(rows.into_iter().map(recipient_view).collect())
    }
}

fn recipient_view((r, message): (bulk_recipient::Model, Option<message::Model>)) -> RecipientView {
    let status = match (&message, r.status) {
        (_, RecipientStatus::Skipped) => "skipped",
        (Some(m), _) if m.status != MessageStatus::Queued => m.status.as_str(),
        _ => "pending",
    };
    RecipientView {
        position: r.seq as u32,
        number: r.number,
        row: r.row.map(|n| n as u32),
        status,
        message,
    }
}
