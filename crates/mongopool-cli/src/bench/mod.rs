//! `mongopool bench`: tasks running operations through the front door (a
//! [`mongopool::Client`]: server selection, then a checkout from that server's pool), a
//! live line, a closing table from an HDR histogram, `--json` and `--plot`.

mod plot;
mod progress;
mod recorder;
mod report;
mod workload;

use std::sync::Arc;
use std::time::{Duration, Instant};

use mongopool::{Client, ReadPreference};
use tokio::task::JoinSet;

use crate::cli::{BenchArgs, Workload};
use crate::{connect, BoxError};
use progress::Progress;
use recorder::{Collector, Recorder, Window};
use report::{Latencies, Report};
use workload::{Plan, Random};

/// How often the live line, and the timeline, get a point.
const TICK: Duration = Duration::from_millis(250);

/// Runs the bench and prints its report.
pub async fn run(uri: &str, args: &BenchArgs, json: bool) -> Result<(), BoxError> {
    let warmup = seconds("--warmup", args.warmup, true)?;
    let duration = match (args.duration, args.count) {
        (Some(d), _) => Some(seconds("--duration", d, false)?),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs_f64(BenchArgs::DEFAULT_DURATION_SECS)),
    };
    // --pool-size is every server pool's maxPoolSize: it goes into the URI, last, so
    // that it wins over the URI's own.
    let cs = connect::resolve(&with_option(
        uri,
        "maxPoolSize",
        &args.pool_size.to_string(),
    ))
    .await?;
    let client = Client::with_connection_string(cs).await?;
    let read_preference = match args.read_preference {
        Some(mode) => ReadPreference::with_mode(mode),
        None => client.read_preference().clone(),
    };
    let plan = Arc::new(Plan::new(
        args.workload,
        &args.db,
        &args.collection,
        args.documents,
    ));
    // One checkout before the clock starts: a wrong address or password is one clear
    // error, not a run full of failures.
    let mut first = client.checkout_for_write().await?;
    let address = first.server().address().clone();
    plan.prepare(&mut first).await?;
    drop(first);

    let start = Instant::now() + warmup;
    let window = Window {
        start,
        end: duration.map(|d| start + d),
    };
    let recorder = Arc::new(Recorder::new(window, args.tasks as usize, args.count));
    let mut tasks = JoinSet::new();
    for task in 0..args.tasks as usize {
        tasks.spawn(run_task(
            task,
            client.clone(),
            read_preference.clone(),
            plan.clone(),
            recorder.clone(),
        ));
    }

    let progress = Progress::new(
        match duration {
            Some(d) => d.as_millis() as u64,
            None => args.count.unwrap_or(0),
        },
        json,
    );
    let mut collector = Collector::new(start);
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + TICK, TICK);
    let done = loop {
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                if let Some(point) = collector.tick(&recorder, now).cloned() {
                    let position = match duration {
                        Some(_) => (now - start).as_millis() as u64,
                        None => collector.total.len(),
                    };
                    progress.update(position, &point);
                }
            }
            joined = tasks.join_next() => match joined {
                Some(result) => result??,
                None => break Instant::now(),
            },
        }
    };
    collector.tick(&recorder, done);
    progress.finish();
    let measured = match window.end {
        Some(end) => end - start,
        None => done.saturating_duration_since(start),
    }
    .as_secs_f64();
    let stats = client
        .topology()
        .pool(&address)
        .map(|pool| pool.stats())
        .unwrap_or_default();
    client.close().await;

    let operations = collector.total.len();
    let report = Report {
        workload: workload_name(args.workload).to_owned(),
        tasks: args.tasks,
        pool_size: args.pool_size,
        threads: tokio::runtime::Handle::current().metrics().num_workers(),
        server: address.to_string(),
        seconds: measured,
        operations,
        errors: recorder.errors(),
        first_error: recorder.first_error(),
        ops_per_sec: operations as f64 / measured.max(1e-9),
        latency_us: Latencies::of(&collector.total),
        pool: stats,
        plot: args.plot.clone(),
        timeline: collector.timeline,
    };
    if let Some(path) = &args.plot {
        let title = format!(
            "mongopool bench {}: {} tasks, pool of {}",
            report.workload, report.tasks, report.pool_size
        );
        plot::write_svg(path, &title, &report.timeline)
            .map_err(|e| format!("cannot write the plot to {}: {e}", path.display()))?;
    }
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        report.print_table();
    }
    if operations == 0 {
        return Err(match report.first_error {
            Some(e) => format!("no operation succeeded; the first error: {e}").into(),
            None => "no operation completed in the measured time".into(),
        });
    }
    Ok(())
}

/// One task: operations one after the other until the recorder says stop.
async fn run_task(
    task: usize,
    client: Client,
    read_preference: ReadPreference,
    plan: Arc<Plan>,
    recorder: Arc<Recorder>,
) -> Result<(), BoxError> {
    let mut random = Random::new(task as u64);
    while let Some(measured) = recorder.next(Instant::now()) {
        let began = Instant::now();
        let operation = plan.choose(random.next());
        let checkout = if operation.is_write() {
            client.checkout_for_write().await
        } else {
            client.checkout(&read_preference).await
        };
        let result = match checkout {
            Ok(mut conn) => plan.run(operation, &mut conn).await,
            Err(e) => Err(e.into()),
        };
        let failed = result.is_err();
        recorder.completed(task, measured, began, result.map_err(|e| e.to_string()));
        if failed {
            // A failing server fails fast: let the other tasks (and the reporter) run.
            tokio::task::yield_now().await;
        }
    }
    Ok(())
}

fn workload_name(w: Workload) -> &'static str {
    match w {
        Workload::Ping => "ping",
        Workload::FindById => "find-by-id",
        Workload::Insert => "insert",
        Workload::Mixed => "mixed",
    }
}

/// `uri` with `key=value` added as its last option.
fn with_option(uri: &str, key: &str, value: &str) -> String {
    let scheme_end = uri.find("://").map_or(0, |i| i + 3);
    if uri.contains('?') {
        format!("{uri}&{key}={value}")
    } else if uri[scheme_end..].contains('/') {
        format!("{uri}?{key}={value}")
    } else {
        format!("{uri}/?{key}={value}")
    }
}

fn seconds(flag: &str, value: f64, zero_ok: bool) -> Result<Duration, BoxError> {
    match Duration::try_from_secs_f64(value) {
        Ok(d) if zero_ok || !d.is_zero() => Ok(d),
        _ => Err(format!(
            "{flag} takes {}seconds, not {value}",
            if zero_ok { "" } else { "a positive number of " }
        )
        .into()),
    }
}
