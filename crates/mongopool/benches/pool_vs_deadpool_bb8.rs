//! Our pool against deadpool and bb8, each managing the same dummy connection (a `u64`
//! counter) with the same maximum size, measured in one run.
//!
//! Every scenario runs on a multi-thread tokio runtime with 2 workers: `TASKS` tasks each
//! do a share of the iterations as checkout -> touch (bump the counter) -> drop, and the
//! time is reported per checkout. Two flavours of contention:
//! - `touch`: nothing awaits while a connection is held, so with 2 workers at most 2
//!   connections are out at once; this measures the cost of the pool's synchronisation
//!   when two threads hammer it.
//! - `touch+yield`: the task yields to the scheduler while it holds the connection, so
//!   64 tasks really queue for 8 connections (and every task holds one of 64).
//!
//! Every pool is warmed (all its connections established) before it is measured; our
//! pool runs with no event handler and the default `maintenance_interval`. After the
//! criterion groups, the same scenarios run once more with the three pools alternating
//! round by round (see [`interleaved`]): on a shared machine whose load changes, that
//! comparison is the one to trust. On the 2-core machines we measure on, there are
//! phases of several seconds in which all three pools run 2-3x slower at once (seen with
//! 150 alternating rounds); criterion's groups, measured seconds apart, can land one pool
//! in such a phase and another outside it. Run it with
//! `cargo bench -p mongopool --bench pool_vs_deadpool_bb8 -- --warm-up-time 1
//! --measurement-time 3`.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use mongopool::{ConnectContext, Connector, Pool, PoolOptions, Poolable};
use mongopool::{Result, ServerAddress};
use tokio::runtime::Runtime;

/// The connection every pool manages.
#[derive(Debug, Default)]
struct DummyConnection {
    uses: u64,
}

impl DummyConnection {
    fn touch(&mut self) {
        self.uses = black_box(self.uses.wrapping_add(1));
    }
}

impl Poolable for DummyConnection {
    fn is_usable(&self) -> bool {
        true
    }
}

struct DummyConnector;

impl Connector for DummyConnector {
    type Connection = DummyConnection;
    async fn connect(&self, _ctx: ConnectContext) -> Result<DummyConnection> {
        Ok(DummyConnection::default())
    }
}

struct DeadpoolManager;

impl deadpool::managed::Manager for DeadpoolManager {
    type Type = DummyConnection;
    type Error = Infallible;
    async fn create(&self) -> std::result::Result<DummyConnection, Infallible> {
        Ok(DummyConnection::default())
    }
    async fn recycle(
        &self,
        _conn: &mut DummyConnection,
        _metrics: &deadpool::managed::Metrics,
    ) -> deadpool::managed::RecycleResult<Infallible> {
        Ok(())
    }
}

struct Bb8Manager;

impl bb8::ManageConnection for Bb8Manager {
    type Connection = DummyConnection;
    type Error = Infallible;
    async fn connect(&self) -> std::result::Result<DummyConnection, Infallible> {
        Ok(DummyConnection::default())
    }
    async fn is_valid(&self, _conn: &mut DummyConnection) -> std::result::Result<(), Infallible> {
        Ok(())
    }
    fn has_broken(&self, _conn: &mut DummyConnection) -> bool {
        false
    }
}

/// One pool under test.
trait BenchPool: Clone + Send + Sync + 'static {
    /// A checkout, a touch, optionally a yield, then the check-in.
    fn use_once(&self, yield_while_held: bool) -> impl Future<Output = ()> + Send;
    /// Establishes `size` connections: checks them all out at once, then in.
    fn warm(&self, size: usize) -> impl Future<Output = ()> + Send;
}

#[derive(Clone)]
struct Ours(Pool<DummyConnector>);

impl BenchPool for Ours {
    async fn use_once(&self, yield_while_held: bool) {
        let mut conn = self.0.checkout().await.unwrap();
        conn.touch();
        if yield_while_held {
            tokio::task::yield_now().await;
        }
    }

    async fn warm(&self, size: usize) {
        let mut held = Vec::with_capacity(size);
        for _ in 0..size {
            held.push(self.0.checkout().await.unwrap());
        }
    }
}

#[derive(Clone)]
struct Deadpool(deadpool::managed::Pool<DeadpoolManager>);

impl BenchPool for Deadpool {
    async fn use_once(&self, yield_while_held: bool) {
        let mut conn = self.0.get().await.unwrap();
        conn.touch();
        if yield_while_held {
            tokio::task::yield_now().await;
        }
    }

    async fn warm(&self, size: usize) {
        let mut held = Vec::with_capacity(size);
        for _ in 0..size {
            held.push(self.0.get().await.unwrap());
        }
    }
}

#[derive(Clone)]
struct Bb8(bb8::Pool<Bb8Manager>);

impl BenchPool for Bb8 {
    async fn use_once(&self, yield_while_held: bool) {
        let mut conn = self.0.get().await.unwrap();
        conn.touch();
        if yield_while_held {
            tokio::task::yield_now().await;
        }
    }

