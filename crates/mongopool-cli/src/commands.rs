//! `ping` and `run-command`.

use std::io::Read;
use std::time::Instant;

use bson::rawdoc;
use mongopool::{Client, ReadPreference, ReadPreferenceMode};
use serde::Serialize;

use crate::cli::{PingArgs, RunCommandArgs};
use crate::{connect, extjson, BoxError};

/// What `ping --json` prints.
#[derive(Debug, Serialize)]
struct PingReport {
    address: String,
    rtt_ms: Vec<f64>,
    average_ms: f64,
    server_version: Option<String>,
    min_wire_version: i32,
    max_wire_version: i32,
    mongos: bool,
}

/// `mongopool ping`.
pub async fn ping(uri: &str, args: &PingArgs, json: bool) -> Result<(), BoxError> {
    let cs = connect::resolve(uri).await?;
    let client = Client::with_connection_string(cs).await?;
    let read_preference = read_preference(&client, args.read_preference.as_deref())?;
    let mut conn = client.checkout(&read_preference).await?;
    let address = conn.server().address().clone();
    let ping = rawdoc! { "ping": 1_i32 };
    let mut rtt_ms = Vec::with_capacity(args.count as usize);
    for _ in 0..args.count {
        let started = Instant::now();
        conn.run_command("admin", &ping).await?;
        let rtt = started.elapsed().as_secs_f64() * 1000.0;
        rtt_ms.push(rtt);
        if !json {
            println!("ping {address}: {rtt:.3} ms");
        }
    }
    let average_ms = rtt_ms.iter().sum::<f64>() / f64::from(args.count);
    let build_info = conn
        .run_command("admin", &rawdoc! { "buildInfo": 1_i32 })
        .await?;
    let hello = conn.hello().clone();
    drop(conn);
    client.close().await;
    let report = PingReport {
        address: address.to_string(),
        rtt_ms,
        average_ms,
        server_version: build_info.get_str("version").ok().map(str::to_owned),
        min_wire_version: hello.min_wire_version,
        max_wire_version: hello.max_wire_version,
        mongos: hello.is_mongos,
    };
    if json {
        println!("{}", serde_json::to_string(&report)?);
        return Ok(());
    }
    if args.count > 1 {
        println!("average over {}: {average_ms:.3} ms", args.count);
    }
    println!(
        "server version {}, wire versions {}..{}{}",
        report.server_version.as_deref().unwrap_or("unknown"),
        report.min_wire_version,
        report.max_wire_version,
        if report.mongos { " (mongos)" } else { "" }
    );
    Ok(())
}

/// `mongopool run-command`.
pub async fn run_command(uri: &str, args: &RunCommandArgs, json: bool) -> Result<(), BoxError> {
    let text = if args.command == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read the command from stdin: {e}"))?;
        text
    } else {
        args.command.clone()
    };
    // The document is checked before connecting: a typo should not cost a round trip
    // (or a password prompt).
    let command = extjson::parse_document(&text)?;
    let cs = connect::resolve(uri).await?;
    let client = Client::with_connection_string(cs).await?;
    let read_preference = read_preference(&client, args.read_preference.as_deref())?;
    let reply = client.command(&args.db, &command, &read_preference).await;
    client.close().await;
    let reply = reply?;
    let value = extjson::to_relaxed_value(reply)?;
    let out = if json {
        serde_json::to_string(&value)?
    } else {
        serde_json::to_string_pretty(&value)?
    };
    println!("{out}");
    Ok(())
}

/// The `--read-preference` given, else the URI's.
fn read_preference(client: &Client, mode: Option<&str>) -> Result<ReadPreference, BoxError> {
    Ok(match mode {
        Some(name) => ReadPreference::with_mode(ReadPreferenceMode::parse(name)?),
        None => client.read_preference().clone(),
    })
}
