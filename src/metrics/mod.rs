//! Prometheus metrics: what an operator watches (`GET /metrics`).
//!
//! Built on the `prometheus-client` crate (the Prometheus project's own Rust
//! client) rather than `metrics` + `metrics-exporter-prometheus`: its metrics
//! are typed values (a counter family keyed by a label struct, so a label
//! cannot be misspelled or forgotten at one call site), it writes both the
//! OpenMetrics and the classic Prometheus text formats, and it has no global
//! recorder: every [`Metrics`] owns its registry. The [`Core`] owns one, so
//! two gateways in one process (as the integration tests run them) never
//! count into each other.
//!
//! Two kinds of values:
//! - counted where they happen (messages by status, sends and their latency,
//!   webhook attempts, reconnects, requests), in memory, from zero at start;
//! - read when scraped ([`scrape`]): phones by status, outbox and campaign
//!   queue depths, the event-log head and each webhook's lag, from a few
//!   aggregate queries with a time limit; stream subscribers and the
//!   database pool from memory. The database stays the truth for state, so
//!   several processes on one database report the same numbers.
//!
//! Label values are bounded: statuses, kinds and sources are the domain's
//! enums, routes are templates (never raw paths), gRPC methods are the ones
//! served (anything else is `other`), and phone and webhook ids appear only
//! with `metrics.per_phone` (off for installs with thousands of phones).
//!
//! [`Core`]: crate::server::Core

pub(crate) mod http;
pub(crate) mod scrape;

use std::{sync::Arc, time::Duration};

use prometheus_client::{
    encoding::EncodeLabelSet,
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram, info::Info},
    registry::{Registry, Unit},
};

use crate::store::entity::vocab::{MessageKind, MessageStatus, Source};

/// Request latency buckets, seconds: from a cached read to a slow upload.
const REQUEST_BUCKETS: [f64; 12] = [
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Send and webhook-attempt buckets, seconds: up to the default send
/// timeout (60 s) and past the default webhook timeout (10 s).
const SLOW_BUCKETS: [f64; 13] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

fn request_histogram() -> Histogram {
    Histogram::new(REQUEST_BUCKETS)
}

fn slow_histogram() -> Histogram {
    Histogram::new(SLOW_BUCKETS)
}

/// A family whose only label, when there is one, is an id (`phone_id`,
/// `webhook_id`): empty label lists when `per_phone` is off.
type ById<M> = Family<Vec<(&'static str, String)>, M>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MessageLabels {
    kind: &'static str,
    source: &'static str,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SendLabels {
    source: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    /// `rest`, `grpc` or `grpc-web`.
    pub protocol: &'static str,
    /// The HTTP method (REST), `POST` for gRPC.
    pub method: String,
    /// The route template (`/api/phones/{phone_id}`), the gRPC method
    /// (`/wadesk.v1.SendService/SendText`), or `other`.
    pub route: Arc<str>,
    /// The HTTP status (REST) or the gRPC status name (`OK`, `NOT_FOUND`).
    pub code: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub protocol: &'static str,
    pub method: String,
    pub route: Arc<str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabel {
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabel {
    state: &'static str,
}

/// How a send ended, as the send latency histogram labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SendOutcome {
    /// WhatsApp took it.
    Sent,
    /// Stored in the outbox; sent when the phone's session can.
    Queued,
    /// Stored as failed.
    Failed,
    /// Refused before anything was stored (plan, validation, media), or an
    /// internal error.
    Refused,
}

impl SendOutcome {
    fn as_str(self) -> &'static str {
        match self {
            SendOutcome::Sent => "sent",
            SendOutcome::Queued => "queued",
            SendOutcome::Failed => "failed",
            SendOutcome::Refused => "refused",
        }
    }
}

/// What a webhook attempt got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    /// A 2xx answer.
    Delivered,
    /// An HTTP answer that is not a delivery (4xx, 5xx, a redirect).
    Rejected,
    /// No HTTP answer: refused, unreachable, timed out, or a URL the
    /// outbound guard refuses.
    NoAnswer,
}

