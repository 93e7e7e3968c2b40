//! When a failed delivery is tried again.

use std::time::Duration;

use crate::config;

/// Delivery knobs (config `[webhooks]`), checked at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub timeout: Duration,
    pub schedule: Vec<Duration>,
    pub jitter: f64,
    pub max_retry_after: Duration,
    pub disable_after: Duration,
    pub concurrency: usize,
}

impl Settings {
    pub fn from_config(c: &config::Webhooks) -> anyhow::Result<Settings> {
        if !(0.0..1.0).contains(&c.jitter) {
            anyhow::bail!("webhooks.jitter: {} is not a fraction below 1", c.jitter);
        }
        Ok(Settings {
            timeout: c.timeout,
            schedule: c.retry_schedule.clone(),
            jitter: c.jitter,
            max_retry_after: c.max_retry_after,
            disable_after: c.disable_after,
            concurrency: c.concurrency,
        })
    }

    /// The pause after the `failures`-th failure in a row (from 1): the
    /// schedule's entry (its last one repeating) moved by the jitter, and
    /// lengthened, not shortened, by a receiver's Retry-After up to the
    /// bound.
    pub fn pause(&self, failures: u32, retry_after: Option<Duration>) -> Duration {
        use rand::RngExt as _;
        let index = (failures.max(1) as usize - 1).min(self.schedule.len() - 1);
        let base = self.schedule[index];
        let factor = if self.jitter > 0.0 {
            1.0 + rand::rng().random_range(-self.jitter..self.jitter)
        } else {
            1.0
        };
        let pause = base.mul_f64(factor);
        match retry_after {
            Some(asked) => pause.max(asked.min(self.max_retry_after)),
            None => pause,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(jitter: f64) -> Settings {
        Settings {
            timeout: Duration::from_secs(10),
            schedule: vec![Duration::from_secs(5), Duration::from_secs(30)],
            jitter,
            max_retry_after: Duration::from_secs(60),
            disable_after: Duration::from_secs(86400),
            concurrency: 1,
        }
    }

    #[test]
    fn schedule_jitter_and_retry_after() {
        let s = settings(0.0);
        assert_eq!(s.pause(1, None), Duration::from_secs(5));
        assert_eq!(s.pause(2, None), Duration::from_secs(30));
        assert_eq!(
            s.pause(9, None),
            Duration::from_secs(30),
            "the last repeats"
        );
        assert_eq!(
            s.pause(1, Some(Duration::from_secs(20))),
            Duration::from_secs(20)
        );
        assert_eq!(
            s.pause(1, Some(Duration::from_secs(1))),
            Duration::from_secs(5),
            "never shorter than the schedule"
        );
        assert_eq!(
            s.pause(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(60),
            "bounded"
        );
        let s = settings(0.2);
        for _ in 0..100 {
            let p = s.pause(1, None);
            assert!(
                p >= Duration::from_secs(4) && p <= Duration::from_secs(6),
                "{p:?}"
            );
        }
    }
}
