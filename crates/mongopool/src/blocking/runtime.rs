//! The runtime inside every blocking handle: a current-thread tokio runtime driven by
//! one background thread, and a "closed" signal that ends every call in flight.
//!
//! Callers' threads run their own futures with [`Handle::block_on`]: many threads can
//! block at once, and none of them needs a runtime of its own. The background thread
//! drives I/O, timers and the spawned tasks (server monitors, pool maintenance)
//! between calls.

use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::{oneshot, watch};

use crate::error::{Error, Result};

/// Shared by a blocking handle and everything it hands out (connections checked out
/// of it), so the runtime outlives every call and every connection.
pub(crate) struct SharedRuntime {
    handle: Handle,
    closed: watch::Sender<bool>,
    driver: std::sync::Mutex<Option<Driver>>,
}

struct Driver {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl SharedRuntime {
    /// Starts the runtime and its driving thread. Fails when called from inside an
    /// async runtime (blocking there would stall that runtime's thread).
    pub(crate) fn start() -> Result<Arc<SharedRuntime>> {
        refuse_inside_a_runtime()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            // Its own blocking-pool threads (name lookups), told apart from the driver.
            .thread_name("mongopool-bpool")
            .build()
            .map_err(|e| Error::io("starting the blocking API's runtime", e))?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("mongopool-driver".into())
            .spawn(move || {
                // Runs the spawned tasks until the last handle goes; dropping the
                // runtime then drops every task, and with them their connections.
                let _ = runtime.block_on(stopped);
            })
            .map_err(|e| Error::io("starting the blocking API's thread", e))?;
        let (closed, _) = watch::channel(false);
        Ok(Arc::new(SharedRuntime {
            handle,
            closed,
            driver: std::sync::Mutex::new(Some(Driver { stop, thread })),
        }))
    }

    /// Runs `future` to completion on the calling thread, or until [`close`] is
    /// called from anywhere: then the future is dropped where it stands (a connection
    /// in the middle of a command is closed, never reused) and the call fails.
    ///
    /// [`close`]: SharedRuntime::close
    pub(crate) fn run<T>(&self, future: impl Future<Output = Result<T>>) -> Result<T> {
        refuse_inside_a_runtime()?;
        let mut closed = self.closed.subscribe();
        if *closed.borrow() {
            return Err(closed_error());
        }
        self.handle.block_on(async move {
            tokio::select! {
                biased;
                // Either the flag turned true or the sender went: closed both ways.
                _ = closed.wait_for(|closed| *closed) => Err(closed_error()),
                result = future => result,
            }
        })
    }

    /// Runs a closing step to completion even once closed (which [`run`] refuses).
    /// Does nothing inside an async runtime, where it must not block.
    ///
    /// [`run`]: SharedRuntime::run
    pub(crate) fn finish(&self, future: impl Future<Output = ()>) {
        if refuse_inside_a_runtime().is_ok() {
            self.handle.block_on(future);
        }
    }

    /// Runs `f` inside the runtime's context (for constructors that spawn tasks).
    pub(crate) fn enter<T>(&self, f: impl FnOnce() -> T) -> T {
        let _entered = self.handle.enter();
        f()
    }

    /// Ends every call in flight and refuses new ones.
    pub(crate) fn close(&self) {
        self.closed.send_replace(true);
    }

    /// Whether [`SharedRuntime::close`] was called.
    pub(crate) fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }
}

impl Drop for SharedRuntime {
    fn drop(&mut self) {
        let driver = self.driver.lock().map(|mut d| d.take()).unwrap_or(None);
        if let Some(driver) = driver {
            let _ = driver.stop.send(());
            // A task of this runtime never holds a blocking handle, so this is never
            // the driving thread; the check keeps a mistake from becoming a deadlock.
            if driver.thread.thread().id() != std::thread::current().id() {
                let _ = driver.thread.join();
            }
        }
    }
}

impl std::fmt::Debug for SharedRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedRuntime")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

fn closed_error() -> Error {
    Error::connection("the blocking handle was closed (close() was called)")
}

fn refuse_inside_a_runtime() -> Result<()> {
    if Handle::try_current().is_ok() {
        return Err(Error::configuration(
            "mongopool::blocking was called from inside an async runtime, where blocking \
             would stall the runtime's thread: use the async API there (or \
             tokio::task::spawn_blocking)",
        ));
    }
    Ok(())
}
