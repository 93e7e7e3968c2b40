//! `GET /metrics`: the scrape. Checks the scrape token when one is set,
//! reads the database's numbers (bounded by [`DB_TIMEOUT`]), and writes the
//! registry as OpenMetrics text when the scraper asks for it (Prometheus
//! does), else as the classic Prometheus text format (curl, older tools).

use std::{sync::Arc, time::Duration};

use axum::{
    extract::State,
    response::{IntoResponse, Response},
};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use prometheus_client::encoding::{prometheus_text, text};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Metrics, StateLabel, StatusLabel};
use crate::store::{self, events::Tail};

/// How long a scrape's database reads may take: under Prometheus's default
/// scrape timeout (10 s), and short enough not to pile up.
const DB_TIMEOUT: Duration = Duration::from_secs(2);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What a scrape reads; the state of the /metrics route.
#[derive(Clone)]
pub(crate) struct Scrape {
    pub metrics: Metrics,
    pub db: DatabaseConnection,
    pub tail: Tail,
    /// SHA-256 of `metrics.token`, when one is set: compared digest to
    /// digest in constant time, so neither the token's bytes nor its length
    /// show in the answer's timing.
    token: Option<Arc<[u8; 32]>>,
}

impl Scrape {
    pub(crate) fn new(
        metrics: Metrics,
        db: DatabaseConnection,
        tail: Tail,
        token: Option<&str>,
    ) -> Scrape {
        Scrape {
            metrics,
            db,
            tail,
            token: token.map(|t| Arc::new(Sha256::digest(t.as_bytes()).into())),
        }
    }

    /// Whether the request may scrape.
    fn allowed(&self, headers: &HeaderMap) -> bool {
        let Some(want) = &self.token else {
            return true;
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .unwrap_or("");
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        bool::from(given.ct_eq(want.as_ref()))
    }
}

/// The /metrics handler.
pub(crate) async fn handle(State(scrape): State<Scrape>, headers: HeaderMap) -> Response {
    if !scrape.allowed(&headers) {
        let mut response = wadesk_gateway::error_response(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "scraping needs the metrics token (metrics.token): Authorization: Bearer <token>",
        );
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return response;
    }
    let openmetrics = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    match scrape.render(openmetrics).await {
        Ok(body) => {
            let content_type = if openmetrics {
                OPENMETRICS
            } else {
                prometheus_text::CONTENT_TYPE
            };
            ([(header::CONTENT_TYPE, content_type)], body).into_response()
        }
        Err(err) => {
            tracing::error!(error = %err, "encoding metrics");
            wadesk_gateway::error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                "encoding the metrics failed",
            )
        }
    }
}

impl Scrape {
    /// Brings the values read at scrape time up to date and encodes every
    /// metric.
    async fn render(&self, openmetrics: bool) -> Result<String, std::fmt::Error> {
        let inner = &self.metrics.inner;
        let _one_at_a_time = inner.scraping.lock().await;
        let per_phone = inner.per_phone;
        match tokio::time::timeout(DB_TIMEOUT, store::stats::read(&self.db, per_phone)).await {
            Ok(Ok(stats)) => {
                inner.database_up.set(1);
                self.apply(stats);
            }
            Ok(Err(err)) => {
                inner.database_up.set(0);
                tracing::warn!(error = %err, "metrics: reading the database");
            }
            Err(_) => {
                inner.database_up.set(0);
                tracing::warn!(
                    secs = DB_TIMEOUT.as_secs(),
                    "metrics: the database reads timed out"
                );
            }
        }
        inner.subscribers.set(self.tail.subscribers() as i64);
        if let Some(pool) = store::stats::pool(&self.db) {
            let in_use = pool.size.saturating_sub(pool.idle);
            inner
                .pool
                .get_or_create(&StateLabel { state: "idle" })
                .set(i64::from(pool.idle));
            inner
                .pool
                .get_or_create(&StateLabel { state: "in_use" })
                .set(i64::from(in_use));
            inner.pool_max.set(i64::from(pool.max));
        }
        let mut out = String::new();
        if openmetrics {
            text::encode(&mut out, &inner.registry)?;
        } else {
            prometheus_text::encode(&mut out, &inner.registry)?;
        }
        Ok(out)
    }

    fn apply(&self, stats: store::stats::Stats) {
        let inner = &self.metrics.inner;
        for (status, n) in stats.phones {
            inner
                .phones
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .set(n);
        }
        if inner.per_phone {
            // Deleted phones go; the family holds exactly the linked ones.
            inner.phone_connected.clear();
            for (id, connected) in stats.linked {
                inner
                    .phone_connected
                    .get_or_create(&vec![("phone_id", id)])
                    .set(i64::from(connected));
            }
        }
        inner.outbox.set(stats.outbox);
        for (status, n) in stats.bulk_queue {
            inner
                .bulk_queue
                .get_or_create(&StatusLabel {
                    status: status.as_str(),
                })
                .set(n);
        }
        inner.event_head.set(stats.head);
        inner.webhook_lag.clear();
        if inner.per_phone {
            for (id, lag) in stats.webhook_lag {
                inner
                    .webhook_lag
                    .get_or_create(&vec![("webhook_id", id)])
                    .set(lag);
            }
        } else {
            let max = stats.webhook_lag.iter().map(|(_, lag)| *lag).max();
            inner
                .webhook_lag
                .get_or_create(&Vec::new())
                .set(max.unwrap_or(0));
        }
    }
}
