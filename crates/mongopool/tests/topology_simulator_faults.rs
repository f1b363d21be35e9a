//! The `Client` on the deployment simulator, for what the set looks like to selection:
//! tag sets pick the member that carries them, and a black-holed primary (it accepts
//! bytes and never answers) is found out within connectTimeoutMS plus one heartbeat,
//! without any operation hanging past its own timeouts.

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

/// Waits on topology changes until `host` has type `kind`; returns how long it took.
async fn wait_for_type(client: &Client, host: &str, kind: ServerType) -> Duration {
    let started = Instant::now();
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
    started.elapsed()
}

/// A set "rs0" of `members` in front of `backend`.
async fn start_set(backend: &TestServer, members: Vec<MemberSpec>) -> Simulator {
    let mut set = Simulator::replica_set("rs0");
    for member in members {
        set = set.member(member);
    }
    set.start(backend.address())
        .await
        .expect("start the simulator")
}

/// Waits until member `i` of `sim` has type `kinds[i]`, for every `i`.
async fn wait_for_all(client: &Client, sim: &Simulator, kinds: &[ServerType]) {
    for (i, kind) in kinds.iter().enumerate() {
        wait_for_type(client, &sim.host(i), *kind).await;
    }
}

#[tokio::test]
async fn a_tag_set_picks_the_member_that_carries_it() {
    let backend = backend().await;
    let sim = start_set(
        &backend,
        vec![
            MemberSpec::primary().tag("dc", "west"),
            MemberSpec::secondary().tag("dc", "west"),
            MemberSpec::secondary().tag("dc", "east"),
        ],
    )
    .await;
    let uri = format!("mongodb://{}/?replicaSet=rs0", sim.hosts());
    let client = Client::connect(&uri).await.unwrap();
    let all = [
        ServerType::RsPrimary,
        ServerType::RsSecondary,
        ServerType::RsSecondary,
    ];
    wait_for_all(&client, &sim, &all).await;

    // The first tag set matches nothing, the second only member 2.
    let east = ReadPreference {
        mode: ReadPreferenceMode::Secondary,
        tag_sets: vec![rawdoc! {"dc": "north"}, rawdoc! {"dc": "east"}],
        max_staleness: None,
    };
    let find = rawdoc! {"find": "things"};
    for _ in 0..6 {
        client.command("sim", &find, &east).await.unwrap();
    }
    assert_eq!(sim.stats(2).reads_accepted, 6, "every read went to dc:east");
    assert_eq!(sim.stats(1).reads_accepted, 0);
    assert_eq!(sim.stats(0).reads_accepted, 0);

    // No secondary carries dc:north alone: a selection for it fails, and names the set.
    let north = ReadPreference {
        mode: ReadPreferenceMode::Secondary,
        tag_sets: vec![rawdoc! {"dc": "north"}],
        max_staleness: None,
    };
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&serverSelectionTimeoutMS=500",
        sim.hosts()
    );
    let impatient = Client::connect(&uri).await.unwrap();
    let error = impatient.command("sim", &find, &north).await.unwrap_err();
    assert!(error.is_server_selection(), "{error}");
    assert!(error.to_string().contains(&sim.host(2)), "{error}");
    impatient.close().await;
    client.close().await;
}

#[tokio::test]
async fn a_black_holed_primary_is_found_out_within_the_connect_timeout_and_a_heartbeat() {
    let backend = backend().await;
    let sim = start_set(
        &backend,
        vec![MemberSpec::primary(), MemberSpec::secondary()],
    )
    .await;
    let connect_timeout = Duration::from_millis(1000);
    let heartbeat = Duration::from_millis(500);
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&connectTimeoutMS={}&heartbeatFrequencyMS={}\
         &socketTimeoutMS=1000&serverSelectionTimeoutMS=1000",
        sim.hosts(),
        connect_timeout.as_millis(),
        heartbeat.as_millis()
    );
    let client = Client::connect(&uri).await.unwrap();
    wait_for_all(
        &client,
        &sim,
        &[ServerType::RsPrimary, ServerType::RsSecondary],
    )
    .await;
    let ping = rawdoc! {"ping": 1};
    client
        .command("admin", &ping, &ReadPreference::primary())
        .await
        .unwrap();

    sim.black_hole(0).await.unwrap();
    let blackholed_at = Instant::now();
    // A command already on its way to the primary ends with its socket timeout (or a
    // selection timeout once the primary is Unknown), never hangs.
    let primary = ReadPreference::primary();
    let command = client.command("admin", &ping, &primary);
    let outcome = timeout(PATIENCE, command)
        .await
        .expect("a command to a black-holed primary must not hang");
    assert!(outcome.is_err(), "the black hole answered: {outcome:?}");

    wait_for_type(&client, &sim.host(0), ServerType::Unknown).await;
    // An upper bound on the detection time: it includes the failed command's wait.
    let since_black_hole = blackholed_at.elapsed();
    println!(
        "black-holed primary marked Unknown {:?} after the black hole (bound {:?})",
        since_black_hole,
        connect_timeout + heartbeat
    );
    // The bound of the issue plus a margin for a loaded machine: the monitor's awaited
    // check times out after connectTimeoutMS + heartbeatFrequencyMS at the latest.
    assert!(
        since_black_hole < connect_timeout + heartbeat + Duration::from_secs(5),
        "found out only after {since_black_hole:?}"
    );
    // The secondary stays known and usable meanwhile.
    let secondary = ReadPreference::with_mode(ReadPreferenceMode::Secondary);
    client
        .command("sim", &rawdoc! {"find": "things"}, &secondary)
        .await
        .unwrap();
    client.close().await;
}

