//! API tokens: HS256 JWTs carrying the account (`sub`) and the token id
//! (`jti`). The id's record is checked on every call (revoked, expired);
//! a running server keeps it for `auth.cache_ms` (see `store::cache`).

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, errors::ErrorKind};
use serde::{Deserialize, Serialize};

use crate::error::Error;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
}

pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl Keys {
    pub fn new(secret: &[u8]) -> Keys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.required_spec_claims = ["sub".to_owned()].into_iter().collect();
        validation.leeway = 5;
        Keys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs a token; `expires_at` is Unix seconds.
    pub fn issue(
        &self,
        account_id: &str,
        token_id: &str,
        expires_at: Option<i64>,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: account_id.to_owned(),
            jti: token_id.to_owned(),
            iat: chrono::Utc::now().timestamp(),
            exp: expires_at,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|err| {
                Error::Unauthenticated(
                    match err.kind() {
                        ErrorKind::ExpiredSignature => "token expired",
                        ErrorKind::InvalidSignature => "invalid token: bad signature",
                        _ => "malformed token",
                    }
                    .into(),
                )
            })
    }
}
