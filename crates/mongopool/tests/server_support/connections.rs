//! Opening a `Connection` to a test server.

use mongopool::{Connection, ConnectionOptions, ServerAddress};
use mongopool_testkit::TestServer;

use super::address_of;

pub async fn connect_with(address: &ServerAddress, options: &ConnectionOptions) -> Connection {
    Connection::connect(address, options, 1, 0)
        .await
        .expect("connect")
}

pub async fn connect(server: &TestServer) -> Connection {
    connect_with(&address_of(server), &ConnectionOptions::default()).await
}
