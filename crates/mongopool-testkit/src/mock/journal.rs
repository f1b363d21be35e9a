//! What the mock server saw: every request, every connection opened and closed, and
//! a way to wait for them without sleeping.

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::request::Request;

/// Something that happened to a connection of the mock server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionEvent {
    /// The server accepted connection number `connection`.
    Opened {
        /// The connection's number (from 0, in accept order).
        connection: usize,
    },
    /// The server wrote bytes on the connection: a reply (or part of one, before a
    /// hang-up), or raw bytes.
    Sent {
        /// The connection's number.
        connection: usize,
        /// The `responseTo` of the reply, `None` for raw bytes.
        response_to: Option<i32>,
        /// How many bytes were written.
        bytes: usize,
    },
    /// The connection ended.
    Closed {
        /// The connection's number.
        connection: usize,
        /// Who ended it.
        by: ClosedBy,
    },
}

/// Who ended a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClosedBy {
    /// The client closed it (end of stream or reset).
    Client,
    /// The handler told the server to hang up.
    HangUp,
    /// The server could not go on: the client sent bytes that do not decode, or a
    /// reply could not be encoded or written. The text says what happened.
    Failure(String),
}

/// The record of a mock server. Cheap to clone; clones share the record.
#[derive(Debug, Clone, Default)]
pub struct Journal {
    inner: Arc<JournalInner>,
}

#[derive(Debug)]
struct JournalInner {
    state: Mutex<Entries>,
    /// Bumped on every change, so waiters wake up and look again.
    version: watch::Sender<u64>,
}

impl Default for JournalInner {
    fn default() -> Self {
        JournalInner {
            state: Mutex::new(Entries::default()),
            version: watch::Sender::new(0),
        }
    }
}

/// A snapshot of everything recorded, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    /// Every request, from every connection.
    pub requests: Vec<Request>,
    /// Every connection event.
    pub events: Vec<ConnectionEvent>,
}

impl Entries {
    /// How the connection `connection` ended, if it has.
    pub fn closed_by(&self, connection: usize) -> Option<&ClosedBy> {
        self.events.iter().find_map(|e| match e {
            ConnectionEvent::Closed { connection: c, by } if *c == connection => Some(by),
            _ => None,
        })
    }

    /// How many times the server wrote on connection `connection`.
    pub fn sends_on(&self, connection: usize) -> usize {
        self.events
            .iter()
            .filter(
                |e| matches!(e, ConnectionEvent::Sent { connection: c, .. } if *c == connection),
            )
            .count()
    }

    /// How many connections the server accepted.
    pub fn connections(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, ConnectionEvent::Opened { .. }))
            .count()
    }
}

impl Journal {
    fn lock(&self) -> MutexGuard<'_, Entries> {
        // A panicking test thread cannot leave the entries half-written: every
        // update is a single push.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Entries)) {
        f(&mut self.lock());
        self.inner.version.send_modify(|v| *v = v.wrapping_add(1));
    }

    pub(crate) fn record_request(&self, request: Request) {
        self.update(|e| e.requests.push(request));
    }

    pub(crate) fn record_event(&self, event: ConnectionEvent) {
        self.update(|e| e.events.push(event));
    }

    /// A copy of everything recorded so far.
    pub fn snapshot(&self) -> Entries {
        self.lock().clone()
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.lock().requests.clone()
    }

    /// The requests that came on connection `connection`.
    pub fn requests_on(&self, connection: usize) -> Vec<Request> {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.connection == connection)
            .cloned()
            .collect()
    }

    /// The names of the commands received so far, in order (requests that carry
    /// no command, such as OP_INSERT, are left out).
    pub fn command_names(&self) -> Vec<String> {
        self.lock()
            .requests
            .iter()
            .filter_map(|r| r.command_name().map(str::to_owned))
            .collect()
    }

    /// How many requests carried the command `name` (ignoring ASCII case).
    pub fn count(&self, name: &str) -> usize {
        self.lock()
            .requests
            .iter()
            .filter(|r| r.is_command(name))
            .count()
    }

    /// Every connection event so far.
    pub fn events(&self) -> Vec<ConnectionEvent> {
        self.lock().events.clone()
    }

    /// Waits until `check` returns `Some`, looking again after every change.
    pub async fn wait_until<T>(&self, mut check: impl FnMut(&Entries) -> Option<T>) -> T {
        // Subscribing before the first look means no change can slip in between.
        let mut changes = self.inner.version.subscribe();
        loop {
            if let Some(found) = check(&self.lock()) {
                return found;
            }
            // The sender lives as long as `self`: this only fails if it is gone,
            // and then nothing can change any more.
            if changes.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Waits until at least `n` requests have arrived, and returns them all.
    pub async fn wait_for_requests(&self, n: usize) -> Vec<Request> {
        self.wait_until(|e| (e.requests.len() >= n).then(|| e.requests.clone()))
            .await
    }

    /// Waits until connection `connection` has ended, and says who ended it.
    pub async fn wait_for_close(&self, connection: usize) -> ClosedBy {
        self.wait_until(|e| e.closed_by(connection).cloned()).await
    }
}
