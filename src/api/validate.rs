//! Request checks shared by every service: the caller's phone (owned,
//! connected, from [`crate::phones`]). The values themselves (numbers,
//! URLs, lengths) are checked by [`crate::values`], re-exported here for
//! the handlers.

use crate::{api::State, auth::AuthContext, error::Result, store::entity::phone};

pub(crate) use crate::values::{coordinates, http_url, max_len, phone_number, required};

/// The caller's phone, or 404 exactly as for a phone that does not exist.
pub(crate) async fn owned_phone(
    state: &State,
    caller: &AuthContext,
    phone_id: &str,
) -> Result<phone::Model> {
    caller.reach(phone_id)?;
    state.phones.owned(&caller.account_id, phone_id).await
}

/// The caller's phone, which must be connected to send (404 otherwise).
pub(crate) async fn connected_phone(
    state: &State,
    caller: &AuthContext,
    phone_id: &str,
) -> Result<phone::Model> {
    caller.reach(phone_id)?;
    state.phones.connected(&caller.account_id, phone_id).await
}
