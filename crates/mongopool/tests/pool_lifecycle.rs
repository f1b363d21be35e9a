//! Stats, clearing (with and without interrupting), closing, perished connections,
//! background maintenance, and handlers that call back into the pool. Paused clock.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use mongopool::events::CmapEventHandler;
use mongopool::events::{CheckoutFailedReason, CmapEvent, ConnectionClosedReason};
use mongopool::{Pool, PoolOptions};
use support::test_connector::{address, options_with, Script, TestConnector};
use support::Recorder;
use tokio::time::{sleep, timeout};

fn make(
    tweak: impl FnOnce(&mut PoolOptions),
    delay_ms: u64,
) -> (Pool<TestConnector>, Arc<Script>, Arc<Recorder>) {
    let script = Script::new(delay_ms);
    let recorder = Arc::new(Recorder::default());
    let mut o = options_with(&recorder);
    tweak(&mut o);
    let pool = Pool::new(address(), o, TestConnector(script.clone()));
    (pool, script, recorder)
}

const LIFECYCLE: &[&str] = &["ConnectionPoolCreated", "ConnectionPoolReady"];

#[tokio::test(start_paused = true)]
async fn stats_count_what_happened() {
    let (pool, script, _rec) = make(
        |o| {
            o.max_pool_size = 2;
            o.wait_queue_timeout = Some(Duration::from_millis(50));
            o.max_idle_time = Some(Duration::from_secs(1));
            o.maintenance_interval = None;
        },
        0,
    );
    // Paused: refused.
    assert!(pool.checkout().await.unwrap_err().is_pool_cleared());
    pool.ready();
    let a = pool.checkout().await.unwrap();
    let mut b = pool.checkout().await.unwrap();
    let s = pool.stats();
    assert_eq!((s.total, s.in_use, s.idle, s.created), (2, 2, 0, 2));
    assert_eq!(s.checkouts_immediate, 2);
    // Full: the third times out.
    let err = pool.checkout().await.unwrap_err();
    assert!(err.is_wait_queue_timeout(), "{err}");
    // A broken connection is closed on check-in (error) ...
    b.usable = false;
    drop(b);
    // ... an idle one after max_idle_time when a checkout meets it (idle) ...
    drop(a);
    sleep(Duration::from_secs(2)).await;
    let c = pool.checkout().await.unwrap();
    assert_eq!(c.id(), 3);
    // ... a stale one on check-in after a clear (stale).
    pool.clear(None, false);
    drop(c);
    pool.ready();
    // An establishment failure.
    script.failures.store(1, Ordering::SeqCst);
    assert!(pool.checkout().await.unwrap_err().is_network());
    pool.close();
    assert!(pool.checkout().await.unwrap_err().is_pool_closed());

    let s = pool.stats();
    assert_eq!(
        (s.total, s.in_use, s.idle, s.pending, s.waiters),
        (0, 0, 0, 0, 0)
    );
    assert_eq!(s.created, 4);
    assert_eq!(s.generation, 1);
    assert_eq!(
        (
            s.closed_by_reason.error,
            s.closed_by_reason.idle,
            s.closed_by_reason.stale,
            s.closed_by_reason.pool_closed
        ),
        (2, 1, 1, 0)
    );
    assert_eq!((s.checkouts_immediate, s.checkouts_after_wait), (3, 0));
    let f = s.checkout_failures;
    assert_eq!(
        (f.connection_error, f.timeout, f.pool_closed, f.cancelled),
        (2, 1, 1, 0)
    );
}

#[tokio::test(start_paused = true)]
async fn clear_fails_every_waiter_at_once_and_pauses() {
    let (pool, _script, rec) = make(|o| o.max_pool_size = 1, 0);
    pool.ready();
    let held = pool.checkout().await.unwrap();
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            tokio::spawn(async move { pool.checkout().await.map(|c| c.id()) })
        })
        .collect();
    sleep(Duration::from_millis(1)).await;
    assert_eq!(pool.stats().waiters, 3);
    pool.clear(Some(&mongopool::Error::connection("boom")), false);
    for w in waiters {
        let err = w.await.unwrap().unwrap_err();
        assert!(err.is_pool_cleared(), "{err}");
        assert!(err.to_string().contains("boom"), "{err}");
    }
    // Paused until ready.
    assert!(pool.checkout().await.unwrap_err().is_pool_cleared());
    drop(held);
    let s = pool.stats();
    assert_eq!(
        (s.total, s.closed_by_reason.stale),
        (0, 1),
        "stale on check-in"
    );
    pool.ready();
    assert_eq!(pool.checkout().await.unwrap().generation(), 1);
    let failed: Vec<_> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CmapEvent::ConnectionCheckOutFailed(f) => Some(f.reason),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![CheckoutFailedReason::ConnectionError; 4]);
}

