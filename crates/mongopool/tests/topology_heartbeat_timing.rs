//! Monitor timing on tokio's paused clock, against the in-process mock server on a
//! Unix socket (no wall clock, no real network): a polling monitor checks every
//! heartbeatFrequencyMS, an immediate check asked for by an application error comes
//! no sooner than minHeartbeatFrequencyMS after the last check, and a streaming
//! monitor's awaitable hello carries maxAwaitTimeMS = heartbeatFrequencyMS.

// The option structs are becoming #[non_exhaustive] (no struct literals outside the
// crate): fields are set on a default value.
#![allow(clippy::field_reassign_with_default)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bson::{doc, oid::ObjectId, rawdoc};
use mongopool::topology::{SdamEvent, TopologySettings};
use mongopool::topology::{Topology, TopologyOptions};
use mongopool::ServerMonitoringMode;
use mongopool::{
    Client, ConnectionOptions, ConnectionString, PoolOptions, ReadPreference, ServerAddress,
};
use mongopool_testkit::mock::{Action, Behavior, MockServer};
use mongopool_wire::MsgFlags;
use tokio::sync::watch;
use tokio::time::{timeout, Instant};

const PATIENCE: Duration = Duration::from_secs(3600);

/// A heartbeat event and when (on the paused clock) it came.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Beat {
    Started { awaited: bool },
    Succeeded { awaited: bool },
    Failed,
}

#[derive(Clone)]
struct Beats {
    seen: Arc<Mutex<Vec<(Instant, Beat)>>>,
    changed: watch::Sender<u64>,
}

impl Beats {
    fn new() -> Beats {
        Beats {
            seen: Arc::default(),
            changed: watch::channel(0).0,
        }
    }

    fn options(&self) -> TopologyOptions {
        let beats = self.clone();
        let mut options = TopologyOptions::default();
        options.sdam_event_handler = Some(Arc::new(move |event: SdamEvent| {
            let beat = match event {
                SdamEvent::ServerHeartbeatStarted { awaited, .. } => Beat::Started { awaited },
                SdamEvent::ServerHeartbeatSucceeded { awaited, .. } => Beat::Succeeded { awaited },
                SdamEvent::ServerHeartbeatFailed { .. } => Beat::Failed,
                _ => return,
            };
            beats.seen.lock().unwrap().push((Instant::now(), beat));
            beats.changed.send_modify(|n| *n += 1);
        }));
        options
    }

    fn all(&self) -> Vec<(Instant, Beat)> {
        self.seen.lock().unwrap().clone()
    }

    /// The times of the first `n` events equal to `beat`, once there are `n`.
    async fn wait_for(&self, beat: Beat, n: usize) -> Vec<Instant> {
        let mut changed = self.changed.subscribe();
        let wait = async {
            loop {
                changed.borrow_and_update();
                let times: Vec<Instant> = self
                    .all()
                    .into_iter()
                    .filter(|(_, b)| *b == beat)
                    .map(|(t, _)| t)
                    .collect();
                if times.len() >= n {
                    return times;
                }
                changed.changed().await.unwrap();
            }
        };
        timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("fewer than {n} {beat:?}: {:?}", self.all()))
    }
}

async fn start_unix(behavior: Behavior) -> (MockServer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let server = MockServer::start_unix(dir.path().join("mock.sock"), behavior)
        .await
        .unwrap();
    (server, dir)
}

fn open(
    server: &MockServer,
    heartbeat: Duration,
    mode: ServerMonitoringMode,
    beats: &Beats,
) -> Topology {
    let mut settings = TopologySettings::default();
    settings.seeds = vec![ServerAddress::parse(&server.host_string()).unwrap()];
    settings.heartbeat_frequency = heartbeat;
    settings.server_monitoring_mode = mode;
    let options = ConnectionOptions::builder()
        .connect_timeout(Some(Duration::from_secs(10)))
        .build()
        .unwrap();
    Topology::open(settings, PoolOptions::default(), options, beats.options()).unwrap()
}

