//! Contacts as WhatsApp knows them, asked through a phone's live session:
//! which numbers are on WhatsApp (answers kept per phone: 24 hours for a
//! number on WhatsApp, 1 hour for one that is not, since a number can
//! register any time), what a contact shows, and the phone's blocklist.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;
use whatsapp_rust::{Client, Jid};

use crate::{
    error::{Error, Result},
    sessions::SessionManager,
    store::{self, entity::phone},
};

/// How long an answer that a number is on WhatsApp is kept.
pub(crate) const ON_WHATSAPP_KEPT: Duration = Duration::from_secs(24 * 3600);
/// How long an answer that a number is not on WhatsApp is kept.
pub(crate) const NOT_ON_WHATSAPP_KEPT: Duration = Duration::from_secs(3600);
/// Numbers one check may ask about.
pub(crate) const MAX_NUMBERS: usize = 500;
/// Numbers per usync query to WhatsApp.
const PER_QUERY: usize = 100;
/// Answers kept at most (over all phones) before expired ones are dropped.
const MAX_KEPT: usize = 200_000;

/// One number's answer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    /// Digits, as asked.
    pub number: String,
    pub on_whatsapp: bool,
    /// `<number>@s.whatsapp.net` as WhatsApp answered; empty if not on it.
    pub jid: String,
    pub business: bool,
    pub verified_name: Option<String>,
    /// When WhatsApp was asked (Unix ms).
    pub checked_at: i64,
}

/// What a contact shows.
#[derive(Debug, Clone, Default)]
pub(crate) struct ContactInfo {
    pub number: String,
    pub jid: String,
    pub on_whatsapp: bool,
    pub push_name: Option<String>,
    pub about: Option<String>,
    pub picture_url: Option<String>,
    pub picture_id: Option<String>,
    pub business: bool,
    pub verified_name: Option<String>,
    pub business_profile: Option<whatsapp_rust::wacore::iq::business::BusinessProfile>,
    pub blocked: bool,
}

/// A blocked number and when it was blocked (Unix seconds), where known.
pub(crate) type Blocked = (String, Option<u64>);

type Kept = HashMap<(String, String), (Check, Instant)>;

#[derive(Clone)]
pub(crate) struct Contacts {
    db: DatabaseConnection,
    sessions: Arc<SessionManager>,
    kept: Arc<Mutex<Kept>>,
}

fn pn(number: &str) -> Result<Jid> {
    format!("{number}@s.whatsapp.net")
        .parse()
        .map_err(|e| Error::invalid("number", format!("{number}: {e:?}")))
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("WhatsApp did not answer {what}: {err}"))
}

fn kept_for(check: &Check) -> Duration {
    if check.on_whatsapp {
        ON_WHATSAPP_KEPT
    } else {
        NOT_ON_WHATSAPP_KEPT
    }
}

impl Contacts {
    pub(crate) fn new(db: DatabaseConnection, sessions: Arc<SessionManager>) -> Contacts {
        Contacts {
            db,
            sessions,
            kept: Arc::default(),
        }
    }

    fn client(&self, phone: &phone::Model) -> Result<Arc<Client>> {
        // A phone being linked again has a connection that is not signed
        // in yet: only a phone whose status is connected can ask WhatsApp.
        self.sessions
            .client(&phone.id)
            .filter(|c| c.is_connected())
            .filter(|_| phone.status == crate::store::entity::vocab::PhoneStatus::Connected)
            .ok_or_else(|| Error::NotFound(format!("phone {} is not connected", phone.id)))
    }

