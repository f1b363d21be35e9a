//! Recovery: a steady load of pings through a `MongoPool` to SecantusDB; the server is
//! killed in the middle and restarted on the same port. The test plays the SDAM layer:
//! an operation that hits a network error clears the pool, and a minimal monitor task
//! (its own connection, checked every 100 ms) marks the pool ready again once the
//! server answers. The pool must carry the load again by itself, and the figures
//! (failed operations, time from restart to the first pooled success and to full rate)
//! are printed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::rawdoc;
use mongopool::events::CmapEvent;
use mongopool::PoolOptions;
use mongopool::{CommandOptions, Connection, ConnectionOptions, Error, MongoPool, ServerAddress};
use mongopool_testkit::TestServer;
use tokio::sync::Notify;
use tokio::time::{sleep, timeout, Instant};

const WORKERS: usize = 16;
const MAX_POOL: u32 = 8;
/// Between two operations of one worker: paces the load.
const PACE: Duration = Duration::from_millis(5);
/// Between two retries of a worker whose checkout the paused pool refused.
const RETRY_PACE: Duration = Duration::from_millis(10);
/// Between two checks of the monitor.
const MONITOR_INTERVAL: Duration = Duration::from_millis(100);
/// No single operation or check may take longer than this.
const OPERATION_LIMIT: Duration = Duration::from_secs(10);
/// The window over which the rate of successful operations is measured.
const RATE_WINDOW: Duration = Duration::from_millis(250);
/// The window over which the rate before the kill is measured.
const BASELINE_WINDOW: Duration = Duration::from_secs(1);
/// How often the count of successful operations is sampled.
const SAMPLE_EVERY: Duration = Duration::from_millis(25);
/// "Full rate": at least this share of the rate before the kill.
const FULL_RATE_SHARE: f64 = 0.75;
/// How long the pool may take to recover after the restart.
const RECOVER_WITHIN: Duration = Duration::from_secs(20);
/// How long the load runs against a dead server.
const DOWN_FOR: Duration = Duration::from_secs(1);

/// What the load and the monitor saw.
#[derive(Default)]
struct Observed {
    ok: AtomicU64,
    /// Failures that were network errors (the server died under the operation or
    /// refused the connection).
    network: AtomicU64,
    /// Checkouts refused because the pool was paused or cleared.
    pool_cleared: AtomicU64,
    /// Any other failure: the test fails if there is one.
    other: Mutex<Vec<String>>,
    /// When the latest operation succeeded.
    last_ok: Mutex<Option<Instant>>,
    /// Successful operations at each sample, for rates.
    samples: Mutex<Vec<(Instant, u64)>>,
    /// Woken by every pool event and every result.
    changed: Notify,
    monitor_checks: AtomicU64,
    monitor_ready_calls: AtomicU64,
    pool_cleared_events: AtomicU64,
    pool_ready_events: AtomicU64,
}

impl Observed {
    fn record_ok(&self) {
        self.ok.fetch_add(1, Ordering::Relaxed);
        *self.last_ok.lock().unwrap() = Some(Instant::now());
        self.changed.notify_waiters();
    }

    fn failures(&self) -> u64 {
        self.network.load(Ordering::Relaxed) + self.pool_cleared.load(Ordering::Relaxed)
    }

    /// Successful operations per second over the `window` before `at`.
    fn rate_before(&self, at: Instant, window: Duration) -> Option<f64> {
        let samples = self.samples.lock().unwrap();
        let end = samples.iter().rev().find(|(t, _)| *t <= at)?;
        let window_start = end.0.checked_sub(window)?;
        let start = samples.iter().rev().find(|(t, _)| *t <= window_start)?;
        let span = (end.0 - start.0).as_secs_f64();
        Some((end.1 - start.1) as f64 / span)
    }

    /// Waits, woken by events and results, until `done` holds or `limit` passes.
    async fn wait_until(&self, limit: Duration, done: impl Fn(&Observed) -> bool) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            let changed = self.changed.notified();
            if done(self) {
                return true;
            }
            if timeout(deadline.saturating_duration_since(Instant::now()), changed)
                .await
                .is_err()
            {
                return done(self);
            }
        }
    }
}

impl mongopool::events::CmapEventHandler for Observed {
    fn handle(&self, event: CmapEvent) {
        match event {
            CmapEvent::PoolCleared(_) => {
                self.pool_cleared_events.fetch_add(1, Ordering::Relaxed);
            }
            CmapEvent::PoolReady(_) => {
                self.pool_ready_events.fetch_add(1, Ordering::Relaxed);
            }
            _ => {}
        }
        self.changed.notify_waiters();
    }
}

