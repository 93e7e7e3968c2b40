//! Short-lived copies of the rows nearly every request reads (a token's
//! record, the caller's phone), so that a read-only request need not touch
//! the database at all.
//!
//! Writes made by this process drop the copy at once ([`Cache::invalidate`]);
//! writes made by another process (the `wadesk token revoke` and
//! `wadesk phone set-plan` commands) are seen once the copy is older than the
//! time to live, `auth.cache_ms`. A time to live of zero turns the cache off.

use std::{
    collections::HashMap,
    sync::{
        Arc, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

/// Above this many entries, an insert first drops the stale ones: rows that
/// were deleted or are no longer asked for cannot pile up.
const SWEEP_ABOVE: usize = 10_000;

struct Entry<V> {
    read_at: Instant,
    value: V,
}

struct Inner<V> {
    ttl: Duration,
    /// Bumped by every invalidation: a read that started before one may not
    /// store what it read (it may be the old row).
    generation: AtomicU64,
    map: RwLock<HashMap<String, Entry<V>>>,
}

/// Rows by id, each trusted for the time to live.
pub struct Cache<V>(Arc<Inner<V>>);

impl<V> Clone for Cache<V> {
    fn clone(&self) -> Self {
        Cache(self.0.clone())
    }
}

/// Taken before reading the database; [`Cache::insert`] stores the row only
/// if nothing was invalidated since.
#[derive(Clone, Copy)]
pub struct Ticket(u64);

impl<V: Clone> Cache<V> {
    pub fn new(ttl: Duration) -> Cache<V> {
        Cache(Arc::new(Inner {
            ttl,
            generation: AtomicU64::new(0),
            map: RwLock::new(HashMap::new()),
        }))
    }

    /// The row read less than the time to live ago, if any.
    pub fn get(&self, id: &str) -> Option<V> {
        let map = self.0.map.read().unwrap_or_else(|e| e.into_inner());
        map.get(id)
            .filter(|e| e.read_at.elapsed() < self.0.ttl)
            .map(|e| e.value.clone())
    }

    /// To take before reading the row from the database.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.0.generation.load(Ordering::Acquire))
    }

    /// Keeps a row read from the database after `ticket` was taken.
    pub fn insert(&self, ticket: Ticket, id: &str, value: V) {
        if self.0.ttl.is_zero() {
            return;
        }
        let mut map = self.0.map.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock: an invalidation takes the lock too, so it
        // either happened before (refused here) or comes after (removes this).
        if self.0.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        if map.len() >= SWEEP_ABOVE {
            let ttl = self.0.ttl;
            map.retain(|_, e| e.read_at.elapsed() < ttl);
        }
        map.insert(
            id.to_owned(),
            Entry {
                read_at: Instant::now(),
                value,
            },
        );
    }

    /// The row changed (or is gone): the next read goes to the database.
    pub fn invalidate(&self, id: &str) {
        let mut map = self.0.map.write().unwrap_or_else(|e| e.into_inner());
        self.0.generation.fetch_add(1, Ordering::AcqRel);
        map.remove(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_that_raced_an_invalidation_is_not_kept() {
        let cache = Cache::new(Duration::from_secs(60));
        let ticket = cache.ticket();
        // Another task changes the row (and invalidates) while this one reads.
        cache.invalidate("ph_1");
        cache.insert(ticket, "ph_1", "old");
        assert_eq!(cache.get("ph_1"), None);
        let ticket = cache.ticket();
        cache.insert(ticket, "ph_1", "new");
        assert_eq!(cache.get("ph_1"), Some("new"));
        cache.invalidate("ph_1");
        assert_eq!(cache.get("ph_1"), None);
    }

    #[test]
    fn entries_expire_and_zero_disables() {
        let cache = Cache::new(Duration::from_millis(30));
        cache.insert(cache.ticket(), "tk_1", 1);
        assert_eq!(cache.get("tk_1"), Some(1));
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get("tk_1"), None);

        let off = Cache::new(Duration::ZERO);
        off.insert(off.ticket(), "tk_1", 1);
        assert_eq!(off.get("tk_1"), None);
    }

    #[test]
    fn stale_entries_are_swept_when_the_map_is_large() {
        let cache = Cache::new(Duration::from_millis(20));
        for i in 0..SWEEP_ABOVE {
            cache.insert(cache.ticket(), &format!("ph_{i}"), i);
        }
        std::thread::sleep(Duration::from_millis(30));
        cache.insert(cache.ticket(), "fresh", 0);
        assert_eq!(cache.0.map.read().unwrap().len(), 1);
    }
}
