//! Dropping a checkout future at any await point leaks nothing: no slot, no pending
//! count, no waiter, no connection; and every started checkout has exactly one outcome
//! event. All under a paused clock.

mod support;

use std::sync::Arc;
use std::time::Duration;

use mongopool::events::{CheckoutFailedReason, CmapEvent};
use mongopool::{Pool, PoolStats};
use support::test_connector::{address, options_with, Script, TestConnector};
use support::Recorder;
use tokio::time::{sleep, timeout};

/// A small deterministic generator (the tests must be reproducible).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn pool(
    max: u32,
    max_connecting: u32,
    delay_ms: u64,
) -> (Pool<TestConnector>, Arc<Script>, Arc<Recorder>) {
    let script = Script::new(delay_ms);
    let recorder = Arc::new(Recorder::default());
    let mut o = options_with(&recorder);
    o.max_pool_size = max;
    o.max_connecting = max_connecting;
    let pool = Pool::new(address(), o, TestConnector(script.clone()));
    pool.ready();
    (pool, script, recorder)
}

/// The pool is at rest: nothing pending, in use or waiting, every slot free, and the
/// events tell a consistent story.
fn assert_at_rest(pool: &Pool<TestConnector>, recorder: &Recorder) -> PoolStats {
    let s = pool.stats();
    assert_eq!((s.in_use, s.pending, s.waiters), (0, 0, 0), "{s:?}");
    assert_eq!(s.total, s.idle, "{s:?}");
    assert_eq!(
        pool.free_slots(),
        Some(pool.options().max_pool_size as usize),
        "a slot leaked: {s:?}"
    );
    assert_eq!(
        s.created - s.closed_by_reason.total(),
        s.total as u64,
        "{s:?}"
    );
    let started = recorder.count("ConnectionCheckOutStarted");
    let outcomes =
        recorder.count("ConnectionCheckedOut") + recorder.count("ConnectionCheckOutFailed");
    assert_eq!(started, outcomes, "every checkout has exactly one outcome");
    assert_eq!(
        recorder.count("ConnectionCheckedOut"),
        recorder.count("ConnectionCheckedIn"),
        "every connection handed out came back"
    );
    assert_eq!(
        recorder.count("ConnectionCreated"),
        recorder.count("ConnectionReady") + recorder.count("ConnectionClosed")
            - closed_after_ready(recorder),
    );
    s
}

/// Closed events of connections that had been ready.
fn closed_after_ready(recorder: &Recorder) -> usize {
    let events = recorder.events();
    let ready: Vec<u64> = events
        .iter()
        .filter_map(|e| match e {
            CmapEvent::ConnectionReady(r) => Some(r.connection_id),
            _ => None,
        })
        .collect();
    events
        .iter()
        .filter(|e| matches!(e, CmapEvent::ConnectionClosed(c) if ready.contains(&c.connection_id)))
        .count()
}

#[tokio::test(start_paused = true)]
async fn random_drops_under_load_leak_nothing() {
    let (pool, _script, recorder) = pool(3, 2, 10);
    let mut rng = Lcg(7);
    for round in 0..40 {
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let pool = pool.clone();
            let give_up = Duration::from_millis(rng.below(30));
            let hold = Duration::from_millis(rng.below(15));
            let style = rng.below(3);
            tasks.push(tokio::spawn(async move {
                let conn = match style {
                    0 => timeout(give_up, pool.checkout()).await.ok(),
                    1 => tokio::select! {
                        c = pool.checkout() => Some(c),
                        () = sleep(give_up) => None,
                    },
                    _ => tokio::select! {
                        biased;
                        () = sleep(give_up) => None,
                        c = pool.checkout() => Some(c),
                    },
                };
                if let Some(conn) = conn {
                    let conn = conn.expect("no checkout fails in this test");
                    sleep(hold).await;
                    drop(conn);
                }
            }));
            // Stagger arrivals so drops land on every await point.
            sleep(Duration::from_millis(rng.below(4))).await;
        }
        for t in tasks {
            t.await.unwrap();
        }
        // Let establishments whose checkouts were dropped finish.
        sleep(Duration::from_millis(50)).await;
        let s = assert_at_rest(&pool, &recorder);
        assert!(s.total <= 3, "round {round}: {s:?}");
    }
    let s = pool.stats();
    assert!(s.checkout_failures.cancelled > 0, "{s:?}");
    assert!(s.checkouts_after_wait > 0, "{s:?}");
    assert_eq!(s.checkout_failures.total(), s.checkout_failures.cancelled);

    // Every slot works: three checkouts at once, and a fourth waits.
    let a = pool.checkout().await.unwrap();
    let b = pool.checkout().await.unwrap();
    let c = pool.checkout().await.unwrap();
    assert!(timeout(Duration::from_secs(5), pool.checkout())
        .await
        .is_err());
    drop((a, b, c));
    assert_at_rest(&pool, &recorder);
}

