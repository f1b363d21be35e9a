//! The clients under test, each running `{ping: 1}` on `admin` in a loop.

use std::time::{Duration, Instant};

use mongopool::{CommandOptions, ConnectionOptions, MongoPool, PoolOptions, ServerAddress};
use tokio::task::JoinSet;

use crate::cpu;
use crate::window::{Recorder, Sample, Window};

/// Any error of either client; the benchmark stops at the first one.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How hard a phase pushes: `tasks` concurrent loops over a pool of `pool_size`.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent tokio tasks.
    pub tasks: usize,
    /// Maximum connections in the pool.
    pub pool_size: u32,
}

/// The server under test.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// Its process, for CPU accounting.
    pub pid: Option<u32>,
}

/// Timing of one phase.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Unmeasured time first (connections are established in it).
    pub warmup: Duration,
    /// Measured time.
    pub measure: Duration,
}

/// A client and the way it sends the ping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    /// `mongopool::MongoPool`: checkout, `command`, check-in on drop.
    Ours,
    /// The official driver as a typical user calls it:
    /// `client.database("admin").run_command(doc! {"ping": 1})`, which selects a
    /// server and takes an implicit session for every operation.
    Official,
    /// The official driver with the least per-operation work it allows without an
    /// explicit session: one `Database` handle per task and a prebuilt raw
    /// command (`run_raw_command`), so no `Document` -> raw conversion.
    OfficialLean,
    /// `OfficialLean` plus one explicit session per task (causal consistency off),
    /// reused for every operation instead of an implicit session per operation.
    OfficialSession,
}

impl Contender {
    /// Every contender, in the order a round runs them.
    pub const ALL: [Contender; 4] = [
        Contender::Ours,
        Contender::Official,
        Contender::OfficialLean,
        Contender::OfficialSession,
    ];

    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Ours => "ours",
            Contender::Official => "official",
            Contender::OfficialLean => "official-lean",
            Contender::OfficialSession => "official-session",
        }
    }

    /// The contender called `name`.
    pub fn from_name(name: &str) -> Option<Contender> {
        Contender::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Runs one phase against `target`: a fresh client,
    /// `load.tasks` loops for `timing.warmup + timing.measure`, then the client is
    /// closed.
    pub async fn run(self, target: Target, load: Load, timing: Timing) -> Result<Sample, BoxError> {
        match self {
            Contender::Ours => run_ours(target, load, timing).await,
            official => run_official(official, target, load, timing).await,
        }
    }
}

async fn run_ours(target: Target, load: Load, timing: Timing) -> Result<Sample, BoxError> {
    let pool = MongoPool::with_options(
        ServerAddress::tcp("127.0.0.1", target.port),
        PoolOptions::builder()
            .max_pool_size(load.pool_size)
            .build()?,
        ConnectionOptions::default(),
    );
    pool.ready();
    let window = Window::after(timing.warmup, timing.measure);
    let cpu = tokio::spawn(cpu::measure(window, target.pid));
    let mut tasks = JoinSet::new();
    for _ in 0..load.tasks {
        let pool = pool.clone();
        tasks.spawn(async move {
            let mut recorder = Recorder::new(window);
            while recorder.keep_going() {
                let began = Instant::now();
                pool.checkout()
                    .await?
                    .command(
                        "admin",
                        &bson::rawdoc! {"ping": 1},
                        &CommandOptions::default(),
                    )
                    .await?;
                recorder.completed(began);
            }
            Ok::<_, BoxError>(recorder)
        });
    }
    let recorders = join_all(tasks).await;
    pool.close();
    Ok(Sample::merge(window, recorders?, cpu.await?))
}

async fn run_official(
    which: Contender,
    target: Target,
    load: Load,
    timing: Timing,
) -> Result<Sample, BoxError> {
    use mongodb::bson::{doc, rawdoc};

    let uri = format!(
        "mongodb://127.0.0.1:{}/?maxPoolSize={}&directConnection=true",
        target.port, load.pool_size
    );
    let client = mongodb::Client::with_uri_str(&uri).await?;
    let window = Window::after(timing.warmup, timing.measure);
    let cpu = tokio::spawn(cpu::measure(window, target.pid));
    let mut tasks = JoinSet::new();
    for _ in 0..load.tasks {
        let client = client.clone();
        tasks.spawn(async move {
            let mut recorder = Recorder::new(window);
            match which {
                Contender::Official => {
                    while recorder.keep_going() {
                        let began = Instant::now();
                        client
                            .database("admin")
                            .run_command(doc! {"ping": 1})
                            .await?;
                        recorder.completed(began);
                    }
                }
                Contender::OfficialLean => {
                    let db = client.database("admin");
                    let ping = rawdoc! {"ping": 1};
                    while recorder.keep_going() {
                        let began = Instant::now();
                        db.run_raw_command(ping.clone()).await?;
                        recorder.completed(began);
                    }
                }
                Contender::OfficialSession => {
                    let db = client.database("admin");
                    let ping = rawdoc! {"ping": 1};
                    let mut session = client.start_session().causal_consistency(false).await?;
                    while recorder.keep_going() {
                        let began = Instant::now();
                        db.run_raw_command(ping.clone())
                            .session(&mut session)
                            .await?;
                        recorder.completed(began);
                    }
                }
                Contender::Ours => unreachable!("ours is not the official driver"),
            }
            Ok::<_, BoxError>(recorder)
        });
    }
    let recorders = join_all(tasks).await;
    client.shutdown().await;
    Ok(Sample::merge(window, recorders?, cpu.await?))
}

/// Waits for every task; the first failure (an error or a panic) wins.
async fn join_all(
    mut tasks: JoinSet<Result<Recorder, BoxError>>,
) -> Result<Vec<Recorder>, BoxError> {
    let mut recorders = Vec::with_capacity(tasks.len());
    while let Some(joined) = tasks.join_next().await {
        recorders.push(joined??);
    }
    Ok(recorders)
}
