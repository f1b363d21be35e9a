//! `mongopool topology`: the servers the `Client` discovered, and with `--watch` every
//! SDAM change as it happens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use mongopool::topology::{SdamEvent, ServerType};
use mongopool::topology::{TopologyOptions, TopologyStats};
use mongopool::Client;
use serde_json::json;

use crate::cli::TopologyArgs;
use crate::{connect, BoxError};

/// `mongopool topology`.
pub async fn run(uri: &str, args: &TopologyArgs, json: bool) -> Result<(), BoxError> {
    let cs = connect::resolve(uri).await?;
    let watch = args.watch;
    let options = {
        let mut o = TopologyOptions::default();
        o.sdam_event_handler = watch.then(|| {
            let handler: Arc<dyn mongopool::topology::SdamEventHandler> =
                Arc::new(move |event: SdamEvent| print_event(&event, json));
            handler
        });
        o
    };
    let client = Client::with_options(cs, options).await?;
    let wait = Duration::from_secs_f64(args.wait);
    settle(&client, wait).await;
    print_stats(&client.topology().stats(), json)?;
    if watch {
        // Changes are printed by the handler until the user stops us.
        tokio::signal::ctrl_c().await?;
    }
    client.close().await;
    Ok(())
}

/// Waits until every known server has been checked once (none is Unknown without an
/// error), or `wait` has passed: the first checks run in parallel, so this is about one
/// round trip per server.
async fn settle(client: &Client, wait: Duration) {
    let deadline = Instant::now() + wait;
    let mut watch = client.topology().watch();
    loop {
        let description = watch.description();
        let pending = description
            .servers()
            .any(|s| s.server_type == ServerType::Unknown && s.error.is_none());
        if !pending {
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, watch.changed()).await {
            Ok(true) => continue,
            _ => return,
        }
    }
}

fn print_stats(stats: &TopologyStats, json: bool) -> Result<(), BoxError> {
    if json {
        let servers: Vec<_> = stats
            .servers
            .iter()
            .map(|s| {
                json!({
                    "address": s.address.to_string(),
                    "type": s.server_type.name(),
                    "rtt_ms": s.round_trip_time.map(|d| d.as_secs_f64() * 1000.0),
                    "min_rtt_ms": s.min_round_trip_time.map(|d| d.as_secs_f64() * 1000.0),
                    "last_error": s.last_error,
                    "pool": s.pool,
                })
            })
            .collect();
        let out = json!({
            "topology_type": stats.topology_type.to_string(),
            "set_name": stats.set_name,
            "servers": servers,
        });
        println!("{}", serde_json::to_string(&out)?);
        return Ok(());
    }
    println!(
        "topology {}{}",
        stats.topology_type,
        stats
            .set_name
            .as_deref()
            .map(|n| format!(" (set {n})"))
            .unwrap_or_default()
    );
    for s in &stats.servers {
        let rtt = s
            .round_trip_time
            .map(|d| format!("{:.3} ms", d.as_secs_f64() * 1000.0))
            .unwrap_or_else(|| "-".into());
        let pool = s
            .pool
            .as_ref()
            .map(|p| format!("idle {} in use {} pending {}", p.idle, p.in_use, p.pending))
            .unwrap_or_else(|| "no pool".into());
        println!(
            "  {}  {}  rtt {rtt}  {pool}",
            s.address,
            s.server_type.name()
        );
        if let Some(error) = &s.last_error {
            println!("    last error: {error}");
        }
    }
    Ok(())
}

fn print_event(event: &SdamEvent, json: bool) {
    let line = match event {
        SdamEvent::ServerOpening { address } => format!("server opening: {address}"),
        SdamEvent::ServerClosed { address } => format!("server closed: {address}"),
        SdamEvent::ServerDescriptionChanged {
            address,
            previous,
            new,
        } => format!(
            "server {address}: {} -> {}{}",
            previous.server_type.name(),
            new.server_type.name(),
            new.error
                .as_ref()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        ),
        SdamEvent::TopologyDescriptionChanged { previous, new } => format!(
            "topology: {} -> {}",
            previous.topology_type(),
            new.topology_type()
        ),
        SdamEvent::TopologyOpening => "topology opening".into(),
        SdamEvent::TopologyClosed => "topology closed".into(),
        // Heartbeats come every heartbeatFrequencyMS; only changes are worth a line.
        _ => return,
    };
    if json {
        println!("{}", json!({ "event": line }));
    } else {
        println!("{line}");
    }
}
