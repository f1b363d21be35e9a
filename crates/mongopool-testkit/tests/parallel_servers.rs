//! Servers started at the same time from many threads do not interfere.

use std::collections::HashSet;
use std::thread;

use bson::doc;
use mongopool_testkit::TestServer;

#[test]
fn many_servers_at_once() {
    const SERVERS: usize = 6;
    let servers: Vec<TestServer> = (0..SERVERS)
        .map(|_| thread::spawn(|| TestServer::start().expect("start")))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().expect("thread"))
        .collect();

    let ports: HashSet<u16> = servers.iter().map(TestServer::port).collect();
    let dirs: HashSet<_> = servers
        .iter()
        .map(|s| s.storage_path().to_owned())
        .collect();
    assert_eq!(ports.len(), SERVERS);
    assert_eq!(dirs.len(), SERVERS);

    // Each server holds its own data: a write to one is invisible to the others.
    for (index, server) in servers.iter().enumerate() {
        let marker = i32::try_from(index).unwrap();
        server
            .command(
                "test",
                doc! { "insert": "who", "documents": [{ "server": marker }] },
            )
            .expect("insert");
    }
    for (index, server) in servers.iter().enumerate() {
        let found = server
            .command("test", doc! { "find": "who" })
            .expect("find");
        let batch = found
            .get_document("cursor")
            .unwrap()
            .get_array("firstBatch")
            .unwrap();
        assert_eq!(batch.len(), 1, "{found}");
        let marker = batch[0].as_document().unwrap().get_i32("server").unwrap();
        assert_eq!(marker, i32::try_from(index).unwrap());
    }
}
