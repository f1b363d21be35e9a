//! CMAP events delivered to your handler, and the pools' and topology's numbers.
//!
//! ```sh
//! MONGODB_URI=mongodb://localhost:27017 cargo run -p mongopool --example events_and_stats
//! ```
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use mongopool::bson::rawdoc;
use mongopool::events::{CmapEvent, CmapEventHandler};
use mongopool::topology::TopologyOptions;
use mongopool::{Client, ConnectionString};

/// Counts events by kind. Handlers are called synchronously: keep them quick.
#[derive(Default)]
struct Counter(Mutex<BTreeMap<&'static str, u32>>);

impl CmapEventHandler for Counter {
    fn handle(&self, event: CmapEvent) {
        let kind = match event {
            CmapEvent::PoolCreated(_) => "PoolCreated",
            CmapEvent::PoolReady(_) => "PoolReady",
            CmapEvent::ConnectionCreated(_) => "ConnectionCreated",
            CmapEvent::ConnectionReady(_) => "ConnectionReady",
            CmapEvent::ConnectionCheckOutStarted(_) => "ConnectionCheckOutStarted",
            CmapEvent::ConnectionCheckedOut(_) => "ConnectionCheckedOut",
            CmapEvent::ConnectionCheckedIn(_) => "ConnectionCheckedIn",
            _ => "other",
        };
        *self.0.lock().unwrap().entry(kind).or_default() += 1;
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let uri = std::env::var("MONGODB_URI").unwrap_or_else(|_| "mongodb://localhost:27017".into());
    let counter = Arc::new(Counter::default());
    let mut options = TopologyOptions::default();
    options.pool_event_handler = Some(counter.clone());
    let client = Client::with_options(ConnectionString::parse(&uri)?, options).await?;

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let client = client.clone();
        tasks.spawn(async move {
            for _ in 0..25 {
                client.run_command("admin", &rawdoc! { "ping": 1 }).await?;
            }
            Ok::<_, mongopool::Error>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }

    for (kind, n) in counter.0.lock().unwrap().iter() {
        println!("event {kind}: {n}");
    }
    // Every server with its type, round trip time and pool counts.
    let stats = client.topology().stats();
    println!("{stats}");
    let pool = stats.servers[0].pool.as_ref().expect("a pool");
    println!("pool: total {}, in use {}", pool.total, pool.in_use);
    client.close().await;
    Ok(())
}
