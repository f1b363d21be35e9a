//! Support for the tests that run against a real SecantusDB server: a server shared
//! by the tests of one file, a TCP proxy that records every frame, and certificates.

// Each test file is its own crate and uses only a part of this module.
#![allow(dead_code)]

pub mod connections;
pub mod cursor_batch;
pub mod pki;
pub mod proxy_rewrites;
pub mod recording_proxy;
pub mod shared;

use mongopool::ServerAddress;
use mongopool_testkit::TestServer;

/// Where a test server listens, as the library wants it.
pub fn address_of(server: &TestServer) -> ServerAddress {
    ServerAddress::tcp(server.host(), server.port())
}
