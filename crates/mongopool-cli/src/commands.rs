//! What each command does.

use std::error::Error as StdError;
use std::time::Instant;

use bson::rawdoc;
use mongopool::connection_string::ConnectionString;
use mongopool::{CommandOptions, Connection, ConnectionOptions, Error};

use crate::args::Command;
use crate::extjson;

type Result<T> = std::result::Result<T, Box<dyn StdError>>;

/// Runs one command.
pub async fn run(command: Command) -> Result<()> {
    match command {
        Command::Ping { uri, count } => ping(&uri, count).await,
        Command::RunCommand { uri, db, command } => run_command(&uri, &db, &command).await,
    }
}

/// Connects to the first host of the URI that answers.
async fn connect(uri: &str) -> Result<Connection> {
    let cs = ConnectionString::parse(uri)?;
    for warning in cs.warnings() {
        eprintln!("mongopool: warning: {warning}");
    }
    let cs = cs.resolve().await?;
    let options = ConnectionOptions::from_connection_string(&cs)?;
    let mut last_error: Option<Error> = None;
    for address in cs.hosts() {
        match Connection::connect(address, &options, 1, 0).await {
            Ok(conn) => return Ok(conn),
            Err(e) => last_error = Some(e),
        }
    }
    Err(match last_error {
        Some(e) => e.into(),
        None => "the URI names no host".into(),
    })
}

async fn ping(uri: &str, count: u32) -> Result<()> {
    let mut conn = connect(uri).await?;
    let ping = rawdoc! { "ping": 1_i32 };
    let options = CommandOptions::default();
    let mut total = std::time::Duration::ZERO;
    for _ in 0..count {
        let started = Instant::now();
        conn.command("admin", &ping, &options).await?;
        let rtt = started.elapsed();
        total += rtt;
        println!(
            "ping {}: {:.3} ms",
            conn.address(),
            rtt.as_secs_f64() * 1000.0
        );
    }
    if count > 1 {
        println!(
            "average over {count}: {:.3} ms",
            total.as_secs_f64() * 1000.0 / f64::from(count)
        );
    }
    let build_info = conn
        .command("admin", &rawdoc! { "buildInfo": 1_i32 }, &options)
        .await?;
    let hello = conn.hello();
    println!(
        "server version {}, wire versions {}..{}{}",
        build_info.get_str("version").unwrap_or("unknown"),
        hello.min_wire_version,
        hello.max_wire_version,
        if hello.is_mongos { " (mongos)" } else { "" }
    );
    Ok(())
}

async fn run_command(uri: &str, db: &str, command: &str) -> Result<()> {
    let command = extjson::parse_document(command)?;
    let mut conn = connect(uri).await?;
    let reply = conn
        .command(db, &command, &CommandOptions::default())
        .await?;
    println!("{}", extjson::to_relaxed_json(reply)?);
    Ok(())
}
