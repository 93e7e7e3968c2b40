//! The one JSON error shape of the REST surface and the gRPC -> HTTP status table.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

/// gRPC status code names, indexed by code number.
const CODE_NAMES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];

pub(crate) const INVALID_ARGUMENT: i32 = 3;
pub(crate) const NOT_FOUND: i32 = 5;
pub(crate) const UNIMPLEMENTED: i32 = 12;
pub(crate) const INTERNAL: i32 = 13;
pub(crate) const UNAVAILABLE: i32 = 14;
pub(crate) const UNAUTHENTICATED: i32 = 16;
pub(crate) const PERMISSION_DENIED: i32 = 7;
pub(crate) const UNKNOWN: i32 = 2;
pub(crate) const RESOURCE_EXHAUSTED: i32 = 8;

/// The name of a gRPC status code (`NOT_FOUND`); unknown numbers read as `UNKNOWN`.
pub fn grpc_code_name(code: i32) -> &'static str {
    usize::try_from(code)
        .ok()
        .and_then(|i| CODE_NAMES.get(i))
        .copied()
        .unwrap_or("UNKNOWN")
}

/// The HTTP status a gRPC status code is answered with over REST.
pub fn http_status_for_grpc(code: i32) -> StatusCode {
    match code {
        0 => StatusCode::OK,
        3 | 9 | 11 => StatusCode::BAD_REQUEST,
        16 => StatusCode::UNAUTHORIZED,
        7 => StatusCode::FORBIDDEN,
        5 => StatusCode::NOT_FOUND,
        6 | 10 => StatusCode::CONFLICT,
        8 => StatusCode::TOO_MANY_REQUESTS,
        // 499 "client closed request" is a valid (if unregistered) status code.
        1 => StatusCode::from_u16(499).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        12 => StatusCode::NOT_IMPLEMENTED,
        14 => StatusCode::SERVICE_UNAVAILABLE,
        4 => StatusCode::GATEWAY_TIMEOUT,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON body of every REST error, as a value (also the data of a final SSE `error` event).
pub fn error_body(
    http_status: StatusCode,
    grpc_code_name: &str,
    message: &str,
) -> serde_json::Value {
    serde_json::json!({
        "success": false,
        "error": {
            "code": http_status.as_u16(),
            "status": grpc_code_name,
            "message": message,
        }
    })
}

/// The JSON error response used for every REST error, also for callers outside the
/// gateway (e.g. a 404 fallback): `{"success": false, "error": {"code", "status", "message"}}`.
pub fn error_response(http_status: StatusCode, grpc_code_name: &str, message: &str) -> Response {
    let body = error_body(http_status, grpc_code_name, message).to_string();
    let mut response = (http_status, body).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// An error on its way to becoming a REST error response.
#[derive(Debug, Clone)]
pub(crate) struct GatewayError {
    pub code: i32,
    pub message: String,
    /// Set when the HTTP status is not the one the gRPC code maps to (405, 413).
    pub http_status: Option<StatusCode>,
    /// Copied from the gRPC response on RESOURCE_EXHAUSTED.
    pub retry_after: Option<HeaderValue>,
    /// Extra headers for the HTTP response (e.g. `Allow` on 405).
    pub headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl GatewayError {
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        GatewayError {
            code,
            message: message.into(),
            http_status: None,
            retry_after: None,
            headers: Vec::new(),
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(INVALID_ARGUMENT, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(INTERNAL, message)
    }

    pub fn with_http_status(mut self, status: StatusCode) -> Self {
        self.http_status = Some(status);
        self
    }

    pub fn status(&self) -> StatusCode {
        self.http_status
            .unwrap_or_else(|| http_status_for_grpc(self.code))
    }

    pub fn body(&self) -> serde_json::Value {
        error_body(self.status(), grpc_code_name(self.code), &self.message)
    }
}

impl IntoResponse for GatewayError {
    fn into_response(self) -> Response {
        let mut response = error_response(self.status(), grpc_code_name(self.code), &self.message);
        if let Some(retry_after) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, retry_after);
        }
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}
