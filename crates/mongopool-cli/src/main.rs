//! The `mongopool` command-line tool: ping a server, run a command.
//!
//! ```text
//! mongopool ping --uri mongodb://HOST:PORT [--count N]
//! mongopool run-command --uri mongodb://HOST:PORT [--db admin] '{"serverStatus": 1}'
//! ```
//! Errors are one line on stderr and a non-zero exit status.

mod args;
mod commands;
mod extjson;

use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed = match args::parse(std::env::args().skip(1)) {
        Ok(args::Parsed::Help(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(args::Parsed::Command(c)) => c,
        Err(message) => {
            eprintln!("mongopool: {message}");
            eprintln!("{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mongopool: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(parsed)) {
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
