//! The pool's core checked under shuttle (feature `model-check`): three tasks check out
//! and check in through one pool while a fourth clears, clears with interrupt, or
//! closes it; every checkout may be dropped after any number of polls (so at every
//! `.await` it reaches). Shuttle explores the interleavings at the pool's sync points
//! (`model_hooks`: before the state lock and the grant-cell locks) and at every poll.
//!
//! The seam: no wait queue timeout and no background task (both need tokio's clock and
//! runtime), so the only tokio parts left are its runtime-free sync types (the head
//! lock, `Notify`, `oneshot`), which work under any executor; establishments are
//! spawned on shuttle's executor through `model_hooks::spawn`.
//!
//! After each execution: no slot, head claim or connection is left (the stats, the free
//! slots and the connector's live count agree), every waiter finished (a waiter left
//! behind is a deadlock, which shuttle reports), and the two checkouts queued one after
//! the other behind a held connection were served in that order.
//!
//! `MONGOPOOL_MODEL_ITERATIONS` sets the number of executions (default 20,000: about 7 s).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant as StdInstant;

use shuttle::rand::Rng;
use shuttle::scheduler::PctScheduler;
use shuttle::{Config, Runner};
use tokio::sync::oneshot;

use super::model_hooks::{set_model_active, take_spawned};
use super::{lock, ConnectContext, Connector, Pool, PoolOptions, Poolable};
use crate::address::ServerAddress;
use crate::error::{Error, Result};

/// Across executions: how often the FIFO check applied, and how many checkouts were
/// dropped before they finished (shown with the count of executions).
static FIFO_CHECKED: AtomicUsize = AtomicUsize::new(0);
static DROPPED_CHECKOUTS: AtomicUsize = AtomicUsize::new(0);

/// What the model's connector made and what is still alive.
#[derive(Default)]
struct Tally {
    /// Every call of `connect`, failed or not.
    attempts: AtomicUsize,
    created: AtomicUsize,
    alive: AtomicUsize,
}

struct ModelConnector {
    tally: Arc<Tally>,
    /// Whether the establishment of connection `id` fails (chosen per execution).
    fail_id: u64,
}

struct ModelConnection {
    tally: Arc<Tally>,
    usable: AtomicBool,
}

