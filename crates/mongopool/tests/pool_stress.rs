//! Stress: 500 tasks share a `MongoPool` of 10 connections to the mock server for about
//! ten seconds, abandoning checkouts (random timeouts) and commands (dropped mid-flight)
//! on the way. Every reply must carry the token of the request it answers, the pool
//! must never hold more than 10 connections, and at the end nothing may have leaked.
//!
//! `MONGOPOOL_STRESS_SECS` makes it run longer (or shorter).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::{doc, rawdoc};
use mongopool::events::CmapEvent;
use mongopool::PoolOptions;
use mongopool::{CommandOptions, ConnectionOptions, MongoPool, ServerAddress};
use mongopool_testkit::mock::{Action, Behavior, MockServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::Notify;
use tokio::time::{sleep, timeout, Instant};

const TASKS: u64 = 500;
const MAX_POOL: u32 = 10;
const MAX_CONNECTING: u32 = 2;
/// Operations one task may start, whatever the deadline: bounds the run on a fast
/// machine as the deadline bounds it on a slow one.
const MAX_OPS_PER_TASK: u64 = 2_000;
const DEFAULT_RUN_FOR: Duration = Duration::from_secs(10);
/// How long the pool may take to settle once every task is done.
const SETTLE_WITHIN: Duration = Duration::from_secs(10);
/// A checkout timeout long enough never to fire under this load.
const PATIENT: Duration = Duration::from_secs(30);

fn run_for() -> Duration {
    std::env::var("MONGOPOOL_STRESS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(DEFAULT_RUN_FOR, Duration::from_secs)
}

/// The mock server: answers `stress` with the request's token, sometimes after a delay
/// of a few milliseconds (long enough for a command to be dropped mid-flight).
fn stress_server_behavior() -> Behavior {
    Behavior::modern().on("stress", |request, _default| {
        let token = request
            .command_document()
            .and_then(|c| c.get_i64("token").ok());
        let Some(token) = token else {
            return Action::error(2, "BadValue", "stress without an int64 token");
        };
        let reply = Action::ok(doc! {"token": token, "connection": request.connection as i64});
        let delay_us = rand::rng().random_range(0..3_000u64);
        if delay_us < 1_500 {
            reply
        } else {
            reply.after(Duration::from_micros(delay_us))
        }
    })
}

/// Counts the pool's events and wakes whoever waits for the pool to change.
#[derive(Default)]
struct EventCounts {
    by_name: Mutex<HashMap<&'static str, u64>>,
    closed_by_reason: Mutex<HashMap<&'static str, u64>>,
    changed: Notify,
}

impl mongopool::events::CmapEventHandler for EventCounts {
    fn handle(&self, event: CmapEvent) {
        *self
            .by_name
            .lock()
            .unwrap()
            .entry(event.name())
            .or_default() += 1;
        if let CmapEvent::ConnectionClosed(e) = &event {
            *self
                .closed_by_reason
                .lock()
                .unwrap()
                .entry(e.reason.as_str())
                .or_default() += 1;
        }
        self.changed.notify_waiters();
    }
}

impl EventCounts {
    fn count(&self, name: &str) -> u64 {
        self.by_name.lock().unwrap().get(name).copied().unwrap_or(0)
    }
}

/// What one task did.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    ok: u64,
    checkout_timeouts: u64,
    commands_dropped: u64,
    /// Commands given a short timeout that finished anyway (and were checked).
    raced_and_finished: u64,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.ok += o.ok;
        self.checkout_timeouts += o.checkout_timeouts;
        self.commands_dropped += o.commands_dropped;
        self.raced_and_finished += o.raced_and_finished;
    }
}

