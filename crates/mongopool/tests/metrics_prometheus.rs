//! `PoolMetrics` feeding a Prometheus exporter, scraped over HTTP on loopback.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusBuilder;
use mongopool::topology::TopologyOptions;
use mongopool::{bson, CommandOptions, ConnectionOptions, MongoPool, PoolOptions, ServerAddress};
use mongopool::{Client, ConnectionString};
use mongopool::{PoolMetrics, TopologyMetrics};
use mongopool_testkit::TestServer;

fn free_loopback_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

fn scrape(addr: SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).expect("the exporter listens");
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).unwrap();
    body
}

/// The value of the sample whose line starts with `prefix` (name and labels).
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkouts_and_connections_reach_the_endpoint() {
    let server = TestServer::start().expect("start SecantusDB");
    let listen = free_loopback_port();
    // The exporter's listener runs on the current runtime.
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .install()
        .expect("install the exporter");

    let address = ServerAddress::tcp("127.0.0.1", server.port());
    let options = PoolOptions::builder()
        .max_pool_size(2)
        .event_handler(Arc::new(PoolMetrics::new()))
        .build()
        .unwrap();
    let pool = MongoPool::with_options(address.clone(), options, ConnectionOptions::default());
    pool.ready();
    let held = pool.checkout().await.unwrap();
    for _ in 0..5 {
        let mut conn = pool.checkout().await.unwrap();
        conn.command(
            "admin",
            &bson::rawdoc! {"ping": 1},
            &CommandOptions::default(),
        )
        .await
        .unwrap();
    }

    let text = tokio::task::spawn_blocking(move || scrape(listen))
        .await
        .unwrap();
    let server_label = format!("server=\"{address}\"");
    let checkouts = format!("mongopool_checkouts_total{{{server_label}}}");
    assert_eq!(sample(&text, &checkouts), Some(6.0), "{text}");
    let created = format!("mongopool_connections_created_total{{{server_label}}}");
    assert_eq!(sample(&text, &created), Some(2.0), "{text}");
    // One connection is still held; the other came back.
    let gauge = |state: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("mongopool_connections{")
                    && l.contains(&server_label)
                    && l.contains(&format!("state=\"{state}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(gauge("in_use"), Some(1.0), "{text}");
    assert_eq!(gauge("idle"), Some(1.0), "{text}");
    assert_eq!(gauge("pending"), Some(0.0), "{text}");
    // One wait recorded per checkout.
    let waits = format!("mongopool_checkout_wait_seconds_count{{{server_label}}}");
    assert_eq!(sample(&text, &waits), Some(6.0), "{text}");
    drop(held);

    pool.clear(None, false);
    let text = tokio::task::spawn_blocking(move || scrape(listen))
        .await
        .unwrap();
    let clears = format!("mongopool_pool_clears_total{{{server_label}}}");
    assert_eq!(sample(&text, &clears), Some(1.0), "{text}");
    // Both connections are back: none in use, none being made.
    let gauge_after = |state: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("mongopool_connections{")
                    && l.contains(&server_label)
                    && l.contains(&format!("state=\"{state}\""))
            })
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
    };
    assert_eq!(gauge_after("in_use"), Some(0.0), "{text}");
    assert_eq!(gauge_after("pending"), Some(0.0), "{text}");

    // The topology's numbers: SecantusDB is a one-node replica set, so once it is
    // discovered there is one RSPrimary and no Unknown server.
    let mut options = TopologyOptions::default();
    options.sdam_event_handler = Some(Arc::new(TopologyMetrics::new()));
    let client = Client::with_options(ConnectionString::parse(&server.uri()).unwrap(), options)
        .await
        .unwrap();
    client
        .run_command("admin", &bson::rawdoc! {"ping": 1})
        .await
        .unwrap();
    let text = tokio::task::spawn_blocking(move || scrape(listen))
        .await
        .unwrap();
    assert_eq!(
        sample(&text, "mongopool_servers{type=\"RSPrimary\"}"),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "mongopool_servers{type=\"Unknown\"}"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "mongopool_servers{type=\"RSSecondary\"}"),
        Some(0.0),
        "{text}"
    );
    assert!(
        sample(&text, "mongopool_topology_changes_total").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    client.close().await;
}
