//! One fixture (e.g. a server) for the tests of a file that do not interfere.
//!
//! A plain `static` would never be dropped, leaving the server process running after
//! the tests. Here the fixture lives as long as some test holds it: the first test to
//! ask starts it, the last one to let go drops it (and the server is killed). If tests
//! happen to run one after the other, each gets a fresh fixture, which is only slower.

use std::sync::{Arc, Mutex, Weak};

/// A lazily made fixture shared by concurrently running tests.
pub struct Shared<T> {
    slot: Mutex<Weak<T>>,
    make: fn() -> T,
}

impl<T> Shared<T> {
    /// A fixture that `make` builds when no running test holds one.
    pub const fn new(make: fn() -> T) -> Self {
        Shared {
            slot: Mutex::new(Weak::new()),
            make,
        }
    }

    /// The live fixture, or a new one.
    pub fn get(&self) -> Arc<T> {
        // A test that panicked while holding the lock left the slot intact.
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(live) = slot.upgrade() {
            return live;
        }
        let fresh = Arc::new((self.make)());
        *slot = Arc::downgrade(&fresh);
        fresh
    }
}
