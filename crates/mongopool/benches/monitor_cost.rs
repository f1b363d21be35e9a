//! What monitoring one server costs: client CPU per heartbeat, and connections held.
//!
//! Against one SecantusDB (a separate process, so the process CPU measured here is the
//! client's alone), a topology with a short heartbeatFrequencyMS monitors the server
//! in polling mode and in streaming mode (awaitable hellos plus the RTT task's hellos),
//! in alternating rounds with an idle baseline of the same length (same runtime, no
//! topology). CPU is the process's user + system time from getrusage; a heartbeat is a
//! ServerHeartbeatSucceeded event. Connections are the server's own count
//! (`serverStatus.connections.current`, less the one asking). A streaming monitor's
//! cost per heartbeat includes its RTT task's hellos (one per heartbeatFrequencyMS),
//! and its awaited replies come as often as the server sends them; the CPU per
//! second of monitoring compares the two modes directly.
//!
//! Run: `cargo bench -p mongopool --bench monitor_cost` (needs `secantusd-rs`, see
//! `scripts/install-test-server`). `MONITOR_COST_ROUNDS` and `MONITOR_COST_WINDOW_MS`
//! change the number of rounds (default 3) and the length of each window (2000 ms).

// The option structs are becoming #[non_exhaustive] (no struct literals outside the
// crate): fields are set on a default value.
#![allow(clippy::field_reassign_with_default)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::doc;
use mongopool::topology::{SdamEvent, TopologySettings};
use mongopool::topology::{Topology, TopologyOptions};
use mongopool::ServerMonitoringMode;
use mongopool::{ConnectionOptions, PoolOptions, ServerAddress};
use mongopool_testkit::TestServer;

const HEARTBEAT: Duration = Duration::from_millis(20);

/// The process's CPU time so far (user + system, every thread, ended ones too).
fn process_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes one `rusage` into the pointer it is given, which points
    // at a zeroed `rusage` we own; RUSAGE_SELF is always a valid target.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            panic!("getrusage: {}", std::io::Error::last_os_error());
        }
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + Duration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

fn server_connections(server: &TestServer) -> i64 {
    let status = server
        .command("admin", doc! { "serverStatus": 1 })
        .expect("serverStatus");
    let connections = status.get_document("connections").expect("connections");
    let current = match connections.get("current") {
        Some(bson::Bson::Int32(n)) => i64::from(*n),
        Some(bson::Bson::Int64(n)) => *n,
        other => panic!("connections.current is {other:?}"),
    };
    // Less the connection that asked.
    current - 1
}

/// Waits (polling the server's count: it has no events to wait on) until it counts
/// `expected` client connections, or gives up after 20 s and says what it saw.
fn settle_connections(server: &TestServer, expected: i64) -> i64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = server_connections(server);
        if now == expected || Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Window {
    cpu: Duration,
    heartbeats: u64,
    connections: i64,
}

/// One window of `length` with a topology monitoring `server` in `mode`.
async fn monitored(server: &TestServer, mode: ServerMonitoringMode, length: Duration) -> Window {
    let succeeded = Arc::new(AtomicU64::new(0));
    let count = succeeded.clone();
    let mut options = TopologyOptions::default();
    options.sdam_event_handler = Some(Arc::new(move |event: SdamEvent| {
        if let SdamEvent::ServerHeartbeatSucceeded { .. } = event {
            count.fetch_add(1, Ordering::Relaxed);
        }
    }));
    let mut settings = TopologySettings::default();
    settings.seeds = vec![ServerAddress::parse(&server.address().to_string()).unwrap()];
    settings.heartbeat_frequency = HEARTBEAT;
    // Else every wait is topped up to the default 500 ms.
    settings.min_heartbeat_frequency = HEARTBEAT;
    settings.server_monitoring_mode = mode;
    let topology = Topology::open(
        settings,
        PoolOptions::default(),
        ConnectionOptions::default(),
        options,
    )
    .unwrap();
    // Warm up: the connections are open and the monitor in its steady state.
    while succeeded.load(Ordering::Relaxed) < 5 {
        tokio::time::sleep(HEARTBEAT).await;
    }
    let cpu = process_cpu();
    let beats = succeeded.load(Ordering::Relaxed);
    tokio::time::sleep(length).await;
    let cpu = process_cpu() - cpu;
    let heartbeats = succeeded.load(Ordering::Relaxed) - beats;
    let connections = server_connections(server);
    topology.close().await;
    Window {
        cpu,
        heartbeats,
        connections,
    }
}

async fn idle(length: Duration) -> Duration {
    let cpu = process_cpu();
    tokio::time::sleep(length).await;
    process_cpu() - cpu
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rounds = env_or("MONITOR_COST_ROUNDS", 3);
    let window = Duration::from_millis(env_or("MONITOR_COST_WINDOW_MS", 2000));
    let server = TestServer::start().expect("start secantusd-rs");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let baseline_connections = settle_connections(&server, 0);
    println!(
        "monitor cost: heartbeatFrequencyMS {}, {rounds} rounds of {} ms windows, \
         server counts {baseline_connections} client connections before",
        HEARTBEAT.as_millis(),
        window.as_millis()
    );
    let modes = [
        ("poll", ServerMonitoringMode::Poll),
        ("stream", ServerMonitoringMode::Stream),
    ];
    let mut per_beat: Vec<(&str, Vec<f64>)> = modes.iter().map(|(n, _)| (*n, vec![])).collect();
    for round in 0..rounds {
        for (i, (name, mode)) in modes.iter().enumerate() {
            let idle_cpu = runtime.block_on(idle(window));
            let w = runtime.block_on(monitored(&server, *mode, window));
            let extra = w.cpu.saturating_sub(idle_cpu);
            let each = micros(extra) / w.heartbeats.max(1) as f64;
            per_beat[i].1.push(each);
            println!(
                "round {round} {name:>6}: {} heartbeats, cpu {:.0} us (idle {:.0} us), \
                 {each:.1} us per heartbeat, {:.0} us per second, {} connections held",
                w.heartbeats,
                micros(w.cpu),
                micros(idle_cpu),
                micros(extra) / window.as_secs_f64(),
                w.connections - baseline_connections,
            );
            let left = settle_connections(&server, baseline_connections);
            assert_eq!(
                left, baseline_connections,
                "the monitor left connections open"
            );
        }
    }
    for (name, mut values) in per_beat {
        values.sort_by(f64::total_cmp);
        let median = values[values.len() / 2];
        println!("{name:>6}: median {median:.1} us of client CPU per heartbeat");
    }
}
