use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::{State, convert::timestamp, validate};
use crate::{
    auth::{AuthContext, caller},
    bulk::{sheet, template::Template},
    error::{Error, Result},
    events::EventKind,
    proto::{self, bulk_service_server::BulkService},
    store::{
        bulks,
        bulks::{NewBulk, NewRecipient, RecipientFilter},
        entity::{
            bulk, phone,
            vocab::{BulkStatus, MessageStatus, PauseKind, RecipientStatus},
        },
        now_ms,
    },
};

pub struct BulkApi(pub State);

fn check_message_and_delay(message: &str, delay: Option<u32>) -> Result<Template> {
    validate::required("message", message)?;
    validate::max_len("message", message, 65_536)?;
    if delay.is_some_and(|d| d > 3_600_000) {
        return Err(Error::invalid(
            "delay",
            "must be at most 3600000 ms (one hour)",
        ));
    }
    Template::parse(message).map_err(|why| Error::invalid("message", why))
}

/// A 400 for a placeholder the recipients have no value for.
fn check_placeholders(template: &Template, known: &[&str]) -> Result<()> {
    if let Some(name) = template.unknown(known) {
        let known = known
            .iter()
            .map(|k| format!("{{{{{k}}}}}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(Error::invalid(
            "message",
            format!(
                "uses the placeholder {{{{{name}}}}}, which this campaign has no value for (it has {known})"
            ),
        ));
    }
    Ok(())
}

fn rejected(number: &str, reason: &str, detail: String, row: Option<u32>) -> proto::RejectedNumber {
    proto::RejectedNumber {
        number: number.to_owned(),
        reason: reason.to_owned(),
        row,
        detail,
    }
}

const INVALID_NUMBER: &str =
    "not a phone number: use the country code and 8 to 15 digits, e.g. 919876543210";

/// What a request's recipient list turned into.
struct Accepted {
    recipients: Vec<NewRecipient>,
    rejected: Vec<proto::RejectedNumber>,
}

impl BulkApi {
    /// Persists the campaign and wakes the phone's worker.
    async fn create(
        &self,
        phone: &phone::Model,
        new: NewBulk,
        accepted: Accepted,
    ) -> Result<(bulk::Model, u32, Vec<proto::RejectedNumber>)> {
        let numbers: Vec<&str> = accepted
            .recipients
            .iter()
            .map(|r| r.number.as_str())
            .collect();
        crate::plan::admit(&self.0.db, phone, &numbers).await?;
        let count = accepted.recipients.len() as u32;
        let row = bulks::create(&self.0.db, new, accepted.recipients).await?;
        crate::bulk::record(
            &self.0.events,
            &row,
            EventKind::BulkCreated,
            serde_json::json!({"total": row.total, "source": row.source}),
        )
        .await?;
        self.0.bulk.kick(&phone.id);
        Ok((row, count, accepted.rejected))
    }

    fn max_numbers(&self) -> usize {
        self.0.bulk.settings().max_numbers
    }

    /// A campaign of the caller's account.
    async fn owned(&self, caller: &AuthContext, bulk_id: &str) -> Result<bulk::Model> {
        let bulk_id = validate::required("bulk_id", bulk_id)?;
        bulks::find_for_account(&self.0.db, &caller.account_id, bulk_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("campaign {bulk_id} not found")))
    }

    /// After a change: wakes the phone's worker and shows the campaign as it
    /// is now.
    async fn changed(&self, row: bulk::Model) -> Result<proto::Bulk> {
        self.0.bulk.kick(&row.phone_id);
        let row = bulks::find(&self.0.db, &row.id).await?.unwrap_or(row);
        self.describe(row).await
    }

    /// The campaign as the API shows it: counts, the current recipient and
    /// the expected finish.
    async fn describe(&self, row: bulk::Model) -> Result<proto::Bulk> {
        let db = &self.0.db;
        let counts = bulks::counts(db, &row.id).await?;
        let current_recipient = if row.status == BulkStatus::Running {
            bulks::next_recipient(db, &row.id).await?.map(|r| r.number)
        } else {
            None
        };
        let expected_finish = match row.status {
            BulkStatus::Completed | BulkStatus::Cancelled => row.finished_at,
            BulkStatus::Paused if row.pause_kind != Some(PauseKind::Disconnected) => None,
            _ => {
                // This campaign's turn comes after the older active ones.
                let settings = self.0.bulk.settings();
                let mut at = now_ms();
                for campaign in bulks::active_for_phone(db, &row.phone_id).await? {
                    let left = bulks::remaining(db, &campaign.id).await? as i64;
                    at += left * settings.mean_gap(&campaign).as_millis() as i64;
                    if campaign.id == row.id {
                        break;
                    }
                }
                Some(at)
            }
        };
        Ok(proto::Bulk {
            bulk_id: row.id,
            phone_id: row.phone_id,
            status: proto::BulkStatus::from(row.status) as i32,
            total: row.total as u32,
            counts: Some(proto::BulkCounts {
                pending: counts.pending as u32,
                sent: counts.sent as u32,
                delivered: counts.delivered as u32,
                read: counts.read as u32,
                failed: counts.failed as u32,
                skipped: counts.skipped as u32,
            }),
            current_recipient,
            expected_finish_at: expected_finish.map(timestamp),
            paused_reason: row.paused_reason,
            created_at: Some(timestamp(row.created_at)),
            message: row.message,
            delay: row.delay_ms.map(|d| d as u32),
            source: row.source,
            sheet_id: row.sheet_id,
            finished_at: row.finished_at.map(timestamp),
        })
    }
}

