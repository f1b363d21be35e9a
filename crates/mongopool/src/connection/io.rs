//! Whole messages over a stream: write one, read one, each bounded by the socket
//! timeout, with the length checked before anything is allocated.

use std::time::Duration;

use mongopool_wire::{check_message_length, Header, HEADER_LEN};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader};

use crate::error::{Error, Result};
use crate::stream::Stream;

/// Reads are buffered so that a small reply costs one system call; writes go out
/// whole from the caller's buffer.
const READ_BUFFER_BYTES: usize = 16 * 1024;
/// Up to this size, a message's buffer is allocated at once from its announced length.
const EAGER_ALLOCATION_BYTES: usize = 4 * 1024 * 1024;

pub(crate) struct FramedStream {
    inner: BufReader<Stream>,
    socket_timeout: Option<Duration>,
    max_message_size: usize,
}

impl FramedStream {
    pub(crate) fn new(
        stream: Stream,
        socket_timeout: Option<Duration>,
        max_message_size: usize,
    ) -> Self {
        FramedStream {
            inner: BufReader::with_capacity(READ_BUFFER_BYTES, stream),
            socket_timeout,
            max_message_size,
        }
    }

    pub(crate) fn is_peer_closed(&mut self) -> bool {
        // Bytes already buffered that nobody asked for mean the stream is out of step.
        !self.inner.buffer().is_empty() || !self.inner.get_mut().probe().is_usable()
    }

    /// Writes `bytes` and flushes, within the socket timeout.
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let stream = self.inner.get_mut();
        let fut = async {
            stream.write_all(bytes).await?;
            stream.flush().await
        };
        bounded(self.socket_timeout, "writing a message", fut).await
    }

    /// Reads one whole message (header included). A length outside
    /// `16..=max_message_size` is refused before the body is allocated.
    pub(crate) async fn read_frame(&mut self) -> Result<Vec<u8>> {
        let max = self.max_message_size;
        let inner = &mut self.inner;
        let fut = async {
            let mut header = [0u8; HEADER_LEN];
            inner.read_exact(&mut header).await?;
            Ok::<_, std::io::Error>(header)
        };
        let header_bytes = bounded(self.socket_timeout, "reading a reply", fut).await?;
        let header = Header::parse(&header_bytes)?;
        let length = check_message_length(header.message_length, max)?;
        // Memory follows the bytes that really arrive: a peer announcing a large
        // message and sending nothing costs us a small buffer, not the whole length.
        let mut frame = Vec::with_capacity(length.min(EAGER_ALLOCATION_BYTES));
        frame.extend_from_slice(&header_bytes);
        let remaining = (length - HEADER_LEN) as u64;
        let fut = async {
            (&mut *inner)
                .take(remaining)
                .read_to_end(&mut frame)
                .await?;
            if frame.len() != length {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the message ended early",
                ));
            }
            Ok(())
        };
        bounded(self.socket_timeout, "reading a reply", fut).await?;
        Ok(frame)
    }

    /// The limit on one read or write.
    pub(crate) fn set_socket_timeout(&mut self, timeout: Option<Duration>) {
        self.socket_timeout = timeout;
    }

    /// The largest message the server accepts (and that we accept from it).
    pub(crate) fn set_max_message_size(&mut self, max: usize) {
        self.max_message_size = max;
    }
}

/// Runs one io future within the socket timeout (`None` or zero: no limit); maps its
/// errors (and the timeout) to ours.
async fn bounded<T>(
    timeout: Option<Duration>,
    what: &str,
    fut: impl std::future::Future<Output = std::io::Result<T>>,
) -> Result<T> {
    crate::time_limit::within(timeout, "socket", fut)
        .await
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Error::with_source(
                    crate::error::ErrorKind::ConnectionFailure {
                        message: format!("{what}: the server closed the connection"),
                    },
                    e,
                )
            } else {
                Error::io(what, e)
            }
        })
}
