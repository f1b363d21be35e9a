//! The monitor task: checks its server, reports each outcome, waits or streams.

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use bson::raw::cstr;
use bson::{RawDocument, RawDocumentBuf};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{now_ms, rtt_task, stop_signal, MonitorConfig, MonitorShared, MonitorSink};
use crate::connection::{CommandOptions, Connection};
use crate::error::{Error, Result};
use crate::topology::events::SdamEvent;
use crate::topology::server_description::ServerDescription;
use crate::topology::server_type::ServerType;

/// One server's monitor, run as a task by [`super::MonitorHandle::start`].
pub(super) struct Monitor {
    config: Arc<MonitorConfig>,
    shared: Arc<MonitorShared>,
    sink: Weak<dyn MonitorSink>,
    stopped: watch::Receiver<bool>,
    /// The dedicated monitoring connection; `None` after an error or a cancel.
    connection: Option<Connection>,
    /// The last reply's `topologyVersion`, sent back in the next awaitable hello.
    topology_version: Option<RawDocumentBuf>,
    /// Whether the server said `helloOk` (else the legacy `isMaster` is used).
    hello_ok: bool,
    /// Started with the first streaming reply; stops with the monitor.
    rtt_task: Option<JoinHandle<()>>,
}

/// What one check gave.
struct Checked {
    description: ServerDescription,
}

impl Monitor {
    pub(super) fn new(
        config: Arc<MonitorConfig>,
        shared: Arc<MonitorShared>,
        sink: Weak<dyn MonitorSink>,
        stopped: watch::Receiver<bool>,
    ) -> Monitor {
        Monitor {
            config,
            shared,
            sink,
            stopped,
            connection: None,
            topology_version: None,
            hello_ok: false,
            rtt_task: None,
        }
    }

    /// The monitor loop of the spec's pseudocode ("Monitor thread").
    pub(super) async fn run(mut self) {
        let shared = self.shared.clone();
        let mut stopped = self.stopped.clone();
        let mut previous_type = ServerType::Unknown;
        loop {
            let checked = tokio::select! {
                biased;
                _ = stop_signal(&mut stopped) => break,
                _ = shared.cancel.notified() => None,
                checked = self.check() => Some(checked),
            };
            let Some(Checked { description }) = checked else {
                // Cancelled: an application connection saw a network error and the
                // server is Unknown already. The connection may hold half a reply.
                self.connection = None;
                self.topology_version = None;
                if !self.wait(&mut stopped).await {
                    break;
                }
                continue;
            };
            let supports_streaming = description.server_type != ServerType::Unknown
                && description.topology_version.is_some();
            let is_streaming = self
                .connection
                .as_ref()
                .is_some_and(Connection::is_exhausting);
            let network_error_after_known =
                description.error.as_ref().is_some_and(Error::is_network)
                    && previous_type != ServerType::Unknown;
            previous_type = description.server_type;
            let Some(sink) = self.sink.upgrade() else {
                break;
            };
            sink.server_checked(description);
            drop(sink);
            let streaming = self.config.streaming_allowed && (supports_streaming || is_streaming);
            if streaming && self.rtt_task.is_none() {
                self.rtt_task = Some(tokio::spawn(rtt_task::run(
                    self.config.clone(),
                    self.shared.clone(),
                    self.stopped.clone(),
                )));
            }
            if streaming || network_error_after_known {
                continue;
            }
            if !self.wait(&mut stopped).await {
                break;
            }
        }
        // Closes the monitoring connection now, and waits for the RTT task (it
        // watches the same stop signal) so that nothing outlives the monitor.
        self.connection = None;
        if let Some(task) = self.rtt_task.take() {
            let _ = task.await;
        }
    }

    /// Waits `heartbeatFrequencyMS`, or less when a check is requested, but at least
    /// `minHeartbeatFrequencyMS`. False if the monitor was stopped meanwhile.
    async fn wait(&self, stopped: &mut watch::Receiver<bool>) -> bool {
        let start = tokio::time::Instant::now();
        tokio::select! {
            biased;
            _ = stop_signal(stopped) => return false,
            _ = tokio::time::sleep(self.config.heartbeat_frequency) => {}
            _ = self.shared.check_requested.notified() => {}
        }
        let min = self.config.min_heartbeat_frequency;
        let waited = start.elapsed();
        if waited < min {
            tokio::select! {
                biased;
                _ = stop_signal(stopped) => return false,
                _ = tokio::time::sleep(min - waited) => {}
            }
        }
        true
    }