/// Normalizes and deduplicates a list of numbers (request order kept).
fn accept_numbers(numbers: &[String], template: &Template) -> Accepted {
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(numbers.len());
    let mut accepted = Accepted {
        recipients: Vec::with_capacity(numbers.len()),
        rejected: Vec::new(),
    };
    let personal = template.has_placeholders();
    for (index, raw) in numbers.iter().enumerate() {
        let Some(number) = validate::normalize_number(raw) else {
            accepted
                .rejected
                .push(rejected(raw, "invalid", INVALID_NUMBER.into(), None));
            continue;
        };
        if let Some(first) = seen.get(&number) {
            accepted.rejected.push(rejected(
                raw,
                "duplicate",
                format!("same number as numbers[{first}]; sent once"),
                None,
            ));
            continue;
        }
        seen.insert(number.clone(), index);
        let text = personal.then(|| template.render(|_| Some(number.as_str())));
        accepted.recipients.push(NewRecipient {
            number,
            text,
            row: None,
        });
    }
    accepted
}

/// Turns a sheet's rows into recipients: numbers from the first column,
/// placeholders from the columns by header name.
fn accept_rows(sheet: &sheet::Sheet, template: &Template) -> Accepted {
    let columns: Vec<String> = sheet
        .header
        .iter()
        .flatten()
        .map(|h| h.to_lowercase())
        .collect();
    let mut seen: HashMap<String, u32> = HashMap::with_capacity(sheet.rows.len());
    let mut accepted = Accepted {
        recipients: Vec::with_capacity(sheet.rows.len()),
        rejected: Vec::new(),
    };
    for (row, cells) in &sheet.rows {
        let raw = cells.first().map(String::as_str).unwrap_or("");
        let Some(number) = validate::normalize_number(raw) else {
            let detail = if raw.is_empty() {
                "the first column is empty".to_owned()
            } else {
                INVALID_NUMBER.to_owned()
            };
            accepted
                .rejected
                .push(rejected(raw, "invalid", detail, Some(*row)));
            continue;
        };
        if let Some(first) = seen.get(&number) {
            accepted.rejected.push(rejected(
                raw,
                "duplicate",
                format!("same number as row {first}; sent once"),
                Some(*row),
            ));
            continue;
        }
        seen.insert(number.clone(), *row);
        let text = template.has_placeholders().then(|| {
            template.render(|name| match columns.iter().position(|c| c == name) {
                Some(i) => Some(cells.get(i).map(String::as_str).unwrap_or("")),
                None if name == "number" => Some(number.as_str()),
                None => None,
            })
        });
        accepted.recipients.push(NewRecipient {
            number,
            text,
            row: Some(*row as i32),
        });
    }
    accepted
}

/// Campaign ids are ours: a malformed one cannot exist.
fn page_token(token: &str) -> Result<Option<(i64, String)>> {
    if token.is_empty() {
        return Ok(None);
    }
    super::paging::decode(token, |raw| {
        let (at, id) = raw.strip_prefix("bk:")?.split_once(':')?;
        Some((at.parse().ok()?, id.to_owned()))
    })
    .map(Some)
}

