//! One way to lock: state shared between the watches, the ingest, the scrapes and the
//! connections stays usable after a thread panicked while holding it, so one panic does
//! not stop the exporter. The bottom layer, so that every module may use it.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks `mutex`, taking the data as it is if a panicking holder poisoned it.
pub(crate) fn lock_unpoisoned<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
