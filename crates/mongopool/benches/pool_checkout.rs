//! Checkout + check-in cost: one task on a warm pool, and many tasks contending for
//! fewer connections than they are.

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use mongopool::{ConnectContext, Connector, Pool, PoolOptions, Poolable};
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

/// A checkout through the topology (server selection on the topology snapshot, then
/// the selected server's pool) and through the front door (the `Client`), against a
/// direct checkout of the same kind of pool,
/// both warm, against the in-process mock server (checkouts touch no socket).
fn through_topology(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_server, direct, client) = rt.block_on(async {
        let server = mongopool_testkit::MockServer::start(mongopool_testkit::Behavior::modern())
            .await
            .unwrap();
        let address = ServerAddress::tcp("127.0.0.1", server.port());
        let direct = mongopool::MongoPool::with_options(
            address,
            PoolOptions::builder().max_pool_size(10).build().unwrap(),
            mongopool::ConnectionOptions::default(),
        );
        direct.ready();
        drop(direct.checkout().await.unwrap());
        let uri = format!("mongodb://127.0.0.1:{}/?maxPoolSize=10", server.port());
        let client = mongopool::Client::connect(&uri).await.unwrap();
        let primary = mongopool::ReadPreference::primary();
        drop(client.checkout(&primary).await.unwrap());
        (server, direct, client)
    });
    let primary = mongopool::ReadPreference::primary();
    alternating_ratio(&rt, &direct, &client, &primary);
    c.bench_function("checkout+checkin, direct MongoPool (mock server)", |b| {
        b.to_async(&rt)
            .iter(|| async { drop(direct.checkout().await.unwrap()) })
    });
    c.bench_function(
        "checkout+checkin, Client::checkout(primary) (mock server)",
        |b| {
            b.to_async(&rt)
                .iter(|| async { drop(client.checkout(&primary).await.unwrap()) })
        },
    );
    rt.block_on(client.close());
}

/// Checkout times through the topology (select a server, check out of its pool) and
/// through the Client (the same, wrapped as a `ClientConnection`) over the direct
/// checkout time, measured in alternating batches in the same run (so that a drift
/// of the machine's speed hits every side alike): prints the median of the per-round
/// ratios and the ratio of the totals.
fn alternating_ratio(
    rt: &tokio::runtime::Runtime,
    direct: &mongopool::MongoPool,
    client: &mongopool::Client,
    primary: &mongopool::ReadPreference,
) {
    const ROUNDS: usize = 30;
    const BATCH: u32 = 20_000;
    let write = mongopool::topology::SelectionCriteria::Write;
    let topology = client.topology();
    let [mut direct_t, mut topology_t, mut client_t] = [(); 3].map(|_| Vec::new());
    rt.block_on(async {
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for _ in 0..BATCH {
                drop(direct.checkout().await.unwrap());
            }
            direct_t.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            for _ in 0..BATCH {
                let server = topology.select_server(&write).await.unwrap();
                drop(server.pool().checkout().await.unwrap());
            }
            topology_t.push(start.elapsed().as_secs_f64());
            let start = Instant::now();
            for _ in 0..BATCH {
                drop(client.checkout(primary).await.unwrap());
            }
            client_t.push(start.elapsed().as_secs_f64());
        }
    });
    let per = |t: &[f64]| t.iter().sum::<f64>() * 1e9 / (ROUNDS as f64 * f64::from(BATCH));
    let ratio = |t: &[f64]| {
        let mut ratios: Vec<f64> = t.iter().zip(&direct_t).map(|(t, d)| t / d).collect();
        ratios.sort_by(f64::total_cmp);
        let totals = t.iter().sum::<f64>() / direct_t.iter().sum::<f64>();
        format!("median {:.3}x, totals {totals:.3}x", ratios[ROUNDS / 2])
    };
    println!(
        "alternating {ROUNDS} x {BATCH}, per checkout+checkin: direct {:.1} ns, \
         topology {:.1} ns, client {:.1} ns; topology/direct {}; client/direct {}",
        per(&direct_t),
        per(&topology_t),
        per(&client_t),
        ratio(&topology_t),
        ratio(&client_t),
    );
}

criterion_group!(benches, uncontended, contended, through_topology);
criterion_main!(benches);
