//! Ordered, re-entrant delivery of a pool's events.
//!
//! Events are queued while the pool's state lock is held, so the queue order is the order
//! in which the state changed. They are delivered after the lock is released, by whoever
//! calls [`EventSink::flush`] first: one thread delivers at a time, in queue order, and
//! keeps going until the queue is empty. A handler that calls back into the pool only
//! queues more events (its own flush returns at once), so it cannot deadlock.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use super::lock;
use crate::address::ServerAddress;
use crate::events::{log_event, CmapEvent, CmapEventHandler};

pub(crate) struct EventSink {
    pub(crate) address: ServerAddress,
    handler: Option<Arc<dyn CmapEventHandler>>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<CmapEvent>,
    delivering: bool,
}

/// Clears `delivering` if a handler panics, so later events still flow.
struct Delivering<'a> {
    queue: &'a Mutex<Queue>,
    finished: bool,
}

impl Drop for Delivering<'_> {
    fn drop(&mut self) {
        if !self.finished {
            lock(self.queue).delivering = false;
        }
    }
}

impl EventSink {
    pub(crate) fn new(
        address: ServerAddress,
        handler: Option<Arc<dyn CmapEventHandler>>,
    ) -> Self {
        EventSink {
            address,
            handler,
            queue: Mutex::new(Queue::default()),
        }
    }

    /// Whether anyone listens; when no one does, events are not even built.
    fn listening(&self) -> bool {
        self.handler.is_some() || crate::events::log_enabled()
    }

    /// Queues the event `make` builds (with the pool's address), if anyone listens.
    pub(crate) fn emit(&self, make: impl FnOnce(ServerAddress) -> CmapEvent) {
        if self.listening() {
            let event = make(self.address.clone());
            lock(&self.queue).events.push_back(event);
        }
    }

    /// Delivers queued events, unless another call is already delivering them.
    pub(crate) fn flush(&self) {
        let mut event = {
            let mut q = lock(&self.queue);
            if q.delivering {
                return;
            }
            match q.events.pop_front() {
                Some(event) => {
                    q.delivering = true;
                    event
                }
                None => return,
            }
        };
        let mut delivering = Delivering {
            queue: &self.queue,
            finished: false,
        };
        loop {
            log_event(&event);
            if let Some(handler) = &self.handler {
                handler.handle(event);
            }
            let mut q = lock(&self.queue);
            match q.events.pop_front() {
                Some(next) => event = next,
                None => {
                    // Cleared under the same lock as the empty pop: an event queued
                    // after this point finds no deliverer and is flushed by its emitter.
                    q.delivering = false;
                    delivering.finished = true;
                    return;
                }
            }
        }
    }
}
