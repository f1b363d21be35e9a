//! The polling-srv spec's prose tests (`specs/polling-srv/tests/README.md`), with a
//! fake DNS behind `TopologyOptions::srv_source` and tokio's paused clock: the
//! rescan interval (60 s) passes in virtual time.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongopool::topology::{SrvSource, TopologyOptions, TopologyType};
use mongopool::SrvLookup;
use mongopool::{Client, ConnectionString, Error, Result};
use tokio::sync::Notify;

const DOMAIN_HOST: &str = "localhost.test.build.10gen.cc.";
/// Two rescan intervals, as the prose tests wait.
const TWO_RESCANS: Duration = Duration::from_secs(121);

/// DNS that answers what the test says, and counts the lookups.
struct FakeDns {
    service: &'static str,
    answer: Mutex<Result<Vec<u16>>>,
    lookups: Mutex<usize>,
    looked_up: Notify,
}

impl FakeDns {
    fn new(service: &'static str, ports: &[u16]) -> Arc<FakeDns> {
        Arc::new(FakeDns {
            service,
            answer: Mutex::new(Ok(ports.to_vec())),
            lookups: Mutex::new(0),
            looked_up: Notify::new(),
        })
    }

    fn set(&self, answer: Result<Vec<u16>>) {
        *self.answer.lock().unwrap() = answer;
    }

    fn lookups(&self) -> usize {
        *self.lookups.lock().unwrap()
    }

    /// Waits until `n` lookups happened (in virtual time).
    async fn wait_for_lookups(&self, n: usize) {
        loop {
            let notified = self.looked_up.notified();
            if self.lookups() >= n {
                return;
            }
            notified.await;
        }
    }
}

impl SrvSource for FakeDns {
    fn lookup<'a>(
        &'a self,
        _srv_host: &'a str,
        service_name: &'a str,
    ) -> Pin<Box<dyn Future<Output = Result<SrvLookup>> + Send + 'a>> {
        Box::pin(async move {
            assert_eq!(service_name, self.service, "the SRV service name");
            *self.lookups.lock().unwrap() += 1;
            self.looked_up.notify_waiters();
            let ports = self.answer.lock().unwrap().clone()?;
            Ok(SrvLookup {
                targets: ports.iter().map(|&p| (DOMAIN_HOST.to_owned(), p)).collect(),
                txt_records: Vec::new(),
            })
        })
    }
}

async fn client(uri: &str, dns: &Arc<FakeDns>) -> Client {
    let options = {
        let mut o = TopologyOptions::default();
        o.srv_source = Some(dns.clone());
        o
    };
    Client::with_options(ConnectionString::parse(uri).unwrap(), options)
        .await
        .unwrap()
}

fn ports(client: &Client) -> BTreeSet<u16> {
    client
        .topology()
        .description()
        .servers()
        .map(|s| match &s.address {
            mongopool::ServerAddress::Tcp { host, port } => {
                assert_eq!(host, "localhost.test.build.10gen.cc");
                *port
            }
            other => panic!("{other:?}"),
        })
        .collect()
}

fn set(ports: &[u16]) -> BTreeSet<u16> {
    ports.iter().copied().collect()
}

/// Starts a client on test1 (27017, 27018), changes DNS to `new`, waits two
/// rescans, and returns the ports of the topology then.
async fn after_change(uri: &str, new: Result<Vec<u16>>) -> (BTreeSet<u16>, Arc<FakeDns>) {
    let dns = FakeDns::new("mongodb", &[27017, 27018]);
    let client = client(uri, &dns).await;
    assert_eq!(ports(&client), set(&[27017, 27018]));
    dns.set(new);
    tokio::time::timeout(TWO_RESCANS, dns.wait_for_lookups(3))
        .await
        .expect("two rescans in two intervals");
    let found = ports(&client);
    client.close().await;
    (found, dns)
}

const TEST1: &str = "mongodb+srv://test1.test.build.10gen.cc/?tls=false";

#[tokio::test(start_paused = true)]
async fn p1_addition_of_a_new_record() {
    let (found, _) = after_change(TEST1, Ok(vec![27017, 27018, 27019])).await;
    assert_eq!(found, set(&[27017, 27018, 27019]));
}

#[tokio::test(start_paused = true)]
async fn p2_removal_of_a_record() {
    let (found, _) = after_change(TEST1, Ok(vec![27017])).await;
    assert_eq!(found, set(&[27017]));
}