/// One task's loop: checkout (sometimes with a timeout shorter than the wait), then a
/// command (sometimes dropped mid-flight), checking that the reply is its own.
async fn worker(pool: MongoPool, task: u64, until: Instant) -> Tally {
    let mut rng = StdRng::seed_from_u64(task);
    let mut tally = Tally::default();
    for op in 0..MAX_OPS_PER_TASK {
        if Instant::now() >= until {
            break;
        }
        let checkout_limit = if rng.random_bool(0.3) {
            Duration::from_millis(rng.random_range(1..60))
        } else {
            PATIENT
        };
        let mut conn = match timeout(checkout_limit, pool.checkout()).await {
            Err(_) => {
                tally.checkout_timeouts += 1;
                continue;
            }
            Ok(Err(e)) => panic!("task {task}: checkout failed: {e}"),
            Ok(Ok(conn)) => conn,
        };
        assert_eq!(
            conn.id(),
            mongopool::Connection::id(&conn),
            "the guard and the connection disagree"
        );
        let token = i64::try_from((task << 32) | op).expect("task < 2^31");
        let command = rawdoc! {"stress": 1, "token": token};
        let options = CommandOptions::default();
        let reply = if rng.random_bool(0.2) {
            let limit = Duration::from_micros(rng.random_range(0..3_000));
            match timeout(limit, conn.command("admin", &command, &options)).await {
                Err(_) => {
                    tally.commands_dropped += 1;
                    continue;
                }
                Ok(reply) => {
                    tally.raced_and_finished += 1;
                    reply
                }
            }
        } else {
            conn.command("admin", &command, &options).await
        };
        let reply = reply.unwrap_or_else(|e| panic!("task {task}: command failed: {e}"));
        let echoed = reply
            .get_i64("token")
            .unwrap_or_else(|e| panic!("task {task}: reply without a token ({e}): {reply:?}"));
        assert_eq!(
            echoed,
            token,
            "task {task}: connection {} got the reply to another request",
            conn.id()
        );
        tally.ok += 1;
        drop(conn);
        if rng.random_bool(0.1) {
            tokio::task::yield_now().await;
        }
    }
    tally
}

/// Samples the pool's counts until told to stop; returns the largest seen.
async fn sampler(
    pool: MongoPool,
    stop: Arc<AtomicBool>,
    samples: Arc<AtomicU64>,
) -> (usize, usize) {
    let (mut max_total, mut max_in_use) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        let s = pool.stats();
        assert!(
            s.total <= MAX_POOL as usize,
            "more than {MAX_POOL} connections: {s:?}"
        );
        assert!(
            s.in_use <= MAX_POOL as usize,
            "more than {MAX_POOL} in use: {s:?}"
        );
        assert!(
            s.pending <= MAX_CONNECTING as usize,
            "more than {MAX_CONNECTING} pending: {s:?}"
        );
        max_total = max_total.max(s.total);
        max_in_use = max_in_use.max(s.in_use);
        samples.fetch_add(1, Ordering::Relaxed);
        sleep(Duration::from_millis(1)).await;
    }
    (max_total, max_in_use)
}