impl AttemptOutcome {
    fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Delivered => "delivered",
            AttemptOutcome::Rejected => "rejected",
            AttemptOutcome::NoAnswer => "no_answer",
        }
    }
}

/// The metrics of one gateway process, by handle (cheap to clone).
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    registry: Registry,
    per_phone: bool,
    // Counted as it happens.
    messages: Family<MessageLabels, Counter>,
    sends: Family<SendLabels, Histogram, fn() -> Histogram>,
    webhook_attempts: Family<OutcomeLabel, Counter>,
    webhook_attempt_seconds: Family<OutcomeLabel, Histogram, fn() -> Histogram>,
    reconnects: ById<Counter>,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram, fn() -> Histogram>,
    // Read when scraped.
    phones: Family<StatusLabel, Gauge>,
    phone_connected: ById<Gauge>,
    outbox: Gauge,
    bulk_queue: Family<StatusLabel, Gauge>,
    event_head: Gauge,
    webhook_lag: ById<Gauge>,
    subscribers: Gauge,
    pool: Family<StateLabel, Gauge>,
    pool_max: Gauge,
    database_up: Gauge,
    /// One scrape at a time: a scrape clears and refills the families of
    /// ids, which another must not encode half-way.
    scraping: tokio::sync::Mutex<()>,
}

impl Default for Metrics {
    /// With per-phone labels.
    fn default() -> Metrics {
        Metrics::new(true)
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics")
            .field("per_phone", &self.inner.per_phone)
            .finish_non_exhaustive()
    }
}

impl Metrics {
    /// A new registry with every metric; `per_phone` says whether phone and
    /// webhook ids are labels.
    pub fn new(per_phone: bool) -> Metrics {
        let mut registry = Registry::with_prefix("wadesk");
        let inner = Inner {
            per_phone,
            messages: Family::default(),
            sends: Family::new_with_constructor(slow_histogram),
            webhook_attempts: Family::default(),
            webhook_attempt_seconds: Family::new_with_constructor(slow_histogram),
            reconnects: Family::default(),
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(request_histogram),
            phones: Family::default(),
            phone_connected: Family::default(),
            outbox: Gauge::default(),
            bulk_queue: Family::default(),
            event_head: Gauge::default(),
            webhook_lag: Family::default(),
            subscribers: Gauge::default(),
            pool: Family::default(),
            pool_max: Gauge::default(),
            database_up: Gauge::default(),
            scraping: tokio::sync::Mutex::new(()),
            registry: Registry::default(),
        };
        registry.register(
            "build",
            "The running version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        registry.register(
            "messages",
            "Messages that reached a status (queued when stored for sending, sent, delivered, read, failed; received for inbound), by kind and source (api, bulk, bot; inbound)",
            inner.messages.clone(),
        );
        registry.register_with_unit(
            "send_duration",
            "Time from a send request to its message stored and handed to WhatsApp (or queued), by source and outcome",
            Unit::Seconds,
            inner.sends.clone(),
        );
        registry.register(
            "webhook_attempts",
            "Webhook delivery attempts by outcome (delivered: 2xx; rejected: another HTTP answer; no_answer)",
            inner.webhook_attempts.clone(),
        );
        registry.register_with_unit(
            "webhook_attempt_duration",
            "Time one webhook delivery attempt took, by outcome",
            Unit::Seconds,
            inner.webhook_attempt_seconds.clone(),
        );
        registry.register(
            "phone_reconnects",
            if per_phone {
                "Connections of a phone re-established after one was lost, by phone"
            } else {
                "Connections of phones re-established after one was lost"
            },
            inner.reconnects.clone(),
        );
        registry.register(
            "requests",
            "HTTP and gRPC requests by protocol, method, route template (or gRPC method) and status code",
            inner.requests.clone(),
        );
        registry.register_with_unit(
            "request_duration",
            "Time to a request's response head, by protocol, method and route",
            Unit::Seconds,
            inner.request_seconds.clone(),
        );
        registry.register("phones", "Phones by status", inner.phones.clone());
        if per_phone {
            registry.register(
                "phone_connected",
                "1 when a linked phone is connected to WhatsApp, 0 when not (phones never linked or logged out are not listed)",
                inner.phone_connected.clone(),
            );
        }
        registry.register(
            "outbox_messages",
            "Outbound messages waiting in the outbox (status queued)",
            inner.outbox.clone(),
        );
        registry.register(
            "bulk_queue_recipients",
            "Campaign recipients not yet sent to, by campaign status (queued, running, paused)",
            inner.bulk_queue.clone(),
        );
        registry.register(
            "event_log_head",
            "The newest event-log cursor",
            inner.event_head.clone(),
        );
        registry.register(
            "webhook_lag_events",
            if per_phone {
                "Events of its phone an enabled webhook has not delivered yet, by webhook (counted up to 100000)"
            } else {
                "The most events any enabled webhook has not delivered yet (counted up to 100000)"
            },
            inner.webhook_lag.clone(),
        );
        registry.register(
            "event_subscribers",
            "Open event streams (gRPC Subscribe and the SSE endpoint)",
            inner.subscribers.clone(),
        );
        registry.register(
            "db_pool_connections",
            "Database pool connections by state (idle, in_use)",
            inner.pool.clone(),
        );
        registry.register(
            "db_pool_max_connections",
            "The database pool's size limit",
            inner.pool_max.clone(),
        );
        registry.register(
            "metrics_database_up",
            "1 when this scrape's database reads succeeded; 0 when they failed or timed out (database-read values are then the last good ones)",
            inner.database_up.clone(),
        );
        Metrics {
            inner: Arc::new(Inner { registry, ..inner }),
        }
    }

