//! Ordered, re-entrant delivery of a pool's events.
//!
//! Events are queued while the pool's state lock is held, so the queue order is the order
//! in which the state changed. They are delivered after the lock is released, by
//! [`EventSink::flush`]: one thread delivers at a time (the `delivery` lock), in queue
//! order, until the queue is empty. When `flush` returns, every event queued before it
//! was called has been delivered, so an operation's events are seen before the operation
//! returns.
//!
//! A handler that calls back into its own pool only queues more events: its `flush`
//! sees (through a thread-local mark) that this thread is already delivering this pool's
//! events and returns at once; the events follow as soon as the handler returns.
//!
//! With no handler and logging off, nothing is built or queued, and `flush` reads one
//! atomic: the hot path of a pool nobody watches pays for no events.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tracing::level_filters::LevelFilter;

use super::lock;
use crate::address::ServerAddress;
use crate::events::{log_enabled, log_event, CmapEvent, CmapEventHandler};

thread_local! {
    /// The sinks (by address in memory) this thread is delivering for.
    static DELIVERING: RefCell<Vec<usize>> = const { RefCell::new(Vec::new()) };
}

pub(crate) struct EventSink {
    pub(crate) address: ServerAddress,
    handler: Option<Arc<dyn CmapEventHandler>>,
    queue: Mutex<Queue>,
    /// Events queued and not yet delivered (queued, or popped and being delivered).
    undelivered: AtomicUsize,
    delivery: Mutex<()>,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<CmapEvent>,
    /// Some thread popped an event and may not have delivered it yet.
    in_flight: bool,
}

/// Uncounts one event from `undelivered` when dropped.
struct Delivered<'a>(&'a AtomicUsize);

impl Drop for Delivered<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Marks this thread as delivering for one sink; unmarks on drop (even on a panic).
struct Mark(usize);

impl Mark {
    fn set(id: usize) -> Mark {
        DELIVERING.with(|d| d.borrow_mut().push(id));
        Mark(id)
    }

    fn is_set(id: usize) -> bool {
        DELIVERING.with(|d| d.borrow().contains(&id))
    }
}

impl Drop for Mark {
    fn drop(&mut self) {
        DELIVERING.with(|d| {
            let mut d = d.borrow_mut();
            if let Some(i) = d.iter().rposition(|&x| x == self.0) {
                d.remove(i);
            }
        });
    }
}

impl EventSink {
    pub(crate) fn new(address: ServerAddress, handler: Option<Arc<dyn CmapEventHandler>>) -> Self {
        EventSink {
            address,
            handler,
            queue: Mutex::new(Queue::default()),
            undelivered: AtomicUsize::new(0),
            delivery: Mutex::new(()),
        }
    }

    /// Queues the event `make` builds (with the pool's address), if anyone listens; when
    /// no one does, the event is not even built.
    #[inline]
    pub(crate) fn emit(&self, make: impl FnOnce(ServerAddress) -> CmapEvent) {
        if self.enabled() {
            self.push(make(self.address.clone()));
        }
    }

    fn push(&self, event: CmapEvent) {
        self.undelivered.fetch_add(1, Ordering::AcqRel);
        lock(&self.queue).events.push_back(event);
    }

    /// Whether anyone listens (a handler, or logging at the CMAP events' level). The
    /// global level filter (one atomic load) rules logging out before the callsite is
    /// asked: this is on every checkout's path.
    #[inline]
    pub(crate) fn enabled(&self) -> bool {
        self.handler.is_some() || (LevelFilter::current() >= LevelFilter::DEBUG && log_enabled())
    }

    /// Delivers every queued event before returning (see the module docs for the one
    /// exception: a call from inside this sink's own handler).
    #[inline]
    pub(crate) fn flush(&self) {
        // Counted before it is queued and uncounted after it is delivered: zero means
        // every event queued before this call has been delivered.
        if self.undelivered.load(Ordering::Acquire) != 0 {
            self.deliver();
        }
    }

    #[cold]
    fn deliver(&self) {
        let id = self as *const EventSink as usize;
        {
            let q = lock(&self.queue);
            if q.events.is_empty() && !q.in_flight {
                return;
            }
        }
        if Mark::is_set(id) {
            return;
        }
        let _delivery = lock(&self.delivery);
        let _mark = Mark::set(id);
        loop {
            let event = {
                let mut q = lock(&self.queue);
                match q.events.pop_front() {
                    Some(event) => {
                        q.in_flight = true;
                        event
                    }
                    None => {
                        q.in_flight = false;
                        return;
                    }
                }
            };
            // Uncounted even if the handler panics: the event is gone either way.
            let _delivered = Delivered(&self.undelivered);
            log_event(&event);
            if let Some(handler) = &self.handler {
                handler.handle(event);
            }
        }
    }
}