    fn kept(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers for `numbers` (digits, distinct or not), in their order:
    /// kept answers where still fresh, WhatsApp asked for the rest.
    pub(crate) async fn check(
        &self,
        phone: &phone::Model,
        numbers: &[String],
    ) -> Result<Vec<Check>> {
        let client = self.client(phone)?;
        let mut known: HashMap<String, Check> = HashMap::new();
        {
            let kept = self.kept();
            for number in numbers {
                if let Some((check, at)) = kept.get(&(phone.id.clone(), number.clone()))
                    && at.elapsed() < kept_for(check)
                {
                    known.insert(number.clone(), check.clone());
                }
            }
        }
        let mut ask: Vec<&String> = numbers.iter().filter(|n| !known.contains_key(*n)).collect();
        ask.sort();
        ask.dedup();
        for chunk in ask.chunks(PER_QUERY) {
            let jids = chunk.iter().map(|n| pn(n)).collect::<Result<Vec<_>>>()?;
            let found = client
                .contacts()
                .is_on_whatsapp(&jids)
                .await
                .map_err(|e| unavailable("the number check", e))?;
            let now = store::now_ms();
            let mut answers: HashMap<String, Check> = chunk
                .iter()
                .map(|n| {
                    let missing = Check {
                        number: (*n).clone(),
                        on_whatsapp: false,
                        jid: String::new(),
                        business: false,
                        verified_name: None,
                        checked_at: now,
                    };
                    ((*n).clone(), missing)
                })
                .collect();
            for r in found {
                // A LID-primary answer names the number in pn_jid.
                let pn_jid = if r.jid.is_lid() {
                    r.pn_jid.as_ref()
                } else {
                    Some(&r.jid)
                };
                let Some(pn_jid) = pn_jid else { continue };
                if let Some(check) = answers.get_mut(pn_jid.user.as_str()) {
                    check.on_whatsapp = r.is_registered;
                    if r.is_registered {
                        check.jid = format!("{}@s.whatsapp.net", pn_jid.user);
                        check.business = r.is_business;
                        check.verified_name = r.verified_name.and_then(|v| v.name);
                    }
                }
            }
            let mut kept = self.kept();
            if kept.len() + answers.len() > MAX_KEPT {
                kept.retain(|_, (check, at)| at.elapsed() < kept_for(check));
            }
            for (number, check) in answers {
                if kept.len() < MAX_KEPT {
                    kept.insert(
                        (phone.id.clone(), number.clone()),
                        (check.clone(), Instant::now()),
                    );
                }
                known.insert(number, check);
            }
        }
        Ok(numbers
            .iter()
            .filter_map(|n| known.get(n).cloned())
            .collect())
    }

    /// What `number` shows the phone.
    pub(crate) async fn get(&self, phone: &phone::Model, number: &str) -> Result<ContactInfo> {
        let client = self.client(phone)?;
        let check = self
            .check(phone, std::slice::from_ref(&number.to_owned()))
            .await?
            .pop()
            .ok_or_else(|| Error::Internal(anyhow::anyhow!("no answer for {number}")))?;
        let jid = pn(number)?;
        let mut info = ContactInfo {
            number: number.to_owned(),
            jid: jid.to_string(),
            on_whatsapp: check.on_whatsapp,
            push_name: store::messages::last_push_name(&self.db, &phone.id, number).await?,
            ..ContactInfo::default()
        };
        if !check.on_whatsapp {
            return Ok(info);
        }
        let contacts = client.contacts();
        let mut users = contacts
            .get_user_info(std::slice::from_ref(&jid))
            .await
            .map_err(|e| unavailable("the contact query", e))?;
        if let Some(user) = users.remove(&jid).or_else(|| users.into_values().next()) {
            info.about = user.status.filter(|s| !s.is_empty());
            info.business = user.is_business;
            info.verified_name = user.verified_name.and_then(|v| v.name);
        }
        if let Some(picture) = contacts
            .get_profile_picture(&jid, false)
            .await
            .map_err(|e| unavailable("the picture query", e))?
        {
            info.picture_url = Some(picture.url);
            info.picture_id = Some(picture.id);
        }
        if info.business {
            info.business_profile = client
                .get_business_profile(&jid)
                .await
                .map_err(|e| unavailable("the business profile query", e))?;
        }
        info.blocked = self.blocked(phone).await?.iter().any(|(n, _)| n == number);
        Ok(info)
    }

    /// Blocks (`block`) or unblocks `number`. A number not on WhatsApp is a
    /// 400 naming `number`.
    pub(crate) async fn set_blocked(
        &self,
        phone: &phone::Model,
        number: &str,
        block: bool,
    ) -> Result<()> {
        let client = self.client(phone)?;
        let jid = pn(number)?;
        // The block stanza names the contact's LID: asking WhatsApp about the
        // number teaches the session its LID (and says whether it exists).
        let found = client
            .contacts()
            .is_on_whatsapp(std::slice::from_ref(&jid))
            .await
            .map_err(|e| unavailable("the number check", e))?;
        if !found.iter().any(|r| r.is_registered) {
            return Err(Error::invalid(
                "number",
                format!("{number} is not on WhatsApp"),
            ));
        }
        let blocking = client.blocking();
        let done = if block {
            blocking.block(&jid).await
        } else {
            blocking.unblock(&jid).await
        };
        done.map_err(|e| unavailable(if block { "the block" } else { "the unblock" }, e))
    }

    /// The phone's blocklist, as numbers.
    pub(crate) async fn blocked(&self, phone: &phone::Model) -> Result<Vec<Blocked>> {
        let client = self.client(phone)?;
        let entries = client
            .blocking()
            .get_blocklist()
            .await
            .map_err(|e| unavailable("the blocklist query", e))?;
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            let number = if entry.jid.is_lid() {
                match client.get_lid_pn_entry(&entry.jid).await {
                    Ok(Some(known)) => Some(known.phone_number.to_string()),
                    _ => client
                        .contacts()
                        .is_on_whatsapp(std::slice::from_ref(&entry.jid))
                        .await
                        .ok()
                        .and_then(|found| found.into_iter().find_map(|r| r.pn_jid))
                        .map(|j| j.user.to_string()),
                }
            } else {
                Some(entry.jid.user.to_string())
            };
            match number {
                Some(number) => out.push((number, entry.timestamp)),
                None => {
                    tracing::warn!(phone_id = %phone.id, "a blocked contact's number is unknown")
                }
            }
        }
        Ok(out)
    }
}