    /// One check: a new connection's handshake, the next streamed reply, a new
    /// awaitable hello, or a plain hello (polling).
    async fn check(&mut self) -> Checked {
        let start = Instant::now();
        let (awaited, result) = self.hello().await;
        let duration = start.elapsed();
        let address = self.config.address.clone();
        match result {
            Ok((reply, sample)) => {
                let rtt = {
                    let mut rtt = self.shared.rtt();
                    if let Some(sample) = sample {
                        rtt.add_sample(sample);
                    }
                    (rtt.average().unwrap_or(duration), rtt.min())
                };
                self.hello_ok = reply.get_bool("helloOk").unwrap_or(false);
                self.topology_version = reply
                    .get_document("topologyVersion")
                    .ok()
                    .map(RawDocument::to_owned);
                let description =
                    ServerDescription::from_hello(address.clone(), &reply, rtt.0, now_ms())
                        .with_min_round_trip_time(Some(rtt.1));
                self.report(SdamEvent::ServerHeartbeatSucceeded {
                    address,
                    awaited,
                    duration,
                    reply,
                });
                Checked { description }
            }
            Err(error) => {
                self.connection = None;
                self.topology_version = None;
                self.shared.rtt().reset();
                self.report(SdamEvent::ServerHeartbeatFailed {
                    address: address.clone(),
                    awaited,
                    duration,
                    error: error.clone(),
                });
                Checked {
                    description: ServerDescription::from_error(address, error, None),
                }
            }
        }
    }

    /// Runs the hello of this check: whether it was awaited, and the reply with the
    /// round trip sample it gave (none for an awaited reply).
    async fn hello(&mut self) -> (bool, Result<(RawDocumentBuf, Option<Duration>)>) {
        let config = self.config.clone();
        let reusable = self
            .connection
            .as_ref()
            .is_some_and(|c| c.is_usable() || c.is_exhausting());
        if !reusable {
            return (false, self.open().await);
        }
        let Some(connection) = self.connection.as_mut() else {
            return (false, self.open().await);
        };
        if connection.is_exhausting() {
            let sink = self.sink.clone();
            report_to(
                &sink,
                SdamEvent::ServerHeartbeatStarted {
                    address: config.address.clone(),
                    awaited: true,
                },
            );
            let next = within(config.awaited_timeout(), &config.address, async {
                connection
                    .next_exhaust_reply()
                    .await?
                    .ok_or_else(|| Error::protocol("the hello stream ended without a last reply"))
            })
            .await;
            return (true, next.map(|reply| (reply, None)));
        }
        let mut command = RawDocumentBuf::new();
        if self.hello_ok {
            command.append(cstr!("hello"), 1i32);
        } else {
            command.append(cstr!("isMaster"), 1i32);
        }
        command.append(cstr!("helloOk"), true);
        let sink = self.sink.clone();
        match (&self.topology_version, config.streaming_allowed) {
            (Some(version), true) => {
                command.append(cstr!("topologyVersion"), version.clone());
                let max_await =
                    i64::try_from(config.heartbeat_frequency.as_millis()).unwrap_or(i64::MAX);
                command.append(cstr!("maxAwaitTimeMS"), max_await);
                report_to(
                    &sink,
                    SdamEvent::ServerHeartbeatStarted {
                        address: config.address.clone(),
                        awaited: true,
                    },
                );
                let reply = within(
                    config.awaited_timeout(),
                    &config.address,
                    connection.command_exhaust("admin", &command, &CommandOptions::default()),
                )
                .await;
                (true, reply.map(|reply| (reply, None)))
            }
            _ => {
                report_to(
                    &sink,
                    SdamEvent::ServerHeartbeatStarted {
                        address: config.address.clone(),
                        awaited: false,
                    },
                );
                let start = Instant::now();
                let reply = within(
                    config.check_timeout(),
                    &config.address,
                    connection.command("admin", &command, &CommandOptions::default()),
                )
                .await;
                (false, reply.map(|reply| (reply, Some(start.elapsed()))))
            }
        }
    }

    /// Opens a new monitoring connection: its handshake is the check.
    async fn open(&mut self) -> Result<(RawDocumentBuf, Option<Duration>)> {
        self.connection = None;
        self.report_started(false);
        let config = self.config.clone();
        let start = Instant::now();
        let conn = within(
            config.check_timeout(),
            &config.address,
            Connection::connect(&config.address, &config.connection_options, 0, 0),
        )
        .await?;
        let sample = start.elapsed();
        let reply = conn.hello().raw.clone();
        self.connection = Some(conn);
        Ok((reply, Some(sample)))
    }

    fn report_started(&self, awaited: bool) {
        self.report(SdamEvent::ServerHeartbeatStarted {
            address: self.config.address.clone(),
            awaited,
        });
    }

    fn report(&self, event: SdamEvent) {
        report_to(&self.sink, event);
    }
}

fn report_to(sink: &Weak<dyn MonitorSink>, event: SdamEvent) {
    if let Some(sink) = sink.upgrade() {
        sink.heartbeat(event);
    }
}

/// `io` within `limit`; running out is a network timeout, as a socket timeout is.
pub(super) async fn within<T>(
    limit: Option<Duration>,
    address: &crate::address::ServerAddress,
    io: impl Future<Output = Result<T>>,
) -> Result<T> {
    match limit {
        None => io.await,
        Some(limit) => match tokio::time::timeout(limit, io).await {
            Ok(result) => result,
            Err(_) => Err(Error::timeout(format!(
                "the monitor's check of {address} took longer than {} ms",
                limit.as_millis()
            ))),
        },
    }
}