/// Waits, woken by the pool's events, until nothing is pending, in use or waiting.
async fn settle(pool: &MongoPool, events: &EventCounts) {
    let settled = async {
        loop {
            let changed = events.changed.notified();
            let s = pool.stats();
            if s.pending == 0 && s.in_use == 0 && s.waiters == 0 {
                return;
            }
            changed.await;
        }
    };
    if timeout(SETTLE_WITHIN, settled).await.is_err() {
        panic!(
            "the pool did not settle within {SETTLE_WITHIN:?}: {:?}",
            pool.stats()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_hundred_tasks_share_ten_connections_without_crossed_replies_or_leaks() {
    let server = MockServer::start(stress_server_behavior())
        .await
        .expect("start the mock server");
    let events = Arc::new(EventCounts::default());
    let options = PoolOptions::builder()
        .max_pool_size(MAX_POOL)
        .max_connecting(MAX_CONNECTING)
        .event_handler(events.clone())
        .build()
        .unwrap();
    let connection_options = ConnectionOptions::builder()
        .app_name(Some("pool-stress".into()))
        .build()
        .unwrap();
    let pool = MongoPool::with_options(
        ServerAddress::tcp("127.0.0.1", server.port()),
        options,
        connection_options,
    );
    pool.ready();

    let started = Instant::now();
    let until = started + run_for();
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(AtomicU64::new(0));
    let sampling = tokio::spawn(sampler(pool.clone(), stop.clone(), samples.clone()));
    let workers: Vec<_> = (0..TASKS)
        .map(|task| tokio::spawn(worker(pool.clone(), task, until)))
        .collect();
    let mut tally = Tally::default();
    for w in workers {
        tally += w.await.expect("a worker panicked");
    }
    let ran_for = started.elapsed();
    settle(&pool, &events).await;
    stop.store(true, Ordering::Relaxed);
    let (max_total, max_in_use) = sampling.await.expect("the sampler panicked");

    let s = pool.stats();
    println!(
        "{TASKS} tasks, max pool {MAX_POOL}, ran {ran_for:.2?}: {} operations ok, {} checkouts \
         timed out (dropped), {} commands dropped mid-flight, {} raced commands finished",
        tally.ok, tally.checkout_timeouts, tally.commands_dropped, tally.raced_and_finished
    );
    println!(
        "connections created {}, closed {:?} (events: {:?}); at rest {} idle; \
         checkouts immediate {}, after waiting {}; failures {:?}",
        s.created,
        s.closed_by_reason,
        events.closed_by_reason.lock().unwrap(),
        s.idle,
        s.checkouts_immediate,
        s.checkouts_after_wait,
        s.checkout_failures
    );
    println!(
        "sampler: {} samples, at most {max_total} connections, at most {max_in_use} in use; \
         mock server saw {} connections",
        samples.load(Ordering::Relaxed),
        server.journal().snapshot().connections()
    );

    // Nothing leaked.
    assert_eq!((s.in_use, s.pending, s.waiters), (0, 0, 0), "{s:?}");
    assert_eq!(s.total, s.idle, "every remaining connection is idle: {s:?}");
    assert_eq!(
        pool.free_slots(),
        Some(MAX_POOL as usize),
        "a slot leaked: {s:?}"
    );
    assert_eq!(
        s.created - s.closed_by_reason.total(),
        s.total as u64,
        "{s:?}"
    );
    // Every abandoned checkout was reported as such, and nothing else failed.
    assert_eq!(
        s.checkout_failures.cancelled, tally.checkout_timeouts,
        "{s:?}"
    );
    assert_eq!(
        s.checkout_failures.total(),
        tally.checkout_timeouts,
        "{s:?}"
    );
    assert_eq!(
        events.count("ConnectionCheckOutStarted"),
        events.count("ConnectionCheckedOut") + events.count("ConnectionCheckOutFailed"),
        "every checkout has exactly one outcome"
    );
    assert_eq!(
        events.count("ConnectionCheckedOut"),
        events.count("ConnectionCheckedIn")
    );
    // Only abandoned commands close connections (no clear, no idle limit here).
    assert_eq!(
        (s.closed_by_reason.stale, s.closed_by_reason.idle),
        (0, 0),
        "{s:?}"
    );
    assert!(
        s.closed_by_reason.error <= tally.commands_dropped,
        "more connections closed for errors than commands dropped: {s:?}"
    );
    assert_eq!(
        events.count("ConnectionClosed"),
        s.closed_by_reason.total(),
        "{s:?}"
    );
    // The run did exercise what it is about.
    assert!(tally.ok > 1_000, "too few operations: {tally:?}");
    assert!(
        tally.checkout_timeouts > 0,
        "no checkout timed out: {tally:?}"
    );
    assert!(
        tally.commands_dropped > 0,
        "no command was dropped: {tally:?}"
    );
    assert_eq!(max_total, MAX_POOL as usize, "the pool never filled up");
    pool.close();
}
