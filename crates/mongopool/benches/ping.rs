//! A ping round trip through `Connection::command`, next to raw loops that write a
//! pre-encoded OP_MSG ping on a plain TCP stream and read the reply's bytes (header,
//! then as many bytes as it announces; nothing is parsed). Same SecantusDB server,
//! same run, one after the other.
//!
//! Criterion measures each loop; then the three run in alternating rounds and the
//! rates and their ratios are printed (the target: mongopool at least 0.9x the raw
//! tokio loop, which runs on the same current-thread runtime and so differs only by
//! the library; the blocking std loop shows what the async runtime itself costs).
//!
//! Run: `cargo bench -p mongopool --bench ping` (needs `secantusd-rs`, see
//! `scripts/install-test-server`).
//!
//! On a small machine, pin it: `taskset -c 0 target/release/deps/ping-* --bench`.
//! Unpinned, each connection's round trip settles in one of two modes for a whole
//! run (the server's thread on the client's CPU or on another one: about 12 us or
//! 35 us on a 2-core VM), whichever loop it belongs to, so the ratios swing from
//! 0.4x to 2.8x between runs. Pinned, client and server share one CPU and the runs
//! agree within 2 %.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bson::{rawdoc, RawDocumentBuf};
use criterion::Criterion;
use mongopool::{CommandOptions, Connection, ConnectionOptions, ServerAddress};
use mongopool_testkit::TestServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Counts heap allocations, to show that a warm ping allocates nothing (one relaxed
/// atomic add per allocation: the same for every loop measured).
struct CountingAllocator;

static ALLOCATIONS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

// SAFETY: every call is passed on unchanged to the system allocator.
unsafe impl std::alloc::GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::alloc::System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        std::alloc::System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        std::alloc::System.realloc(ptr, layout, size)
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// Heap allocations per call of `run(n)` after a warm-up, on this thread's runtime.
fn allocations_per_ping(mut run: impl FnMut(u64)) -> f64 {
    run(100);
    let before = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
    run(1_000);
    let after = ALLOCATIONS.load(std::sync::atomic::Ordering::Relaxed);
    (after - before) as f64 / 1_000.0
}

const HEADER_LEN: usize = 16;
/// Pings per round of the side-by-side comparison.
const PINGS_PER_ROUND: u32 = 1_000;
const ROUNDS: usize = 31;

/// `{ping: 1, $db: "admin"}` as an OP_MSG, encoded once, before any timing.
fn encoded_ping() -> Vec<u8> {
    let body = rawdoc! { "ping": 1, "$db": "admin" };
    let document = body.as_bytes();
    let length = HEADER_LEN + 5 + document.len();
    let mut message = Vec::with_capacity(length);
    message.extend_from_slice(&(length as i32).to_le_bytes());
    message.extend_from_slice(&1i32.to_le_bytes());
    message.extend_from_slice(&0i32.to_le_bytes());
    message.extend_from_slice(&2013i32.to_le_bytes());
    message.extend_from_slice(&0u32.to_le_bytes());
    message.push(0);
    message.extend_from_slice(document);
    message
}

/// The number of bytes after the header, from the header's messageLength.
fn body_len(header: &[u8; HEADER_LEN]) -> usize {
    let length = i32::from_le_bytes([header[0], header[1], header[2], header[3]]);
    usize::try_from(length)
        .ok()
        .and_then(|length| length.checked_sub(HEADER_LEN))
        .expect("a sane messageLength")
}

struct Ours {
    conn: Connection,
    ping: RawDocumentBuf,
    options: CommandOptions,
}

impl Ours {
    /// `command_borrowed`: the reply lent from the connection's buffer.
    async fn run_borrowed(&mut self, pings: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..pings {
            self.conn
                .command_borrowed("admin", &self.ping, &self.options)
                .await
                .expect("ping");
        }
        start.elapsed()
    }

    async fn run(&mut self, pings: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..pings {
            self.conn
                .command("admin", &self.ping, &self.options)
                .await
                .expect("ping");
        }
        start.elapsed()
    }
}

struct RawTokio {
    stream: tokio::net::TcpStream,
    message: Vec<u8>,
    body: Vec<u8>,
}

impl RawTokio {
    async fn run(&mut self, pings: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..pings {
            self.stream.write_all(&self.message).await.expect("write");
            let mut header = [0u8; HEADER_LEN];
            self.stream.read_exact(&mut header).await.expect("header");
            self.body.resize(body_len(&header), 0);
            self.stream.read_exact(&mut self.body).await.expect("body");
        }
        start.elapsed()
    }
}

struct RawStd {
    stream: std::net::TcpStream,
    message: Vec<u8>,
    body: Vec<u8>,
}

impl RawStd {
    fn run(&mut self, pings: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..pings {
            self.stream.write_all(&self.message).expect("write");
            let mut header = [0u8; HEADER_LEN];
            self.stream.read_exact(&mut header).expect("header");
            self.body.resize(body_len(&header), 0);
            self.stream.read_exact(&mut self.body).expect("body");
        }
        start.elapsed()
    }
}

/// Wall time and this thread's CPU time of one loop. On a current-thread runtime the
/// whole client runs on this thread; the server's time is not in `cpu`.
struct Sample {
    wall: Duration,
    cpu: Duration,
}

impl Sample {
    fn measure(run: impl FnOnce() -> Duration) -> Sample {
        let before = thread_cpu();
        let wall = run();
        Sample {
            wall,
            cpu: thread_cpu().saturating_sub(before),
        }
    }
}

/// The calling thread's CPU time so far, from Linux's schedstat (zero elsewhere).
fn thread_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .map(Duration::from_nanos)
        .unwrap_or_default()
}

