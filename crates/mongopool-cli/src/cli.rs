//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// The URI used when neither `--uri` nor `MONGODB_URI` gives one.
pub const DEFAULT_URI: &str = "mongodb://localhost:27017";

/// Talk to a MongoDB server through mongopool: ping it, run a command, put load on it.
#[derive(Debug, Parser)]
#[command(name = "mongopool", version, propagate_version = true)]
pub struct Cli {
    /// The MongoDB connection string (mongodb://[user[:password]@]host[:port][/?options]).
    /// A user without a password is asked for one on the terminal.
    // `hide_env_values`: the help must never print a password taken from MONGODB_URI.
    #[arg(
        long,
        global = true,
        env = "MONGODB_URI",
        hide_env_values = true,
        default_value = DEFAULT_URI
    )]
    pub uri: String,

    /// Print machine-readable JSON on stdout instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// Log to stderr: -v for info, -vv for debug (pool events), -vvv for trace.
    /// RUST_LOG, when set, decides instead.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Action,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Round trips of `{ping: 1}`, then the server's version.
    Ping(PingArgs),
    /// Run one command and print the reply as relaxed extended JSON.
    RunCommand(RunCommandArgs),
    /// Put load on the server through a pool and report throughput and latency.
    Bench(BenchArgs),
    /// The servers of the deployment as the client discovers them: address, type, set
    /// name, round-trip time and pool counts.
    Topology(TopologyArgs),
    /// Accept many client connections and forward their requests over a few server
    /// connections (the pool of `--uri`); SIGTERM drains and stops.
    Proxy(crate::proxy::ProxyArgs),
}

/// `mongopool ping`.
#[derive(Debug, Args)]
pub struct PingArgs {
    /// How many pings.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,

    /// Which server to ping: primary, primaryPreferred, secondary, secondaryPreferred
    /// or nearest. Defaults to the URI's readPreference (primary when it names none).
    #[arg(long)]
    pub read_preference: Option<String>,
}

/// `mongopool run-command`.
#[derive(Debug, Args)]
pub struct RunCommandArgs {
    /// The database to run the command on.
    #[arg(long, default_value = "admin")]
    pub db: String,

    /// The command document in extended JSON, e.g. '{"serverStatus": 1}', or `-` to read
    /// it from stdin.
    pub command: String,

    /// Which server runs it: primary, primaryPreferred, secondary, secondaryPreferred or
    /// nearest. Defaults to the URI's readPreference (primary when it names none).
    #[arg(long)]
    pub read_preference: Option<String>,
}

/// `mongopool topology`.
#[derive(Debug, Args)]
pub struct TopologyArgs {
    /// Keep running and print each change of a server or of the topology (Ctrl-C stops).
    #[arg(long)]
    pub watch: bool,

    /// How long to wait, in seconds, for the first check of every server before
    /// printing.
    #[arg(long, default_value_t = 5.0)]
    pub wait: f64,
}

/// What each operation of a bench does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// `{ping: 1}` on admin: the pool and the round trip, no storage.
    Ping,
    /// `find` of one document by `_id`, out of `--documents` inserted first.
    FindById,
    /// `insert` of one small document.
    Insert,
    /// 80 % find-by-id, 20 % insert.
    Mixed,
}

/// `mongopool bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What each operation does.
    #[arg(long, value_enum, default_value_t = Workload::Ping)]
    pub workload: Workload,

    /// Concurrent tasks, each running operations one after the other.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    pub tasks: u32,

    /// Most connections in the pool.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    pub pool_size: u32,

    /// Where the reads go (`primary`, `primaryPreferred`, `secondary`,
    /// `secondaryPreferred`, `nearest`): every operation goes through the front door
    /// (`mongopool::Client`), which selects a server for it. Inserts always go to a
    /// server that takes writes. [default: the URI's readPreference, else primary]
    #[arg(long, value_name = "MODE", value_parser = parse_read_preference)]
    pub read_preference: Option<mongopool::ReadPreferenceMode>,

    /// Seconds to measure (after the warm-up) [default: 10 unless --count is given].
    #[arg(long, conflicts_with = "count")]
    pub duration: Option<f64>,

    /// Operations to measure (after the warm-up), instead of a duration.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,

    /// Seconds of unmeasured operations first (connections are opened in it).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,

    /// Worker threads of the async runtime [default: the number of CPUs].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub threads: Option<u32>,

    /// The database of the find and insert workloads (its collection is dropped and
    /// filled first).
    #[arg(long, default_value = "mongopool_bench")]
    pub db: String,

    /// The collection of the find and insert workloads.
    #[arg(long, default_value = "bench")]
    pub collection: String,

    /// Documents inserted before a find-by-id or mixed run (their `_id`s are 0..N).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub documents: u32,

    /// Write an SVG of the latency percentiles and the throughput over time to FILE.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

fn parse_read_preference(mode: &str) -> Result<mongopool::ReadPreferenceMode, String> {
    mongopool::ReadPreferenceMode::parse(mode).map_err(|e| e.to_string())
}

impl BenchArgs {
    /// The measured seconds when no `--count` is given.
    pub const DEFAULT_DURATION_SECS: f64 = 10.0;
}
