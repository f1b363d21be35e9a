//! Time to open 50 SCRAM-SHA-256 authenticated connections, one after the other and
//! all at once, with the process-wide key cache (the default) and without it
//! (`scram_key_cache(false)`), against one SecantusDB server; plus the same number
//! of connections without a login, and of raw TCP connections with one hello, as
//! floors (SecantusDB takes about 5 ms to serve a new connection, mostly waiting).
//!
//! Without the cache every login derives the salted password (PBKDF2, 15000
//! iterations on SecantusDB). With it, only the first login of the process does; so
//! the first "with cache" round is the cold one a new pool pays, and later rounds are
//! warm. Besides wall time it prints the CPU time of this process and of the server
//! process (Linux schedstat), to show on which side the time goes.
//!
//! Run in release mode: `cargo bench -p mongopool --bench auth_key_cache`.

use std::time::{Duration, Instant};

use mongopool::{AuthMechanism, Connection, ConnectionOptions, Credential, ServerAddress};
use mongopool_testkit::{SeedUser, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::runtime::Runtime;

const CONNECTIONS: usize = 50;
const ROUNDS: usize = 3;

fn options(credential: bool, key_cache: bool) -> ConnectionOptions {
    let credential = credential.then(|| Credential {
        username: Some("bench".to_owned()),
        password: Some("bench-password".to_owned()),
        mechanism: Some(AuthMechanism::ScramSha256),
        ..Credential::default()
    });
    ConnectionOptions::builder()
        .credential(credential)
        .scram_key_cache(key_cache)
        .build()
        .expect("options")
}

/// The CPU time of every thread of process `pid` so far (zero where Linux's
/// schedstat is not available). Threads that already ended are not counted.
fn process_cpu(pid: u32) -> Duration {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Duration::ZERO;
    };
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path().join("schedstat");
            let stat = std::fs::read_to_string(path).ok()?;
            stat.split_whitespace().next()?.parse::<u64>().ok()
        })
        .map(Duration::from_nanos)
        .sum()
}

struct Measurement {
    wall: Duration,
    client_cpu: Duration,
    server_cpu: Duration,
}

impl Measurement {
    fn row(&self, label: &str) -> String {
        let per_login = |d: Duration| d.as_secs_f64() * 1000.0 / CONNECTIONS as f64;
        format!(
            "  {label:<24} {:>8.1} ms total  {:>6.2} ms per connection  \
             (CPU per connection: client {:>5.2} ms, server {:>5.2} ms)",
            self.wall.as_secs_f64() * 1000.0,
            per_login(self.wall),
            per_login(self.client_cpu),
            per_login(self.server_cpu),
        )
    }
}

/// Runs `open` (which opens `CONNECTIONS` connections one by one and keeps them
/// open until it returns) and measures it.
fn measure<T>(
    runtime: &Runtime,
    server_pid: u32,
    open: impl std::future::Future<Output = Vec<T>>,
) -> Measurement {
    let me = std::process::id();
    let (client_before, server_before) = (process_cpu(me), process_cpu(server_pid));
    let start = Instant::now();
    let open = runtime.block_on(open);
    let wall = start.elapsed();
    let measurement = Measurement {
        wall,
        client_cpu: process_cpu(me).saturating_sub(client_before),
        server_cpu: process_cpu(server_pid).saturating_sub(server_before),
    };
    assert_eq!(open.len(), CONNECTIONS);
    measurement
}

async fn open_all(address: &ServerAddress, options: &ConnectionOptions) -> Vec<Connection> {
    let mut open = Vec::with_capacity(CONNECTIONS);
    for id in 0..CONNECTIONS {
        let conn = Connection::connect(address, options, id as u64, 0)
            .await
            .expect("connection");
        open.push(conn);
    }
    open
}

