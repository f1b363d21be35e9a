//! What the proxy costs: 64 clients run `ping` and find-by-`_id` against SecantusDB
//! directly and through the proxy, in alternating rounds of the same run, and the
//! bench prints the added p50 latency, the throughput ratio and the proxy's CPU time
//! per forwarded request.
//!
//! The proxy runs in a child process (this binary, `--serve-proxy URI`), so its CPU
//! time is its own: the sum of `/proc/PID/task/*/schedstat` (nanoseconds on a CPU)
//! before and after each round. The server's CPU per request is shown the same way.
//!
//! `cargo bench -p mongopool-proxy --bench proxy_overhead -- [--clients 64]
//! [--rounds 4] [--secs 2] [--pool 64] [--proxy-threads 1] [--pause-ms 0]`
//!
//! By default every client sends its next request as soon as the last is answered:
//! the machine's CPUs are saturated, so the throughput ratio is what the proxy costs
//! at full load, and the p50 latencies are mostly queueing (64 requests in flight
//! share the CPUs with the proxy). With `--pause-ms N` each client sends one request
//! every N ms (their schedules spread evenly over the N ms): at `--pause-ms 20` the
//! 64 clients send 3,200 requests a second, far from saturation, and the added p50
//! is the proxy's own latency, the extra hop.
//! (`$MONGOPOOL_SECANTUSD`: the server binary). Targets (issue 14): added p50 under
//! 50 µs on loopback, throughput at least 0.8x direct.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::{rawdoc, RawDocumentBuf};
use mongopool::{CommandOptions, Connection, ConnectionOptions, ConnectionString, ServerAddress};
use mongopool_proxy::{Proxy, ProxyOptions};
use mongopool_testkit::TestServer;

const DOCS: i32 = 1_000;

struct Args {
    clients: usize,
    rounds: usize,
    secs: f64,
    pool: usize,
    proxy_threads: usize,
    /// Zero: back to back.
    pause: Duration,
}

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve-proxy") {
        let threads = arg(&args, "--proxy-threads", 1usize);
        serve_proxy(&args[i + 1], threads);
        return;
    }
    let args = Args {
        clients: arg(&args, "--clients", 64),
        rounds: arg(&args, "--rounds", 4),
        secs: arg(&args, "--secs", 2.0),
        pool: arg(&args, "--pool", 64),
        proxy_threads: arg(&args, "--proxy-threads", 1),
        pause: Duration::from_millis(arg(&args, "--pause-ms", 0)),
    };
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(bench(args));
}

/// The child: a proxy on a runtime of `threads` workers, its port on stdout, until
/// stdin closes (the parent went away).
fn serve_proxy(uri: &str, threads: usize) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let uri = ConnectionString::parse(uri).expect("the proxy's URI");
        let proxy = Proxy::start(ProxyOptions::new("127.0.0.1:0".parse().unwrap(), uri))
            .await
            .expect("start the proxy");
        println!("{}", proxy.local_addr().port());
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            while std::io::stdin().read_line(&mut line).unwrap_or(0) > 0 {}
        })
        .await
        .ok();
        proxy.shutdown(Duration::from_secs(1)).await;
    });
}

