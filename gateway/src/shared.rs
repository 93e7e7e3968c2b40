//! What the REST handler, the SSE stream and the OpenAPI document share: the
//! bindings with their names and settings, routing, and the JSON rendering of a
//! response message. Kept below `handler` and `sse` so neither imports the other
//! for it.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Method, StatusCode, header};
use prost_reflect::{DynamicMessage, ReflectMessage as _};
use serde_json::{Map, Value as Json};

use crate::error::{self, GatewayError};
use crate::json::{Names, field_of, message_to_json};
use crate::limits::JsonLimits;
use crate::rules::Binding;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Config {
    pub body_limit: usize,
    pub json: JsonLimits,
    pub keep_alive: Duration,
    pub first_message_wait: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            body_limit: 4 * 1024 * 1024,
            json: JsonLimits::default(),
            keep_alive: Duration::from_secs(15),
            first_message_wait: Duration::from_millis(200),
        }
    }
}

/// What every request handler shares: the bindings (most specific first) and names.
/// Cheap to clone; the router holds one in an `Arc`.
#[derive(Clone)]
pub(crate) struct Shared {
    pub bindings: Vec<Arc<Binding>>,
    pub names: Arc<Names>,
    pub config: Config,
}

impl Shared {
    /// Bindings in the order the protos declare them (for docs).
    pub fn in_declaration_order(&self) -> impl Iterator<Item = &Arc<Binding>> {
        let mut sorted: Vec<&Arc<Binding>> = self.bindings.iter().collect();
        sorted.sort_by_key(|b| b.declared);
        sorted.into_iter()
    }

    /// The binding for this method and path. Literal segments win over variables
    /// (bindings are sorted that way); a path known under other methods is a 405.
    pub(crate) fn route(
        &self,
        method: &Method,
        path: &str,
    ) -> Result<(Arc<Binding>, Vec<String>), GatewayError> {
        let mut allowed: Vec<&str> = Vec::new();
        for binding in &self.bindings {
            if let Some(values) = binding.template.matches(path) {
                if binding.http_method == method {
                    return Ok((binding.clone(), values));
                }
                if !allowed.contains(&binding.http_method.as_str()) {
                    allowed.push(binding.http_method.as_str());
                }
            }
        }
        if allowed.is_empty() {
            return Err(GatewayError::new(
                error::NOT_FOUND,
                format!("no route for {path}"),
            ));
        }
        let mut err = GatewayError::new(
            error::UNIMPLEMENTED,
            format!(
                "method {method} is not allowed on {path}; use {}",
                allowed.join(", ")
            ),
        )
        .with_http_status(StatusCode::METHOD_NOT_ALLOWED);
        if let Ok(allow) = HeaderValue::from_str(&allowed.join(", ")) {
            err.headers.push((header::ALLOW, allow));
        }
        Err(err)
    }
}

/// The REST JSON of a response message: `response_body` applied, then
/// `"success": true` as first key when asked for and the message does not omit it.
pub(crate) fn render(
    names: &Names,
    binding: &Binding,
    msg: &DynamicMessage,
    success: bool,
) -> Json {
    let (json, desc) = match &binding.response_body {
        Some(field) => (
            field_of(names, msg, field),
            field.kind().as_message().cloned(),
        ),
        None => (message_to_json(names, msg), Some(msg.descriptor())),
    };
    let wants_success = success && desc.is_some_and(|d| !names.omit_success(&d));
    match json {
        Json::Object(fields) if wants_success => {
            let mut out = Map::with_capacity(fields.len() + 1);
            out.insert("success".into(), Json::Bool(true));
            for (k, v) in fields {
                out.insert(k, v);
            }
            Json::Object(out)
        }
        other => other,
    }
}
