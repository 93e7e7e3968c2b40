//! google.api.http transcoding for tonic services.
//!
//! [`Gateway`] reads the HTTP rules out of a [`prost_reflect::DescriptorPool`] (the
//! encoded FileDescriptorSet from protox, with source info and options kept) and
//! builds an axum [`Router`] that turns JSON REST calls into gRPC calls dispatched in
//! process to a tower service, normally the same tonic stack (with its auth and rate
//! limit layers) that serves gRPC. Server streaming methods become Server-Sent Events.
//! The crate does not depend on any generated code: everything goes through the
//! descriptors, which also yield the OpenAPI document.
//!
//! ```ignore
//! let pool = DescriptorPool::decode(DESCRIPTOR_SET)?;
//! let gateway = Gateway::new(pool)?;
//! let grpc = tonic_routes.into_axum_router(); // or any layered tower service
//! let app = gateway
//!     .router(grpc)
//!     .fallback(|| async { error_response(StatusCode::NOT_FOUND, "NOT_FOUND", "no such path") });
//! ```
//!
//! Merge the router rather than nesting it: routes are the templates' full paths, and
//! the handler matches the request path as it arrives.

mod dispatch;
mod error;
#[cfg(test)]
mod fuzz;
mod handler;
mod json;
mod limits;
mod openapi;
mod request;
mod rules;
mod shared;
mod sse;
mod template;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::routing::any;
use bytes::Bytes;
use prost_reflect::DescriptorPool;

pub use error::{error_body, error_response, grpc_code_name, http_status_for_grpc};
pub use openapi::FieldRules;
pub use rules::{BindingInfo, RuleError};

use shared::{Config, Shared};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The REST transcoder built from a descriptor pool.
#[derive(Clone)]
pub struct Gateway {
    pool: DescriptorPool,
    shared: Shared,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("bindings", &self.bindings())
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Reads every service in the pool whose methods carry google.api.http rules.
    /// Methods without a rule are skipped. A bad rule is an Err naming the method.
    pub fn new(pool: DescriptorPool) -> Result<Gateway, RuleError> {
        let mut bindings = rules::read_bindings(&pool)?;
        rules::check_conflicts(&bindings)?;
        // Most specific first: a literal segment beats a variable at the same position.
        bindings.sort_by_key(|b| b.template.specificity());
        let shared = Shared {
            bindings: bindings.into_iter().map(Arc::new).collect(),
            names: Arc::new(json::Names::new(&pool)),
            config: Config::default(),
        };
        Ok(Gateway { pool, shared })
    }

    fn config_mut(&mut self) -> &mut Config {
        &mut self.shared.config
    }

    /// Largest accepted request body (default 4 MiB); larger ones get 413.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.config_mut().body_limit = bytes;
        self
    }

    /// Deepest nesting of arrays and objects in a JSON body (default 32);
    /// deeper bodies get 400 before they are parsed.
    pub fn with_max_json_depth(mut self, levels: usize) -> Self {
        self.config_mut().json.max_depth = levels;
        self
    }

    /// Most items of one JSON array (a repeated field), entries of one
    /// object, or values of one repeated query parameter (default 100,000);
    /// more get 400 naming the field.
    pub fn with_max_list_items(mut self, items: usize) -> Self {
        self.config_mut().json.max_items = items;
        self
    }

    /// Interval of SSE keep-alive comments (default 15 s).
    pub fn with_keep_alive(mut self, interval: Duration) -> Self {
        self.config_mut().keep_alive = interval;
        self
    }

    /// How long a streaming call may take to produce its first message before the SSE
    /// response is committed (default 200 ms). An error within this window is answered
    /// as a plain JSON error with its HTTP status; after it, as a final `error` event.
    pub fn with_first_message_wait(mut self, wait: Duration) -> Self {
        self.config_mut().first_message_wait = wait;
        self
    }

    /// Every (http method, path template, full grpc method name) binding, for docs and tests.
    pub fn bindings(&self) -> Vec<BindingInfo> {
        self.shared
            .in_declaration_order()
            .map(|b| b.info())
            .collect()
    }

    /// Each binding's route as the router registers it (what axum's
    /// `MatchedPath` reports, variables named by position), with its HTTP
    /// method and its path template as the rule writes it: to name a
    /// matched request by the template its reader knows
    /// (`/api/phones/{phone_id}`, not `/api/phones/{s2}`).
    pub fn routes(&self) -> Vec<(String, http::Method, String)> {
        self.shared
            .in_declaration_order()
            .map(|b| (b.template.route(), b.http_method.clone(), b.path.clone()))
            .collect()
    }

    /// REST router. `grpc` is the in-process gRPC service (tonic Routes wrapped in layers).
    /// It answers only the paths of the bindings (a known path with a wrong method gets a
    /// JSON 405); add a fallback with [`error_response`] for unknown paths.
    pub fn router<S, B>(&self, grpc: S) -> Router
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        S::Error: Into<BoxError>,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let mut routes: Vec<String> = Vec::new();
        for binding in &self.shared.bindings {
            for route in binding.template.routes() {
                if !routes.contains(&route) {
                    routes.push(route);
                }
            }
        }
        let shared = Arc::new(self.shared.clone());
        let mut router = Router::new();
        for route in routes {
            let shared = shared.clone();
            let grpc = grpc.clone();
            router = router.route(
                &route,
                any(move |request: http::Request<Body>| {
                    handler::handle(shared.clone(), grpc.clone(), request)
                }),
            );
        }
        router
    }

    /// OpenAPI 3.1 document generated from the same descriptors.
    pub fn openapi(&self, title: &str, version: &str) -> serde_json::Value {
        self.openapi_with_rules(title, version, &FieldRules::default())
    }

    /// The OpenAPI document with the service's validation rules (lengths, ranges,
    /// patterns, required fields) merged into the schemas of the fields and messages
    /// they are keyed by: see [`FieldRules`].
    pub fn openapi_with_rules(
        &self,
        title: &str,
        version: &str,
        rules: &FieldRules,
    ) -> serde_json::Value {
        openapi::document(&self.pool, &self.shared, title, version, rules)
    }
}
