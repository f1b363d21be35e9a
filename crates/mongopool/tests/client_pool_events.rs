//! A `Client`'s pools report their CMAP events to `TopologyOptions::pool_event_handler`
//! (what the metrics example relies on), against a real SecantusDB.

use std::sync::{Arc, Mutex};

use bson::rawdoc;
use mongopool::events::CmapEvent;
use mongopool::topology::TopologyOptions;
use mongopool::{Client, ConnectionString};
use mongopool_testkit::TestServer;

#[tokio::test]
async fn the_clients_pools_report_to_the_pool_event_handler() {
    let server = tokio::task::spawn_blocking(|| TestServer::start().expect("start secantusd-rs"))
        .await
        .unwrap();
    let seen: Arc<Mutex<Vec<&'static str>>> = Arc::default();
    let record = seen.clone();
    let options = {
        let mut o = TopologyOptions::default();
        o.pool_event_handler = Some(Arc::new(move |event: CmapEvent| {
            if let CmapEvent::ConnectionCheckedOut(_) = event {
                record.lock().unwrap().push("checked out");
            }
        }));
        o
    };
    let cs = ConnectionString::parse(&server.uri()).unwrap();
    let client = Client::with_options(cs, options).await.unwrap();
    for _ in 0..3 {
        client
            .run_command("admin", &rawdoc! {"ping": 1})
            .await
            .unwrap();
    }
    client.close().await;
    assert_eq!(seen.lock().unwrap().len(), 3, "one checkout per command");
}
