//! Establishing a connection, on a task of its own.
//!
//! The task owns the pending connection from `ConnectionCreated` to `ConnectionReady`
//! (or its close), so an establishment always finishes and is always counted, whatever
//! happens to the checkout that asked for it: a connection whose checkout was dropped
//! joins the available connections (or is closed if it cannot).

use std::sync::Arc;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::inner::PoolInner;
use super::state::{ConnMeta, NewConnection};
use super::{ConnectContext, Connector, Poolable};
use crate::error::{Error, ErrorKind, Result};
use crate::events::{CmapEvent, ConnectionClosedReason, ConnectionReadyEvent};

/// An established connection on its way to the checkout that asked for it.
pub(crate) struct Established<T> {
    pub(crate) conn: Box<T>,
    pub(crate) meta: ConnMeta,
}

/// Who the connection is for.
pub(crate) enum Purpose<T> {
    /// The checkout listening on this channel.
    Checkout(oneshot::Sender<Result<Established<T>>>),
    /// The pool itself (`min_pool_size`).
    Populate,
}

/// Owns a pending connection until its establishment is settled; if the task is dropped
/// first (its runtime shut down, or the connector panicked), settles it as failed.
struct Settle<C: Connector> {
    inner: Arc<PoolInner<C>>,
    pending: Option<(NewConnection, Purpose<C::Connection>)>,
}

impl<C: Connector> Drop for Settle<C> {
    fn drop(&mut self) {
        if let Some((new, purpose)) = self.pending.take() {
            let error = Error::connection(format!(
                "establishing connection {} to {} was abandoned",
                new.meta.id, self.inner.address
            ));
            // Not a sign of a server problem: do not clear the pool for it.
            finish(&self.inner, new, Err(error), purpose, false);
        }
    }
}

/// Starts establishing `new` for `purpose`.
pub(crate) fn spawn<C: Connector>(
    inner: Arc<PoolInner<C>>,
    new: NewConnection,
    purpose: Purpose<C::Connection>,
) {
    // The connect span is a child of the checkout (or maintenance) that asked for it.
    let parent = tracing::Span::current();
    let task = async move {
        let ctx = ConnectContext {
            address: inner.address.clone(),
            id: new.meta.id,
            generation: new.meta.generation,
            interrupt: new.meta.interrupt.clone(),
        };
        let mut settle = Settle {
            inner,
            pending: Some((new, purpose)),
        };
        let result = settle.inner.connector.connect(ctx).await;
        if let Some((new, purpose)) = settle.pending.take() {
            finish(&settle.inner, new, result, purpose, true);
        }
    };
    if parent.is_disabled() {
        super::model_hooks::spawn(task);
    } else {
        super::model_hooks::spawn(tracing::Instrument::instrument(task, parent));
    }
}

/// The error of a checkout whose connection a clear interrupted.
pub(crate) fn interrupted_error<C: Connector>(inner: &PoolInner<C>) -> Error {
    Error::new(ErrorKind::PoolCleared {
        address: inner.address.to_string(),
        cause: Some(format!(
            "connection to {} interrupted due to server monitor timeout",
            inner.address
        )),
    })
}

fn finish<C: Connector>(
    inner: &Arc<PoolInner<C>>,
    new: NewConnection,
    result: Result<C::Connection>,
    purpose: Purpose<C::Connection>,
    clear_on_populate_error: bool,
) {
    let now = Instant::now();
    let NewConnection {
        meta,
        created_at,
        populate,
    } = new;
    let interrupted = meta.interrupt.is_interrupted();
    // Boxed once, here: the pool moves it between its lists and its guards by pointer.
    match result.map(Box::new) {
        Ok(conn) if interrupted => {
            // Established despite the interrupt: it belongs to a cleared generation.
            inner.with_state(|st, ev| {
                st.pending_failed(
                    Some(conn),
                    &meta,
                    populate,
                    ConnectionClosedReason::Stale,
                    None,
                    ev,
                )
            });
            if let Purpose::Checkout(tx) = purpose {
                // A dropped checkout needs no error.
                let _ = tx.send(Err(interrupted_error(inner)));
            }
        }
        Ok(conn) => {
            let id = meta.id;
            let mut meta = meta;
            let service_id = conn.service_id();
            let ready = move |ev: &super::event_sink::EventSink| {
                ev.emit(|address| {
                    CmapEvent::ConnectionReady(ConnectionReadyEvent {
                        address,
                        connection_id: id,
                        duration: now.saturating_duration_since(created_at),
                    })
                })
            };
            match purpose {
                Purpose::Checkout(tx) => {
                    inner.with_state(|st, ev| {
                        ready(ev);
                        st.join_service(&mut meta, service_id);
                        st.pending_to_in_use(id);
                    });
                    if let Err(Ok(orphan)) = tx.send(Ok(Established { conn, meta })) {
                        inner.return_orphan(orphan);
                    }
                }
                Purpose::Populate => {
                    let idle_now = inner.limits.max_idle_time.map(|_| now);
                    inner.with_state(|st, ev| {
                        ready(ev);
                        st.join_service(&mut meta, service_id);
                        st.pending_to_available(conn, meta, idle_now, ev);
                    });
                    // The next run may start the next establishment at once.
                    inner.maintenance.wake();
                }
            }
        }
        Err(error) => {
            // In load-balanced mode an establishment error clears nothing: the load
            // balancer spec keeps errors before and during the handshake out of SDAM
            // error handling, and one after it would clear only a service we never saw.
            // Nor does an overload error (CMAP backpressure labels): a shedding server
            // is up, and clearing its pool would only add connection storms.
            if clear_on_populate_error
                && !error.is_overload()
                && matches!(purpose, Purpose::Populate)
                && !interrupted
                && !inner.options.load_balanced
            {
                // The spec leaves this to SDAM, which marks the server unknown and clears
                // the pool; a standalone pool does the clearing itself.
                inner.clear(
                    Some(format!("establishing a connection failed: {error}")),
                    false,
                );
            }
            inner.with_state(|st, ev| {
                st.pending_failed(
                    None,
                    &meta,
                    populate,
                    ConnectionClosedReason::Error,
                    Some(error.clone()),
                    ev,
                )
            });
            if let Purpose::Checkout(tx) = purpose {
                let error = if interrupted {
                    interrupted_error(inner)
                } else {
                    error
                };
                let _ = tx.send(Err(error));
            }
        }
    }
}

impl<C: Connector> PoolInner<C> {
    /// Takes back a connection established for a checkout that is gone.
    pub(crate) fn return_orphan(&self, orphan: Established<C::Connection>) {
        let now = self.idle_clock();
        self.with_state(|st, ev| st.orphan_returned(orphan.conn, orphan.meta, now, ev));
    }
}