struct ProxyProcess(Child);

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn bench(args: Args) {
    let server = TestServer::start().expect("start secantusd-rs");
    let server_pid = server.pid().expect("a running server");
    let mut setup = connect(server.port()).await;
    let docs: Vec<RawDocumentBuf> = (0..DOCS)
        .map(|i| rawdoc! {"_id": i, "name": format!("user{i}"), "score": i * 7})
        .collect();
    let mut insert = rawdoc! {"insert": "users"};
    insert.append(
        bson::raw::cstr!("documents"),
        docs.into_iter()
            .map(bson::RawBson::Document)
            .collect::<bson::RawArrayBuf>(),
    );
    run(&mut setup, &insert).await;

    let mut child = ProxyProcess(
        Command::new(std::env::current_exe().expect("this binary"))
            .arg("--serve-proxy")
            .arg(format!("{}/?maxPoolSize={}", server.uri(), args.pool))
            .arg("--proxy-threads")
            .arg(args.proxy_threads.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the proxy process"),
    );
    let proxy_pid = child.0.id();
    let mut port_line = String::new();
    BufReader::new(child.0.stdout.take().expect("its stdout"))
        .read_line(&mut port_line)
        .expect("the proxy's port");
    let proxy_port: u16 = port_line.trim().parse().expect("a port");

    let mut direct = Vec::new();
    let mut proxied = Vec::new();
    for _ in 0..args.clients {
        direct.push(connect(server.port()).await);
        proxied.push(connect(proxy_port).await);
    }
    println!(
        "proxy overhead: {} clients, {} rounds of {}s per side and workload, proxy pool {}, \
         proxy worker threads {}, {} CPUs, {}",
        args.clients,
        args.rounds,
        args.secs,
        args.pool,
        args.proxy_threads,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if args.pause.is_zero() {
            "requests back to back (saturated)".to_owned()
        } else {
            format!("one request per client every {:?}", args.pause)
        }
    );
    let round = Duration::from_secs_f64(args.secs);
    for workload in [Workload::Ping, Workload::FindById] {
        // A short warm-up of both sides, not counted.
        direct = run_round(direct, workload, Duration::from_millis(300), args.pause)
            .await
            .0;
        proxied = run_round(proxied, workload, Duration::from_millis(300), args.pause)
            .await
            .0;
        let mut totals = [Totals::default(), Totals::default()];
        for r in 0..args.rounds {
            // Alternate which side goes first, so drift on the machine hits both.
            let order = if r % 2 == 0 { [0, 1] } else { [1, 0] };
            for side in order {
                let conns = std::mem::take(if side == 0 { &mut direct } else { &mut proxied });
                let proxy_cpu = cpu_ns(proxy_pid);
                let server_cpu = cpu_ns(server_pid);
                let (conns, latencies, elapsed) =
                    run_round(conns, workload, round, args.pause).await;
                let t = &mut totals[side];
                t.proxy_cpu_ns += cpu_ns(proxy_pid) - proxy_cpu;
                t.server_cpu_ns += cpu_ns(server_pid) - server_cpu;
                t.elapsed += elapsed;
                t.latencies.extend(latencies);
                *(if side == 0 { &mut direct } else { &mut proxied }) = conns;
            }
        }
        report(workload, &mut totals, args.pause);
    }
    drop(child.0.stdin.take());
}

#[derive(Default)]
struct Totals {
    latencies: Vec<u32>,
    elapsed: Duration,
    proxy_cpu_ns: u64,
    server_cpu_ns: u64,
}

fn report(workload: Workload, totals: &mut [Totals; 2], pause: Duration) {
    let stats: Vec<(f64, f64, f64)> = totals
        .iter_mut()
        .map(|t| {
            t.latencies.sort_unstable();
            let pct = |p: f64| {
                let i = ((t.latencies.len() as f64 - 1.0) * p).round() as usize;
                f64::from(t.latencies.get(i).copied().unwrap_or(0)) / 1000.0
            };
            let throughput = t.latencies.len() as f64 / t.elapsed.as_secs_f64();
            (pct(0.5), pct(0.99), throughput)
        })
        .collect();
    let [(d50, d99, dput), (p50, p99, pput)] = [stats[0], stats[1]];
    let per_req = |ns: u64, n: usize| ns as f64 / n.max(1) as f64 / 1000.0;
    let n_proxy = totals[1].latencies.len();
    let n_direct = totals[0].latencies.len();
    println!("{}:", workload.name());
    println!(
        "  direct : p50 {d50:7.1} µs  p99 {d99:7.1} µs  {dput:9.0} req/s  server CPU {:.1} µs/req",
        per_req(totals[0].server_cpu_ns, n_direct)
    );
    println!(
        "  proxied: p50 {p50:7.1} µs  p99 {p99:7.1} µs  {pput:9.0} req/s  server CPU {:.1} µs/req  \
         proxy CPU {:.1} µs/req",
        per_req(totals[1].server_cpu_ns, n_proxy),
        per_req(totals[1].proxy_cpu_ns, n_proxy)
    );
    if pause.is_zero() {
        println!(
            "  => added p50 {:+.1} µs (target < 50), throughput {:.2}x direct (target >= 0.8)",
            p50 - d50,
            pput / dput
        );
    } else {
        println!(
            "  => added p50 {:+.1} µs, p99 {:+.1} µs (target < 50 for p50); throughput is \
             set by --pause-ms here, not measured",
            p50 - d50,
            p99 - d99
        );
    }
}

#[derive(Clone, Copy)]
enum Workload {
    Ping,
    FindById,
}

impl Workload {
    fn name(self) -> &'static str {
        match self {
            Workload::Ping => "ping",
            Workload::FindById => "find by _id",
        }
    }
}

