//! Bounding one read or write (or a whole exchange) by the socket timeout.

use std::future::Future;
use std::io;
use std::time::Duration;

use crate::error::{Error, Result};

/// Runs `io` (a read, a write, or a whole request/reply exchange on a stream) for at most
/// `timeout`, and turns its io error into an [`Error`] that says `what` was being done.
///
/// `None`, and `Some(Duration::ZERO)` (as `socketTimeoutMS=0` in a connection string),
/// mean no limit. When the limit passes, `io` is dropped and a
/// [`NetworkTimeout`](crate::ErrorKind::NetworkTimeout) error is returned; any other io
/// error becomes a [`ConnectionFailure`](crate::ErrorKind::ConnectionFailure). Either
/// way part of a message may have been read or written, so the stream must be closed
/// ([`Error::closes_connection`] is true).
///
/// `what` is only called when there is an error, so the success path does not format a
/// message: pass something like `|| format!("reading a reply from {address}")`.
///
/// ```no_run
/// # async fn example(stream: &mut mongopool::Stream) -> mongopool::Result<()> {
/// use std::time::Duration;
/// use tokio::io::AsyncReadExt;
///
/// let mut header = [0u8; 16];
/// mongopool::with_socket_timeout(
///     Some(Duration::from_secs(5)),
///     || "reading a reply from localhost:27017".to_string(),
///     stream.read_exact(&mut header),
/// )
/// .await?;
/// # Ok(())
/// # }
/// ```
pub async fn with_socket_timeout<T, F, W>(timeout: Option<Duration>, what: W, io: F) -> Result<T>
where
    F: Future<Output = io::Result<T>>,
    W: FnOnce() -> String,
{
    crate::time_limit::within(timeout, "socket", io)
        .await
        .map_err(|e| Error::io(what(), e))
}
