//! Checkout + check-in cost: one task on a warm pool, and many tasks contending for
//! fewer connections than they are.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mongopool::pool::{ConnectContext, Connector, Pool, PoolOptions, Poolable};
use mongopool::{Result, ServerAddress};

struct Noop;

struct NoopConnection;

impl Poolable for NoopConnection {
    fn is_usable(&self) -> bool {
        true
    }
}

impl Connector for Noop {
    type Connection = NoopConnection;
    async fn connect(&self, _ctx: ConnectContext) -> Result<NoopConnection> {
        Ok(NoopConnection)
    }
}

fn pool(max: u32) -> Pool<Noop> {
    let options = PoolOptions::builder().max_pool_size(max).build().unwrap();
    let pool = Pool::new(ServerAddress::tcp("localhost", 27017), options, Noop);
    pool.ready();
    pool
}

fn uncontended(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let pool = rt.block_on(async {
        let pool = pool(10);
        drop(pool.checkout().await.unwrap());
        pool
    });
    c.bench_function("checkout+checkin, 1 task, warm pool", |b| {
        b.to_async(&rt)
            .iter(|| async { drop(pool.checkout().await.unwrap()) })
    });
}

fn contended(c: &mut Criterion) {
    const TASKS: u64 = 32;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let pool = pool(8);
    c.bench_function(
        "checkout+checkin, 32 tasks, 8 connections (per checkout)",
        |b| {
            b.iter_custom(|iters| {
                let per_task = iters.div_ceil(TASKS).max(1);
                rt.block_on(async {
                    let start = Instant::now();
                    let tasks: Vec<_> = (0..TASKS)
                        .map(|_| {
                            let pool = pool.clone();
                            tokio::spawn(async move {
                                for _ in 0..per_task {
                                    let conn = pool.checkout().await.unwrap();
                                    tokio::task::yield_now().await;
                                    drop(conn);
                                }
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                    let elapsed = start.elapsed();
                    // Scale to the requested number of iterations.
                    Duration::from_secs_f64(
                        elapsed.as_secs_f64() * iters as f64 / (per_task * TASKS) as f64,
                    )
                })
            })
        },
    );
}

criterion_group!(benches, uncontended, contended);
criterion_main!(benches);
