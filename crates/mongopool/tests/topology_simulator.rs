//! The `Client` against the testkit's deployment simulator (front nodes on loopback
//! in front of one real SecantusDB): a 3-member set discovered from one seed, a
//! step-down under load, and mongos routers of which one is killed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bson::rawdoc;
use mongopool::topology::ServerType;
use mongopool::{Client, ReadPreference, ReadPreferenceMode};
use mongopool_testkit::simulator::{MemberSpec, Simulator};
use mongopool_testkit::TestServer;
use tokio::time::timeout;

const PATIENCE: Duration = Duration::from_secs(20);

async fn backend() -> TestServer {
    tokio::task::spawn_blocking(|| TestServer::start().expect("start secantusd-rs"))
        .await
        .unwrap()
}

async fn three_members(backend: &TestServer) -> Simulator {
    Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .member(MemberSpec::secondary())
        .member(MemberSpec::secondary())
        .start(backend.address())
        .await
        .expect("start the simulator")
}

/// Waits (on topology changes, at most 20 s) until every server of `expected` is
/// known with its type.
async fn wait_for_types(client: &Client, expected: &[(String, ServerType)]) {
    let mut watch = client.topology().watch();
    let wait = async {
        loop {
            let description = watch.description();
            let found = expected.iter().all(|(host, kind)| {
                description
                    .servers()
                    .any(|s| s.address.to_string() == *host && s.server_type == *kind)
            });
            if found {
                return;
            }
            assert!(watch.changed().await, "the topology closed");
        }
    };
    timeout(PATIENCE, wait).await.unwrap_or_else(|_| {
        panic!(
            "servers {expected:?} not discovered; topology: {}",
            client.topology().stats()
        )
    });
}

#[tokio::test]
async fn a_set_is_discovered_from_one_seed_and_serves_reads_and_writes() {
    let backend = backend().await;
    let sim = three_members(&backend).await;
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&heartbeatFrequencyMS=500",
        sim.host(0)
    );
    let client = Client::connect(&uri).await.unwrap();
    wait_for_types(
        &client,
        &[
            (sim.host(0), ServerType::RsPrimary),
            (sim.host(1), ServerType::RsSecondary),
            (sim.host(2), ServerType::RsSecondary),
        ],
    )
    .await;
    let insert = rawdoc! {"insert": "things", "documents": [{"_id": 1}]};
    let reply = client
        .command("sim", &insert, &ReadPreference::primary())
        .await
        .unwrap();
    assert_eq!(reply.get_i32("n").ok(), Some(1));
    assert_eq!(sim.stats(0).writes_accepted, 1);

    let secondary = ReadPreference::with_mode(ReadPreferenceMode::Secondary);
    for _ in 0..4 {
        let find = rawdoc! {"find": "things"};
        let reply = client.command("sim", &find, &secondary).await.unwrap();
        assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    }
    let on_secondaries = sim.stats(1).reads_accepted + sim.stats(2).reads_accepted;
    assert_eq!(on_secondaries, 4, "secondary reads went to secondaries");
    assert_eq!(sim.stats(0).reads_accepted, 0);
    assert_eq!(sim.stats(1).reads_refused + sim.stats(2).reads_refused, 0);
    client.close().await;
}