    async fn warm(&self, size: usize) {
        let mut held = Vec::with_capacity(size);
        for _ in 0..size {
            held.push(self.0.get().await.unwrap());
        }
    }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

async fn ours(size: usize) -> Ours {
    let options = PoolOptions::builder()
        .max_pool_size(size as u32)
        .build()
        .unwrap();
    let pool = Pool::new(
        ServerAddress::tcp("localhost", 27017),
        options,
        DummyConnector,
    );
    pool.ready();
    let pool = Ours(pool);
    pool.warm(size).await;
    assert_eq!(pool.0.stats().total, size, "the pool is warm");
    pool
}

async fn deadpool(size: usize) -> Deadpool {
    let pool = deadpool::managed::Pool::builder(DeadpoolManager)
        .max_size(size)
        .runtime(deadpool::Runtime::Tokio1)
        .build()
        .unwrap();
    let pool = Deadpool(pool);
    pool.warm(size).await;
    assert_eq!(pool.0.status().size, size, "the pool is warm");
    pool
}

async fn bb8(size: usize) -> Bb8 {
    let pool = bb8::Pool::builder()
        .max_size(size as u32)
        .build(Bb8Manager)
        .await
        .unwrap();
    let pool = Bb8(pool);
    pool.warm(size).await;
    assert_eq!(
        pool.0.state().connections as usize,
        size,
        "the pool is warm"
    );
    pool
}

/// Fewest checkouts one sample runs: spawning the tasks and the moment they all start
/// at once must not weigh in the time per checkout.
const MIN_CHECKOUTS_PER_SAMPLE: u64 = 20_000;

/// At least `iters` checkouts spread over `tasks` tasks; the time, scaled to `iters`.
fn run<P: BenchPool>(
    rt: &Runtime,
    pool: &P,
    tasks: u64,
    yield_while_held: bool,
    iters: u64,
) -> Duration {
    let per_task = iters.max(MIN_CHECKOUTS_PER_SAMPLE).div_ceil(tasks);
    rt.block_on(async {
        let start = Instant::now();
        let handles: Vec<_> = (0..tasks)
            .map(|_| {
                let pool = pool.clone();
                tokio::spawn(async move {
                    for _ in 0..per_task {
                        pool.use_once(yield_while_held).await;
                    }
                })
            })
            .collect();
        for h in handles {
            h.await.unwrap();
        }
        let elapsed = start.elapsed();
        elapsed.mul_f64(iters as f64 / (per_task * tasks) as f64)
    })
}

/// One scenario, the three pools side by side.
fn scenario(c: &mut Criterion, name: &str, tasks: u64, size: usize, yield_while_held: bool) {
    let rt = runtime();
    let ours = rt.block_on(ours(size));
    let deadpool = rt.block_on(deadpool(size));
    let bb8 = rt.block_on(bb8(size));
    let mut group = c.benchmark_group(name);
    group.bench_function(BenchmarkId::from_parameter("mongopool"), |b| {
        b.iter_custom(|iters| run(&rt, &ours, tasks, yield_while_held, iters))
    });
    group.bench_function(BenchmarkId::from_parameter("deadpool"), |b| {
        b.iter_custom(|iters| run(&rt, &deadpool, tasks, yield_while_held, iters))
    });
    group.bench_function(BenchmarkId::from_parameter("bb8"), |b| {
        b.iter_custom(|iters| run(&rt, &bb8, tasks, yield_while_held, iters))
    });
    group.finish();
}

/// The three pools measured in alternation, round after round, so that all of them see
/// the same moments of a machine whose load changes (criterion measures one after the
/// other, seconds apart). Prints the median time per checkout of each, and our ratio to
/// the better of the other two: from the medians, and round by round.
fn interleaved(name: &str, tasks: u64, size: usize, yield_while_held: bool) {
    const ROUNDS: usize = 21;
    const CHECKOUTS: u64 = 100_000;
    let rt = runtime();
    let ours = rt.block_on(ours(size));
    let deadpool = rt.block_on(deadpool(size));
    let bb8 = rt.block_on(bb8(size));
    let per_checkout = |d: Duration| d.as_nanos() as f64 / CHECKOUTS as f64;
    let mut times: [Vec<f64>; 3] = Default::default();
    for _ in 0..ROUNDS {
        times[0].push(per_checkout(run(
            &rt,
            &ours,
            tasks,
            yield_while_held,
            CHECKOUTS,
        )));
        times[1].push(per_checkout(run(
            &rt,
            &deadpool,
            tasks,
            yield_while_held,
            CHECKOUTS,
        )));
        times[2].push(per_checkout(run(
            &rt,
            &bb8,
            tasks,
            yield_while_held,
            CHECKOUTS,
        )));
    }
    // Within a round all three see the same moment of the machine: compare there first.
    let ratios: Vec<f64> = (0..ROUNDS)
        .map(|r| times[0][r] / times[1][r].min(times[2][r]))
        .collect();
    let won = ratios.iter().filter(|&&r| r < 1.0).count();
    let [ours, deadpool, bb8] = times.map(median);
    println!(
        "interleaved {name:32} median ns/checkout: mongopool {ours:6.1}  deadpool {deadpool:6.1}  \
         bb8 {bb8:6.1}  mongopool / best other: {:.2} (medians), {:.2} (median of rounds), \
         faster in {won}/{ROUNDS} rounds",
        ours / deadpool.min(bb8),
        median(ratios),
    );
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn same_moments(_: &mut Criterion) {
    interleaved("1 task, 8 conns, touch", 1, 8, false);
    interleaved("64 tasks, 8 conns, touch", 64, 8, false);
    interleaved("64 tasks, 64 conns, touch", 64, 64, false);
    interleaved("64 tasks, 8 conns, touch+yield", 64, 8, true);
    interleaved("64 tasks, 64 conns, touch+yield", 64, 64, true);
}

fn uncontended(c: &mut Criterion) {
    scenario(c, "1 task, 8 conns, touch", 1, 8, false);
}

fn contended(c: &mut Criterion) {
    scenario(c, "64 tasks, 8 conns, touch", 64, 8, false);
    scenario(c, "64 tasks, 64 conns, touch", 64, 64, false);
    scenario(c, "64 tasks, 8 conns, touch+yield", 64, 8, true);
    scenario(c, "64 tasks, 64 conns, touch+yield", 64, 64, true);
}

criterion_group!(benches, uncontended, contended, same_moments);
criterion_main!(benches);