    /// Whether phone and webhook ids are labels.
    pub fn per_phone(&self) -> bool {
        self.inner.per_phone
    }

    /// The id label, or none without `per_phone`.
    fn by_id(&self, name: &'static str, id: &str) -> Vec<(&'static str, String)> {
        if self.inner.per_phone {
            vec![(name, id.to_owned())]
        } else {
            Vec::new()
        }
    }

    /// A message reached `status` (stored queued, moved on, or received).
    pub(crate) fn message(&self, kind: MessageKind, source: Option<Source>, status: MessageStatus) {
        let source = match (status, source) {
            (MessageStatus::Received, _) => "inbound",
            (_, Some(source)) => source.as_str(),
            // Outbound rows from before the column: API sends.
            (_, None) => Source::Api.as_str(),
        };
        self.inner
            .messages
            .get_or_create(&MessageLabels {
                kind: kind.as_str(),
                source,
                status: status.as_str(),
            })
            .inc();
    }

    /// One send through the send path took `took`.
    pub(crate) fn send(&self, source: Source, outcome: SendOutcome, took: Duration) {
        self.inner
            .sends
            .get_or_create(&SendLabels {
                source: source.as_str(),
                outcome: outcome.as_str(),
            })
            .observe(took.as_secs_f64());
    }

    /// One webhook attempt.
    pub(crate) fn webhook_attempt(&self, outcome: AttemptOutcome, took: Duration) {
        let label = OutcomeLabel {
            outcome: outcome.as_str(),
        };
        self.inner.webhook_attempts.get_or_create(&label).inc();
        self.inner
            .webhook_attempt_seconds
            .get_or_create(&label)
            .observe(took.as_secs_f64());
    }

    /// A phone's connection came back after it was lost.
    pub(crate) fn reconnected(&self, phone_id: &str) {
        self.inner
            .reconnects
            .get_or_create(&self.by_id("phone_id", phone_id))
            .inc();
    }

    /// One request answered.
    pub(crate) fn request(&self, labels: RequestLabels, took: Duration) {
        let route = RouteLabels {
            protocol: labels.protocol,
            method: labels.method.clone(),
            route: labels.route.clone(),
        };
        self.inner.requests.get_or_create(&labels).inc();
        self.inner
            .request_seconds
            .get_or_create(&route)
            .observe(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests;