#[tokio::test]
async fn writes_move_to_the_new_primary_after_a_step_down_under_load() {
    let backend = backend().await;
    let sim = Arc::new(three_members(&backend).await);
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&heartbeatFrequencyMS=500&serverSelectionTimeoutMS=20000",
        sim.hosts()
    );
    let client = Client::connect(&uri).await.unwrap();
    wait_for_types(&client, &[(sim.host(0), ServerType::RsPrimary)]).await;

    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for _ in 0..16 {
        let client = client.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut ok = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let insert = rawdoc! {"insert": "load", "documents": [{}]};
                // Writes refused during the election are retried by the loop.
                if client
                    .command("sim", &insert, &ReadPreference::primary())
                    .await
                    .is_ok()
                {
                    ok += 1;
                }
            }
            ok
        }));
    }
    timeout(
        PATIENCE,
        sim.wait_until(|s| s.stats(0).writes_accepted >= 50),
    )
    .await
    .expect("writes reach the first primary");
    sim.step_down(0).await.unwrap();
    let accepted_at_step_down = sim.stats(0).writes_accepted;
    sim.elect(1).await.unwrap();
    timeout(
        PATIENCE,
        sim.wait_until(|s| s.stats(1).writes_accepted >= 50),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "writes did not resume on the new primary; topology: {}",
            client.topology().stats()
        )
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    for writer in writers {
        total += timeout(PATIENCE, writer).await.unwrap().unwrap();
    }
    let old = sim.stats(0);
    assert_eq!(
        old.writes_accepted, accepted_at_step_down,
        "a write reached node 0 after it stopped being primary"
    );
    let new = sim.stats(1);
    let (hello, write) = (
        new.first_hello_since_change.unwrap(),
        new.first_write_since_change.unwrap(),
    );
    let gap = write.saturating_duration_since(hello);
    eprintln!(
        "step-down: {total} writes ok, {} refused by the old primary; new primary's first hello to first write: {gap:?}",
        old.writes_refused
    );
    client.close().await;
}

#[tokio::test]
async fn three_mongos_are_discovered_and_a_killed_one_is_left_out() {
    let backend = backend().await;
    let sim = Simulator::mongos(3).start(backend.address()).await.unwrap();
    let uri = format!("mongodb://{}/?heartbeatFrequencyMS=500", sim.hosts());
    let client = Client::connect(&uri).await.unwrap();
    let routers: Vec<_> = (0..3).map(|i| (sim.host(i), ServerType::Mongos)).collect();
    wait_for_types(&client, &routers).await;
    sim.kill(0).await.unwrap();
    wait_for_types(&client, &[(sim.host(0), ServerType::Unknown)]).await;
    let before: Vec<u64> = (0..3).map(|i| sim.stats(i).writes_accepted).collect();
    let started = Instant::now();
    for _ in 0..20 {
        let insert = rawdoc! {"insert": "routed", "documents": [{}]};
        client
            .command("sim", &insert, &ReadPreference::primary())
            .await
            .unwrap();
    }
    assert!(started.elapsed() < PATIENCE);
    let after: Vec<u64> = (0..3).map(|i| sim.stats(i).writes_accepted).collect();
    assert_eq!(after[0], before[0], "the killed router got nothing");
    assert_eq!(after[1] + after[2] - before[1] - before[2], 20);
    client.close().await;
}

#[tokio::test]
async fn secondary_preferred_falls_back_to_the_primary_and_returns_after_restarts() {
    let backend = backend().await;
    let sim = three_members(&backend).await;
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&heartbeatFrequencyMS=500",
        sim.hosts()
    );
    let client = Client::connect(&uri).await.unwrap();
    let all = [
        (sim.host(0), ServerType::RsPrimary),
        (sim.host(1), ServerType::RsSecondary),
        (sim.host(2), ServerType::RsSecondary),
    ];
    wait_for_types(&client, &all).await;
    let preferred = ReadPreference::with_mode(ReadPreferenceMode::SecondaryPreferred);
    let read = rawdoc! {"find": "things"};
    client.command("sim", &read, &preferred).await.unwrap();
    assert_eq!(sim.stats(0).reads_accepted, 0, "a secondary was there");

    sim.kill(1).await.unwrap();
    sim.kill(2).await.unwrap();
    wait_for_types(
        &client,
        &[
            (sim.host(1), ServerType::Unknown),
            (sim.host(2), ServerType::Unknown),
        ],
    )
    .await;
    client.command("sim", &read, &preferred).await.unwrap();
    assert_eq!(sim.stats(0).reads_accepted, 1, "fell back to the primary");

    sim.restart(1).await.unwrap();
    sim.restart(2).await.unwrap();
    wait_for_types(&client, &all).await;
    let before = sim.stats(1).reads_accepted + sim.stats(2).reads_accepted;
    client.command("sim", &read, &preferred).await.unwrap();
    let after = sim.stats(1).reads_accepted + sim.stats(2).reads_accepted;
    assert_eq!(after, before + 1, "restarted secondaries are used again");
    assert_eq!(sim.stats(0).reads_accepted, 1);
    client.close().await;
}

