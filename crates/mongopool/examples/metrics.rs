//! The pool's numbers on a Prometheus endpoint.
//!
//! ```sh
//! MONGODB_URI=mongodb://localhost:27017 cargo run -p mongopool --features metrics --example metrics
//! curl http://127.0.0.1:9464/metrics     # while it runs (METRICS_ADDR to change it,
//!                                        # METRICS_HOLD_SECS for how long: 60)
//! ```
use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusBuilder;
use mongopool::topology::TopologyOptions;
use mongopool::PoolMetrics;
use mongopool::{bson, Client, ConnectionString};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://localhost:27017".into());
    let listen: std::net::SocketAddr = std::env::var("METRICS_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:9464".into())
        .parse()?;
    PrometheusBuilder::new()
        .with_http_listener(listen)
        .install()?;

    // Every server's pool reports to the same handler.
    let options = {
        let mut o = TopologyOptions::default();
        o.pool_event_handler = Some(Arc::new(PoolMetrics::new()));
        o
    };
    let client = Client::with_options(ConnectionString::parse(&uri)?, options).await?;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = client.clone();
        tasks.spawn(async move {
            for _ in 0..100 {
                client
                    .run_command("admin", &bson::rawdoc! {"ping": 1})
                    .await?;
            }
            Ok::<_, mongopool::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    // How long the endpoint stays up for scraping (METRICS_HOLD_SECS; 60 by default).
    let hold: u64 = std::env::var("METRICS_HOLD_SECS").map_or(Ok(60), |s| s.parse())?;
    println!("800 pings done; metrics on http://{listen}/metrics for {hold} s");
    tokio::time::sleep(std::time::Duration::from_secs(hold)).await;
    client.close().await;
    Ok(())
}
