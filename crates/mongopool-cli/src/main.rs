//! The `mongopool` command-line tool: ping a server, run a command, put load on it.
//!
//! ```text
//! mongopool ping [--uri mongodb://HOST:PORT] [--count N]
//! mongopool run-command [--uri ...] [--db admin] '{"serverStatus": 1}'
//! echo '{"ping": 1}' | mongopool run-command -
//! mongopool bench [--workload ping|find-by-id|insert|mixed] [--tasks 64] [--pool-size 8]
//!                 [--duration SECS | --count N] [--json] [--plot FILE.svg]
//! mongopool proxy [--uri ...] [--listen 127.0.0.1:27018] [--drain-secs 10]
//! ```
//! `--uri` defaults to `$MONGODB_URI`, else `mongodb://localhost:27017`. Errors are one
//! line on stderr and exit status 1; usage errors exit with 2.
#![forbid(unsafe_code)]

mod bench;
mod cli;
mod commands;
mod connect;
mod extjson;
mod logging;
mod proxy;
mod topology;

use std::process::ExitCode;

use clap::Parser;

use cli::{Action, Cli};

/// Any error a command ends with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> ExitCode {
    // clap prints usage errors (an unknown command, a bad value) and exits with 2.
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let runtime = match &cli.command {
        Action::Bench(args) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = args.threads {
                builder.worker_threads(n as usize);
            }
            builder.enable_all().build()
        }
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
    };
    let runtime = match runtime {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mongopool: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match &cli.command {
            Action::Ping(args) => commands::ping(&cli.uri, args, cli.json).await,
            Action::RunCommand(args) => commands::run_command(&cli.uri, args, cli.json).await,
            Action::Bench(args) => bench::run(&cli.uri, args, cli.json).await,
            Action::Proxy(args) => proxy::run(&cli.uri, args).await,
            Action::Topology(args) => topology::run(&cli.uri, args, cli.json).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mongopool: {}", one_line(e.as_ref()));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line.
fn one_line(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
