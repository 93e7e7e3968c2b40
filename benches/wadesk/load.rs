//! The load client of the `http` and `grpc` rows, in this binary: C workers,
//! each sending one request at a time over its own connection for a fixed
//! time, recording every request's latency. The same client measures the
//! gateway and the bare baseline.

use std::{
    future::Future,
    time::{Duration, Instant},
};

use crate::gateway::{Latencies, ms};

/// Workers (connections) sending at once.
pub const CONCURRENCY: usize = 16;
/// Measured time per target.
pub const DURATION: Duration = Duration::from_secs(5);
/// Unmeasured time per target first (connections, caches).
pub const WARMUP: Duration = Duration::from_secs(1);

pub struct LoadResult {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    pub latencies: Latencies,
}

impl LoadResult {
    pub fn per_sec(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
}

/// Runs `call(worker)` in a loop on each of `concurrency` workers: a warm-up,
/// then `duration` measured.
pub async fn run<F, Fut>(concurrency: usize, duration: Duration, call: F) -> LoadResult
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let warm_until = Instant::now() + WARMUP;
    let until = warm_until + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::with_capacity(64 * 1024);
                let mut errors = 0usize;
                loop {
                    let started = Instant::now();
                    if started >= until {
                        break;
                    }
                    let ok = call(w).await.is_ok();
                    if started >= warm_until {
                        if ok {
                            latencies.push(started.elapsed());
                        } else {
                            errors += 1;
                        }
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for worker in workers {
        if let Ok((latencies, e)) = worker.await {
            all.extend(latencies);
            errors += e;
        }
    }
    LoadResult {
        requests: all.len(),
        errors,
        elapsed: duration,
        latencies: Latencies::new(all),
    }
}

pub fn header(row: &str) {
    println!(
        "{:<5} {:<12} {:>4} {:>9} {:>8} {:>9} {:>9}",
        row, "target", "conn", "req/s", "errors", "p50 ms", "p99 ms"
    );
}

pub fn line(row: &str, target: &str, r: &LoadResult) {
    println!(
        "{:<5} {:<12} {:>4} {:>9.0} {:>8} {:>9.2} {:>9.2}",
        row,
        target,
        CONCURRENCY,
        r.per_sec(),
        r.errors,
        ms(r.latencies.q(0.5)),
        ms(r.latencies.q(0.99)),
    );
}

pub fn ratio(row: &str, gateway: &LoadResult, bare: &LoadResult) {
    println!(
        "{row:<5} gateway / bare: {:.2}x req/s, {:.2}x p50, {:.2}x p99",
        gateway.per_sec() / bare.per_sec(),
        ms(gateway.latencies.q(0.5)) / ms(bare.latencies.q(0.5)),
        ms(gateway.latencies.q(0.99)) / ms(bare.latencies.q(0.99)),
    );
}
