//! Health as a load balancer or an orchestrator asks for it: `/healthz` and
//! gRPC's `grpc.health.v1.Health` (the server as a whole, "", and each of
//! its services by name) say SERVING until the process starts to stop, and
//! NOT_SERVING (503 on `/healthz`) from then on, while requests are still
//! answered for the drain period.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use tonic_health::{
    ServingStatus,
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};

/// The health of this process, by handle.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    /// The gRPC services served, by full name.
    services: Arc<Vec<String>>,
    draining: Arc<AtomicBool>,
}

impl Health {
    /// SERVING for the server and each of `services`.
    pub async fn new(services: Vec<String>) -> Health {
        let reporter = HealthReporter::new();
        for name in &services {
            reporter
                .set_service_status(name, ServingStatus::Serving)
                .await;
        }
        Health {
            reporter,
            services: Arc::new(services),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The gRPC health service reading these statuses.
    pub fn grpc(&self) -> HealthServer<HealthService> {
        HealthServer::new(HealthService::from_health_reporter(self.reporter.clone()))
    }

    /// False once the process is stopping.
    pub fn serving(&self) -> bool {
        !self.draining.load(Ordering::SeqCst)
    }

    /// The process is stopping: NOT_SERVING everywhere from now on (gRPC
    /// watchers are told at once).
    pub async fn drain(&self) {
        self.draining.store(true, Ordering::SeqCst);
        self.reporter
            .set_service_status("", ServingStatus::NotServing)
            .await;
        for name in self.services.iter() {
            self.reporter
                .set_service_status(name, ServingStatus::NotServing)
                .await;
        }
    }
}
