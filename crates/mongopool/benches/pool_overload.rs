//! Load shedding (issue 15, Measure): 200 tasks against a pool of 8 connections to a
//! SecantusDB that holds every `ping` for `SERVICE_MS` (`failCommand` with
//! `blockConnection`), without a bound on waiters and with `waitQueueMultiple=1` (at most
//! 8 waiters). Each task runs checkout -> ping -> check-in back to back for `RUN`; a
//! refused checkout (`ExceededMaxWaiters`) is a shed request, after which the task waits
//! one service time before its next, as a client that backs off would.
//!
//! Reports, per configuration: goodput (successful operations per second), the p50 and
//! p99 latency of successful operations (checkout + ping), and the requests shed. The
//! claim under test: with the bound, p99 of the successes stays near the service time;
//! without it, p99 grows with the queue (about 200 / 8 service times).
//!
//! Needs `MONGOPOOL_SECANTUSD` (as the server tests do). Run it with
//! `cargo bench -p mongopool --bench pool_overload`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bson::{doc, rawdoc};
use mongopool::PoolOptions;
use mongopool::{CommandOptions, ConnectionOptions, MongoPool, ServerAddress};
use mongopool_testkit::TestServer;

const TASKS: usize = 200;
const POOL: u32 = 8;
const SERVICE_MS: u64 = 50;
const RUN: Duration = Duration::from_secs(6);
const APP: &str = "overload-bench";

#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    shed: u64,
    other_errors: u64,
}

async fn run(server: &TestServer, max_waiters: Option<u32>) -> (Tally, Duration) {
    let options = PoolOptions::builder()
        .max_pool_size(POOL)
        .max_waiters(max_waiters)
        .build()
        .unwrap();
    let connection_options = ConnectionOptions::builder()
        .app_name(Some(APP.into()))
        .build()
        .unwrap();
    let pool = MongoPool::with_options(
        ServerAddress::tcp(server.host(), server.port()),
        options,
        connection_options,
    );
    pool.ready();
    // Warm: every connection established before the clock starts.
    let mut warm = Vec::new();
    for _ in 0..POOL {
        warm.push(pool.checkout().await.unwrap());
    }
    drop(warm);
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let end = started + RUN;
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (pool, tally) = (pool.clone(), tally.clone());
            tokio::spawn(async move {
                while Instant::now() < end {
                    let op = Instant::now();
                    let result = match pool.checkout().await {
                        Ok(mut conn) => conn
                            .command("admin", &rawdoc! {"ping": 1}, &CommandOptions::default())
                            .await
                            .map(drop),
                        Err(e) => Err(e),
                    };
                    let took = op.elapsed();
                    match result {
                        Ok(()) if Instant::now() <= end => {
                            tally.lock().unwrap().latencies.push(took)
                        }
                        Ok(()) => {}
                        Err(e) if e.is_exceeded_max_waiters() => {
                            tally.lock().unwrap().shed += 1;
                            tokio::time::sleep(Duration::from_millis(SERVICE_MS)).await;
                        }
                        Err(_) => tally.lock().unwrap().other_errors += 1,
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = RUN;
    pool.close();
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    (tally, elapsed)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    if std::env::var_os("MONGOPOOL_SECANTUSD").is_none() {
        println!("pool_overload: MONGOPOOL_SECANTUSD is not set; nothing measured");
        return;
    }
    // Criterion-style arguments (`--bench`) are accepted and ignored.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = tokio::task::spawn_blocking(|| {
            TestServer::builder()
                .test_commands(true)
                .start()
                .expect("start secantusd-rs")
        })
        .await
        .unwrap();
        server
            .command(
                "admin",
                doc! {
                    "configureFailPoint": "failCommand",
                    "mode": "alwaysOn",
                    "data": {
                        "failCommands": ["ping"],
                        "blockConnection": true,
                        "blockTimeMS": SERVICE_MS as i64,
                        "appName": APP,
                    },
                },
            )
            .expect("configureFailPoint");
        println!(
            "pool_overload: {TASKS} tasks, pool of {POOL}, server holds each ping {SERVICE_MS} ms, {RUN:?} per configuration"
        );
        for (name, bound) in [("unbounded", None), ("max_waiters=8 ", Some(POOL))] {
            let (mut tally, elapsed) = run(&server, bound).await;
            tally.latencies.sort_unstable();
            let ok = tally.latencies.len();
            println!(
                "{name}: goodput {:7.1} ops/s  p50 {:7.1} ms  p99 {:7.1} ms  max {:7.1} ms  ({ok} ok, {} shed, {} other errors)",
                ok as f64 / elapsed.as_secs_f64(),
                percentile(&tally.latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&tally.latencies, 0.99).as_secs_f64() * 1e3,
                tally.latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
                tally.shed,
                tally.other_errors,
            );
        }
        let _ = server.command("admin", doc! {"configureFailPoint": "failCommand", "mode": "off"});
    });
}