/// Server selection's "power of two choices" over real pools: with two routers in
/// the latency window, both are drawn, and the one with fewer operations in progress
/// (connections checked out through the client) wins every time.
#[tokio::test]
async fn the_less_busy_of_two_routers_is_selected() {
    let backend = backend().await;
    let sim = Simulator::mongos(2).start(backend.address()).await.unwrap();
    let uri = format!(
        "mongodb://{}/?heartbeatFrequencyMS=500&localThresholdMS=60000",
        sim.hosts()
    );
    let client = Client::connect(&uri).await.unwrap();
    let routers: Vec<_> = (0..2).map(|i| (sim.host(i), ServerType::Mongos)).collect();
    wait_for_types(&client, &routers).await;
    for _ in 0..10 {
        let first = client.checkout(&ReadPreference::primary()).await.unwrap();
        assert_eq!(first.server().operation_count(), 1);
        let second = client.checkout_for_write().await.unwrap();
        assert_ne!(
            first.server().address(),
            second.server().address(),
            "the busy router was selected again"
        );
        assert_eq!(second.server().operation_count(), 1);
        let busy = first.server().address().clone();
        drop(second);
        let third = client.checkout(&ReadPreference::primary()).await.unwrap();
        assert_ne!(
            third.server().address(),
            &busy,
            "the busy router was selected"
        );
    }
    client.close().await;
}

/// What a checkout passes on with its commands (server-selection spec, "Passing read
/// preference"): a replica set member gets the mode, a mongos the whole read
/// preference, a direct connection to a member secondaryOk; a write, the defaults.
#[tokio::test]
async fn a_checkout_passes_the_read_preference_on_as_the_spec_says() {
    let backend = backend().await;
    let set = three_members(&backend).await;
    let routers = Simulator::mongos(1).start(backend.address()).await.unwrap();
    let secondary = ReadPreference::with_mode(ReadPreferenceMode::SecondaryPreferred);
    let primary = ReadPreference::primary();
    // (URI, the server type to wait for, whether a read passes the mode on, whether
    // it sets secondaryOk).
    let cases = [
        (
            format!("{}/?replicaSet=rs0", set.host(0)),
            ServerType::RsPrimary,
            true,
            false,
        ),
        (routers.host(0), ServerType::Mongos, true, false),
        (
            format!("{}/?directConnection=true", set.host(1)),
            ServerType::RsSecondary,
            false,
            true,
        ),
    ];
    for (hosts, server_type, passes_mode, secondary_ok) in cases {
        let client = Client::connect(&format!("mongodb://{hosts}"))
            .await
            .unwrap();
        let host = hosts.split('/').next().unwrap().to_string();
        wait_for_types(&client, &[(host, server_type)]).await;
        let read = client.checkout(&secondary).await.unwrap();
        let options = read.command_options();
        assert_eq!(options.secondary_ok, secondary_ok, "{hosts}");
        let expected = if passes_mode { &secondary } else { &primary };
        assert_eq!(&options.read_preference, expected, "{hosts}");
        drop(read);
        let read = client.checkout(&primary).await.unwrap();
        assert_eq!(read.command_options().secondary_ok, secondary_ok, "{hosts}");
        assert_eq!(read.command_options().read_preference, primary, "{hosts}");
        drop(read);
        if server_type != ServerType::RsSecondary {
            let write = client.checkout_for_write().await.unwrap();
            assert!(!write.command_options().secondary_ok, "{hosts}");
            assert_eq!(write.command_options().read_preference, primary, "{hosts}");
        }
        client.close().await;
    }
}
