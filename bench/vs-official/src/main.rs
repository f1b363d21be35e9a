//! mongopool against the official MongoDB Rust driver: `{ping: 1}` on `admin`,
//! many tasks over a small pool, then one task over a pool of one, on one
//! SecantusDB server started through `mongopool_testkit`.

mod args;
mod contender;
mod cpu;
mod report;
mod window;

use std::process::ExitCode;
use std::time::Duration;

use args::Args;
use contender::{BoxError, Load, Target};
use mongopool_testkit::TestServer;
use report::Measured;

/// Pause between phases, unmeasured.
const SETTLE: Duration = Duration::from_millis(500);

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("benchmark failed: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), BoxError> {
    let server = TestServer::start()?;
    // Two workers: the machine has two cores, which the server shares.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    println!(
        "secantusd-rs {} pid {:?} on {}; tokio multi-thread, 2 workers; {} cores; loadavg {}",
        mongopool_testkit::secantus_version(),
        server.pid(),
        server.address(),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        loadavg(),
    );
    println!(
        "each phase: {:?} warm-up, {:?} measured; {} round(s)",
        args.timing.warmup, args.timing.measure, args.rounds
    );
    let target = Target {
        port: server.port(),
        pid: server.pid(),
    };
    let mut loads = Vec::new();
    if args.run_concurrent {
        loads.push(("concurrent", args.concurrent));
    }
    if args.run_serial {
        loads.push((
            "serial",
            Load {
                tasks: 1,
                pool_size: 1,
            },
        ));
    }
    let mut summaries = Vec::new();
    for (label, load) in loads {
        let mut results = Vec::new();
        for round in 1..=args.rounds {
            for &contender in &args.contenders {
                // Lets the previous client's connections close on the server before
                // the next one starts.
                std::thread::sleep(SETTLE);
                let sample = runtime.block_on(contender.run(target, load, args.timing))?;
                let measured = Measured {
                    round,
                    contender,
                    sample,
                };
                report::print_phase(label, &measured);
                if args.detail {
                    report::print_tail(&measured);
                }
                results.push(measured);
            }
        }
        summaries.push((label, load, results));
    }
    for (label, load, results) in &summaries {
        report::print_summary(label, *load, &args.contenders, results);
    }
    println!("\nloadavg at the end {}", loadavg());
    drop(runtime);
    drop(server);
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".to_owned())
}
