//! Tracing spans for checkout, connection establishment, handshake, authentication
//! and each command.
//!
//! Field names are those of the command logging and monitoring spec (camelCase on
//! purpose, as the CMAP log messages): `commandName`, `databaseName`, `requestId`,
//! `driverConnectionId`, `serverConnectionId`, `serverHost`, `serverPort`,
//! `durationMS`, plus `outcome` (`succeeded` or `failed`) and `failure`. No span ever
//! records a command's body, a reply, or anything of a credential but its mechanism
//! and source database.
//!
//! A span that no subscriber wants is disabled at its call site (one atomic load),
//! and then nothing else is done: no clock read, no wrapping of the future.

use std::future::Future;
use std::time::Instant;

use tracing::Instrument;

use crate::address::ServerAddress;
use crate::error::Result;

/// The target of every span (`RUST_LOG=mongopool::span=debug` shows them).
pub(crate) const TARGET: &str = "mongopool::span";

/// The host and port fields of `address` (a Unix socket: its path, no port).
pub(crate) fn host_port(address: &ServerAddress) -> (String, Option<u16>) {
    match address {
        ServerAddress::Tcp { host, port } => (host.clone(), Some(*port)),
        ServerAddress::Unix { path } => (path.to_string_lossy().into_owned(), None),
    }
}

/// Runs `future` in `span` and records `durationMS` and the outcome when it ends;
/// with a disabled span, just runs it.
pub(crate) async fn run_in<T>(
    span: tracing::Span,
    future: impl Future<Output = Result<T>>,
) -> Result<T> {
    if span.is_disabled() {
        return future.await;
    }
    let started = Instant::now();
    let result = future.instrument(span.clone()).await;
    finish(&span, started, result.as_ref().err());
    result
}

/// Records `durationMS`, `outcome` and, on failure, `failure` (the error's message,
/// which never holds a credential).
pub(crate) fn finish(span: &tracing::Span, started: Instant, error: Option<&crate::Error>) {
    span.record("durationMS", started.elapsed().as_secs_f64() * 1000.0);
    match error {
        None => span.record("outcome", "succeeded"),
        Some(e) => {
            span.record("outcome", "failed");
            span.record("failure", tracing::field::display(e))
        }
    };
}