#[tokio::test(start_paused = true)]
async fn dropped_while_waiting_for_a_slot() {
    let (pool, _script, recorder) = pool(1, 2, 0);
    let held = pool.checkout().await.unwrap();
    assert!(timeout(Duration::from_millis(10), pool.checkout())
        .await
        .is_err());
    assert_eq!(pool.stats().waiters, 0);
    assert_eq!(pool.free_slots(), Some(0));
    drop(held);
    assert_at_rest(&pool, &recorder);
    let failed: Vec<_> = recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CmapEvent::ConnectionCheckOutFailed(f) => Some(f.reason),
            _ => None,
        })
        .collect();
    assert_eq!(failed, vec![CheckoutFailedReason::Cancelled]);
    // The next checkout is served at once by the idle connection.
    let again = pool.checkout().await.unwrap();
    assert_eq!(again.id(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropped_while_waiting_at_the_head_or_for_the_head() {
    // max_connecting 1: the first checkout establishes (100 ms), the second waits at the
    // head for a pending slot, the third waits for the head.
    let (pool, _script, recorder) = pool(5, 1, 100);
    let first = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout().await.map(|c| c.id()) }
    });
    sleep(Duration::from_millis(1)).await;
    let at_head = tokio::spawn({
        let pool = pool.clone();
        async move {
            timeout(Duration::from_millis(20), pool.checkout())
                .await
                .is_err()
        }
    });
    sleep(Duration::from_millis(1)).await;
    let behind = tokio::spawn({
        let pool = pool.clone();
        async move {
            timeout(Duration::from_millis(10), pool.checkout())
                .await
                .is_err()
        }
    });
    sleep(Duration::from_millis(2)).await;
    assert_eq!(pool.stats().waiters, 2);
    assert!(behind.await.unwrap(), "the one behind the head was dropped");
    assert!(at_head.await.unwrap(), "the head was dropped");
    assert_eq!(pool.stats().waiters, 0);
    assert_eq!(first.await.unwrap().unwrap(), 1);
    assert_at_rest(&pool, &recorder);
    assert_eq!(pool.stats().checkout_failures.cancelled, 2);
    // The head lock was released: a new checkout goes through.
    assert_eq!(pool.checkout().await.unwrap().id(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropped_while_establishing_the_connection_joins_the_pool() {
    let (pool, script, recorder) = pool(2, 2, 100);
    assert!(timeout(Duration::from_millis(30), pool.checkout())
        .await
        .is_err());
    let s = pool.stats();
    assert_eq!((s.pending, s.in_use, s.total), (1, 0, 1), "{s:?}");
    assert_eq!(pool.free_slots(), Some(2), "the slot went back at once");
    sleep(Duration::from_millis(100)).await;
    let s = assert_at_rest(&pool, &recorder);
    assert_eq!((s.idle, s.created), (1, 1), "{s:?}");
    assert_eq!(
        recorder.names(&["ConnectionPoolCreated", "ConnectionPoolReady"]),
        [
            "ConnectionCheckOutStarted",
            "ConnectionCreated",
            "ConnectionCheckOutFailed",
            "ConnectionReady",
        ]
    );
    // It is reused, not re-established.
    let conn = pool.checkout().await.unwrap();
    assert_eq!(conn.id(), 1);
    assert_eq!(script.started.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn dropped_at_the_instant_the_connection_arrives() {
    // The establishment and the drop happen in the same tick, in either order, with the
    // drop polled before or after the checkout: whichever side sees the other gone
    // returns the connection to the pool.
    for offset in [99, 100, 101] {
        for sleep_first in [false, true] {
            let (pool, _script, recorder) = pool(2, 2, 100);
            let give_up = sleep(Duration::from_millis(offset));
            let got = if sleep_first {
                tokio::select! {
                    biased;
                    () = give_up => None,
                    c = pool.checkout() => Some(c.unwrap()),
                }
            } else {
                tokio::select! {
                    biased;
                    c = pool.checkout() => Some(c.unwrap()),
                    () = give_up => None,
                }
            };
            drop(got);
            sleep(Duration::from_millis(5)).await;
            let s = assert_at_rest(&pool, &recorder);
            assert_eq!((s.idle, s.created), (1, 1), "offset {offset}: {s:?}");
        }
    }
}

#[tokio::test(start_paused = true)]
async fn dropped_checkout_of_a_closed_pool_closes_the_late_connection() {
    let (pool, _script, recorder) = pool(2, 2, 100);
    assert!(timeout(Duration::from_millis(10), pool.checkout())
        .await
        .is_err());
    pool.close();
    sleep(Duration::from_millis(100)).await;
    let s = pool.stats();
    assert_eq!((s.total, s.closed_by_reason.pool_closed), (0, 1), "{s:?}");
    assert_eq!(recorder.count("ConnectionClosed"), 1);
}

#[tokio::test(start_paused = true)]
async fn dropped_after_the_connection_was_sent_but_before_it_was_received() {
    let (pool, _script, recorder) = pool(2, 2, 100);
    let mut checkout = Box::pin(pool.checkout());
    // Poll it once: it starts the establishment and waits for the connection.
    tokio::select! {
        biased;
        _ = &mut checkout => panic!("the connection cannot be ready yet"),
        () = std::future::ready(()) => {}
    }
    assert_eq!(pool.stats().pending, 1);
    // The connection is established and sent while nobody polls the checkout.
    sleep(Duration::from_millis(150)).await;
    let s = pool.stats();
    assert_eq!(
        (s.pending, s.in_use),
        (0, 1),
        "handed over, not yet received: {s:?}"
    );
    drop(checkout);
    let s = assert_at_rest(&pool, &recorder);
    assert_eq!((s.idle, s.created), (1, 1), "{s:?}");
    assert_eq!(pool.stats().checkout_failures.cancelled, 1);
}