impl Drop for ModelConnection {
    fn drop(&mut self) {
        self.tally.alive.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Poolable for ModelConnection {
    fn is_usable(&self) -> bool {
        self.usable.load(Ordering::SeqCst)
    }
}

impl Connector for ModelConnector {
    type Connection = ModelConnection;

    async fn connect(&self, ctx: ConnectContext) -> Result<ModelConnection> {
        // Establishing takes a while: others run meanwhile.
        self.tally.attempts.fetch_add(1, Ordering::SeqCst);
        shuttle::future::yield_now().await;
        if ctx.id == self.fail_id {
            return Err(Error::connection("the model's connector fails this one"));
        }
        self.tally.created.fetch_add(1, Ordering::SeqCst);
        self.tally.alive.fetch_add(1, Ordering::SeqCst);
        Ok(ModelConnection {
            tally: self.tally.clone(),
            usable: AtomicBool::new(true),
        })
    }
}

/// Polls a checkout at most `limit` times (then drops it), and reports on `first`
/// once its first poll is over: whether it had to wait (and the flag given with it).
struct Limited<F> {
    fut: Pin<Box<F>>,
    polls: usize,
    limit: Option<usize>,
    first: Option<(oneshot::Sender<bool>, bool)>,
}

impl<F: Future> Future for Limited<F> {
    /// `None` when it was dropped before it finished.
    type Output = Option<F::Output>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.limit.is_some_and(|limit| self.polls >= limit) {
            DROPPED_CHECKOUTS.fetch_add(1, Ordering::Relaxed);
            return Poll::Ready(None);
        }
        self.polls += 1;
        let out = self.fut.as_mut().poll(cx);
        if let Some((first, and)) = self.first.take() {
            let _ = first.send(and && out.is_pending());
        }
        out.map(Some)
    }
}

fn limited<F: Future>(
    fut: F,
    limit: Option<usize>,
    first: Option<(oneshot::Sender<bool>, bool)>,
) -> Limited<F> {
    Limited {
        fut: Box::pin(fut),
        polls: 0,
        limit,
        first,
    }
}

/// A poll limit: none half of the time, else 0 to 3 polls.
fn poll_limit() -> Option<usize> {
    let mut rng = shuttle::rand::thread_rng();
    rng.gen_bool(0.5).then(|| rng.gen_range(0..4))
}

/// One execution of the model.
fn execution() {
    set_model_active(true);
    let mut rng = shuttle::rand::thread_rng();
    let max_pool_size: u32 = rng.gen_range(1..=2);
    let tally = Arc::new(Tally::default());
    let options = PoolOptions {
        max_pool_size,
        max_connecting: rng.gen_range(1..=2),
        min_pool_size: 0,
        wait_queue_timeout: None,
        maintenance_interval: None,
        ..PoolOptions::default()
    };
    let connector = ModelConnector {
        tally: tally.clone(),
        fail_id: rng.gen_range(1..=6),
    };
    let pool = Pool::new(ServerAddress::tcp("model", 27017), options, connector);
    pool.ready();
    let disruption: u32 = rng.gen_range(0..4);
    let disruption_delay: u32 = rng.gen_range(0..4);

    shuttle::future::block_on(async move {
        // The order in which the checkouts of B and C were served.
        let served = Arc::new(Mutex::new(Vec::new()));
        let (a_holds_tx, a_holds) = oneshot::channel::<bool>();
        let (b_first_tx, b_first) = oneshot::channel::<bool>();

        // A: holds a connection, so that B and C queue, then checks it in (unusable
        // now and then, so that it is closed instead).
        let a = {
            let pool = pool.clone();
            shuttle::future::spawn(async move {
                let conn = pool.checkout().await;
                let _ = a_holds_tx.send(conn.is_ok());
                shuttle::future::yield_now().await;
                if let Ok(conn) = &conn {
                    conn.usable
                        .store(shuttle::rand::thread_rng().gen_bool(0.75), Ordering::SeqCst);
                }
                drop(conn);
                // A second round through whatever state B and C left.
                let again = limited(pool.checkout(), poll_limit(), None).await;
                drop(again);
            })
        };
        // B: queues first (after A holds), maybe gives up after some polls.
        let b = {
            let pool = pool.clone();
            let served = served.clone();
            shuttle::future::spawn(async move {
                let a_held = a_holds.await.unwrap_or(false);
                // Queued for the one slot if it had to wait while A held the connection.
                let got = limited(pool.checkout(), poll_limit(), Some((b_first_tx, a_held))).await;
                if let Some(Ok(conn)) = got {
                    lock(&served).push('B');
                    shuttle::future::yield_now().await;
                    drop(conn);
                }
            })
        };
        // C: queues only once B's first poll is over (so behind B if B had to wait).
        let c = {
            let pool = pool.clone();
            let served = served.clone();
            shuttle::future::spawn(async move {
                let b_waited = b_first.await.unwrap_or(false);
                let (c_first_tx, c_first) = oneshot::channel::<bool>();
                let got = limited(pool.checkout(), poll_limit(), Some((c_first_tx, true))).await;
                let c_waited = c_first.await.unwrap_or(false);
                if let Some(Ok(conn)) = got {
                    lock(&served).push('C');
                    drop(conn);
                }
                b_waited && c_waited
            })
        };
        // D: disrupts the pool, or not.
        let d = {
            let pool = pool.clone();
            shuttle::future::spawn(async move {
                for _ in 0..disruption_delay {
                    shuttle::future::yield_now().await;
                }
                match disruption {
                    0 => {}
                    1 => {
                        pool.clear(None, false);
                        pool.ready();
                    }
                    2 => {
                        pool.clear(None, true);
                        pool.ready();
                    }
                    _ => pool.close(),
                }
            })
        };
        a.await.expect("task A");
        b.await.expect("task B");
        let both_queued = c.await.expect("task C");
        d.await.expect("task D");
        // Every establishment settles (a checkout dropped meanwhile leaves its
        // connection to the pool).
        loop {
            let spawned = take_spawned();
            if spawned.is_empty() {
                break;
            }
            for task in spawned {
                task.await.expect("establishment task");
            }
        }

        let served = lock(&served).clone();
        // With one slot, both queued for it in turn: served in that order (if neither
        // gave up nor was failed by a clear or close).
        if max_pool_size == 1 && both_queued && served.len() == 2 {
            FIFO_CHECKED.fetch_add(1, Ordering::Relaxed);
            assert_eq!(served, ['B', 'C'], "FIFO: B queued before C");
        }
        let stats = pool.stats();
        assert_eq!(stats.in_use, 0, "{stats:?}");
        assert_eq!(stats.pending, 0, "{stats:?}");
        assert_eq!(stats.total, stats.idle, "{stats:?}");
        assert!(stats.idle <= max_pool_size as usize, "{stats:?}");
        assert_eq!(pool.free_slots(), Some(max_pool_size as usize), "slot leak");
        assert_eq!(lock(&pool.inner.state).head_claims, 0, "head claim leak");
        assert_eq!(
            tally.alive.load(Ordering::SeqCst),
            stats.idle,
            "connections alive vs available: {stats:?}"
        );
        assert_eq!(
            stats.created,
            tally.attempts.load(Ordering::SeqCst) as u64,
            "every connection the pool created was established or failed: {stats:?}"
        );
        pool.close();
        assert_eq!(
            tally.alive.load(Ordering::SeqCst),
            0,
            "closed pool keeps connections"
        );
        assert_eq!(pool.stats().total, 0);
    });
    set_model_active(false);
}

#[test]
fn pool_core_under_shuttle() {
    let iterations: usize = std::env::var("MONGOPOOL_MODEL_ITERATIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000);
    let started = StdInstant::now();
    let mut config = Config::default();
    config.silence_warnings = true;
    let runner = Runner::new(PctScheduler::new(3, iterations), config);
    let explored = runner.run(execution);
    println!(
        "pool model: {explored} executions (PCT, depth 3) in {:.1?}; FIFO checked in {}, \
         checkouts dropped before they finished: {}",
        started.elapsed(),
        FIFO_CHECKED.load(Ordering::Relaxed),
        DROPPED_CHECKOUTS.load(Ordering::Relaxed),
    );
    assert_eq!(explored, iterations);
}
