//! Test support for mongopool: real SecantusDB servers on demand, a scriptable
//! in-process mock server ([`mock`]) for the faults a real server will not produce,
//! and a deployment simulator ([`simulator`]): replica sets and mongos routers on
//! loopback in front of one real server.
//!
//! [`TestServer`] starts `secantusd-rs` (a MongoDB-compatible server, installed by
//! `scripts/install-test-server`) on a free loopback port with its own empty storage
//! directory, waits until it accepts connections, and kills it when dropped, also when
//! the test panics. Many servers can run at once from parallel tests: each has its own
//! port, storage, log file and threads.
//!
//! ```no_run
//! use mongopool_testkit::{SeedUser, TestServer};
//!
//! let server = TestServer::builder()
//!     .auth(true)
//!     .user(SeedUser::scram("alice", "secret"))
//!     .start()
//!     .expect("start secantusd-rs");
//! println!("connect to {}", server.uri());
//! ```
//!
//! SecantusDB is GPL software: it only ever runs as a separate process.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod admin_command;
mod binary_location;
mod builder;
mod certificate_authority;
mod error;
mod listening_line;
mod log_tail;
pub mod mock;
mod seed_user;
mod server_args;
mod server_process;
pub mod simulator;
mod test_server;
mod tls_files;

pub use binary_location::{
    default_secantusd_path, locate_secantusd, secantus_version, SECANTUSD_ENV,
};
pub use builder::TestServerBuilder;
pub use certificate_authority::{CertificateAuthority, IssuedCertificate};
pub use error::{Error, Result};
pub use mock::{Action, Behavior, Journal, MockServer, Reply, Request};
/// The rcgen version the certificate-authority builder speaks.
pub use rcgen;
pub use seed_user::SeedUser;
pub use test_server::TestServer;
pub use tls_files::TlsFiles;
