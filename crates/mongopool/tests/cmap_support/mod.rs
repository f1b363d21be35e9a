//! The CMAP spec runner: reads every `*.json` file of the cmap-format directory, runs it,
//! prints one line per file and the totals, and fails on any failure.

pub mod connectors;
pub mod executor;
pub mod fail_point_support;
pub mod format;
pub mod matching;
pub mod real_server;

use std::cell::OnceCell;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mongopool::{ConnectionOptions, MongoPool, ServerAddress};
use mongopool::{Connector, Pool, PoolOptions};

use crate::support::Recorder;
use connectors::{EmulatedFailPoint, SpecConnector};
use executor::{run_file, OwnId};
use format::{PoolOptionsSpec, SpecFile, Style};
use real_server::RealServer;

/// The longest one file may take before it counts as hung.
const FILE_DEADLINE: Duration = Duration::from_secs(60);

/// The real server of this run: started when the first integration-style file needs
/// it, or why there is none.
type RealServerSlot = OnceCell<Result<RealServer, String>>;

/// How a file is run.
enum Backend<'a> {
    /// A unit-style file: connections are made at once, no server.
    Mock,
    /// An integration-style file on SecantusDB, with the real connector.
    Real(&'a RealServer),
    /// An integration-style file that cannot run on SecantusDB (`why`): its fail point,
    /// if it has one, is emulated by the connector.
    Emulated {
        fail_point: Option<Box<EmulatedFailPoint>>,
        why: String,
    },
}

fn start_real_server() -> Result<RealServer, String> {
    let started = RealServer::start();
    match &started {
        Ok(server) => server.describe().iter().for_each(|l| println!("{l}")),
        Err(why) => println!("integration-style files run on the emulation: {why}"),
    }
    started
}

