//! Accounts as people use them: signing in to the console (email and
//! password, server-side sessions), signing up when the operator allows
//! it, changing the password, and managing API tokens. The API and the
//! console's sign-in routes are thin adapters over this.

use std::{net::IpAddr, sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

use crate::{
    auth::{Keys, Limiter, password, session},
    config,
    error::{Error, Result},
    store::{
        self,
        entity::{
            account,
            token::{self, TokenRights},
        },
    },
    values,
};

/// Longest token and account name (characters).
pub const NAME_MAX: usize = 100;
/// Longest token lifetime: ten years.
pub const MAX_EXPIRY_SECS: u64 = 10 * 365 * 24 * 3600;

/// The same answer for an unknown email and a wrong password.
const WRONG: &str = "wrong email or password";

/// A new console session: the cookie's secret (never stored) and its life.
pub(crate) struct NewSession {
    pub(crate) account: account::Model,
    pub(crate) secret: String,
    pub(crate) max_age: Duration,
}

/// A token as created: the record and the bearer token, shown once.
pub(crate) struct NewToken {
    pub(crate) record: token::Model,
    pub(crate) secret: String,
}

#[derive(Clone)]
pub(crate) struct Accounts {
    db: DatabaseConnection,
    keys: Arc<Keys>,
    settings: config::Accounts,
    /// Failed sign-ins per email and per client address.
    failures: Arc<Limiter>,
}

impl Accounts {
    pub(crate) fn new(
        db: DatabaseConnection,
        keys: Arc<Keys>,
        settings: config::Accounts,
    ) -> Accounts {
        let failures = Arc::new(Limiter::per_minute(settings.sign_in_failures_per_minute));
        Accounts {
            db,
            keys,
            settings,
            failures,
        }
    }

    pub(crate) fn signup_enabled(&self) -> bool {
        self.settings.signup
    }

    /// The caller's account.
    pub(crate) async fn get(&self, account_id: &str) -> Result<account::Model> {
        store::accounts::find(&self.db, account_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("account {account_id} not found")))
    }

    /// Signs in by email and password. A wrong email and a wrong password
    /// get the same answer in the same time; past
    /// `accounts.sign_in_failures_per_minute` failures for the email or
    /// from the address, 429 with Retry-After.
    pub(crate) async fn sign_in(
        &self,
        email: &str,
        password_given: &str,
        peer: Option<IpAddr>,
    ) -> Result<NewSession> {
        let email = password::normalise_email("email", email)?;
        values::required("password", password_given)?;
        let keys = [
            Some(format!("email:{email}")),
            peer.map(|ip| format!("ip:{ip}")),
        ];
        for key in keys.iter().flatten() {
            self.failures
                .room(key)
                .map_err(|retry_after| Error::RateLimited {
                    what: "failed sign-ins",
                    limit: self.failures.limit(),
                    retry_after,
                })?;
        }
        let account = store::accounts::find_by_email(&self.db, &email).await?;
        let stored = account.as_ref().and_then(|a| a.password_hash.clone());
        let ok = password::verify_blocking(stored, password_given.to_owned()).await;
        let Some(account) = account.filter(|_| ok) else {
            for key in keys.iter().flatten() {
                let _ = self.failures.check(key);
            }
            return Err(Error::Unauthenticated(WRONG.into()));
        };
        self.start_session(account).await
    }

    /// A new account with a console login (when `accounts.signup` is on);
    /// its phones start on the trial plan like every new phone.
    pub(crate) async fn sign_up(
        &self,
        name: &str,
        email: &str,
        password_new: &str,
    ) -> Result<NewSession> {
        if !self.settings.signup {
            return Err(Error::PermissionDenied(
                "sign-up is off on this server: ask its operator for an account".into(),
            ));
        }
        let name = values::display_name("name", name, NAME_MAX)?.to_owned();
        let email = password::normalise_email("email", email)?;
        password::check_new("password", password_new)?;
        if store::accounts::find_by_email(&self.db, &email)
            .await?
            .is_some()
        {
            return Err(Error::Conflict(
                "email: an account with this email exists: sign in instead".into(),
            ));
        }
        let hash = password::hash_blocking(password_new.to_owned()).await?;
        let account =
            store::accounts::create_with_login(&self.db, &name, Some(&email), Some(hash)).await?;
        tracing::info!(account_id = %account.id, "account signed up");
        self.start_session(account).await
    }

    async fn start_session(&self, account: account::Model) -> Result<NewSession> {
        // Sign-ins are rare: a good moment to drop expired sessions.
        store::sessions::purge_expired(&self.db).await?;
        let secret = session::new_secret();
        let max_age = self.settings.session;
        let expires_at = store::now_ms() + max_age.as_millis() as i64;
        store::sessions::create(&self.db, &session::hash(&secret), &account.id, expires_at).await?;
        tracing::info!(account_id = %account.id, "console sign-in");
        Ok(NewSession {
            account,
            secret,
            max_age,
        })
    }

    /// Ends the session the cookie names (nothing if it has ended already).
    pub(crate) async fn sign_out(&self, secret: &str) -> Result<()> {
        store::sessions::delete(&self.db, &session::hash(secret)).await?;
        Ok(())
    }

    /// Changes the password after checking the current one (when there is
    /// one), and signs every console session of the account out.
    pub(crate) async fn change_password(
        &self,
        account_id: &str,
        current: &str,
        new: &str,
    ) -> Result<u64> {
        let account = self.get(account_id).await?;
        password::check_new("new_password", new)?;
        if let Some(stored) = account.password_hash.clone() {
            values::required("current_password", current)?;
            if !password::verify_blocking(Some(stored), current.to_owned()).await {
                return Err(Error::invalid(
                    "current_password",
                    "is not the account's password",
                ));
            }
        }
        let hash = password::hash_blocking(new.to_owned()).await?;
        store::accounts::set_login(&self.db, account_id, None, hash).await?;
        let ended = store::sessions::delete_for_account(&self.db, account_id).await?;
        tracing::info!(%account_id, sessions_signed_out = ended, "password changed");
        Ok(ended)
    }

    /// A new API token of the account, limited to `rights` and, when some
    /// are named, to those phones of the account.
    pub(crate) async fn create_token(
        &self,
        account_id: &str,
        name: &str,
        expires_in_secs: Option<u64>,
        rights: TokenRights,
        phone_ids: &[String],
    ) -> Result<NewToken> {
        let name = values::display_name("name", name, NAME_MAX)?;
        let expires_at = match expires_in_secs.filter(|s| *s > 0) {
            Some(secs) if secs > MAX_EXPIRY_SECS => {
                return Err(Error::invalid(
                    "expires_in_seconds",
                    format!("must be at most {MAX_EXPIRY_SECS} (ten years)"),
                ));
            }
            Some(secs) => Some(chrono::Utc::now().timestamp() + secs as i64),
            None => None,
        };
        let mut phones = Vec::new();
        for id in phone_ids {
            let id = values::required("phone_ids", id)?;
            if store::phones::find_for_account(&self.db, account_id, id)
                .await?
                .is_none()
            {
                return Err(Error::invalid("phone_ids", format!("phone {id} not found")));
            }
            if !phones.iter().any(|p| p == id) {
                phones.push(id.to_owned());
            }
        }
        let scope = (!phones.is_empty()).then_some(phones.as_slice());
        let record = store::tokens::create_scoped(
            &self.db,
            account_id,
            name,
            expires_at.map(|s| s * 1000),
            rights,
            scope,
        )
        .await?;
        let secret = self
            .keys
            .issue(account_id, &record.id, expires_at)
            .map_err(Error::Internal)?;
        tracing::info!(%account_id, token_id = %record.id, "token created");
        Ok(NewToken { record, secret })
    }

    pub(crate) async fn tokens(&self, account_id: &str) -> Result<Vec<token::Model>> {
        Ok(store::tokens::list_for_account(&self.db, account_id).await?)
    }

    /// Revokes the account's token (a revoked one is answered as it is).
    pub(crate) async fn revoke_token(
        &self,
        account_id: &str,
        token_id: &str,
    ) -> Result<token::Model> {
        let token_id = values::required("token_id", token_id)?;
        let not_found = || Error::NotFound(format!("token {token_id} not found"));
        store::tokens::find_for_account(&self.db, account_id, token_id)
            .await?
            .ok_or_else(not_found)?;
        store::tokens::revoke(&self.db, token_id).await?;
        tracing::info!(%account_id, %token_id, "token revoked");
        store::tokens::find_for_account(&self.db, account_id, token_id)
            .await?
            .ok_or_else(not_found)
    }
}