/// Opens `CONNECTIONS` connections all at once, as a pool filling up might.
async fn open_concurrently(
    address: &ServerAddress,
    options: &ConnectionOptions,
) -> Vec<Connection> {
    let mut tasks = tokio::task::JoinSet::new();
    for id in 0..CONNECTIONS {
        let (address, options) = (address.clone(), options.clone());
        tasks.spawn(async move {
            Connection::connect(&address, &options, id as u64, 0)
                .await
                .expect("connection")
        });
    }
    tasks.join_all().await
}

/// The floor: TCP connect and one pre-encoded OP_MSG `isMaster`, without the library.
async fn open_raw(address: std::net::SocketAddr) -> Vec<tokio::net::TcpStream> {
    let body = bson::rawdoc! { "isMaster": 1, "$db": "admin" };
    let length = 16 + 5 + body.as_bytes().len();
    let mut hello = Vec::with_capacity(length);
    hello.extend_from_slice(&(length as i32).to_le_bytes());
    hello.extend_from_slice(&1i32.to_le_bytes());
    hello.extend_from_slice(&0i32.to_le_bytes());
    hello.extend_from_slice(&2013i32.to_le_bytes());
    hello.extend_from_slice(&[0, 0, 0, 0, 0]);
    hello.extend_from_slice(body.as_bytes());
    let mut open = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        let mut stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        stream.write_all(&hello).await.expect("write");
        let mut header = [0u8; 16];
        stream.read_exact(&mut header).await.expect("header");
        let length = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let mut rest = vec![0u8; usize::try_from(length).expect("length") - 16];
        stream.read_exact(&mut rest).await.expect("body");
        open.push(stream);
    }
    open
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`; this is a measurement
    // with nothing to check that the tests do not.
    if std::env::args().any(|arg| arg == "--test") {
        println!("auth_key_cache: a measurement, skipped in test mode");
        return;
    }
    let server = TestServer::builder()
        .auth(true)
        .user(SeedUser::scram("bench", "bench-password").mechanisms(["SCRAM-SHA-256"]))
        .start()
        .expect("start secantusd-rs with --auth");
    let server_pid = server.pid().expect("running");
    let address = ServerAddress::tcp(server.host(), server.port());
    let runtime = Runtime::new().expect("tokio runtime");
    let (no_login, with_cache, without_cache) = (
        options(false, true),
        options(true, true),
        options(true, false),
    );

    println!(
        "{CONNECTIONS} connections, SCRAM-SHA-256 logins, {} client threads:",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    for round in 1..=ROUNDS {
        let cache_state = if round == 1 { "cold" } else { "warm" };
        let raw = measure(&runtime, server_pid, open_raw(server.address()));
        let floor = measure(&runtime, server_pid, open_all(&address, &no_login));
        let without = measure(&runtime, server_pid, open_all(&address, &without_cache));
        let with = measure(&runtime, server_pid, open_all(&address, &with_cache));
        println!("round {round}, one after the other:");
        println!("{}", raw.row("raw TCP + isMaster"));
        println!("{}", floor.row("no login"));
        println!("{}", without.row("login, no key cache"));
        println!("{}", with.row(&format!("login, key cache ({cache_state})")));
        println!(
            "  without cache / with cache: {:.2}x wall, {:.2}x client CPU",
            without.wall.as_secs_f64() / with.wall.as_secs_f64(),
            without.client_cpu.as_secs_f64() / with.client_cpu.as_secs_f64()
        );
        let floor = measure(&runtime, server_pid, open_concurrently(&address, &no_login));
        let without = measure(
            &runtime,
            server_pid,
            open_concurrently(&address, &without_cache),
        );
        let with = measure(
            &runtime,
            server_pid,
            open_concurrently(&address, &with_cache),
        );
        println!("round {round}, all at once:");
        println!("{}", floor.row("no login"));
        println!("{}", without.row("login, no key cache"));
        println!("{}", with.row("login, key cache (warm)"));
        println!(
            "  without cache / with cache: {:.2}x wall, {:.2}x client CPU",
            without.wall.as_secs_f64() / with.wall.as_secs_f64(),
            without.client_cpu.as_secs_f64() / with.client_cpu.as_secs_f64()
        );
    }
    drop(server);
}
