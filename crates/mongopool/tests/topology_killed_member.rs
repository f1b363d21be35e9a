//! A killed member of a simulated set (real sockets, a real SecantusDB behind): its
//! pool is cleared (a PoolCleared event, a new generation), its monitor backs off to
//! one check per heartbeatFrequencyMS instead of a tight loop of connection attempts,
//! and once it is restarted selection picks it again and an operation succeeds on it.

// The option structs are becoming #[non_exhaustive] (no struct literals outside the
// crate): fields are set on a default value.
#![allow(clippy::field_reassign_with_default)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bson::rawdoc;
use mongopool::events::CmapEvent;
use mongopool::topology::TopologyOptions;
use mongopool::topology::{SdamEvent, ServerType};
use mongopool::{Client, ConnectionString, ReadPreference, ReadPreferenceMode, ServerAddress};
use mongopool_testkit::simulator::{MemberSpec, Simulator};
use mongopool_testkit::TestServer;
use tokio::sync::watch;
use tokio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(30);
const HEARTBEAT: Duration = Duration::from_millis(700);

/// What the test saw, in order, with the time each thing happened.
#[derive(Debug, Clone)]
enum Seen {
    PoolCleared(ServerAddress),
    HeartbeatStarted(ServerAddress),
    HeartbeatFailed(ServerAddress),
}

/// Records SDAM and CMAP events; tests wait on `changed` rather than sleep.
#[derive(Clone)]
struct Recorder {
    seen: Arc<Mutex<Vec<(Instant, Seen)>>>,
    changed: watch::Sender<u64>,
}

impl Recorder {
    fn new() -> Recorder {
        Recorder {
            seen: Arc::default(),
            changed: watch::channel(0).0,
        }
    }

    fn push(&self, seen: Seen) {
        self.seen.lock().unwrap().push((Instant::now(), seen));
        self.changed.send_modify(|n| *n += 1);
    }

    fn snapshot(&self) -> Vec<(Instant, Seen)> {
        self.seen.lock().unwrap().clone()
    }

    /// Waits until `done` finds what it looks for in the events so far.
    async fn wait_for<T>(
        &self,
        what: &str,
        mut done: impl FnMut(&[(Instant, Seen)]) -> Option<T>,
    ) -> T {
        let mut changed = self.changed.subscribe();
        let wait = async {
            loop {
                changed.borrow_and_update();
                if let Some(found) = done(&self.snapshot()) {
                    return found;
                }
                changed.changed().await.unwrap();
            }
        };
        timeout(PATIENCE, wait)
            .await
            .unwrap_or_else(|_| panic!("never saw {what}: {:?}", self.snapshot()))
    }
}

async fn wait_for_type(client: &Client, host: &str, kind: ServerType) {
    let mut watch = client.topology().watch();
    let wait = async {
        loop {
            let found = watch
                .description()
                .servers()
                .any(|s| s.address.to_string() == host && s.server_type == kind);
            if found {
                return;
            }
            assert!(watch.changed().await, "the topology closed");
        }
    };
    timeout(PATIENCE, wait).await.unwrap_or_else(|_| {
        panic!(
            "{host} never became {kind:?}; topology: {}",
            client.topology().stats()
        )
    });
}

