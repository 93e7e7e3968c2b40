//! Health as a load balancer or an orchestrator asks for it.
//!
//! - Liveness, `GET /healthz`: the process runs and answers (200 until it
//!   exits).
//! - Readiness, `GET /readyz` and gRPC's `grpc.health.v1.Health` (the
//!   server as a whole, "", and each service by name): ready when the
//!   database answers, its migrations are current, the phone sessions have
//!   been started, and the process is not stopping. On a stop readiness
//!   goes false first (for the drain period), then the listener drains,
//!   then the sessions stop.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use sea_orm::{ConnectionTrait, DatabaseConnection};
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use tonic_health::{
    ServingStatus,
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};

use crate::store;

/// How long one database check may take before it counts as a failure.
const DB_CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// How often gRPC health is brought up to date with the database's state.
const GRPC_RECHECK: Duration = Duration::from_secs(5);

/// The health of this process, by handle.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    /// The gRPC services served, by full name.
    services: Arc<Vec<String>>,
    draining: Arc<AtomicBool>,
    started: Arc<AtomicBool>,
    db: DatabaseConnection,
}

/// What `/readyz` answers: each check, and whether all passed.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    pub status: &'static str,
    pub checks: Checks,
}

#[derive(Debug, Clone, Serialize)]
pub struct Checks {
    /// "ok", or why not ("unreachable", "timed out").
    pub database: String,
    /// "ok", or how many migrations are pending.
    pub migrations: String,
    /// "started" once the phone sessions were started, else "starting".
    pub sessions: &'static str,
    pub draining: bool,
}

impl Readiness {
    pub fn ready(&self) -> bool {
        self.status == "ready"
    }
}

impl Health {
    /// NOT_SERVING for the server and each of `services` until
    /// [`Health::started`].
    pub async fn new(services: Vec<String>, db: DatabaseConnection) -> Health {
        let health = Health {
            reporter: HealthReporter::new(),
            services: Arc::new(services),
            draining: Arc::new(AtomicBool::new(false)),
            started: Arc::new(AtomicBool::new(false)),
            db,
        };
        health.report(false).await;
        health
    }

    /// The gRPC health service reading these statuses.
    pub fn grpc(&self) -> HealthServer<HealthService> {
        HealthServer::new(HealthService::from_health_reporter(self.reporter.clone()))
    }

    /// The phone sessions are started: ready (if the database is), and
    /// gRPC health is kept up to date until `stop`.
    pub async fn started(&self, stop: CancellationToken, tasks: &tokio_util::task::TaskTracker) {
        self.started.store(true, Ordering::SeqCst);
        let ready = self.readiness().await.ready();
        self.report(ready).await;
        let health = self.clone();
        tasks.spawn(async move {
            let mut last = ready;
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(GRPC_RECHECK) => {}
                }
                let ready = health.readiness().await.ready();
                if ready != last {
                    if !ready {
                        tracing::warn!("not ready: gRPC health says NOT_SERVING (see /readyz)");
                    }
                    health.report(ready).await;
                    last = ready;
                }
            }
        });
    }

    /// False once the process is stopping.
    pub fn serving(&self) -> bool {
        !self.draining.load(Ordering::SeqCst)
    }

    /// Checks everything readiness depends on, now.
    pub async fn readiness(&self) -> Readiness {
        let database =
            match tokio::time::timeout(DB_CHECK_TIMEOUT, self.db.execute_unprepared("SELECT 1"))
                .await
            {
                Ok(Ok(_)) => "ok".to_owned(),
                Ok(Err(err)) => {
                    tracing::warn!(error = %err, "readiness: the database does not answer");
                    "unreachable".to_owned()
                }
                Err(_) => "timed out".to_owned(),
            };
        let migrations = if database == "ok" {
            match store::pending_migrations(&self.db).await {
                Ok(0) => "ok".to_owned(),
                Ok(n) => format!("{n} pending"),
                Err(err) => {
                    tracing::warn!(error = %err, "readiness: reading the migrations");
                    "unknown".to_owned()
                }
            }
        } else {
            "unknown".to_owned()
        };
        let sessions = if self.started.load(Ordering::SeqCst) {
            "started"
        } else {
            "starting"
        };
        let draining = !self.serving();
        let ready = database == "ok" && migrations == "ok" && sessions == "started" && !draining;
        Readiness {
            status: if ready { "ready" } else { "not_ready" },
            checks: Checks {
                database,
                migrations,
                sessions,
                draining,
            },
        }
    }

    /// The process is stopping: NOT_SERVING everywhere from now on (gRPC
    /// watchers are told at once).
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.report(false).await;
    }

    async fn report(&self, ready: bool) {
        let status = if ready {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        self.reporter.set_service_status("", status).await;
        for name in self.services.iter() {
            self.reporter.set_service_status(name, status).await;
        }
    }
}