/// Every connection runs `workload` until `length` has passed, back to back or (with
/// a `pause`) one request per `pause`, the connections' schedules spread evenly over
/// it; returns the connections, each request's latency in nanoseconds (from its
/// sending to its reply) and the round's length.
async fn run_round(
    conns: Vec<Connection>,
    workload: Workload,
    length: Duration,
    pause: Duration,
) -> (Vec<Connection>, Vec<u32>, Duration) {
    let started = Instant::now();
    let deadline = started + length;
    let clients = conns.len() as u32;
    let barrier = Arc::new(tokio::sync::Barrier::new(conns.len()));
    let tasks: Vec<_> = conns
        .into_iter()
        .enumerate()
        .map(|(i, mut conn)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut next = tokio::time::Instant::now() + pause * i as u32 / clients;
                let mut latencies = Vec::with_capacity(20_000);
                let mut n = i as i32;
                let ping = rawdoc! {"ping": 1};
                while Instant::now() < deadline {
                    if !pause.is_zero() {
                        tokio::time::sleep_until(next).await;
                        next += pause;
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    n = (n + 37) % DOCS;
                    let cmd = match workload {
                        Workload::Ping => ping.clone(),
                        Workload::FindById => {
                            rawdoc! {"find": "users", "filter": {"_id": n}, "limit": 1, "singleBatch": true}
                        }
                    };
                    let sent = Instant::now();
                    let reply = run(&mut conn, &cmd).await;
                    latencies.push(sent.elapsed().as_nanos().min(u128::from(u32::MAX)) as u32);
                    debug_assert!(reply.get_f64("ok").ok() == Some(1.0));
                }
                (conn, latencies)
            })
        })
        .collect();
    let mut conns = Vec::new();
    let mut latencies = Vec::new();
    for t in tasks {
        let (conn, l) = t.await.expect("a client task");
        conns.push(conn);
        latencies.extend(l);
    }
    (conns, latencies, started.elapsed())
}

async fn connect(port: u16) -> Connection {
    let cs = ConnectionString::parse(&format!("mongodb://127.0.0.1:{port}/")).unwrap();
    let options = ConnectionOptions::from_connection_string(&cs).unwrap();
    Connection::connect(&ServerAddress::tcp("127.0.0.1", port), &options, 0, 0)
        .await
        .expect("connect")
}

async fn run(conn: &mut Connection, cmd: &bson::RawDocument) -> RawDocumentBuf {
    let reply = conn
        .command("bench", cmd, &CommandOptions::unchecked())
        .await
        .expect("a reply");
    assert!(
        reply.get_f64("ok").ok() == Some(1.0) || reply.get_i32("ok").ok() == Some(1),
        "the command failed: {reply:?}"
    );
    reply
}

/// Nanoseconds process `pid` has spent on a CPU, over all its threads.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter_map(|t| std::fs::read_to_string(t.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}