/// A new account with a console login, from the CLI: everything is checked
/// before the account is written.
pub async fn create_with_login(
    db: &DatabaseConnection,
    name: &str,
    email: &str,
    password_new: &str,
) -> anyhow::Result<account::Model> {
    let name = values::display_name("name", name, NAME_MAX)?;
    let email = password::normalise_email("email", email)?;
    password::check_new("password", password_new)?;
    if let Some(other) = store::accounts::find_by_email(db, &email).await? {
        return Err(Error::Conflict(format!(
            "email: {email} already belongs to account {}",
            other.id
        ))
        .into());
    }
    let hash = password::hash_blocking(password_new.to_owned()).await?;
    Ok(store::accounts::create_with_login(db, name, Some(&email), Some(hash)).await?)
}

/// Sets an account's email and password from the CLI.
pub async fn set_login(
    db: &DatabaseConnection,
    account_id: &str,
    email: Option<&str>,
    password_new: &str,
) -> anyhow::Result<()> {
    Ok(set_login_checked(db, account_id, email, password_new).await?)
}

async fn set_login_checked(
    db: &DatabaseConnection,
    account_id: &str,
    email: Option<&str>,
    password_new: &str,
) -> Result<()> {
    let email = email
        .map(|e| password::normalise_email("email", e))
        .transpose()?;
    password::check_new("password", password_new)?;
    if let Some(email) = &email
        && let Some(other) = store::accounts::find_by_email(db, email).await?
        && other.id != account_id
    {
        return Err(Error::Conflict(format!(
            "email: {email} already belongs to account {}",
            other.id
        )));
    }
    let hash = password::hash_blocking(password_new.to_owned()).await?;
    if !store::accounts::set_login(db, account_id, email.as_deref(), hash).await? {
        return Err(Error::NotFound(format!("account {account_id} not found")));
    }
    // A reset password is often a compromised one: its sessions end.
    store::sessions::delete_for_account(db, account_id).await?;
    Ok(())
}
