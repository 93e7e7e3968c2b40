//! Table definitions. Times are Unix milliseconds (see `store::now_ms`).

pub mod account;
pub mod phone;
pub mod token;
