//! Per-token request limit over a sliding 60-second window.
//!
//! Why not governor's GCRA: with a quota of 100 per minute it refills one
//! request every 600 ms, so a steady client gets well over 100 requests in a
//! minute. The API documents "100 requests/minute per token", and a sliding
//! log keeps that promise exactly at the cost of one timestamp per request in
//! the window (under 2 KiB per active token at the default).
use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

pub struct Limiter {
    limit: u32,
    window: Duration,
    hits: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    /// `limit` requests per `window`; 0 means unlimited.
    pub fn new(limit: u32, window: Duration) -> Limiter {
        Limiter {
            limit,
            window,
            hits: Mutex::new(HashMap::new()),
        }
    }

    pub fn per_minute(limit: u32) -> Limiter {
        Limiter::new(limit, Duration::from_secs(60))
    }

    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Records a request for `key`, or says how long until one is allowed.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.window_for(key, true)
    }

    /// Whether `key` has room, without recording anything (for a limit on
    /// failures: asked before trying, recorded only when it fails).
    pub fn room(&self, key: &str) -> Result<(), Duration> {
        self.window_for(key, false)
    }

    fn window_for(&self, key: &str, record: bool) -> Result<(), Duration> {
        if self.limit == 0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut hits = self.hits.lock().unwrap_or_else(|e| e.into_inner());
        if hits.len() > 10_000 {
            let window = self.window;
            hits.retain(|_, q| q.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let log = hits.entry(key.to_owned()).or_default();
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.window)
        {
            log.pop_front();
        }
        if log.len() >= self.limit as usize {
            let oldest = log.front().copied().unwrap_or(now);
            return Err(self.window.saturating_sub(now.duration_since(oldest)));
        }
        if record {
            log.push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allows_exactly_the_limit_within_the_window() {
        let limiter = Limiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(limiter.check("a").is_ok());
        }
        let wait = limiter.check("a").unwrap_err();
        assert!(wait > Duration::from_secs(59));
        assert!(limiter.check("b").is_ok(), "keys are independent");
    }

    #[test]
    fn window_slides() {
        let limiter = Limiter::new(1, Duration::from_millis(30));
        assert!(limiter.check("a").is_ok());
        assert!(limiter.check("a").is_err());
        std::thread::sleep(Duration::from_millis(40));
        assert!(limiter.check("a").is_ok());
    }

    #[test]
    fn room_records_nothing() {
        let limiter = Limiter::new(1, Duration::from_secs(60));
        for _ in 0..5 {
            assert!(limiter.room("a").is_ok());
        }
        assert!(limiter.check("a").is_ok());
        assert!(limiter.room("a").is_err());
    }

    #[test]
    fn zero_is_unlimited() {
        let limiter = Limiter::per_minute(0);
        for _ in 0..1000 {
            assert!(limiter.check("a").is_ok());
        }
    }
}
