//! Request checks shared by every service: the caller's phone (owned,
//! connected). The values themselves (numbers, URLs, lengths) are checked
//! by [`crate::values`], re-exported here for the handlers.

use crate::{
    api::State,
    auth::AuthContext,
    error::{Error, Result},
    store::{
        self,
        entity::{phone, vocab::PhoneStatus},
    },
};

pub use crate::values::{http_url, max_len, normalize_number, phone_number, required};

/// The caller's phone, or 404 exactly as for a phone that does not exist.
pub async fn owned_phone(
    state: &State,
    caller: &AuthContext,
    phone_id: &str,
) -> Result<phone::Model> {
    let phone_id = required("phone_id", phone_id)?;
    let cache = state.sessions.phones();
    let phone = match cache.get(phone_id) {
        Some(phone) => Some(phone),
        None => {
            let ticket = cache.ticket();
            let phone = store::phones::find(&state.db, phone_id).await?;
            if let Some(phone) = &phone {
                cache.insert(ticket, phone_id, phone.clone());
            }
            phone
        }
    };
    // Another account's phone is indistinguishable from a missing one.
    phone
        .filter(|p| p.account_id == caller.account_id)
        .ok_or_else(|| Error::phone_not_found(phone_id))
}

/// The caller's phone, which must be connected to send (404 otherwise, as
/// the API documents).
pub async fn connected_phone(
    state: &State,
    caller: &AuthContext,
    phone_id: &str,
) -> Result<phone::Model> {
    let phone = owned_phone(state, caller, phone_id).await?;
    if phone.status != PhoneStatus::Connected {
        return Err(Error::NotFound(format!(
            "phone {} is not connected (status {})",
            phone.id, phone.status
        )));
    }
    Ok(phone)
}
