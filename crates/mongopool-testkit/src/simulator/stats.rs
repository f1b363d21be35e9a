//! What each front node counts, and a snapshot of it for tests.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// A snapshot of one node's counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStats {
    /// Client connections open now.
    pub connections_open: u64,
    /// Client connections accepted since the simulator started.
    pub connections_total: u64,
    /// Requests forwarded to the real server behind (writes included).
    pub commands_forwarded: u64,
    /// Write commands forwarded while the node was primary (or a mongos).
    pub writes_accepted: u64,
    /// Write commands refused with 10107 NotWritablePrimary.
    pub writes_refused: u64,
    /// Reads (find, aggregate, getMore, count, ...) forwarded.
    pub reads_accepted: u64,
    /// Reads refused (13435 without secondaryOk, 13436 on an arbiter or ghost).
    pub reads_refused: u64,
    /// Hello / isMaster replies sent (each reply of an exhaust stream counts).
    pub hellos: u64,
    /// Of those, the replies to awaitable hellos.
    pub awaited_hellos: u64,
    /// When the first hello reply went out after the last change of the view.
    pub first_hello_since_change: Option<Instant>,
    /// When the first accepted write's reply went out after the last change of the view.
    pub first_write_since_change: Option<Instant>,
}

/// The live counters of one node.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) connections_open: AtomicU64,
    pub(crate) connections_total: AtomicU64,
    pub(crate) commands_forwarded: AtomicU64,
    pub(crate) writes_accepted: AtomicU64,
    pub(crate) writes_refused: AtomicU64,
    pub(crate) reads_accepted: AtomicU64,
    pub(crate) reads_refused: AtomicU64,
    pub(crate) hellos: AtomicU64,
    pub(crate) awaited_hellos: AtomicU64,
    since_change: Mutex<SinceChange>,
}

#[derive(Debug, Default, Clone, Copy)]
struct SinceChange {
    first_hello: Option<Instant>,
    first_write: Option<Instant>,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn since(&self) -> std::sync::MutexGuard<'_, SinceChange> {
        self.since_change.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets the first hello and write: the view just changed.
    pub(crate) fn view_changed(&self) {
        *self.since() = SinceChange::default();
    }

    pub(crate) fn hello_sent(&self, awaited: bool) {
        bump(&self.hellos);
        if awaited {
            bump(&self.awaited_hellos);
        }
        self.since().first_hello.get_or_insert_with(Instant::now);
    }

    pub(crate) fn write_answered(&self) {
        self.since().first_write.get_or_insert_with(Instant::now);
    }

    pub(crate) fn snapshot(&self) -> NodeStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let since = *self.since();
        NodeStats {
            connections_open: get(&self.connections_open),
            connections_total: get(&self.connections_total),
            commands_forwarded: get(&self.commands_forwarded),
            writes_accepted: get(&self.writes_accepted),
            writes_refused: get(&self.writes_refused),
            reads_accepted: get(&self.reads_accepted),
            reads_refused: get(&self.reads_refused),
            hellos: get(&self.hellos),
            awaited_hellos: get(&self.awaited_hellos),
            first_hello_since_change: since.first_hello,
            first_write_since_change: since.first_write,
        }
    }
}