impl<'a> Backend<'a> {
    fn for_file(file: &SpecFile, real: &'a RealServerSlot) -> Result<Backend<'a>, String> {
        if file.style == Style::Unit {
            return Ok(Backend::Mock);
        }
        let why = match real.get_or_init(start_real_server) {
            Ok(server) => match server.unsuitable_for(file)? {
                None => return Ok(Backend::Real(server)),
                Some(why) => why,
            },
            Err(why) => why.clone(),
        };
        let fail_point = file
            .fail_point
            .clone()
            .map(|fp| EmulatedFailPoint::new(fp).map(Box::new))
            .transpose()?;
        Ok(Backend::Emulated { fail_point, why })
    }

    fn outcome(&self, file: &SpecFile) -> String {
        match (self, &file.fail_point) {
            (Backend::Mock, _) => "passed".to_string(),
            (Backend::Real(_), _) => "passed (SecantusDB)".to_string(),
            (Backend::Emulated { why, .. }, None) => {
                format!("passed (no server, no fail point; not on SecantusDB: {why})")
            }
            (Backend::Emulated { why, .. }, Some(fp)) => {
                let run_on: Vec<String> = file.run_on.iter().map(format::RunOn::describe).collect();
                let run_on = match run_on.is_empty() {
                    true => String::new(),
                    false => format!(
                        "; runOn {} applies to a real server only",
                        run_on.join(" or ")
                    ),
                };
                format!(
                    "passed (emulated fail point: {}{run_on}; not on SecantusDB: {why})",
                    fp.describe()
                )
            }
        }
    }
}

fn pool_options(spec: &PoolOptionsSpec, events: &Arc<Recorder>) -> Result<PoolOptions, String> {
    let mut b = PoolOptions::builder();
    if let Some(n) = spec.max_pool_size {
        b = b.max_pool_size(n);
    }
    if let Some(n) = spec.min_pool_size {
        b = b.min_pool_size(n);
    }
    if let Some(ms) = spec.max_idle_time_ms {
        b = b.max_idle_time(Duration::from_millis(ms));
    }
    if let Some(ms) = spec.wait_queue_timeout_ms {
        b = b.wait_queue_timeout(Duration::from_millis(ms));
    }
    if let Some(n) = spec.max_connecting {
        b = b.max_connecting(n);
    }
    if let Some(m) = spec.wait_queue_multiple {
        b = b.wait_queue_multiple(m);
    }
    if let Some(ms) = spec.background_thread_interval_ms {
        b = b.maintenance_interval(u64::try_from(ms).ok().map(Duration::from_millis));
    }
    b = b.event_handler(Arc::clone(events) as Arc<dyn mongopool::events::CmapEventHandler>);
    b.build().map_err(|e| format!("invalid poolOptions: {e}"))
}

/// Runs `file` on a runtime of its own against the pool `make_pool` makes there.
fn run_on_runtime<C>(
    file: &SpecFile,
    events: Arc<Recorder>,
    make_pool: impl FnOnce() -> Pool<C>,
) -> Result<(), String>
where
    C: Connector<Connection: OwnId>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    let result = runtime.block_on(async {
        // Made inside the runtime, so its background task starts there.
        let pool = make_pool();
        match tokio::time::timeout(FILE_DEADLINE, run_file(file, pool, events)).await {
            Ok(result) => result,
            Err(_) => Err(format!("did not finish within {FILE_DEADLINE:?}")),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
}

/// Runs `file` on SecantusDB: its fail point on for the file, off after it.
fn run_real(
    file: &SpecFile,
    server: &RealServer,
    options: PoolOptions,
    events: Arc<Recorder>,
) -> Result<(), String> {
    // The appName goes into the handshake's metadata, which scopes the fail point.
    let connection_options = ConnectionOptions::builder()
        .app_name(file.pool_options.app_name.clone())
        .build()
        .map_err(|e| format!("invalid connection options: {e}"))?;
    if let Some(fp) = &file.fail_point {
        server.enable_fail_point(&fp.raw)?;
    }
    let result = run_on_runtime(file, events, || {
        MongoPool::with_options(server.address(), options, connection_options)
    });
    let turned_off = match &file.fail_point {
        Some(_) => server.disable_fail_point(),
        None => Ok(()),
    };
    result.and(turned_off)
}

/// Runs one file; `Ok` carries the line to print after the file name.
fn run_one(path: &Path, real: &RealServerSlot) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("unreadable: {e}"))?;
    let file = SpecFile::parse(&text)?;
    let backend = Backend::for_file(&file, real)?;
    let outcome = backend.outcome(&file);
    let events = Arc::new(Recorder::default());
    let options = pool_options(&file.pool_options, &events)?;
    let result = match backend {
        Backend::Real(server) => run_real(&file, server, options, events),
        Backend::Mock | Backend::Emulated { .. } => {
            let connector = SpecConnector {
                app_name: file.pool_options.app_name.clone(),
                fail_point: match backend {
                    Backend::Emulated { fail_point, .. } => fail_point.map(|fp| *fp),
                    _ => None,
                },
            };
            run_on_runtime(&file, events, || {
                Pool::new(ServerAddress::tcp("localhost", 27017), options, connector)
            })
        }
    };
    result
        .map(|()| outcome)
        .map_err(|why| format!("{why}\n    ({})", file.description))
}

fn spec_dir(env_var: &str, default: &str) -> PathBuf {
    match std::env::var_os(env_var) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join(default),
    }
}

/// Runs every file of `default` (under the crate), or of the directory `env_var` names;
/// the process exit code.
pub fn main_in(env_var: &str, default: &str) -> i32 {
    if let Err(why) = matching::self_check() {
        println!("the matcher is broken: {why}");
        return 1;
    }
    let dir = spec_dir(env_var, default);
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect(),
        Err(e) => {
            println!("cannot read {}: {e}", dir.display());
            return 1;
        }
    };
    files.sort();
    if files.is_empty() {
        println!("no *.json files in {}", dir.display());
        return 1;
    }
    println!("CMAP spec tests from {}", dir.display());
    let real = RealServerSlot::new();
    let (mut passed, mut failed) = (0, 0);
    for path in &files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match run_one(path, &real) {
            Ok(line) => {
                passed += 1;
                println!("{name}: {line}");
            }
            Err(why) => {
                failed += 1;
                println!("{name}: FAILED: {why}");
            }
        }
    }
    println!(
        "{}: {} files, {passed} passed, {failed} failed, 0 skipped",
        dir.file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        files.len()
    );
    i32::from(failed > 0)
}