/// What the SDAM layer does with an operation's error: a network error means the
/// server is unreachable, so its pool is cleared (and paused until the monitor sees
/// the server again).
fn handle_failure(pool: &MongoPool, observed: &Observed, error: &Error) {
    if error.is_network() {
        observed.network.fetch_add(1, Ordering::Relaxed);
        pool.clear(Some(error), false);
    } else if error.is_pool_cleared() {
        observed.pool_cleared.fetch_add(1, Ordering::Relaxed);
    } else {
        observed.other.lock().unwrap().push(error.to_string());
    }
    observed.changed.notify_waiters();
}

async fn ping_through(pool: &MongoPool) -> Result<(), Error> {
    let mut conn = pool.checkout().await?;
    conn.command("admin", &rawdoc! {"ping": 1}, &CommandOptions::default())
        .await
        .map(drop)
}

async fn worker(pool: MongoPool, observed: Arc<Observed>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match timeout(OPERATION_LIMIT, ping_through(&pool)).await {
            Ok(Ok(())) => {
                observed.record_ok();
                sleep(PACE).await;
            }
            Ok(Err(e)) => {
                handle_failure(&pool, &observed, &e);
                sleep(RETRY_PACE).await;
            }
            Err(_) => {
                observed
                    .other
                    .lock()
                    .unwrap()
                    .push(format!("an operation took longer than {OPERATION_LIMIT:?}"));
            }
        }
    }
}

/// A minimal server monitor: keeps a connection of its own and pings it every
/// `MONITOR_INTERVAL`. A failed check clears the pool; a successful connect (the
/// server is back) marks the pool ready.
async fn monitor(
    pool: MongoPool,
    address: ServerAddress,
    options: ConnectionOptions,
    observed: Arc<Observed>,
    stop: Arc<AtomicBool>,
) {
    let mut connection: Option<Connection> = None;
    while !stop.load(Ordering::Relaxed) {
        observed.monitor_checks.fetch_add(1, Ordering::Relaxed);
        let checked = match connection.as_mut() {
            Some(conn) => {
                let ping = rawdoc! {"ping": 1};
                let options = CommandOptions::default();
                let ping = conn.command("admin", &ping, &options);
                match timeout(OPERATION_LIMIT, ping).await {
                    Ok(result) => result.map(drop),
                    Err(_) => Err(Error::timeout("the monitor's check timed out")),
                }
            }
            None => match timeout(
                OPERATION_LIMIT,
                Connection::connect(&address, &options, 0, 0),
            )
            .await
            {
                Ok(Ok(conn)) => {
                    connection = Some(conn);
                    observed.monitor_ready_calls.fetch_add(1, Ordering::Relaxed);
                    pool.ready();
                    Ok(())
                }
                Ok(Err(e)) => Err(e),
                Err(_) => Err(Error::timeout("the monitor's connect timed out")),
            },
        };
        if let Err(e) = checked {
            // Only the first failure after a success clears; while the server stays
            // down the pool stays paused anyway.
            if connection.take().is_some() {
                pool.clear(Some(&e), false);
            }
        }
        sleep(MONITOR_INTERVAL).await;
    }
}

