//! Authentication and per-token limits, applied once in front of every gRPC
//! service; REST reaches the same services through the gateway, so both
//! share this one code path.

mod layer;
mod limit;
pub mod password;
pub mod scope;
pub mod secret;
pub mod session;
pub mod token;

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use sea_orm::DatabaseConnection;

pub use layer::AuthLayer;
pub use limit::Limiter;
pub use scope::AuthContext;
pub use token::Keys;

use crate::{
    error::Error,
    store::{self, cache::Cache, entity::token as token_row},
};

/// How often a token's `last_used_at` is written, at most.
const TOUCH_EVERY: Duration = Duration::from_secs(60);

/// Resolves a bearer token to an account and applies the rate limit.
#[derive(Clone)]
pub struct Authenticator {
    db: DatabaseConnection,
    keys: Arc<Keys>,
    limiter: Arc<Limiter>,
    /// Failed authentications per client address: guessing tokens from
    /// one address stops after `limits.auth_failures_per_minute`.
    failures: Arc<Limiter>,
    /// Token records by id: a revocation by the CLI (another process) is
    /// seen within `auth.cache_ms`.
    tokens: Cache<token_row::Model>,
    /// When each token's use was last written (see [`TOUCH_EVERY`]).
    touched: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Authenticator {
    pub fn new(
        db: DatabaseConnection,
        keys: Arc<Keys>,
        limiter: Arc<Limiter>,
        failures: Arc<Limiter>,
        cache_ttl: Duration,
    ) -> Self {
        Authenticator {
            db,
            keys,
            limiter,
            failures,
            tokens: Cache::new(cache_ttl),
            touched: Arc::default(),
        }
    }

    /// Forgets what was read of a token (after a revocation here).
    pub fn forget(&self, token_id: &str) {
        self.tokens.invalidate(token_id);
    }

    /// Writes the token's use, at most once a minute, off the request.
    fn touch(&self, token_id: &str) {
        let now = Instant::now();
        {
            let mut touched = self.touched.lock().unwrap_or_else(|e| e.into_inner());
            if touched
                .get(token_id)
                .is_some_and(|at| now.duration_since(*at) < TOUCH_EVERY)
            {
                return;
            }
            if touched.len() > 100_000 {
                touched.retain(|_, at| now.duration_since(*at) < TOUCH_EVERY);
            }
            touched.insert(token_id.to_owned(), now);
        }
        let db = self.db.clone();
        let id = token_id.to_owned();
        tokio::spawn(async move {
            if let Err(err) = store::tokens::touch(&db, &id, store::now_ms()).await {
                tracing::warn!(token_id = %id, error = %err, "recording a token's use failed");
            }
        });
    }

    /// The token's record, from the cache or the database.
    async fn record(&self, id: &str) -> Result<Option<token_row::Model>, Error> {
        if let Some(record) = self.tokens.get(id) {
            return Ok(Some(record));
        }
        let ticket = self.tokens.ticket();
        let record = store::tokens::find(&self.db, id).await?;
        if let Some(record) = &record {
            self.tokens.insert(ticket, id, record.clone());
        }
        Ok(record)
    }

    /// Authenticates a request from `peer` by its bearer token or, without
    /// one, by the console's session cookie. Messages say what is wrong
    /// without ever echoing the token. An address over its failure limit is
    /// answered 429 before any check.
    pub async fn authenticate(
        &self,
        headers: &http::HeaderMap,
        peer: Option<IpAddr>,
    ) -> Result<AuthContext, Error> {
        let header = headers
            .get(http::header::AUTHORIZATION)
            .map(|v| v.as_bytes());
        if header.is_none()
            && let Some(secret) = session::cookie(headers)
        {
            return self.session(&secret).await;
        }
        self.bearer(header, peer).await
    }

    /// A console session: its cookie secret's hash must name a session
    /// that has not expired. Sessions have full rights over the account.
    async fn session(&self, secret: &str) -> Result<AuthContext, Error> {
        let record = store::sessions::find_valid(&self.db, &session::hash(secret))
            .await?
            .ok_or_else(|| {
                Error::Unauthenticated("session expired or signed out: sign in again".into())
            })?;
        self.limiter
            .check(&record.id)
            .map_err(|retry_after| Error::RateLimited {
                what: "requests per session",
                limit: self.limiter.limit(),
                retry_after,
            })?;
        Ok(AuthContext::session(record.account_id, record.id))
    }

    async fn bearer(
        &self,
        header: Option<&[u8]>,
        peer: Option<IpAddr>,
    ) -> Result<AuthContext, Error> {
        // Only a presented token is a guess; a missing one is not counted.
        let peer = peer.filter(|_| header.is_some()).map(|ip| ip.to_string());
        if let Some(peer) = &peer {
            self.failures
                .room(peer)
                .map_err(|retry_after| Error::RateLimited {
                    what: "failed authentications from one address",
                    limit: self.failures.limit(),
                    retry_after,
                })?;
        }
        match self.check(header).await {
            Err(err @ Error::Unauthenticated(_)) => {
                if let Some(peer) = &peer {
                    // Recorded; the answer stays 401 (the next one is 429).
                    let _ = self.failures.check(peer);
                }
                Err(err)
            }
            other => other,
        }
    }

    async fn check(&self, header: Option<&[u8]>) -> Result<AuthContext, Error> {
        let header = header.ok_or_else(|| {
            Error::Unauthenticated(
                "missing bearer token: send Authorization: Bearer <token>".into(),
            )
        })?;
        let token = std::str::from_utf8(header)
            .ok()
            .and_then(|h| {
                let (scheme, rest) = h.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::Unauthenticated(
                    "malformed authorization header: expected Bearer <token>".into(),
                )
            })?;
        let claims = self.keys.verify(token)?;
        let record = self
            .record(&claims.jti)
            .await?
            .filter(|t| t.account_id == claims.sub)
            .ok_or_else(|| Error::Unauthenticated("unknown token".into()))?;
        if record.revoked_at.is_some() {
            return Err(Error::Unauthenticated("token revoked".into()));
        }
        if record.expires_at.is_some_and(|exp| exp <= store::now_ms()) {
            return Err(Error::Unauthenticated("token expired".into()));
        }
        self.limiter
            .check(&record.id)
            .map_err(|retry_after| Error::RateLimited {
                what: "requests per token",
                limit: self.limiter.limit(),
                retry_after,
            })?;
        self.touch(&record.id);
        Ok(AuthContext::token(&record))
    }
}

/// The caller of an authenticated request.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<&AuthContext, Error> {
    request.extensions().get::<AuthContext>().ok_or_else(|| {
        // Only reachable if a service is mounted without the auth layer.
        Error::Internal(anyhow::anyhow!(
            "request reached a service without authentication"
        ))
    })
}
