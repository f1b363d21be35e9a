//! The byte stream under a connection: plain TCP, a Unix domain socket, or TLS over TCP.
//!
//! [`connect`](crate::connect::connect) makes one. `Stream` itself never times out; the
//! connection bounds each read and write with [`with_socket_timeout`].

mod liveness;
mod socket_timeout;

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use socket2::SockRef;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio_rustls::client::TlsStream;

pub use liveness::Liveness;
pub use socket_timeout::with_socket_timeout;

/// A connected byte stream to a server.
///
/// Reads and writes go straight to the socket (or through TLS); wrap them in a buffer of
/// your own. Dropping the stream closes the socket.
pub struct Stream {
    inner: Inner,
}

enum Inner {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    // Boxed: a TLS session is two orders of magnitude larger than a socket.
    Tls(Box<TlsStream<TcpStream>>),
}

impl Stream {
    pub(crate) fn tls(stream: TlsStream<TcpStream>) -> Self {
        Stream {
            inner: Inner::Tls(Box::new(stream)),
        }
    }

    /// Whether bytes go through TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self.inner, Inner::Tls(_))
    }

    /// Whether the stream is a Unix domain socket.
    pub fn is_unix(&self) -> bool {
        #[cfg(unix)]
        if let Inner::Unix(_) = self.inner {
            return true;
        }
        false
    }

    /// Looks, without blocking and without waiting, at what the peer has sent on an idle
    /// stream: nothing ([`Liveness::Open`]), end of stream or a reset
    /// ([`Liveness::Closed`]), or bytes nobody asked for ([`Liveness::UnexpectedData`]).
    ///
    /// Meant for a stream at rest, between a reply and the next request (a pool checking
    /// an idle connection before handing it out). It asks the kernel each time, one
    /// non-blocking `recv` with `MSG_PEEK`, rather than trusting the runtime's cached
    /// readiness, which lags until the reactor has seen the event. Plain sockets are only
    /// peeked. A TLS stream reads and processes the records waiting in the socket, since
    /// only decryption tells a session ticket (harmless) from a close alert or
    /// application data; that is why this takes `&mut self`. After `Closed` or
    /// `UnexpectedData` the stream must not be used for requests any more.
    pub fn probe(&mut self) -> Liveness {
        match &mut self.inner {
            Inner::Tcp(tcp) => liveness::peek_socket(SockRef::from(&*tcp)),
            #[cfg(unix)]
            Inner::Unix(unix) => liveness::peek_socket(SockRef::from(&*unix)),
            Inner::Tls(tls) => liveness::probe_tls(tls),
        }
    }

    /// Whether the peer has closed or reset the stream: [`probe`](Self::probe) says
    /// [`Liveness::Closed`].
    pub fn is_peer_closed(&mut self) -> bool {
        self.probe() == Liveness::Closed
    }
}

impl From<TcpStream> for Stream {
    fn from(tcp: TcpStream) -> Self {
        Stream {
            inner: Inner::Tcp(tcp),
        }
    }
}

#[cfg(unix)]
impl From<UnixStream> for Stream {
    fn from(unix: UnixStream) -> Self {
        Stream {
            inner: Inner::Unix(unix),
        }
    }
}

/// The socket (for TLS, the TCP socket under it), to read or set socket options, e.g.
/// with `socket2::SockRef`. Reading or writing through it would corrupt the stream.
#[cfg(unix)]
impl std::os::fd::AsFd for Stream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match &self.inner {
            Inner::Tcp(tcp) => tcp.as_fd(),
            Inner::Unix(unix) => unix.as_fd(),
            Inner::Tls(tls) => tls.get_ref().0.as_fd(),
        }
    }
}

/// The socket (for TLS, the TCP socket under it), to read or set socket options, e.g.
/// with `socket2::SockRef`. Reading or writing through it would corrupt the stream.
#[cfg(windows)]
impl std::os::windows::io::AsSocket for Stream {
    fn as_socket(&self) -> std::os::windows::io::BorrowedSocket<'_> {
        match &self.inner {
            Inner::Tcp(tcp) => tcp.as_socket(),
            Inner::Tls(tls) => tls.get_ref().0.as_socket(),
        }
    }
}

impl fmt::Debug for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The TLS session is left out: its Debug output is large and says nothing useful.
        match &self.inner {
            Inner::Tcp(tcp) => f.debug_tuple("Stream::Tcp").field(tcp).finish(),
            #[cfg(unix)]
            Inner::Unix(unix) => f.debug_tuple("Stream::Unix").field(unix).finish(),
            Inner::Tls(tls) => f.debug_tuple("Stream::Tls").field(tls.get_ref().0).finish(),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_read(cx, buf),
            Inner::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_write(cx, buf),
            Inner::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Inner::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match &self.inner {
            Inner::Tcp(s) => s.is_write_vectored(),
            #[cfg(unix)]
            Inner::Unix(s) => s.is_write_vectored(),
            Inner::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_flush(cx),
            Inner::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().inner {
            Inner::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            #[cfg(unix)]
            Inner::Unix(s) => Pin::new(s).poll_shutdown(cx),
            Inner::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
