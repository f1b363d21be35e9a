//! The CMAP spec runner: reads every `*.json` file of the cmap-format directory, runs it,
//! prints one line per file and the totals, and fails on any failure.

pub mod connectors;
pub mod executor;
pub mod format;
pub mod matching;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mongopool::pool::{Pool, PoolOptions};
use mongopool::ServerAddress;

use connectors::{EmulatedFailPoint, SpecConnector};
use executor::{run_file, EventLog};
use format::{PoolOptionsSpec, SpecFile, Style};

/// The longest one file may take before it counts as hung.
const FILE_DEADLINE: Duration = Duration::from_secs(60);

/// How a file is run.
enum Backend {
    /// A unit-style file: connections are made at once, no server.
    Mock,
    /// An integration-style file, its fail point emulated by the connector.
    EmulatedFailPoint(EmulatedFailPoint),
}

impl Backend {
    fn for_file(file: &SpecFile) -> Result<Backend, String> {
        match (file.style, &file.fail_point) {
            (Style::Unit, _) => Ok(Backend::Mock),
            (Style::Integration, Some(fp)) => Ok(Backend::EmulatedFailPoint(
                EmulatedFailPoint::new(fp.clone())?,
            )),
            (Style::Integration, None) => Ok(Backend::Mock),
        }
    }

    fn outcome(&self, file: &SpecFile) -> String {
        match (self, &file.fail_point) {
            (Backend::EmulatedFailPoint(_), Some(fp)) => {
                let run_on: Vec<String> = file.run_on.iter().map(format::RunOn::describe).collect();
                let run_on = match run_on.is_empty() {
                    true => String::new(),
                    false => format!(
                        "; runOn {} applies to a real server only",
                        run_on.join(" or ")
                    ),
                };
                format!("passed (emulated fail point: {}{run_on})", fp.describe())
            }
            _ => "passed".to_string(),
        }
    }
}

fn pool_options(spec: &PoolOptionsSpec, events: &Arc<EventLog>) -> Result<PoolOptions, String> {
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
    if let Some(ms) = spec.background_thread_interval_ms {
        b = b.maintenance_interval(u64::try_from(ms).ok().map(Duration::from_millis));
    }
    let log = events.clone();
    b = b.event_handler(Arc::new(move |e| log.push(e)));
    b.build().map_err(|e| format!("invalid poolOptions: {e}"))
}

/// Runs one file; `Ok` carries the line to print after the file name.
fn run_one(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("unreadable: {e}"))?;
    let file = SpecFile::parse(&text)?;
    let backend = Backend::for_file(&file)?;
    let outcome = backend.outcome(&file);
    let events = Arc::new(EventLog::default());
    let options = pool_options(&file.pool_options, &events)?;
    let connector = SpecConnector {
        app_name: file.pool_options.app_name.clone(),
        fail_point: match backend {
            Backend::Mock => None,
            Backend::EmulatedFailPoint(fp) => Some(fp),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .map_err(|e| format!("no runtime: {e}"))?;
    let result = runtime.block_on(async {
        let pool = Pool::new(ServerAddress::tcp("localhost", 27017), options, connector);
        match tokio::time::timeout(FILE_DEADLINE, run_file(&file, pool, events)).await {
            Ok(result) => result,
            Err(_) => Err(format!("did not finish within {FILE_DEADLINE:?}")),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(1));
    result
        .map(|()| outcome)
        .map_err(|why| format!("{why}\n    ({})", file.description))
}

fn spec_dir() -> PathBuf {
    match std::env::var_os("CMAP_SPEC_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec/cmap-format"),
    }
}

/// Runs every file; the process exit code.
pub fn main() -> i32 {
    if let Err(why) = matching::self_check() {
        println!("the matcher is broken: {why}");
        return 1;
    }
    let dir = spec_dir();
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
    let (mut passed, mut failed) = (0, 0);
    for path in &files {
        let name = path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        match run_one(path) {
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
        "cmap-format: {} files, {passed} passed, {failed} failed, 0 skipped",
        files.len()
    );
    i32::from(failed > 0)
}
