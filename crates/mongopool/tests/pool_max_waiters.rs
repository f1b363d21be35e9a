//! `PoolOptions::max_waiters`: a checkout that would have to wait while the bound is
//! reached fails at once (`ExceededMaxWaiters`, event reason `exceededMaxWaiters`), with
//! the pool's counts; the admitted waiters are served and nothing leaks.

mod support;

use std::sync::Arc;
use std::time::Duration;

use mongopool::events::{CheckoutFailedReason, CmapEvent};
use mongopool::ErrorKind;
use mongopool::Pool;
use support::test_connector::{address, options_with, Script, TestConnector};
use support::Recorder;
use tokio::time::sleep;

fn pool(max: u32, max_waiters: Option<u32>) -> (Pool<TestConnector>, Arc<Recorder>) {
    let recorder = Arc::new(Recorder::default());
    let mut o = options_with(&recorder);
    o.max_pool_size = max;
    o.max_waiters = max_waiters;
    let pool = Pool::new(address(), o, TestConnector(Script::new(1)));
    pool.ready();
    (pool, recorder)
}

fn refusal_reasons(recorder: &Recorder) -> Vec<CheckoutFailedReason> {
    recorder
        .events()
        .into_iter()
        .filter_map(|e| match e {
            CmapEvent::ConnectionCheckOutFailed(f) => Some(f.reason),
            _ => None,
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn beyond_the_bound_checkouts_fail_at_once_and_the_waiters_are_served() {
    let (pool, recorder) = pool(2, Some(3));
    let held = vec![
        pool.checkout().await.unwrap(),
        pool.checkout().await.unwrap(),
    ];
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let p = pool.clone();
        tasks.push(tokio::spawn(async move { p.checkout().await.map(drop) }));
    }
    // Let every task reach the pool (virtual time: nothing else moves it).
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(pool.stats().waiters, 3, "{:?}", pool.stats());
    let refused: Vec<_> = refusal_reasons(&recorder);
    assert_eq!(refused, vec![CheckoutFailedReason::ExceededMaxWaiters; 17]);
    drop(held);
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) => {
                assert!(e.is_exceeded_max_waiters(), "{e}");
                match e.kind() {
                    ErrorKind::ExceededMaxWaiters {
                        max_waiters,
                        waiters,
                        max_pool_size,
                        in_use,
                        pending,
                        ..
                    } => assert_eq!(
                        (*max_waiters, *waiters, *max_pool_size, *in_use, *pending),
                        (3, 3, 2, 2, 0)
                    ),
                    other => panic!("{other:?}"),
                }
                refused += 1;
            }
        }
    }
    assert_eq!((ok, refused), (3, 17));
    sleep(Duration::from_millis(10)).await;
    let s = pool.stats();
    assert_eq!((s.in_use, s.pending, s.waiters), (0, 0, 0), "{s:?}");
    assert_eq!(s.checkout_failures.exceeded_max_waiters, 17, "{s:?}");
    assert_eq!(pool.free_slots(), Some(2));
    // A place freed is a place again.
    drop(pool.checkout().await.unwrap());
}

#[tokio::test(start_paused = true)]
async fn a_bound_of_zero_refuses_every_wait_but_not_a_checkout_that_finds_a_connection() {
    let (pool, recorder) = pool(1, Some(0));
    let held = pool.checkout().await.unwrap();
    let err = pool.checkout().await.unwrap_err();
    assert!(err.is_exceeded_max_waiters(), "{err}");
    drop(held);
    drop(pool.checkout().await.unwrap());
    assert_eq!(
        refusal_reasons(&recorder),
        vec![CheckoutFailedReason::ExceededMaxWaiters]
    );
    assert_eq!(pool.free_slots(), Some(1));
}

#[tokio::test(start_paused = true)]
async fn unbounded_by_default() {
    let (pool, recorder) = pool(1, None);
    let held = pool.checkout().await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let p = pool.clone();
        tasks.push(tokio::spawn(async move { p.checkout().await.map(drop) }));
    }
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(pool.stats().waiters, 50);
    drop(held);
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert!(refusal_reasons(&recorder).is_empty());
}