#[tokio::test(start_paused = true)]
async fn interrupting_clear_closes_in_use_connections_now() {
    let (pool, _script, rec) = make(|o| o.maintenance_interval = None, 0);
    pool.ready();
    let busy = pool.checkout().await.unwrap();
    let idle = pool.checkout().await.unwrap();
    drop(idle);
    rec.clear();
    pool.clear(None, true);
    assert!(busy.interrupt_signal().is_interrupted());
    assert!(
        busy.interrupt.is_interrupted(),
        "the connector's copy fired too"
    );
    let s = pool.stats();
    assert_eq!((s.in_use, s.idle, s.total), (0, 1, 1), "{s:?}");
    let closed: Vec<_> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CmapEvent::PoolCleared(c) => {
                Some(format!("cleared {}", c.interrupt_in_use_connections))
            }
            CmapEvent::ConnectionClosed(c) => {
                Some(format!("closed {} {:?}", c.connection_id, c.reason))
            }
            _ => None,
        })
        .collect();
    assert_eq!(closed, ["cleared true", "closed 1 Stale"]);
    // Checking the interrupted connection in reports the check-in only.
    rec.clear();
    drop(busy);
    assert_eq!(rec.names(&[]), ["ConnectionCheckedIn"]);
    assert_eq!(pool.free_slots(), Some(100));
    assert_eq!(pool.stats().closed_by_reason.stale, 1);
}

#[tokio::test(start_paused = true)]
async fn interrupting_clear_fails_a_pending_establishment() {
    let (pool, _script, rec) = make(|o| o.maintenance_interval = None, 10_000);
    pool.ready();
    let checkout = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout().await.map(|c| c.id()) }
    });
    sleep(Duration::from_millis(5)).await;
    assert_eq!(pool.stats().pending, 1);
    pool.clear(None, true);
    let err = checkout.await.unwrap().unwrap_err();
    assert!(err.is_pool_cleared(), "{err}");
    assert!(err.to_string().contains("interrupted"), "{err}");
    assert_eq!(
        rec.names(LIFECYCLE),
        [
            "ConnectionCheckOutStarted",
            "ConnectionCreated",
            "ConnectionPoolCleared",
            "ConnectionClosed",
            "ConnectionCheckOutFailed",
        ]
    );
    let s = pool.stats();
    assert_eq!((s.total, s.pending, s.closed_by_reason.error), (0, 0, 1));
}

#[tokio::test(start_paused = true)]
async fn clear_without_interrupt_leaves_in_use_connections_alone() {
    let (pool, _script, _rec) = make(|o| o.maintenance_interval = None, 0);
    pool.ready();
    let busy = pool.checkout().await.unwrap();
    pool.clear(None, false);
    assert!(!busy.interrupt_signal().is_interrupted());
    assert_eq!(pool.stats().in_use, 1);
}

#[tokio::test(start_paused = true)]
async fn close_fails_waiters_and_closes_late_check_ins() {
    let (pool, _script, rec) = make(|o| o.max_pool_size = 1, 0);
    pool.ready();
    let held = pool.checkout().await.unwrap();
    let waiter = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout().await.map(|c| c.id()) }
    });
    sleep(Duration::from_millis(1)).await;
    pool.close();
    assert!(waiter.await.unwrap().unwrap_err().is_pool_closed());
    pool.close();
    pool.ready();
    pool.clear(None, true);
    drop(held);
    let tail: Vec<String> = rec
        .events()
        .iter()
        .skip_while(|e| e.name() != "ConnectionPoolClosed")
        .map(|e| match e {
            CmapEvent::ConnectionClosed(c) => format!("Closed {:?}", c.reason),
            other => other.name().to_string(),
        })
        .collect();
    assert_eq!(
        tail,
        [
            "ConnectionPoolClosed",
            "ConnectionCheckOutFailed",
            "ConnectionCheckedIn",
            "Closed PoolClosed"
        ],
        "closing twice, ready and clear on a closed pool emit nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn peer_closed_available_connections_are_skipped() {
    let (pool, _script, rec) = make(|o| o.maintenance_interval = None, 0);
    pool.ready();
    let a = pool.checkout().await.unwrap();
    let b = pool.checkout().await.unwrap();
    let b_closed = b.peer_closed.clone();
    drop(a);
    drop(b);
    b_closed.store(true, Ordering::SeqCst);
    // Most recently used first: b (closed by its peer) is met first and closed.
    assert_eq!(pool.checkout().await.unwrap().id(), 1);
    let reasons: Vec<_> = rec
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CmapEvent::ConnectionClosed(c) => Some((c.connection_id, c.reason)),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [(2, ConnectionClosedReason::Error)]);
}