#[tonic::async_trait]
impl BulkService for BulkApi {
    async fn bulk_send(
        &self,
        request: Request<proto::BulkSendRequest>,
    ) -> Result<Response<proto::BulkSendResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        if req.numbers.is_empty() {
            return Err(Error::required("numbers").into());
        }
        let max = self.max_numbers();
        if req.numbers.len() > max {
            return Err(Error::invalid(
                "numbers",
                format!(
                    "at most {max} numbers per campaign, got {}",
                    req.numbers.len()
                ),
            )
            .into());
        }
        let template = check_message_and_delay(&req.message, req.delay)?;
        check_placeholders(&template, &["number"])?;
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        let accepted = accept_numbers(&req.numbers, &template);
        if accepted.recipients.is_empty() {
            return Err(Error::invalid(
                "numbers",
                format!(
                    "none of the {} numbers is a valid phone number with country code",
                    req.numbers.len()
                ),
            )
            .into());
        }
        let new = NewBulk {
            account_id: caller.account_id.clone(),
            phone_id: phone.id.clone(),
            message: req.message.clone(),
            delay_ms: req.delay.map(i64::from),
            source: "numbers",
            sheet_id: None,
        };
        let (row, accepted, rejected) = self.create(&phone, new, accepted).await?;
        Ok(Response::new(proto::BulkSendResponse {
            bulk_id: row.id,
            accepted,
            rejected,
            status: proto::BulkStatus::from(row.status) as i32,
        }))
    }

    async fn bulk_send_sheet(
        &self,
        request: Request<proto::BulkSendSheetRequest>,
    ) -> Result<Response<proto::BulkSendSheetResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        validate::required("phone_id", &req.phone_id)?;
        let sheet_id = sheet::check_id(&req.sheet_id)?;
        let template = check_message_and_delay(&req.message, req.delay)?;
        let phone = validate::connected_phone(&self.0, caller, &req.phone_id).await?;
        let settings = self.0.bulk.settings();
        let csv = sheet::fetch(
            &self.0.fetcher,
            &settings.sheets_base_url,
            sheet_id,
            settings.sheet_max_bytes,
        )
        .await?;
        let sheet = sheet::parse(&csv)?;
        let mut known: Vec<&str> = sheet
            .header
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|h| !h.is_empty())
            .collect();
        known.push("number");
        check_placeholders(&template, &known)?;
        let max = self.max_numbers();
        if sheet.rows.len() > max {
            return Err(Error::invalid(
                "sheet_id",
                format!(
                    "the sheet has {} rows; at most {max} per campaign",
                    sheet.rows.len()
                ),
            )
            .into());
        }
        let accepted = accept_rows(&sheet, &template);
        if accepted.recipients.is_empty() {
            return Err(Error::invalid(
                "sheet_id",
                format!(
                    "the sheet has no valid phone number in its first column ({} rows read)",
                    sheet.rows.len()
                ),
            )
            .into());
        }
        let new = NewBulk {
            account_id: caller.account_id.clone(),
            phone_id: phone.id.clone(),
            message: req.message.clone(),
            delay_ms: req.delay.map(i64::from),
            source: "sheet",
            sheet_id: Some(sheet_id.to_owned()),
        };
        let (row, accepted, rejected) = self.create(&phone, new, accepted).await?;
        Ok(Response::new(proto::BulkSendSheetResponse {
            bulk_id: row.id,
            accepted,
            rejected,
            status: proto::BulkStatus::from(row.status) as i32,
        }))
    }

    async fn get_bulk(
        &self,
        request: Request<proto::GetBulkRequest>,
    ) -> Result<Response<proto::GetBulkResponse>, Status> {
        let caller = caller(&request)?;
        let row = self.owned(caller, &request.get_ref().bulk_id).await?;
        Ok(Response::new(proto::GetBulkResponse {
            bulk: Some(self.describe(row).await?),
        }))
    }

    async fn list_bulks(
        &self,
        request: Request<proto::ListBulksRequest>,
    ) -> Result<Response<proto::ListBulksResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let phone_id = if req.phone_id.is_empty() {
            None
        } else {
            Some(
                validate::owned_phone(&self.0, caller, &req.phone_id)
                    .await?
                    .id,
            )
        };
        let size = super::paging::size(req.page_size);
        let after = page_token(&req.page_token)?;
        let mut rows = bulks::list(
            &self.0.db,
            &caller.account_id,
            phone_id.as_deref(),
            size as u64 + 1,
            after,
        )
        .await
        .map_err(Error::from)?;
        let next_page_token = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last()
                .map(|r| super::paging::encode(&format!("bk:{}:{}", r.created_at, r.id)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let mut bulks = Vec::with_capacity(rows.len());
        for row in rows {
            bulks.push(self.describe(row).await?);
        }
        Ok(Response::new(proto::ListBulksResponse {
            bulks,
            next_page_token,
        }))
    }

    async fn pause_bulk(
        &self,
        request: Request<proto::PauseBulkRequest>,
    ) -> Result<Response<proto::PauseBulkResponse>, Status> {
        let caller = caller(&request)?;
        let row = self.owned(caller, &request.get_ref().bulk_id).await?;
        let db = &self.0.db;
        // A campaign waiting for its phone can be paused too: then it stays
        // paused when the phone comes back.
        let paused = bulks::transition(
            db,
            &row.id,
            &[BulkStatus::Queued, BulkStatus::Running, BulkStatus::Paused],
            BulkStatus::Paused,
            Some((PauseKind::User, "paused through the API")),
        )
        .await
        .map_err(Error::from)?;
        if !paused {
            return Err(finished(&row).into());
        }
        if row.status != BulkStatus::Paused {
            event(
                &self.0,
                &row,
                EventKind::BulkPaused,
                "paused through the API",
            )
            .await?;
        }
        Ok(Response::new(proto::PauseBulkResponse {
            bulk: Some(self.changed(row).await?),
        }))
    }

    async fn resume_bulk(
        &self,
        request: Request<proto::ResumeBulkRequest>,
    ) -> Result<Response<proto::ResumeBulkResponse>, Status> {
        let caller = caller(&request)?;
        let row = self.owned(caller, &request.get_ref().bulk_id).await?;
        let db = &self.0.db;
        match row.status {
            BulkStatus::Paused => {
                // Queued: the worker starts it when it is its turn and the
                // phone is connected.
                if bulks::transition(db, &row.id, &[BulkStatus::Paused], BulkStatus::Queued, None)
                    .await
                    .map_err(Error::from)?
                {
                    event(
                        &self.0,
                        &row,
                        EventKind::BulkResumed,
                        "resumed through the API",
                    )
                    .await?;
                }
            }
            BulkStatus::Queued | BulkStatus::Running => {}
            _ => return Err(finished(&row).into()),
        }
        Ok(Response::new(proto::ResumeBulkResponse {
            bulk: Some(self.changed(row).await?),
        }))
    }

    async fn list_bulk_recipients(
        &self,
        request: Request<proto::ListBulkRecipientsRequest>,
    ) -> Result<Response<proto::ListBulkRecipientsResponse>, Status> {
        let caller = caller(&request)?;
        let req = request.get_ref();
        let row = self.owned(caller, &req.bulk_id).await?;
        let status = match req.status.trim() {
            "" => None,
            "pending" => Some(RecipientFilter::Pending),
            "skipped" => Some(RecipientFilter::Skipped),
            "sent" => Some(RecipientFilter::Message(MessageStatus::Sent)),
            "delivered" => Some(RecipientFilter::Message(MessageStatus::Delivered)),
            "read" => Some(RecipientFilter::Message(MessageStatus::Read)),
            "failed" => Some(RecipientFilter::Message(MessageStatus::Failed)),
            _ => {
                return Err(Error::invalid(
                    "status",
                    "must be one of pending, sent, delivered, read, failed, skipped",
                )
                .into());
            }
        };
        let size = super::paging::size(req.page_size);
        let after = if req.page_token.is_empty() {
            None
        } else {
            Some(super::paging::decode(&req.page_token, |raw| {
                raw.strip_prefix("rcp:")?.parse::<i32>().ok()
            })?)
        };
        let mut rows = bulks::recipients(&self.0.db, &row.id, status, after, size as u64 + 1)
            .await
            .map_err(Error::from)?;
        let next_page_token = if rows.len() > size as usize {
            rows.truncate(size as usize);
            rows.last()
                .map(|(r, _)| super::paging::encode(&format!("rcp:{}", r.seq)))
                .unwrap_or_default()
        } else {
            String::new()
        };
        let recipients = rows
            .into_iter()
            .map(|(r, message)| {
                let status = match (&message, r.status) {
                    (_, RecipientStatus::Skipped) => "skipped",
                    (Some(m), _) if m.status != MessageStatus::Queued => m.status.as_str(),
                    _ => "pending",
                }
                .to_owned();
                proto::BulkRecipient {
                    position: r.seq as u32,
                    number: r.number,
                    row: r.row.map(|n| n as u32),
                    status,
                    message_id: message.as_ref().map(|m| m.wa_id.clone()),
                    reason: message.and_then(|m| m.reason),
                }
            })
            .collect();
        Ok(Response::new(proto::ListBulkRecipientsResponse {
            recipients,
            next_page_token,
        }))
    }

    async fn cancel_bulk(
        &self,
        request: Request<proto::CancelBulkRequest>,
    ) -> Result<Response<proto::CancelBulkResponse>, Status> {
        let caller = caller(&request)?;
        let row = self.owned(caller, &request.get_ref().bulk_id).await?;
        let db = &self.0.db;
        if !bulks::cancel(db, &row.id).await.map_err(Error::from)? {
            return Err(finished(&row).into());
        }
        let counts = bulks::counts(db, &row.id).await.map_err(Error::from)?;
        let payload = serde_json::json!({"total": row.total, "counts": counts.json()});
        crate::bulk::record(&self.0.events, &row, EventKind::BulkCancelled, payload)
            .await
            .map_err(Error::from)?;
        Ok(Response::new(proto::CancelBulkResponse {
            bulk: Some(self.changed(row).await?),
        }))
    }
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

async fn event(state: &State, row: &bulk::Model, kind: EventKind, reason: &str) -> Result<()> {
    crate::bulk::record(
        &state.events,
        row,
        kind,
        serde_json::json!({"reason": reason}),
    )
    .await?;
    Ok(())
}
