//! The simulator's faults over real sockets: black holes, killed and restarted
//! nodes, added delay.

use std::time::{Duration, Instant};

use bson::doc;
use mongopool_testkit::simulator::{MemberSpec, Simulator, WireClient};
use mongopool_testkit::TestServer;
use tokio::time::timeout;

/// Far more than anything here should take; a hang fails instead of blocking.
const PATIENCE: Duration = Duration::from_secs(20);

async fn set(backend: &TestServer) -> Simulator {
    Simulator::replica_set("rs0")
        .member(MemberSpec::primary())
        .member(MemberSpec::secondary())
        .start(backend.address())
        .await
        .expect("start the simulator")
}

#[tokio::test]
async fn a_black_hole_accepts_bytes_and_never_answers() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut open = WireClient::connect(sim.address(0)).await.unwrap();
    assert_eq!(
        open.command("admin", doc! {"ping": 1}).await.unwrap().ok(),
        1.0
    );
    sim.black_hole(0).await.unwrap();
    // A new connection is accepted, and neither it nor the open one gets an answer.
    let mut fresh = timeout(PATIENCE, WireClient::connect(sim.address(0)))
        .await
        .unwrap()
        .unwrap();
    for client in [&mut open, &mut fresh] {
        let silent = timeout(
            Duration::from_millis(500),
            client.command("admin", doc! {"hello": 1}),
        )
        .await;
        assert!(silent.is_err(), "a black hole answered: {silent:?}");
    }
    let hellos = sim.stats(0).hellos;
    // The other member is unaffected.
    let mut other = WireClient::connect(sim.address(1)).await.unwrap();
    assert_eq!(
        other
            .command("admin", doc! {"hello": 1})
            .await
            .unwrap()
            .ok(),
        1.0
    );
    // Healed, it answers requests that come from now on.
    sim.heal(0).await.unwrap();
    let mut healed = WireClient::connect(sim.address(0)).await.unwrap();
    let reply = timeout(PATIENCE, healed.command("admin", doc! {"hello": 1}))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.ok(), 1.0);
    assert_eq!(sim.stats(0).hellos, hellos + 1);
}

#[tokio::test]
async fn a_killed_node_refuses_connections_until_restarted() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut open = WireClient::connect(sim.address(1)).await.unwrap();
    assert_eq!(
        open.command("admin", doc! {"ping": 1}).await.unwrap().ok(),
        1.0
    );
    sim.kill(1).await.unwrap();
    assert!(!sim.is_running(1));
    assert!(
        timeout(PATIENCE, open.closed()).await.unwrap(),
        "open connections close"
    );
    let refused = WireClient::connect(sim.address(1)).await;
    assert_eq!(
        refused.unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    assert_eq!(sim.stats(1).connections_open, 0);
    // The rest of the set still names it: a killed process changes no config.
    let mut primary = WireClient::connect(sim.address(0)).await.unwrap();
    let hello = primary.command("admin", doc! {"hello": 1}).await.unwrap();
    assert_eq!(hello.document.get_array("hosts").unwrap().len(), 2);

    sim.restart(1).await.unwrap();
    assert!(sim.is_running(1));
    let mut back = WireClient::connect(sim.address(1)).await.unwrap();
    let reply = back.command("admin", doc! {"hello": 1}).await.unwrap();
    assert_eq!(reply.document.get_bool("secondary").ok(), Some(true));
    assert_eq!(sim.stats(1).connections_total, 2);
}

async fn hello_time(client: &mut WireClient) -> Duration {
    let started = Instant::now();
    let reply = client.command("admin", doc! {"hello": 1}).await.unwrap();
    assert_eq!(reply.ok(), 1.0);
    started.elapsed()
}

#[tokio::test]
async fn an_added_delay_slows_every_reply_of_that_node_only() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let delay = Duration::from_millis(300);
    sim.set_delay(1, delay).await.unwrap();
    let mut slow = WireClient::connect(sim.address(1)).await.unwrap();
    let mut fast = WireClient::connect(sim.address(0)).await.unwrap();
    assert!(hello_time(&mut slow).await >= delay);
    let started = Instant::now();
    let ping = slow.command("admin", doc! {"ping": 1}).await.unwrap();
    assert_eq!(ping.ok(), 1.0);
    assert!(started.elapsed() >= delay, "forwarded replies wait too");
    // The other node stays fast (a generous bound: a loaded machine is slow too).
    assert!(hello_time(&mut fast).await < delay);
    sim.set_delay(1, Duration::ZERO).await.unwrap();
    assert!(hello_time(&mut slow).await < delay);
}

#[tokio::test]
async fn shutdown_closes_every_connection() {
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    let mut a = WireClient::connect(sim.address(0)).await.unwrap();
    let mut b = WireClient::connect(sim.address(1)).await.unwrap();
    timeout(
        PATIENCE,
        sim.wait_until(|s| s.stats(0).connections_open + s.stats(1).connections_open == 2),
    )
    .await
    .unwrap();
    sim.shutdown().await;
    for client in [&mut a, &mut b] {
        assert!(timeout(PATIENCE, client.closed()).await.unwrap());
    }
    assert_eq!(sim.stats(0).connections_open, 0);
}

#[tokio::test]
async fn garbage_closes_the_connection_and_the_node_lives_on() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let backend = TestServer::start().expect("start secantusd-rs");
    let sim = set(&backend).await;
    // A header announcing 2 GB, then a frame that is no message at all.
    for garbage in [
        [0xff_u8, 0xff, 0xff, 0x7f, 1, 0, 0, 0].to_vec(),
        [
            20_u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0x39, 0x30, 0, 0, 1, 2, 3, 4,
        ]
        .to_vec(),
    ] {
        let mut stream = tokio::net::TcpStream::connect(sim.address(0))
            .await
            .unwrap();
        stream.write_all(&garbage).await.unwrap();
        let mut rest = Vec::new();
        let read = timeout(PATIENCE, stream.read_to_end(&mut rest))
            .await
            .unwrap();
        assert!(
            read.is_err() || rest.is_empty(),
            "answered garbage: {rest:?}"
        );
    }
    let mut client = WireClient::connect(sim.address(0)).await.unwrap();
    assert_eq!(
        client
            .command("admin", doc! {"hello": 1})
            .await
            .unwrap()
            .ok(),
        1.0
    );
}
