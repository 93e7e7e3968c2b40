//! What a phone's plan allows, decided in one place for every path (API
//! sends, campaigns, the bot and its settings).
//!
//! A trial phone reaches at most [`TRIAL_RECIPIENTS`] unique recipients.
//! What counts: every number it has sent to (messages not failed), plus
//! every number still waiting in its unfinished campaigns (queued, running
//! or paused), plus every participant of the groups it sent to (a group
//! message counts everyone in the group: a group is not a way around the
//! cap). A number in any of these costs nothing more; a campaign or a group
//! message is admitted only if all its new numbers fit. AI auto-reply is
//! Pro only.

use std::collections::HashSet;

use sea_orm::DatabaseConnection;

use crate::{
    error::{Error, Result},
    store::{
        self,
        entity::{phone, vocab::Plan},
    },
};

/// Unique recipients a trial phone may reach, in total.
pub(crate) const TRIAL_RECIPIENTS: u64 = 30;

/// Admits a message to a group of `members` (everyone in it but the phone)
/// on a trial phone, and records them as reached; Pro phones send freely.
pub(crate) async fn admit_group(
    db: &DatabaseConnection,
    phone: &phone::Model,
    members: &[String],
) -> Result<()> {
    if phone.plan == Plan::Pro {
        return Ok(());
    }
    let refs: Vec<&str> = members.iter().map(String::as_str).collect();
    admit(db, phone, &refs).await.map_err(|err| match err {
        Error::PermissionDenied(_) => Error::PermissionDenied(format!(
            "trial phones reach at most {TRIAL_RECIPIENTS} unique recipients, and a group message reaches everyone in the group: this group has {} participants besides the phone, over the cap with those already reached; upgrade to Pro to message it",
            members.len()
        )),
        other => other,
    })?;
    store::messages::add_group_recipients(db, &phone.id, members).await?;
    Ok(())
}

/// Refuses (403) what the phone's plan does not allow: `recipients` that
/// would take a trial phone past its cap.
pub(crate) async fn admit(
    db: &DatabaseConnection,
    phone: &phone::Model,
    recipients: &[&str],
) -> Result<()> {
    if phone.plan == Plan::Pro {
        return Ok(());
    }
    // One recipient already reached (the usual case) needs one short query.
    if let [one] = recipients
        && store::messages::has_reached(db, &phone.id, one).await?
    {
        return Ok(());
    }
    let used = used_recipients(db, phone).await?;
    let new: HashSet<&str> = recipients
        .iter()
        .copied()
        .filter(|n| !used.contains(*n))
        .collect();
    let total = used.len() as u64 + new.len() as u64;
    if new.is_empty() || total <= TRIAL_RECIPIENTS {
        return Ok(());
    }
    Err(Error::PermissionDenied(match recipients {
        [one] => format!(
            "trial phones reach at most {TRIAL_RECIPIENTS} unique recipients ({} reached or waiting in campaigns); upgrade to Pro to message {one}",
            used.len()
        ),
        _ => format!(
            "trial phones reach at most {TRIAL_RECIPIENTS} unique recipients: this campaign has {} new recipients and {} are already used or waiting in campaigns, so {} new recipients are over the cap; upgrade to Pro or send to fewer numbers",
            new.len(),
            used.len(),
            total - TRIAL_RECIPIENTS
        ),
    }))
}

/// A trial phone's recipients as the cap counts them, with the cap; None
/// on Pro phones.
pub(crate) async fn trial_usage(
    db: &DatabaseConnection,
    phone: &phone::Model,
) -> Result<Option<(u64, u64)>> {
    if phone.plan == Plan::Pro {
        return Ok(None);
    }
    let used = used_recipients(db, phone).await?;
    Ok(Some((used.len() as u64, TRIAL_RECIPIENTS)))
}

/// Every number the cap counts for `phone`: sent to, or waiting in its
/// unfinished campaigns.
async fn used_recipients(db: &DatabaseConnection, phone: &phone::Model) -> Result<HashSet<String>> {
    let mut used: HashSet<String> = store::messages::reached(db, &phone.id)
        .await?
        .into_iter()
        .collect();
    used.extend(store::bulks::waiting_numbers(db, &phone.id).await?);
    used.extend(store::messages::group_recipients(db, &phone.id).await?);
    Ok(used)
}

/// Refuses (403) AI auto-reply on a trial phone.
pub(crate) fn require_ai(phone: &phone::Model) -> Result<()> {
    if phone.plan == Plan::Pro {
        Ok(())
    } else {
        Err(Error::PermissionDenied(
            "AI auto-reply is available on Pro plan only".into(),
        ))
    }
}