#[tokio::test(start_paused = true)]
async fn maintenance_prunes_idle_connections_and_keeps_the_minimum() {
    let (pool, _script, rec) = make(
        |o| {
            o.min_pool_size = 2;
            o.max_idle_time = Some(Duration::from_secs(30));
            o.maintenance_interval = Some(Duration::from_secs(10));
        },
        5,
    );
    sleep(Duration::from_secs(1)).await;
    assert_eq!(pool.stats().total, 0, "nothing is created while paused");
    pool.ready();
    sleep(Duration::from_millis(50)).await;
    assert_eq!(pool.stats().idle, 2);
    let extra: Vec<_> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(pool.checkout().await.unwrap());
        }
        v
    };
    drop(extra);
    assert_eq!(pool.stats().idle, 4);
    // After max_idle_time, a run closes all four and makes two new ones.
    sleep(Duration::from_secs(45)).await;
    let s = pool.stats();
    assert_eq!(
        (s.idle, s.closed_by_reason.idle, s.created),
        (2, 4, 6),
        "{s:?}"
    );
    assert_eq!(rec.count("ConnectionReady"), 6);
}

#[tokio::test(start_paused = true)]
async fn an_error_while_keeping_the_minimum_clears_the_pool() {
    let (pool, script, rec) = make(
        |o| {
            o.min_pool_size = 1;
            o.maintenance_interval = Some(Duration::from_millis(50));
        },
        0,
    );
    script.failures.store(1, Ordering::SeqCst);
    pool.ready();
    sleep(Duration::from_millis(200)).await;
    assert_eq!(
        rec.names(&["ConnectionPoolCreated"]),
        [
            "ConnectionPoolReady",
            "ConnectionCreated",
            "ConnectionPoolCleared",
            "ConnectionClosed"
        ],
        "paused: no retries"
    );
    assert!(pool.checkout().await.unwrap_err().is_pool_cleared());
    pool.ready();
    sleep(Duration::from_millis(10)).await;
    assert_eq!(pool.stats().idle, 1);
}

#[tokio::test(start_paused = true)]
async fn the_background_task_ends_with_the_pool() {
    let (pool, script, _rec) = make(|o| o.min_pool_size = 1, 0);
    pool.ready();
    sleep(Duration::from_millis(10)).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    assert_eq!(metrics.num_alive_tasks(), 1, "the maintenance task");
    drop(pool);
    sleep(Duration::from_millis(1)).await;
    assert!(
        script.dropped.load(Ordering::SeqCst),
        "nothing kept the pool alive"
    );
    assert_eq!(metrics.num_alive_tasks(), 0);
}

#[tokio::test(start_paused = true)]
async fn the_background_task_ends_when_the_pool_closes() {
    let (pool, _script, _rec) = make(|_| {}, 0);
    sleep(Duration::from_millis(1)).await;
    let metrics = tokio::runtime::Handle::current().metrics();
    assert_eq!(metrics.num_alive_tasks(), 1);
    pool.close();
    sleep(Duration::from_millis(1)).await;
    assert_eq!(metrics.num_alive_tasks(), 0);
}

#[test]
fn a_pool_made_outside_a_runtime_starts_its_task_later() {
    let (pool, _script, _rec) = make(|o| o.min_pool_size = 1, 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        pool.ready();
        sleep(Duration::from_millis(10)).await;
        assert_eq!(pool.stats().idle, 1, "min_pool_size kept by the late task");
        assert_eq!(pool.checkout().await.unwrap().id(), 1);
    });
}

/// A handler that calls back into its pool: stats on every event, and a clear when it
/// sees the first connection made. Must neither deadlock nor reorder events.
struct Reentrant {
    pool: OnceLock<Pool<TestConnector>>,
    seen: std::sync::Mutex<Vec<String>>,
}

impl CmapEventHandler for Reentrant {
    fn handle(&self, event: CmapEvent) {
        if let Some(pool) = self.pool.get() {
            let total = pool.stats().total;
            if matches!(event, CmapEvent::ConnectionCheckedOut(_)) {
                pool.clear(None, false);
            }
            self.seen
                .lock()
                .unwrap()
                .push(format!("{} {total}", event.name()));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn handlers_may_call_back_into_the_pool() {
    let handler = Arc::new(Reentrant {
        pool: OnceLock::new(),
        seen: Default::default(),
    });
    let mut o = PoolOptions::default();
    o.event_handler = Some(handler.clone());
    let pool = Pool::new(address(), o, TestConnector(Script::new(0)));
    handler.pool.set(pool.clone()).ok().unwrap();
    pool.ready();
    let conn = timeout(Duration::from_secs(1), pool.checkout())
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    let seen = handler.seen.lock().unwrap().clone();
    let names: Vec<&str> = seen.iter().map(|s| s.split(' ').next().unwrap()).collect();
    assert_eq!(
        names,
        [
            "ConnectionPoolReady",
            "ConnectionCheckOutStarted",
            "ConnectionCreated",
            "ConnectionReady",
            "ConnectionCheckedOut",
            "ConnectionPoolCleared",
            "ConnectionCheckedIn",
            "ConnectionClosed",
        ]
    );
}