/// Records the count of successful operations every `SAMPLE_EVERY`, for rates.
async fn rate_sampler(observed: Arc<Observed>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let ok = observed.ok.load(Ordering::Relaxed);
        observed.samples.lock().unwrap().push((now, ok));
        observed.changed.notify_waiters();
        sleep(SAMPLE_EVERY).await;
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.expect("blocking task")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pool_recovers_by_itself_after_the_server_restarts() {
    let server = blocking(|| TestServer::start().expect("start secantusd-rs")).await;
    let server = Arc::new(Mutex::new(server));
    let port = server.lock().unwrap().port();
    let address = ServerAddress::tcp("127.0.0.1", port);
    let observed = Arc::new(Observed::default());
    let connection_options = ConnectionOptions::builder()
        .connect_timeout(Some(Duration::from_secs(2)))
        .app_name(Some("pool-recovery".into()))
        .build()
        .unwrap();
    let pool_options = PoolOptions::builder()
        .max_pool_size(MAX_POOL)
        .wait_queue_timeout(Duration::from_secs(5))
        .event_handler(observed.clone())
        .build()
        .unwrap();
    let pool = MongoPool::with_options(address.clone(), pool_options, connection_options.clone());
    let stop = Arc::new(AtomicBool::new(false));

    let mut tasks = vec![
        tokio::spawn(monitor(
            pool.clone(),
            address,
            connection_options,
            observed.clone(),
            stop.clone(),
        )),
        tokio::spawn(rate_sampler(observed.clone(), stop.clone())),
    ];
    tasks.extend(
        (0..WORKERS).map(|_| tokio::spawn(worker(pool.clone(), observed.clone(), stop.clone()))),
    );

    // Warm up: the monitor readies the pool, the load fills it; then a full window.
    let warmed = observed
        .wait_until(Duration::from_secs(20), |o| {
            o.ok.load(Ordering::Relaxed) >= 500
        })
        .await;
    assert!(warmed, "the load never got going: {:?}", pool.stats());
    sleep(BASELINE_WINDOW + RATE_WINDOW).await;
    let killed_at = Instant::now();
    let baseline = observed
        .rate_before(killed_at, BASELINE_WINDOW)
        .expect("samples before the kill");
    let ok_before_kill = observed.ok.load(Ordering::Relaxed);
    let stats_before = pool.stats();

    let s = server.clone();
    blocking(move || s.lock().unwrap().stop().expect("kill the server")).await;
    let noticed = observed
        .wait_until(Duration::from_secs(10), |o| {
            o.network.load(Ordering::Relaxed) > 0
                && o.pool_cleared_events.load(Ordering::Relaxed) > 0
        })
        .await;
    assert!(
        noticed,
        "nobody noticed the server died: {:?}",
        pool.stats()
    );
    let noticed_after = killed_at.elapsed();
    sleep(DOWN_FOR).await;

    let s = server.clone();
    blocking(move || s.lock().unwrap().restart().expect("restart the server")).await;
    let restarted_at = Instant::now();
    let failed_while_down = observed.failures();
    let first_ok = observed
        .wait_until(RECOVER_WITHIN, |o| {
            o.last_ok.lock().unwrap().is_some_and(|t| t > restarted_at)
        })
        .await;
    let first_ok_after = restarted_at.elapsed();
    assert!(
        first_ok,
        "no pooled operation succeeded within {RECOVER_WITHIN:?} of the restart: {:?}",
        pool.stats()
    );
    let full_rate = baseline * FULL_RATE_SHARE;
    let recovered = observed
        .wait_until(RECOVER_WITHIN, |o| {
            let now = Instant::now();
            now >= restarted_at + RATE_WINDOW
                && o.samples
                    .lock()
                    .unwrap()
                    .last()
                    .is_some_and(|(t, _)| *t >= restarted_at + RATE_WINDOW)
                && o.rate_before(now, RATE_WINDOW)
                    .is_some_and(|r| r >= full_rate)
        })
        .await;
    let full_rate_after = restarted_at.elapsed();
    let rate_after = observed
        .rate_before(Instant::now(), RATE_WINDOW)
        .unwrap_or(0.0);

    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.expect("a task panicked");
    }
    let stats = pool.stats();
    pool.close();

    println!(
        "load: {WORKERS} workers, max pool {MAX_POOL}; {baseline:.0} ops/s before the kill \
         ({ok_before_kill} ok); the kill was noticed after {noticed_after:.2?}"
    );
    println!(
        "failed operations: {} ({} network errors, {} refused by the paused pool), {} of them \
         before the restart",
        observed.failures(),
        observed.network.load(Ordering::Relaxed),
        observed.pool_cleared.load(Ordering::Relaxed),
        failed_while_down
    );
    println!(
        "after the restart: first pooled success in {first_ok_after:.2?}; the first {:?} \
         window after the restart with >= {:.0}% of the rate ({full_rate:.0} ops/s) ended \
         {full_rate_after:.2?} after it (rate then {rate_after:.0} ops/s)",
        RATE_WINDOW,
        FULL_RATE_SHARE * 100.0
    );
    println!(
        "pool: {} cleared / {} ready events, monitor: {} checks, {} ready calls; \
         generation {} (was {}), created {}, closed {:?}",
        observed.pool_cleared_events.load(Ordering::Relaxed),
        observed.pool_ready_events.load(Ordering::Relaxed),
        observed.monitor_checks.load(Ordering::Relaxed),
        observed.monitor_ready_calls.load(Ordering::Relaxed),
        stats.generation,
        stats_before.generation,
        stats.created,
        stats.closed_by_reason
    );

    let other = observed.other.lock().unwrap();
    assert!(other.is_empty(), "unexpected failures: {other:?}");
    assert!(observed.network.load(Ordering::Relaxed) > 0);
    assert!(stats.generation > stats_before.generation, "{stats:?}");
    assert!(
        stats.closed_by_reason.stale + stats.closed_by_reason.error > 0,
        "the connections to the dead server were closed: {stats:?}"
    );
    assert!(
        recovered,
        "the load did not get back to {full_rate:.0} ops/s within {RECOVER_WITHIN:?} of the \
         restart (rate {rate_after:.0} ops/s): {stats:?}"
    );
    assert_eq!((stats.in_use, stats.pending), (0, 0), "{stats:?}");
}
