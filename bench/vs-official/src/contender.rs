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
    /// `mongopool::Client`, the front door: server selection (the topology, with its
    /// monitor) for every operation, then checkout, command, check-in.
    OursClient,
    /// The ceiling: `pool_size` tasks, each owning one plain TCP connection and
    /// sending a pre-encoded OP_MSG `{ping: 1, $db: "admin"}` in a loop.
    Raw,
    /// `OfficialLean` plus one explicit session per task (causal consistency off),
    /// reused for every operation instead of an implicit session per operation.
    OfficialSession,
}

impl Contender {
    /// Every contender, in the order a round runs them.
    pub const ALL: [Contender; 6] = [
        Contender::Ours,
        Contender::OursClient,
        Contender::Raw,
        Contender::Official,
        Contender::OfficialLean,
        Contender::OfficialSession,
    ];

    /// The name used on the command line and in the report.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Ours => "ours",
            Contender::OursClient => "ours-client",
            Contender::Raw => "raw",
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
            Contender::OursClient => run_ours_client(target, load, timing).await,
            Contender::Raw => run_raw(target, load, timing).await,
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

async fn run_ours_client(target: Target, load: Load, timing: Timing) -> Result<Sample, BoxError> {
    let uri = format!(
        "mongodb://127.0.0.1:{}/?maxPoolSize={}",
        target.port, load.pool_size
    );
    let client = mongopool::Client::connect(&uri).await?;
    let window = Window::after(timing.warmup, timing.measure);
    let cpu = tokio::spawn(cpu::measure(window, target.pid));
    let mut tasks = JoinSet::new();
    for _ in 0..load.tasks {
        let client = client.clone();
        tasks.spawn(async move {
            let mut recorder = Recorder::new(window);
            let ping = bson::rawdoc! {"ping": 1};
            while recorder.keep_going() {
                let began = Instant::now();
                client.run_command("admin", &ping).await?;
                recorder.completed(began);
            }
            Ok::<_, BoxError>(recorder)
        });
    }
    let recorders = join_all(tasks).await;
    client.close().await;
    Ok(Sample::merge(window, recorders?, cpu.await?))
}

/// One OP_MSG `{ping: 1, $db: "admin"}`, encoded once.
fn raw_ping() -> Vec<u8> {
    let body = bson::rawdoc! {"ping": 1, "$db": "admin"};
    let body = body.as_bytes();
    let length = 16 + 4 + 1 + body.len();
    let mut frame = Vec::with_capacity(length);
    frame.extend_from_slice(&(length as i32).to_le_bytes());
    frame.extend_from_slice(&1_i32.to_le_bytes()); // requestID
    frame.extend_from_slice(&0_i32.to_le_bytes()); // responseTo
    frame.extend_from_slice(&2013_i32.to_le_bytes()); // OP_MSG
    frame.extend_from_slice(&0_u32.to_le_bytes()); // flags
    frame.push(0); // section kind 0: the body
    frame.extend_from_slice(body);
    frame
}

async fn run_raw(target: Target, load: Load, timing: Timing) -> Result<Sample, BoxError> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let window = Window::after(timing.warmup, timing.measure);
    let cpu = tokio::spawn(cpu::measure(window, target.pid));
    let mut tasks = JoinSet::new();
    // As many loops as the others have connections: the ceiling for that many.
    for _ in 0..load.pool_size.max(1) {
        tasks.spawn(async move {
            let mut socket = tokio::net::TcpStream::connect(("127.0.0.1", target.port)).await?;
            socket.set_nodelay(true)?;
            let request = raw_ping();
            let mut reply = Vec::with_capacity(256);
            let mut recorder = Recorder::new(window);
            while recorder.keep_going() {
                let began = Instant::now();
                socket.write_all(&request).await?;
                let mut length = [0_u8; 4];
                socket.read_exact(&mut length).await?;
                let length = usize::try_from(i32::from_le_bytes(length))?;
                if !(16..=48_000_000).contains(&length) {
                    return Err(format!("reply of {length} bytes").into());
                }
                reply.resize(length - 4, 0);
                socket.read_exact(&mut reply).await?;
                recorder.completed(began);
            }
            Ok::<_, BoxError>(recorder)
        });
    }
    let recorders = join_all(tasks).await;
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
                Contender::Ours | Contender::OursClient | Contender::Raw => {
                    return Err("not the official driver".into())
                }
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
