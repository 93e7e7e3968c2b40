//! Phones as their owner manages them: created, listed, found (only the
//! owner's: another account's phone is not told apart from a missing one),
//! linked by pair code, deleted. Their live sessions are
//! [`crate::sessions`]'s.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::{
    error::{Error, Result},
    sessions::SessionManager,
    store::{
        self,
        entity::{phone, vocab::PhoneStatus},
    },
    values,
};

const MAX_NAME: usize = crate::rules::PHONE_NAME_MAX;

/// The phones of every account, by handle.
#[derive(Clone)]
pub(crate) struct Phones {
    db: DatabaseConnection,
    sessions: Arc<SessionManager>,
}

impl Phones {
    pub(crate) fn new(db: DatabaseConnection, sessions: Arc<SessionManager>) -> Phones {
        Phones { db, sessions }
    }

    /// The account's phone, or 404 exactly as for a phone that does not
    /// exist. Served from the phone cache on the hot path (every send
    /// reads it); a miss reads the row by account and id.
    pub(crate) async fn owned(&self, account_id: &str, phone_id: &str) -> Result<phone::Model> {
        let phone_id = values::required("phone_id", phone_id)?;
        let cache = self.sessions.phones();
        let phone = match cache.get(phone_id) {
            Some(phone) => Some(phone).filter(|p| p.account_id == account_id),
            None => {
                let ticket = cache.ticket();
                let phone = store::phones::find_for_account(&self.db, account_id, phone_id).await?;
                if let Some(phone) = &phone {
                    cache.insert(ticket, phone_id, phone.clone());
                }
                phone
            }
        };
        phone.ok_or_else(|| Error::phone_not_found(phone_id))
    }

    /// The account's phone, which must be connected to send (404 otherwise,
    /// as the API documents).
    pub(crate) async fn connected(&self, account_id: &str, phone_id: &str) -> Result<phone::Model> {
        let phone = self.owned(account_id, phone_id).await?;
        if phone.status != PhoneStatus::Connected {
            return Err(Error::NotFound(format!(
                "phone {} is not connected (status {})",
                phone.id, phone.status
            )));
        }
        Ok(phone)
    }

    /// A new phone of the account, waiting to be linked.
    pub(crate) async fn create(&self, account_id: &str, name: &str) -> Result<phone::Model> {
        let name = values::display_name("name", name, MAX_NAME)?;
        Ok(store::phones::create(&self.db, account_id, name).await?)
    }

    /// The account's phones.
    pub(crate) async fn list(&self, account_id: &str) -> Result<Vec<phone::Model>> {
        Ok(store::phones::list_for_account(&self.db, account_id).await?)
    }

    /// Asks WhatsApp for a pair code linking `phone` to `number` (a phone
    /// already linked and connected is refused).
    pub(crate) async fn pair_code(&self, phone: &phone::Model, number: &str) -> Result<String> {
        if phone.status == PhoneStatus::Connected {
            return Err(Error::invalid(
                "phone_id",
                "is already linked and connected",
            ));
        }
        self.sessions.pair_code(phone, number).await
    }

    /// Unlinks the phone from WhatsApp (when it was linked), deletes its
    /// keys, then its row with everything that belongs to it.
    pub(crate) async fn delete(&self, phone: &phone::Model) -> Result<()> {
        if phone.number.is_some() {
            self.sessions.logout(phone).await?;
        } else {
            self.sessions.stop(&phone.id).await;
        }
        store::phones::delete_for_account(&self.db, &phone.account_id, &phone.id).await?;
        self.sessions.phones().invalidate(&phone.id);
        Ok(())
    }
}