#[tokio::test(start_paused = true)]
async fn p3_replacement_of_a_record() {
    let (found, _) = after_change(TEST1, Ok(vec![27017, 27019])).await;
    assert_eq!(found, set(&[27017, 27019]));
}

#[tokio::test(start_paused = true)]
async fn p4_both_records_replaced_by_one() {
    let (found, _) = after_change(TEST1, Ok(vec![27019])).await;
    assert_eq!(found, set(&[27019]));
}

#[tokio::test(start_paused = true)]
async fn p5_both_records_replaced_by_two() {
    let (found, _) = after_change(TEST1, Ok(vec![27019, 27020])).await;
    assert_eq!(found, set(&[27019, 27020]));
}

#[tokio::test(start_paused = true)]
async fn p6_a_lookup_timeout_changes_nothing() {
    let (found, _) = after_change(TEST1, Err(Error::timeout("DNS timed out"))).await;
    assert_eq!(found, set(&[27017, 27018]));
}

#[tokio::test(start_paused = true)]
async fn p7_a_lookup_failure_changes_nothing() {
    let (found, _) = after_change(TEST1, Err(Error::configuration("NXDOMAIN"))).await;
    assert_eq!(found, set(&[27017, 27018]));
}

#[tokio::test(start_paused = true)]
async fn p8_no_records_change_nothing_and_rescan_at_heartbeat_frequency() {
    let dns = FakeDns::new("mongodb", &[27017, 27018]);
    let client = client(TEST1, &dns).await;
    dns.set(Ok(vec![]));
    tokio::time::timeout(TWO_RESCANS, dns.wait_for_lookups(3))
        .await
        .expect("two rescans");
    assert_eq!(ports(&client), set(&[27017, 27018]));
    // With no records the next rescan comes after heartbeatFrequencyMS (10 s), not 60 s.
    tokio::time::timeout(Duration::from_secs(11), dns.wait_for_lookups(4))
        .await
        .expect("a rescan after heartbeatFrequencyMS");
    client.close().await;
}

#[tokio::test(start_paused = true)]
async fn p9_no_polling_for_a_load_balanced_topology() {
    let dns = FakeDns::new("mongodb", &[27017]);
    let client = client(
        "mongodb+srv://test3.test.build.10gen.cc/?loadBalanced=true&tls=false",
        &dns,
    )
    .await;
    assert_eq!(
        client.topology().description().topology_type(),
        TopologyType::LoadBalanced
    );
    dns.set(Ok(vec![27017, 27018]));
    tokio::time::sleep(TWO_RESCANS).await;
    assert_eq!(dns.lookups(), 1, "only the initial lookup");
    assert_eq!(ports(&client), set(&[27017]));
    client.close().await;
}

#[tokio::test(start_paused = true)]
async fn p10_all_records_with_srv_max_hosts_0() {
    let uri = format!("{TEST1}&srvMaxHosts=0");
    let (found, _) = after_change(&uri, Ok(vec![27017, 27019, 27020])).await;
    assert_eq!(found, set(&[27017, 27019, 27020]));
}

#[tokio::test(start_paused = true)]
async fn p11_all_records_when_srv_max_hosts_covers_them() {
    let uri = format!("{TEST1}&srvMaxHosts=2");
    let (found, _) = after_change(&uri, Ok(vec![27019, 27020])).await;
    assert_eq!(found, set(&[27019, 27020]));
}

#[tokio::test(start_paused = true)]
async fn p12_new_records_are_picked_at_random_up_to_srv_max_hosts() {
    let uri = format!("{TEST1}&srvMaxHosts=2");
    let (found, _) = after_change(&uri, Ok(vec![27017, 27019, 27020])).await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&27017), "{found:?}");
    assert!(!found.contains(&27018), "a removed record stays: {found:?}");
}

#[tokio::test(start_paused = true)]
async fn p13_a_custom_service_name() {
    let dns = FakeDns::new("customname", &[27017]);
    let client = client(
        "mongodb+srv://test22.test.build.10gen.cc/?srvServiceName=customname&tls=false",
        &dns,
    )
    .await;
    dns.set(Ok(vec![27019, 27020]));
    tokio::time::timeout(TWO_RESCANS, dns.wait_for_lookups(3))
        .await
        .expect("two rescans");
    assert_eq!(ports(&client), set(&[27019, 27020]));
    client.close().await;
}
