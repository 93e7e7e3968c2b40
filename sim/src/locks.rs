//! Locks that recover from poisoning.
//!
//! A lock is poisoned when a task panicked while holding it. Every update the
//! simulator makes under a lock is a single map, queue or field change, so what
//! a panicking task leaves behind is still consistent; serving on with it is
//! better than failing every later request (and every test after the first
//! failure) with a second panic.

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}
