//! Authentication and per-token limits, applied once in front of every gRPC
//! service; REST reaches the same services through the gateway, so both
//! share this one code path.

mod layer;
mod limit;
pub mod secret;
pub mod token;

use std::{net::IpAddr, sync::Arc, time::Duration};

use sea_orm::DatabaseConnection;

pub use layer::AuthLayer;
pub use limit::Limiter;
pub use token::Keys;

use crate::{
    error::Error,
    store::{self, cache::Cache, entity::token as token_row},
};

/// Who is calling: put into every authenticated request's extensions.
#[derive(Debug, Clone)]
pub struct AuthContext {
    pub account_id: String,
    pub token_id: String,
}

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
        }
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

    /// Checks the `authorization` header value of a request from `peer`.
    /// Messages say what is wrong without ever echoing the token. An
    /// address over its failure limit is answered 429 before any check.
    pub async fn authenticate(
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
        Ok(AuthContext {
            account_id: record.account_id,
            token_id: record.id,
        })
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