fn gaps(times: &[Instant]) -> Vec<Duration> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn a_polling_monitor_checks_every_heartbeat_frequency() {
    let (server, _dir) = start_unix(Behavior::modern()).await;
    let heartbeat = Duration::from_secs(7);
    let beats = Beats::new();
    let topology = open(&server, heartbeat, ServerMonitoringMode::Poll, &beats);
    // The handshake of the monitoring connection, then three polls.
    let started = beats.wait_for(Beat::Started { awaited: false }, 4).await;
    for gap in gaps(&started[..4]) {
        // The replies take no time on the paused clock: the gap is the wait alone.
        assert!(
            gap >= heartbeat && gap < heartbeat + Duration::from_millis(20),
            "polls every {:?}, not {heartbeat:?}",
            gaps(&started)
        );
    }
    assert!(!beats.all().iter().any(|(_, b)| *b == Beat::Failed));
    assert_eq!(
        server.journal().snapshot().connections(),
        1,
        "one monitoring connection"
    );
    topology.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_check_asked_for_by_an_error_waits_for_the_min_heartbeat_frequency() {
    // The first ping is refused as if the server had stepped down: SDAM marks it
    // Unknown and asks its monitor for an immediate check.
    let refused = Arc::new(AtomicBool::new(false));
    let refuse = refused.clone();
    let behavior = Behavior::modern().on("ping", move |_, default| {
        if refuse.swap(true, Ordering::SeqCst) {
            default
        } else {
            Action::error(10107, "NotWritablePrimary", "not primary")
        }
    });
    let (server, dir) = start_unix(behavior).await;
    let socket = dir.path().join("mock.sock");
    let encoded: String = url_escape(&socket.display().to_string());
    let uri = format!("mongodb://{encoded}/?heartbeatFrequencyMS=60000&serverMonitoringMode=poll&retryReads=false");
    let beats = Beats::new();
    let client = Client::with_options(ConnectionString::parse(&uri).unwrap(), beats.options())
        .await
        .unwrap();
    let handshake = beats.wait_for(Beat::Succeeded { awaited: false }, 1).await[0];

    // Right after the last check: the error's check comes minHeartbeatFrequencyMS
    // after it, not at once (and not a heartbeat later).
    let error = client
        .command("admin", &rawdoc! {"ping": 1}, &ReadPreference::primary())
        .await
        .unwrap_err();
    assert_eq!(error.code(), Some(10107), "{error}");
    let asked_at = Instant::now();
    assert!(asked_at - handshake < Duration::from_millis(20));
    let started = beats.wait_for(Beat::Started { awaited: false }, 2).await;
    let gap = started[1] - handshake;
    assert!(
        gap >= Duration::from_millis(500) && gap < Duration::from_millis(520),
        "the immediate check came {gap:?} after the last one"
    );

    // Long after the last check, an asked-for check is not held back at all.
    beats.wait_for(Beat::Succeeded { awaited: false }, 2).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let asked_at = Instant::now();
    client.topology().request_immediate_check();
    let started = beats.wait_for(Beat::Started { awaited: false }, 3).await;
    assert!(
        started[2] - asked_at < Duration::from_millis(20),
        "came {:?} after it was asked for",
        started[2] - asked_at
    );
    client.close().await;
    drop(server);
}

/// Percent-encodes the slashes of a socket path for a connection string.
fn url_escape(path: &str) -> String {
    path.replace('%', "%25").replace('/', "%2F")
}

#[tokio::test(start_paused = true)]
async fn a_streaming_monitor_awaits_hellos_for_max_await_time_ms() {
    let heartbeat = Duration::from_secs(4);
    // A server that streams: its hello has a topologyVersion, and it holds an
    // awaitable hello for maxAwaitTimeMS (nothing changes meanwhile).
    let awaitable = |request: &mongopool_testkit::mock::Request, default: Action| match request
        .command_document()
        .and_then(|c| c.get_i64("maxAwaitTimeMS").ok())
    {
        Some(ms) => default.after(Duration::from_millis(u64::try_from(ms).unwrap_or(0))),
        None => default,
    };
    let behavior = Behavior::modern()
        .hello_field(
            "topologyVersion",
            doc! {"processId": ObjectId::new(), "counter": 0_i64},
        )
        .on("hello", awaitable)
        .on("isMaster", awaitable);
    let (server, _dir) = start_unix(behavior).await;
    let beats = Beats::new();
    let topology = open(&server, heartbeat, ServerMonitoringMode::Stream, &beats);

    let awaited = beats.wait_for(Beat::Succeeded { awaited: true }, 3).await;
    for gap in gaps(&awaited[..3]) {
        assert!(
            gap >= heartbeat && gap < heartbeat + Duration::from_millis(20),
            "awaited replies every {:?}",
            gaps(&awaited)
        );
    }
    let awaitable_hellos: Vec<_> = server
        .journal()
        .requests()
        .into_iter()
        .filter(|r| {
            r.command_document()
                .is_some_and(|c| c.contains_key("maxAwaitTimeMS"))
        })
        .collect();
    assert!(awaitable_hellos.len() >= 3, "{awaitable_hellos:?}");
    for request in &awaitable_hellos {
        let command = request.command_document().unwrap();
        assert_eq!(
            command.get_i64("maxAwaitTimeMS").ok(),
            Some(4000),
            "{command}"
        );
        assert!(command.contains_key("topologyVersion"), "{command}");
        let flags = request.msg_flags().expect("an OP_MSG");
        assert!(flags.contains(MsgFlags::EXHAUST_ALLOWED), "{command}");
    }
    // Streaming keeps two connections: the monitor's and the RTT task's.
    assert_eq!(server.journal().snapshot().connections(), 2);
    topology.close().await;
}