fn rate(pings: u32, elapsed: Duration) -> f64 {
    f64::from(pings) / elapsed.as_secs_f64()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let server = TestServer::start().expect("start secantusd-rs");
    let address: SocketAddr = server.address();
    // One thread: the future and the IO driver on the same thread, so that the raw
    // tokio loop pays no cross-thread wake-ups and the comparison isolates the
    // library's own cost.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");

    let mut ours = runtime.block_on(async {
        let conn = Connection::connect(
            &ServerAddress::tcp(server.host(), server.port()),
            &ConnectionOptions::default(),
            1,
            0,
        )
        .await
        .expect("connect");
        Ours {
            conn,
            ping: rawdoc! { "ping": 1 },
            options: CommandOptions::default(),
        }
    });
    let mut raw_tokio = runtime.block_on(async {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        RawTokio {
            stream,
            message: encoded_ping(),
            body: Vec::new(),
        }
    });
    let stream = std::net::TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut raw_std = RawStd {
        stream,
        message: encoded_ping(),
        body: Vec::new(),
    };

    let mut criterion = Criterion::default().configure_from_args();
    let mut group = criterion.benchmark_group("ping");
    group.bench_function("mongopool Connection::command", |b| {
        b.iter_custom(|iters| runtime.block_on(ours.run(iters)))
    });
    group.bench_function("raw tokio TcpStream", |b| {
        b.iter_custom(|iters| runtime.block_on(raw_tokio.run(iters)))
    });
    group.bench_function("raw std TcpStream", |b| {
        b.iter_custom(|iters| raw_std.run(iters))
    });
    group.finish();
    if std::env::args().any(|arg| arg == "--test") {
        // `cargo test --benches`: each loop ran once above; no measurement wanted.
        return;
    }

    // Side by side, in rounds that rotate which loop goes first, so that the load
    // of a shared machine hits all three alike.
    let pings = u64::from(PINGS_PER_ROUND);
    let mut samples: [Vec<Sample>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for round in 0..ROUNDS {
        for turn in 0..3 {
            let which = (round + turn) % 3;
            let sample = Sample::measure(|| match which {
                0 => runtime.block_on(ours.run(pings)),
                1 => runtime.block_on(raw_tokio.run(pings)),
                _ => raw_std.run(pings),
            });
            samples[which].push(sample);
        }
    }
    let [ours_samples, tokio_samples, std_samples] = samples;
    let rates = |samples: &[Sample]| -> Vec<f64> {
        samples
            .iter()
            .map(|s| rate(PINGS_PER_ROUND, s.wall))
            .collect()
    };
    let cpu_us = |samples: &[Sample]| -> f64 {
        median(
            samples
                .iter()
                .map(|s| s.cpu.as_secs_f64() * 1e6 / f64::from(PINGS_PER_ROUND))
                .collect(),
        )
    };
    let pairwise = |a: &[Sample], b: &[Sample]| -> f64 {
        median(
            a.iter()
                .zip(b)
                .map(|(a, b)| b.wall.as_secs_f64() / a.wall.as_secs_f64())
                .collect(),
        )
    };
    let (ours_rate, tokio_rate, std_rate) = (
        median(rates(&ours_samples)),
        median(rates(&tokio_samples)),
        median(rates(&std_samples)),
    );
    println!(
        "\nping, {ROUNDS} rounds of {PINGS_PER_ROUND} (median rate; median client CPU per ping, \
         this thread only):\n  \
         mongopool Connection::command  {ours_rate:>9.0} pings/s  {:>6.2} us CPU\n  \
         raw tokio TcpStream            {tokio_rate:>9.0} pings/s  {:>6.2} us CPU\n  \
         raw std TcpStream              {std_rate:>9.0} pings/s  {:>6.2} us CPU\n  \
         mongopool / raw tokio: {:.3} (ratio of medians), {:.3} (median of per-round ratios)\n  \
         mongopool / raw std:   {:.3} (ratio of medians), {:.3} (median of per-round ratios)\n  \
         client CPU per ping, mongopool / raw tokio: {:.3}",
        cpu_us(&ours_samples),
        cpu_us(&tokio_samples),
        cpu_us(&std_samples),
        ours_rate / tokio_rate,
        pairwise(&ours_samples, &tokio_samples),
        ours_rate / std_rate,
        pairwise(&ours_samples, &std_samples),
        cpu_us(&ours_samples) / cpu_us(&tokio_samples),
    );
    println!(
        "  heap allocations per warm ping: Connection::command {:.2}, \
         Connection::command_borrowed {:.2}, raw tokio {:.2}",
        allocations_per_ping(|n| {
            runtime.block_on(ours.run(n));
        }),
        allocations_per_ping(|n| {
            runtime.block_on(ours.run_borrowed(n));
        }),
        allocations_per_ping(|n| {
            runtime.block_on(raw_tokio.run(n));
        }),
    );
    // A read on a direct connection with secondaryOk (what a Client sends to a
    // standalone): the `$readPreference: {mode: "primaryPreferred"}` it carries is
    // built once, not per command.
    ours.options.secondary_ok = true;
    println!(
        "  heap allocations per warm ping with secondaryOk: Connection::command_borrowed {:.2}",
        allocations_per_ping(|n| {
            runtime.block_on(ours.run_borrowed(n));
        }),
    );

    criterion.final_summary();
    drop(server);
}
