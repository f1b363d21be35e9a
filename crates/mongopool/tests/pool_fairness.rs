//! The wait queue is FIFO, and a waiter blocked by `max_connecting` is served by a
//! connection checked in meanwhile (and is not overtaken by younger checkouts).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongopool::Pool;
use support::test_connector::{address, options_with, Script, TestConnector};
use support::Recorder;
use tokio::time::{sleep, Instant};

fn pool(max: u32, max_connecting: u32, delay_ms: u64) -> Pool<TestConnector> {
    let recorder = Arc::new(Recorder::default());
    let mut o = options_with(&recorder);
    o.max_pool_size = max;
    o.max_connecting = max_connecting;
    let pool = Pool::new(address(), o, TestConnector(Script::new(delay_ms)));
    pool.ready();
    pool
}

/// Waits (in virtual time) until `n` checkouts wait in the pool's queue.
async fn until_waiters(pool: &Pool<TestConnector>, n: usize) {
    for _ in 0..1000 {
        if pool.stats().waiters == n {
            return;
        }
        sleep(Duration::from_micros(100)).await;
    }
    panic!("never saw {n} waiters: {:?}", pool.stats());
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order() {
    for max in [1u32, 3] {
        let pool = pool(max, 2, 1);
        let mut held = Vec::new();
        for _ in 0..max {
            held.push(pool.checkout().await.unwrap());
        }
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..12 {
            let (p, order) = (pool.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let conn = p.checkout().await.unwrap();
                order.lock().unwrap().push(i);
                sleep(Duration::from_millis(1)).await;
                drop(conn);
            }));
            until_waiters(&pool, i + 1).await;
        }
        drop(held);
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(
            *order.lock().unwrap(),
            (0..12).collect::<Vec<_>>(),
            "max {max}"
        );
        let s = pool.stats();
        assert_eq!(s.checkouts_after_wait, 12);
        assert_eq!(
            s.total as u32, max,
            "no connection beyond the ones checked out first"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_waiter_blocked_by_max_connecting_gets_a_checked_in_connection() {
    // max_connecting 1, establishing takes 100 ms.
    let pool = pool(10, 1, 100);
    let x = pool.checkout().await.unwrap();
    assert_eq!(x.id(), 1);
    let t0 = Instant::now();

    // A establishes connection 2 (the only pending slot) ...
    let a = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout().await.unwrap().id() }
    });
    sleep(Duration::from_millis(1)).await;
    assert_eq!(pool.stats().pending, 1);
    // ... so B waits at the head of the queue for a pending slot or a connection ...
    let b = tokio::spawn({
        let pool = pool.clone();
        async move {
            let conn = pool.checkout().await.unwrap();
            let got = (conn.id(), Instant::now());
            sleep(Duration::from_millis(500)).await;
            got
        }
    });
    until_waiters(&pool, 1).await;
    // ... and C, younger, waits behind B.
    let c = tokio::spawn({
        let pool = pool.clone();
        async move { pool.checkout().await.unwrap().id() }
    });
    until_waiters(&pool, 2).await;

    // 10 ms in, connection 1 comes back: B gets it at once, long before A's connection
    // is ready, and C does not overtake B.
    sleep(Duration::from_millis(9)).await;
    drop(x);
    let (b_id, b_at) = b.await.unwrap();
    assert_eq!(b_id, 1);
    assert!(
        b_at - t0 < Duration::from_millis(20),
        "B waited {:?}",
        b_at - t0
    );
    assert_eq!(a.await.unwrap(), 2);
    // C got a pending slot once A's establishment finished: connection 3.
    assert_eq!(c.await.unwrap(), 3);
    assert_eq!(pool.stats().created, 3);
}

#[tokio::test(start_paused = true)]
async fn max_connecting_limits_concurrent_establishments() {
    let pool = pool(0, 2, 50);
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let c = pool.checkout().await.unwrap();
            sleep(Duration::from_secs(1)).await;
            c.id()
        }));
    }
    let mut most_pending = 0;
    for _ in 0..200 {
        most_pending = most_pending.max(pool.stats().pending);
        sleep(Duration::from_millis(1)).await;
    }
    assert_eq!(most_pending, 2);
    let mut ids: Vec<u64> = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort_unstable();
    assert_eq!(
        ids,
        [1, 2, 3, 4, 5, 6],
        "an unbounded pool makes one per checkout"
    );
}
