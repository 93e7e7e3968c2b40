//! What a caller may reach: its account, its rights (full, send, read) and,
//! for a scoped token, its phones. Rights are decided once per call from
//! the gRPC method (REST reaches the same methods); the phone scope where a
//! handler resolves a phone.

use std::sync::Arc;

use crate::{
    error::{Error, Result},
    store::{
        self,
        entity::token::{self as token_row, TokenRights},
    },
};

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `Authorization: Bearer <API token>`.
    Token,
    /// The console's session cookie.
    Session,
}

/// Who is calling: put into every authenticated request's extensions.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub account_id: String,
    /// The token's id, or the session's (hashed) id.
    pub token_id: String,
    pub via: Via,
    pub rights: TokenRights,
    /// The phones a scoped token may reach; None: all of the account's.
    pub phones: Option<Arc<[String]>>,
}

/// What a method needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Reads: Get*, List*, Subscribe, downloads.
    Read,
    /// Sends: SendService, starting and steering campaigns.
    Send,
    /// Changes to phones, webhooks and bots.
    Full,
    /// The account itself: its tokens and password. Only a full, unscoped
    /// token or the console's session.
    Account,
}

/// What the gRPC method at `path` (`/wadesk.v1.Service/Method`) needs.
pub fn need(path: &str) -> Need {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    let service = parts.next().unwrap_or_default();
    let method = parts.next().unwrap_or_default();
    if service == "wadesk.v1.AccountService" {
        return Need::Account;
    }
    if ["Get", "List", "Subscribe", "Download"]
        .iter()
        .any(|prefix| method.starts_with(prefix))
    {
        return Need::Read;
    }
    // Checking numbers is what a sender does before a campaign.
    if service == "wadesk.v1.ContactService" && method == "CheckNumbers" {
        return Need::Send;
    }
    if [
        "wadesk.v1.SendService",
        "wadesk.v1.BulkService",
        "wadesk.v1.MediaService",
    ]
    .contains(&service)
    {
        return Need::Send;
    }
    Need::Full
}

impl AuthContext {
    pub fn token(record: &token_row::Model) -> AuthContext {
        AuthContext {
            account_id: record.account_id.clone(),
            token_id: record.id.clone(),
            via: Via::Token,
            rights: record.rights,
            phones: store::tokens::phone_scope(record).map(Into::into),
        }
    }

    pub fn session(account_id: String, session_id: String) -> AuthContext {
        AuthContext {
            account_id,
            token_id: session_id,
            via: Via::Session,
            rights: TokenRights::Full,
            phones: None,
        }
    }

    /// Whether the caller may call a method that needs `need`: 403 with
    /// the reason when not.
    pub fn allow(&self, need: Need) -> Result<()> {
        let rights = match self.rights {
            TokenRights::Full => "full",
            TokenRights::Send => "send",
            TokenRights::Read => "read",
        };
        let allowed = match need {
            Need::Read => true,
            Need::Send => self.rights != TokenRights::Read,
            Need::Full => self.rights == TokenRights::Full,
            Need::Account => self.rights == TokenRights::Full && self.phones.is_none(),
        };
        if allowed {
            return Ok(());
        }
        Err(Error::PermissionDenied(match need {
            Need::Account if self.rights == TokenRights::Full => {
                "this token is limited to some phones: managing the account and its tokens takes a token without a phone scope".into()
            }
            Need::Account => format!(
                "this token has {rights} rights: managing the account and its tokens takes full rights"
            ),
            Need::Full => format!(
                "this token has {rights} rights: changing phones, webhooks and bots takes full rights"
            ),
            Need::Send | Need::Read => format!(
                "this token has {rights} rights: sending takes send or full rights"
            ),
        }))
    }

    /// Whether the caller may reach `phone_id` (403 naming the token's
    /// phones when not; it tells nothing about other accounts).
    pub fn reach(&self, phone_id: &str) -> Result<()> {
        match &self.phones {
            Some(phones) if !phones.iter().any(|p| p == phone_id.trim()) => {
                Err(Error::PermissionDenied(format!(
                    "this token is limited to phones {}: {} is outside its scope",
                    phones.join(", "),
                    phone_id.trim()
                )))
            }
            _ => Ok(()),
        }
    }

    /// For calls that cover every phone when none is named: a scoped token
    /// must name one (403 otherwise).
    pub fn all_phones(&self, field: &str) -> Result<()> {
        match &self.phones {
            Some(phones) => Err(Error::PermissionDenied(format!(
                "{field}: this token is limited to phones {}: name one of them",
                phones.join(", ")
            ))),
            None => Ok(()),
        }
    }

    /// Whether a phone is in scope (for filtering lists).
    pub fn covers(&self, phone_id: &str) -> bool {
        self.reach(phone_id).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_need_what_their_names_say() {
        assert_eq!(need("/wadesk.v1.PhoneService/ListPhones"), Need::Read);
        assert_eq!(need("/wadesk.v1.MessageService/Subscribe"), Need::Read);
        assert_eq!(need("/wadesk.v1.SendService/SendText"), Need::Send);
        assert_eq!(need("/wadesk.v1.BulkService/BulkSend"), Need::Send);
        assert_eq!(need("/wadesk.v1.BulkService/GetBulk"), Need::Read);
        assert_eq!(need("/wadesk.v1.PhoneService/DeletePhone"), Need::Full);
        assert_eq!(need("/wadesk.v1.WebhookService/SetWebhook"), Need::Full);
        assert_eq!(need("/wadesk.v1.AccountService/ListTokens"), Need::Account);
    }
}
