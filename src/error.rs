//! One error type for the domain and its transports, mapped exhaustively onto gRPC status
//! codes (and through the gateway onto HTTP), per DESIGN.md's table.

use std::time::Duration;

use tonic::{Code, Status, metadata::MetadataValue};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bad or missing parameter; the message names the field.
    #[error("{field}: {message}")]
    InvalidArgument { field: String, message: String },
    /// No, malformed, expired or revoked token; the message says which.
    #[error("{0}")]
    Unauthenticated(String),
    /// Not on this phone's plan.
    #[error("{0}")]
    PermissionDenied(String),
    /// Phone (or other resource) not found, not yours, or not connected.
    #[error("{0}")]
    NotFound(String),
    /// The request contradicts one made before (an idempotency key reused
    /// for a different request).
    #[error("{0}")]
    Conflict(String),
    /// Over a limit: requests per token, or failed authentications per
    /// client address (`what`).
    #[error("rate limit exceeded: {limit} {what} per minute; retry in {}s", retry_after.as_secs().max(1))]
    RateLimited {
        what: &'static str,
        limit: u32,
        retry_after: Duration,
    },
    /// WhatsApp (or another service we depend on) did not do its part; the
    /// request can be retried.
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: logged with context, answered with a bare message.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field: field.to_owned(),
            message: message.into(),
        }
    }

    pub fn required(field: &str) -> Error {
        Error::invalid(field, "is required")
    }

    pub fn phone_not_found(phone_id: &str) -> Error {
        Error::NotFound(format!("phone {phone_id} not found"))
    }
}

impl From<sea_orm::DbErr> for Error {
    fn from(err: sea_orm::DbErr) -> Error {
        Error::Internal(anyhow::Error::new(err).context("database"))
    }
}

/// A unique-constraint violation (a duplicate key), classified from the
/// database's own error rather than its message text.
pub(crate) fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// How long a caller is asked to wait before retrying what WhatsApp (or
/// another service) did not do.
pub(crate) const UNAVAILABLE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Why WhatsApp did not take a message, as the sender's answer
/// (docs/api.md, "What a send answers").
impl From<crate::sessions::SendFailure> for Error {
    fn from(failure: crate::sessions::SendFailure) -> Error {
        use crate::sessions::SendFailure;
        match failure {
            SendFailure::NotOnWhatsApp(_) | SendFailure::InvalidRecipient(_) => {
                Error::invalid("to", failure.to_string())
            }
            SendFailure::Transport(_) => Error::Unavailable(format!(
                "WhatsApp did not take the message, try again: {failure}"
            )),
            SendFailure::Unbuildable(_) => {
                Error::Internal(anyhow::anyhow!("building the message failed: {failure}"))
            }
        }
    }
}

impl From<Error> for Status {
    fn from(err: Error) -> Status {
        match err {
            Error::InvalidArgument { .. } => Status::new(Code::InvalidArgument, err.to_string()),
            Error::Unauthenticated(msg) => Status::new(Code::Unauthenticated, msg),
            Error::PermissionDenied(msg) => Status::new(Code::PermissionDenied, msg),
            Error::NotFound(msg) => Status::new(Code::NotFound, msg),
            Error::Conflict(msg) => Status::new(Code::AlreadyExists, msg),
            Error::RateLimited { retry_after, .. } => {
                let mut status = Status::new(Code::ResourceExhausted, err.to_string());
                let secs = retry_after.as_secs().max(1).to_string();
                if let Ok(value) = MetadataValue::try_from(secs.as_str()) {
                    status.metadata_mut().insert("retry-after", value);
                }
                status
            }
            Error::Unavailable(msg) => {
                let mut status = Status::new(Code::Unavailable, msg);
                let secs = UNAVAILABLE_RETRY_AFTER.as_secs().to_string();
                if let Ok(value) = MetadataValue::try_from(secs.as_str()) {
                    status.metadata_mut().insert("retry-after", value);
                }
                status
            }
            Error::Internal(inner) => {
                tracing::error!(error = ?inner, "internal error");
                Status::new(Code::Internal, "internal error")
            }
        }
    }
}

/// The REST answer of an error for a plain HTTP route beside the
/// transcoded API (media downloads, console sign-in): the gateway's JSON
/// error body, its status, and Retry-After where the error has one.
pub(crate) fn rest_response(err: Error) -> axum::response::Response {
    let status = Status::from(err);
    let code = status.code() as i32;
    let (http, name) = (
        wadesk_gateway::http_status_for_grpc(code),
        wadesk_gateway::grpc_code_name(code),
    );
    let mut response = wadesk_gateway::error_response(http, name, status.message());
    if let Some(secs) = status.metadata().get("retry-after")
        && let Ok(value) = http::HeaderValue::from_bytes(secs.as_bytes())
    {
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, value);
    }
    response
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