#[tokio::test]
async fn a_killed_member_is_cleared_backed_off_and_used_again_after_a_restart() {
    let backend = tokio::task::spawn_blocking(|| TestServer::start().expect("start secantusd-rs"))
        .await
        .unwrap();
    let sim = Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .member(MemberSpec::secondary())
        .start(backend.address())
        .await
        .expect("start the simulator");
    let victim = ServerAddress::parse(&sim.host(1)).unwrap();

    let recorder = Recorder::new();
    let mut options = TopologyOptions::default();
    let sdam = recorder.clone();
    options.sdam_event_handler = Some(Arc::new(move |event: SdamEvent| match event {
        SdamEvent::ServerHeartbeatStarted { address, .. } => {
            sdam.push(Seen::HeartbeatStarted(address));
        }
        SdamEvent::ServerHeartbeatFailed { address, .. } => {
            sdam.push(Seen::HeartbeatFailed(address));
        }
        _ => {}
    }));
    let cmap = recorder.clone();
    options.pool_event_handler = Some(Arc::new(move |event: CmapEvent| {
        if let CmapEvent::PoolCleared(e) = event {
            cmap.push(Seen::PoolCleared(e.address));
        }
    }));
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&heartbeatFrequencyMS={}&serverSelectionTimeoutMS=20000",
        sim.hosts(),
        HEARTBEAT.as_millis()
    );
    let client = Client::with_options(ConnectionString::parse(&uri).unwrap(), options)
        .await
        .unwrap();
    wait_for_type(&client, &sim.host(0), ServerType::RsPrimary).await;
    wait_for_type(&client, &sim.host(1), ServerType::RsSecondary).await;

    // The secondary serves a read, so its pool holds a connection of generation 0.
    let secondary = ReadPreference::with_mode(ReadPreferenceMode::Secondary);
    let find = rawdoc! {"find": "things"};
    client.command("sim", &find, &secondary).await.unwrap();
    let pool = client.topology().pool(&victim).expect("the member's pool");
    let generation_before = pool.stats().generation;
    assert_eq!(pool.stats().total, 1, "{:?}", pool.stats());

    sim.kill(1).await.unwrap();
    let killed_at = recorder.snapshot().len();

    // The pool is cleared (the monitor's failed check marks the member Unknown), and
    // only that member's pool.
    recorder
        .wait_for("the killed member's pool cleared", |seen| {
            seen[killed_at..]
                .iter()
                .any(|(_, s)| matches!(s, Seen::PoolCleared(a) if *a == victim))
                .then_some(())
        })
        .await;
    wait_for_type(&client, &sim.host(1), ServerType::Unknown).await;
    assert!(
        pool.stats().generation > generation_before,
        "the clear starts a new generation: {:?}",
        pool.stats()
    );
    assert_eq!(pool.stats().total, 0, "the old connection is gone");

    // The monitor backs off: from the second failed check on (the spec retries once
    // at once after a network error on a known server), one check per heartbeat.
    const CHECKS: usize = 5;
    let starts = recorder
        .wait_for("failed checks of the killed member", |seen| {
            let failures = seen[killed_at..]
                .iter()
                .filter(|(_, s)| matches!(s, Seen::HeartbeatFailed(a) if *a == victim))
                .count();
            let starts: Vec<Instant> = seen[killed_at..]
                .iter()
                .filter(|(_, s)| matches!(s, Seen::HeartbeatStarted(a) if *a == victim))
                .map(|(t, _)| *t)
                .collect();
            (failures > CHECKS && starts.len() > CHECKS).then_some(starts)
        })
        .await;
    let gaps: Vec<Duration> = starts
        .windows(2)
        .skip(1)
        .take(CHECKS - 1)
        .map(|w| w[1] - w[0])
        .collect();
    println!("checks of the killed member every {gaps:?} (heartbeat {HEARTBEAT:?})");
    for gap in &gaps {
        // Timers never fire early; a millisecond covers the rounding of the clocks.
        assert!(
            *gap + Duration::from_millis(1) >= HEARTBEAT,
            "the monitor of a dead member checks too often: {gaps:?}"
        );
        // Slow, not stopped: each next check comes (a loaded machine gets a margin).
        assert!(
            *gap < HEARTBEAT + Duration::from_secs(5),
            "the monitor stalled: {gaps:?}"
        );
    }
    // The primary was never cleared for the member's death.
    let primary = ServerAddress::parse(&sim.host(0)).unwrap();
    assert!(
        !recorder
            .snapshot()
            .iter()
            .any(|(_, s)| matches!(s, Seen::PoolCleared(a) if *a == primary)),
        "only the dead member's pool is cleared"
    );

    // Restarted, it is found again and serves a secondary read (the only secondary).
    let reads_before = sim.stats(1).reads_accepted;
    sim.restart(1).await.unwrap();
    wait_for_type(&client, &sim.host(1), ServerType::RsSecondary).await;
    let selected = client
        .topology()
        .select_server(&mongopool::topology::SelectionCriteria::Read(
            secondary.clone(),
        ))
        .await
        .expect("selection picks the restarted member");
    assert_eq!(selected.address(), &victim);
    drop(selected);
    let reply = client.command("sim", &find, &secondary).await.unwrap();
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    assert_eq!(sim.stats(1).reads_accepted, reads_before + 1);
    // Every failed check clears again (the generation moves on, CMAP: no new event
    // for a paused pool); the restarted member's connection is of the current one.
    let stats = pool.stats();
    assert!(stats.generation > generation_before, "{stats:?}");
    assert_eq!((stats.total, stats.idle), (1, 1), "{stats:?}");
    let cleared = recorder
        .snapshot()
        .iter()
        .filter(|(_, s)| matches!(s, Seen::PoolCleared(a) if *a == victim))
        .count();
    assert_eq!(
        cleared, 1,
        "one PoolCleared: later clears find the pool paused"
    );
    client.close().await;
}
