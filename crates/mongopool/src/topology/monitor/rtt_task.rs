//! The RTT task of a streaming monitor: a hello every `heartbeatFrequencyMS` on a
//! second dedicated connection, because streamed replies say nothing about latency.
//! It publishes no events and never changes the topology; the monitor resets the
//! samples when a check fails.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::rawdoc;
use tokio::sync::watch;

use super::check::within;
use super::{stop_signal, MonitorConfig, MonitorShared};
use crate::connection::{CommandOptions, Connection};
use crate::error::Result;

/// Measures round trips until the monitor stops.
pub(super) async fn run(
    config: Arc<MonitorConfig>,
    shared: Arc<MonitorShared>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut connection: Option<Connection> = None;
    loop {
        let sample = tokio::select! {
            biased;
            _ = stop_signal(&mut stopped) => break,
            sample = ping(&config, &mut connection) => sample,
        };
        match sample {
            Ok(rtt) => shared.rtt().add_sample(rtt),
            // The monitor judges the server; a failed RTT probe only drops the
            // connection (the spec: it must not change the topology).
            Err(_) => connection = None,
        }
        tokio::select! {
            biased;
            _ = stop_signal(&mut stopped) => break,
            _ = tokio::time::sleep(config.heartbeat_frequency) => {}
        }
    }
}

/// One round trip: the handshake of a new connection, or a hello on the open one.
async fn ping(config: &MonitorConfig, connection: &mut Option<Connection>) -> Result<Duration> {
    let start = Instant::now();
    match connection {
        Some(conn) if conn.is_usable() => {
            let hello = if conn.hello().hello_ok {
                rawdoc! { "hello": 1 }
            } else {
                rawdoc! { "isMaster": 1 }
            };
            within(
                config.check_timeout(),
                &config.address,
                conn.command("admin", &hello, &CommandOptions::default()),
            )
            .await?;
        }
        _ => {
            let conn = within(
                config.check_timeout(),
                &config.address,
                Connection::connect(&config.address, &config.connection_options, 0, 0),
            )
            .await?;
            *connection = Some(conn);
        }
    }
    Ok(start.elapsed())
}
