//! A non-blocking look at an idle stream: is the peer still there, and quiet?

use std::io;
use std::mem::MaybeUninit;

use socket2::{SockRef, Socket};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// What [`Stream::probe`](super::Stream::probe) found on an idle stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Liveness {
    /// Nothing to read, no end of stream: the stream looks usable.
    Open,
    /// The peer closed the stream (end of stream) or reset it.
    Closed,
    /// The peer sent bytes that no request asked for (or TLS records that do not
    /// decrypt). A reply to the next request could not be told from them, so the stream
    /// must not be reused.
    UnexpectedData,
}

impl Liveness {
    /// Only [`Liveness::Open`] streams can carry another request.
    pub fn is_usable(self) -> bool {
        self == Liveness::Open
    }
}

/// Peeks one byte. Sockets made by tokio are non-blocking, so this returns at once.
pub(super) fn peek_socket(socket: SockRef<'_>) -> Liveness {
    let mut byte = [MaybeUninit::<u8>::uninit()];
    loop {
        match socket.peek(&mut byte) {
            Ok(0) => return Liveness::Closed,
            Ok(_) => return Liveness::UnexpectedData,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Liveness::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Liveness::Closed,
        }
    }
}

/// Feeds the TLS records waiting in the socket to the session and looks at the result.
///
/// Reading the socket here, outside tokio, is sound: the bytes go into the same rustls
/// session that `TlsStream` reads from, and a stale "readable" flag in the runtime only
/// costs the next read one `WouldBlock`.
pub(super) fn probe_tls(tls: &mut TlsStream<TcpStream>) -> Liveness {
    let (tcp, session) = tls.get_mut();
    let socket = SockRef::from(&*tcp);
    let mut reader: &Socket = &socket;
    let mut end_of_stream = false;
    // rustls stops wanting to read once plaintext is waiting or the peer sent
    // close_notify: either way the answer is known.
    while session.wants_read() {
        match session.read_tls(&mut reader) {
            Ok(0) => {
                end_of_stream = true;
                break;
            }
            Ok(_) => {
                if session.process_new_packets().is_err() {
                    return Liveness::UnexpectedData;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Liveness::Closed,
        }
    }
    let state = match session.process_new_packets() {
        Ok(state) => state,
        Err(_) => return Liveness::UnexpectedData,
    };
    if state.plaintext_bytes_to_read() > 0 {
        Liveness::UnexpectedData
    } else if state.peer_has_closed() || end_of_stream {
        Liveness::Closed
    } else {
        Liveness::Open
    }
}
