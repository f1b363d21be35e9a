//! Seams for the pool's model check (`model_check`, feature `model-check`): no-ops, and
//! `tokio::spawn`, unless that feature is on and a model is running on this thread.
//!
//! Shuttle only switches between tasks at operations it knows, so the pool marks the
//! points where another task could get in: right before it takes its state lock or a
//! grant cell's lock (never while it holds a std lock: a task switched out under one
//! would block the thread every task runs on). Establishments are spawned on shuttle's
//! executor, and their handles kept, so the model can wait for every one of them.

use std::future::Future;

#[cfg(feature = "model-check")]
thread_local! {
    /// Set by the model for the duration of one shuttle execution on this thread (every
    /// shuttle task runs on the thread that started the execution).
    static MODEL_ACTIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// The establishment tasks spawned during the running execution.
    static SPAWNED: std::cell::RefCell<Vec<shuttle::future::JoinHandle<()>>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

#[cfg(feature = "model-check")]
fn model_active() -> bool {
    MODEL_ACTIVE.try_with(std::cell::Cell::get).unwrap_or(false)
}

/// A point where the model may let another task run.
#[inline(always)]
pub(crate) fn sync_point() {
    #[cfg(feature = "model-check")]
    if model_active() {
        // A switch without a wake: `yield_now` would also wake the current task, and a
        // checkout that then returns `Pending` would be polled again at once, turning a
        // waiter left behind (a deadlock shuttle reports) into a spin.
        shuttle::thread::sleep(std::time::Duration::ZERO);
    }
}

/// Runs `fut` on a task of its own.
pub(crate) fn spawn(fut: impl Future<Output = ()> + Send + 'static) {
    #[cfg(feature = "model-check")]
    if model_active() {
        let handle = shuttle::future::spawn(fut);
        SPAWNED.with(|s| s.borrow_mut().push(handle));
        return;
    }
    tokio::spawn(fut);
}

/// Turns the hooks on (or off) for this thread.
#[cfg(all(test, feature = "model-check"))]
pub(crate) fn set_model_active(active: bool) {
    MODEL_ACTIVE.with(|a| a.set(active));
    if !active {
        SPAWNED.with(|s| s.borrow_mut().clear());
    }
}

/// The establishment tasks spawned since the last call.
#[cfg(all(test, feature = "model-check"))]
pub(crate) fn take_spawned() -> Vec<shuttle::future::JoinHandle<()>> {
    SPAWNED.with(|s| std::mem::take(&mut *s.borrow_mut()))
}
