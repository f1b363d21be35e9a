//! The proxy's numbers through the `metrics` facade (feature `metrics`), read back from
//! a debugging recorder: client connections, requests and their latency, pinned
//! cursors, rejections, and the server pools' connections.

mod common;

use std::time::Duration;

use bson::rawdoc;
use common::{client, ok, run, server_and_proxy};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

/// One snapshot of the recorder. Taking it resets the recorder's counters, gauges
/// and histograms (the debugging recorder swaps them out), so each test step reads
/// one snapshot.
struct Snap(Vec<Metric>);

/// A metric's kind, name, labels and value.
type Metric = (MetricKind, String, Vec<(String, String)>, DebugValue);

impl Snap {
    fn take(snapshotter: &Snapshotter) -> Snap {
        Snap(
            snapshotter
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(key, _, _, value)| {
                    let labels = key
                        .key()
                        .labels()
                        .map(|l| (l.key().to_owned(), l.value().to_owned()))
                        .collect();
                    (key.kind(), key.key().name().to_owned(), labels, value)
                })
                .collect(),
        )
    }

    /// The value of metric `name` with exactly `labels`, if recorded.
    fn value(&self, kind: MetricKind, name: &str, labels: &[(&str, &str)]) -> Option<&DebugValue> {
        self.0.iter().find_map(|(k, n, l, value)| {
            let same_labels = labels.len() == l.len()
                && labels
                    .iter()
                    .all(|(a, b)| l.iter().any(|(x, y)| x == a && y == b));
            (*k == kind && n == name && same_labels).then_some(value)
        })
    }

    fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        match self.value(MetricKind::Counter, name, labels) {
            Some(DebugValue::Counter(n)) => *n,
            _ => 0,
        }
    }

    fn gauge(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        match self.value(MetricKind::Gauge, name, labels) {
            Some(DebugValue::Gauge(g)) => g.into_inner(),
            other => panic!("no gauge {name} {labels:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn the_proxys_numbers_reach_the_recorder() {
    let recorder = DebuggingRecorder::new();
    let snap = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let (_server, proxy) = server_and_proxy("maxPoolSize=2").await;
    let mut a = client(&proxy, "").await;
    let mut b = client(&proxy, "").await;
    for _ in 0..3 {
        assert!(ok(&run(&mut a, "db", &rawdoc! {"ping": 1}).await));
    }
    // A cursor left open is pinned; its client leaving kills it.
    let insert = rawdoc! {"insert": "m", "documents": [{"_id": 1}, {"_id": 2}, {"_id": 3}]};
    assert!(ok(&run(&mut b, "db", &insert).await));
    let find = run(&mut b, "db", &rawdoc! {"find": "m", "batchSize": 1}).await;
    assert!(ok(&find), "{find:?}");
    // A request the proxy cannot route is a rejection.
    let bad = rawdoc! {"find": "m", "$readPreference": {"mode": "sideways"}};
    assert!(!ok(&run(&mut a, "db", &bad).await));

    let s = Snap::take(&snap);
    assert_eq!(
        s.counter("mongopool_proxy_client_connections_total", &[]),
        2
    );
    assert_eq!(s.gauge("mongopool_proxy_client_connections", &[]), 2.0);
    // 3 pings, the insert, the find.
    assert_eq!(
        s.counter(
            "mongopool_proxy_requests_total",
            &[("outcome", "forwarded")]
        ),
        5
    );
    // The hellos of the two clients' handshakes.
    assert_eq!(
        s.counter("mongopool_proxy_requests_total", &[("outcome", "answered")]),
        2
    );
    match s.value(
        MetricKind::Histogram,
        "mongopool_proxy_request_duration_seconds",
        &[],
    ) {
        Some(DebugValue::Histogram(samples)) => {
            assert_eq!(samples.len(), 5);
            assert!(samples
                .iter()
                .all(|x| x.into_inner() > 0.0 && x.into_inner() < 10.0));
        }
        other => panic!("no latency histogram: {other:?}"),
    }
    assert_eq!(s.gauge("mongopool_proxy_pinned_cursors", &[]), 1.0);
    assert_eq!(s.gauge("mongopool_proxy_pinned_transactions", &[]), 0.0);
    assert_eq!(
        s.counter(
            "mongopool_proxy_rejections_total",
            &[("reason", "bad_request")]
        ),
        1
    );
    // Server connections: the pool's own numbers (mongopool::PoolMetrics).
    let server = proxy.pool_stats()[0].0.to_string();
    assert!(
        s.counter(
            "mongopool_connections_created_total",
            &[("server", &server)]
        ) >= 1
    );
    assert!(s.counter("mongopool_checkouts_total", &[("server", &server)]) >= 5);

    drop(b);
    common::eventually("the cursor is cleaned up and the client gone", || {
        let stats = proxy.stats();
        stats.cleanups == 1 && stats.clients_open == 1
    })
    .await;
    let s = Snap::take(&snap);
    assert_eq!(s.counter("mongopool_proxy_cleanups_total", &[]), 1);
    assert_eq!(s.gauge("mongopool_proxy_client_connections", &[]), 1.0);
    assert_eq!(s.gauge("mongopool_proxy_pinned_cursors", &[]), 0.0);
    proxy.shutdown(Duration::from_secs(1)).await;
}
