//! Page sizes and page tokens shared by the List RPCs. A token is opaque to
//! callers: the last row's position, base64url.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

use crate::error::Error;

const DEFAULT_PAGE: u32 = 50;
const MAX_PAGE: u32 = 500;

/// The page size to use for a requested one (0: the default; capped).
pub(super) fn size(requested: u32) -> u32 {
    match requested {
        0 => DEFAULT_PAGE,
        n => n.min(MAX_PAGE),
    }
}

pub(super) fn encode(position: &str) -> String {
    URL_SAFE_NO_PAD.encode(position)
}

/// The position in `token`, parsed by `parse`; a 400 naming page_token when
/// it is not one of ours.
pub(super) fn decode<T>(token: &str, parse: impl FnOnce(&str) -> Option<T>) -> Result<T, Error> {
    let bad = || Error::invalid("page_token", "is not a token from a previous answer");
    let raw = URL_SAFE_NO_PAD.decode(token).map_err(|_| bad())?;
    let raw = String::from_utf8(raw).map_err(|_| bad())?;
    parse(&raw).ok_or_else(bad)
}
