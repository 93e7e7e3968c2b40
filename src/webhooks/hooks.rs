//! A phone's webhook as its owner manages it: set (the URL checked against
//! the fetch guard before anything is stored), read, delete, its delivery
//! log, and redelivering one event. Every change wakes the delivery worker.

use sea_orm::DatabaseConnection;

use super::{Kick, sign};
use crate::{
    error::{Error, Result},
    events::EventFilter,
    fetch::{FetchError, Fetcher},
    sealed::KeyBox,
    store::{
        self,
        entity::{phone, webhook, webhook_attempt},
    },
    values,
};

const MAX_URL: usize = crate::rules::WEBHOOK_URL_MAX;

/// The webhooks of every account, by handle.
#[derive(Clone)]
pub(crate) struct Webhooks {
    db: DatabaseConnection,
    fetcher: Fetcher,
    kick: Kick,
    /// Seals the signing secrets at rest.
    keys: KeyBox,
}

/// A URL and the events to send there, checked.
pub(crate) struct Target {
    pub url: url::Url,
    /// The names let through (a family such as `phone.*` expanded); empty:
    /// every event.
    pub events: Vec<String>,
}

impl Target {
    /// Checks `webhook_url` and `events` as a request gives them (nothing
    /// is resolved yet: see [`Webhooks::set`]).
    pub(crate) fn parse(webhook_url: &str, events: &[String]) -> Result<Target> {
        let url = values::http_url("webhook_url", webhook_url)?;
        values::max_len("webhook_url", url.as_str(), MAX_URL)?;
        let events = EventFilter::parse("events", events)?.names();
        Ok(Target { url, events })
    }
}

fn no_webhook(phone_id: &str) -> Error {
    Error::NotFound(format!("phone {phone_id} has no webhook"))
}

impl Webhooks {
    pub(crate) fn new(
        db: DatabaseConnection,
        fetcher: Fetcher,
        kick: Kick,
        keys: KeyBox,
    ) -> Webhooks {
        Webhooks {
            db,
            fetcher,
            kick,
            keys,
        }
    }

    /// Sets (or replaces) the phone's webhook; the URL must resolve to an
    /// address the fetch guard allows. Answers the webhook and its new
    /// signing secret, which is shown this once.
    pub(crate) async fn set(
        &self,
        phone: &phone::Model,
        target: Target,
    ) -> Result<(webhook::Model, String)> {
        self.fetcher
            .check_url_resolved(&target.url)
            .await
            .map_err(|err| match err {
                FetchError::Refused(msg) => Error::invalid("webhook_url", msg),
                other => Error::invalid("webhook_url", other.to_string()),
            })?;
        let secret = sign::new_secret();
        let hook = store::webhooks::set(
            &self.db,
            &phone.account_id,
            &phone.id,
            target.url.as_str(),
            &target.events,
            &self.keys.seal(&phone.id, &secret),
        )
        .await?;
        self.kick.kick();
        tracing::info!(phone_id = %phone.id, webhook_id = %hook.id, "webhook set");
        Ok((hook, secret))
    }

    /// The phone's webhook, or 404.
    pub(crate) async fn get(&self, phone: &phone::Model) -> Result<webhook::Model> {
        store::webhooks::find_for_phone(&self.db, &phone.account_id, &phone.id)
            .await?
            .ok_or_else(|| no_webhook(&phone.id))
    }

    /// Deletes the phone's webhook (404 when it has none); its pending
    /// deliveries go with it.
    pub(crate) async fn delete(&self, phone: &phone::Model) -> Result<()> {
        if !store::webhooks::delete(&self.db, &phone.account_id, &phone.id).await? {
            return Err(no_webhook(&phone.id));
        }
        tracing::info!(phone_id = %phone.id, "webhook deleted");
        Ok(())
    }

    /// A page of the webhook's delivery attempts, newest first, before the
    /// previous page's last position; one event's only, if given.
    pub(crate) async fn deliveries(
        &self,
        hook: &webhook::Model,
        event_id: Option<&str>,
        before: Option<i64>,
        limit: u64,
    ) -> Result<Vec<webhook_attempt::Model>> {
        Ok(store::webhooks::list_attempts(&self.db, hook, event_id, before, limit).await?)
    }

    /// Queues one of the phone's events to be delivered again; answers its
    /// id (404 for an event of another phone or account).
    pub(crate) async fn redeliver(&self, hook: &webhook::Model, event_id: &str) -> Result<String> {
        let event = store::events::find(&self.db, &hook.account_id, event_id)
            .await?
            .filter(|e| e.phone_id.as_deref() == Some(hook.phone_id.as_str()))
            .ok_or_else(|| Error::NotFound(format!("event {event_id} not found")))?;
        store::webhooks::queue_redelivery(&self.db, hook, &event.id).await?;
        self.kick.kick();
        Ok(event.id)
    }
}