#[tokio::test]
async fn nearest_spreads_over_the_latency_window_and_leaves_out_a_slow_member() {
    let backend = backend().await;
    let sim = start_set(
        &backend,
        vec![
            MemberSpec::primary(),
            MemberSpec::secondary(),
            MemberSpec::secondary(),
        ],
    )
    .await;
    // Slow from its first hello on, so its round-trip time is high from the first
    // sample; the window (50 ms) leaves room for a loaded machine's noise.
    sim.set_delay(2, Duration::from_millis(300)).await.unwrap();
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&localThresholdMS=50",
        sim.hosts()
    );
    let client = Client::connect(&uri).await.unwrap();
    let all = [
        ServerType::RsPrimary,
        ServerType::RsSecondary,
        ServerType::RsSecondary,
    ];
    wait_for_all(&client, &sim, &all).await;
    let nearest = ReadPreference::with_mode(ReadPreferenceMode::Nearest);
    let find = rawdoc! {"find": "things"};
    for _ in 0..40 {
        client.command("sim", &find, &nearest).await.unwrap();
    }
    let (fast_a, fast_b, slow) = (
        sim.stats(0).reads_accepted,
        sim.stats(1).reads_accepted,
        sim.stats(2).reads_accepted,
    );
    assert_eq!(slow, 0, "the slow member is outside the window");
    assert_eq!(fast_a + fast_b, 40);
    // Both members in the window take reads (a 1 in 2^39 chance of a false failure).
    assert!(fast_a > 0 && fast_b > 0, "spread: {fast_a} / {fast_b}");
    client.close().await;
}

#[tokio::test]
async fn a_selection_with_no_match_waits_and_succeeds_when_a_member_appears() {
    let backend = backend().await;
    let sim = start_set(
        &backend,
        vec![MemberSpec::primary(), MemberSpec::secondary()],
    )
    .await;
    sim.kill(1).await.unwrap();
    let uri = format!(
        "mongodb://{}/?replicaSet=rs0&heartbeatFrequencyMS=500&serverSelectionTimeoutMS=20000",
        sim.hosts()
    );
    let client = Client::connect(&uri).await.unwrap();
    wait_for_type(&client, &sim.host(0), ServerType::RsPrimary).await;
    wait_for_type(&client, &sim.host(1), ServerType::Unknown).await;

    let reader = client.clone();
    let read = tokio::spawn(async move {
        let secondary = ReadPreference::with_mode(ReadPreferenceMode::Secondary);
        reader
            .command("sim", &rawdoc! {"find": "things"}, &secondary)
            .await
    });
    // Nothing can serve it yet: the read is still waiting after the primary answered a
    // command of its own.
    client
        .command("admin", &rawdoc! {"ping": 1}, &ReadPreference::primary())
        .await
        .unwrap();
    assert!(
        !read.is_finished(),
        "a secondary read found no secondary to use"
    );

    sim.restart(1).await.unwrap();
    let reply = timeout(PATIENCE, read)
        .await
        .expect("the read ends once a secondary is back")
        .unwrap()
        .expect("the read succeeds on the restarted secondary");
    assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
    assert_eq!(sim.stats(1).reads_accepted, 1);
    assert_eq!(sim.stats(0).reads_accepted, 0);
    client.close().await;
}
