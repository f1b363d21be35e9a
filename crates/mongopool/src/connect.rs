//! Turning a [`ServerAddress`] into a connected [`Stream`]: resolve, connect, set the
//! socket options, and do the TLS handshake, all within the connect timeout.

mod keepalive;

use std::fmt::Write as _;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rustls::pki_types::ServerName;
use socket2::SockRef;
use tokio::net::TcpStream;

use crate::address::ServerAddress;
use crate::error::{Error, ErrorKind, Result};
use crate::stream::Stream;
use crate::time_limit::TimeLimit;
use crate::tls::TlsConfig;

pub use keepalive::{KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_RETRIES};

/// The connect timeout unless told otherwise: 10 seconds, as `connectTimeoutMS`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How to open a stream to a server.
///
/// Every TCP socket gets `TCP_NODELAY` (requests are whole messages; waiting to coalesce
/// them only adds latency) and TCP keepalive as described in [`KEEPALIVE_IDLE`]; these
/// are not options.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// The limit on the whole of [`connect`]: name resolution, every address tried, and
    /// the TLS handshake. `None`, and `Some(Duration::ZERO)` (as `connectTimeoutMS=0`),
    /// mean no limit other than the operating system's. Defaults to
    /// [`DEFAULT_CONNECT_TIMEOUT`] (10 seconds).
    pub connect_timeout: Option<Duration>,
    /// The limit on each read and write once connected (`socketTimeoutMS`). [`connect`]
    /// does not use it; the connection passes it to
    /// [`with_socket_timeout`](crate::stream::with_socket_timeout). `None` and
    /// `Some(Duration::ZERO)` mean no limit. Defaults to `None`.
    pub socket_timeout: Option<Duration>,
    /// TLS for TCP addresses; `None` for plain TCP. Defaults to `None`.
    pub tls: Option<TlsConfig>,
}

crate::option_builder::option_builder! {
    /// Builds [`ConnectOptions`] from the defaults.
    ConnectOptionsBuilder for ConnectOptions {
        /// Sets [`ConnectOptions::connect_timeout`].
        connect_timeout: Option<Duration>,
        /// Sets [`ConnectOptions::socket_timeout`].
        socket_timeout: Option<Duration>,
        /// Sets [`ConnectOptions::tls`].
        tls: Option<TlsConfig>,
    }
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Some(DEFAULT_CONNECT_TIMEOUT),
            socket_timeout: None,
            tls: None,
        }
    }
}

/// Opens a stream to `address`.
///
/// A TCP host name is resolved (`tokio::net::lookup_host`, the system resolver) and its
/// addresses, IPv4 and IPv6, are tried in the order the resolver gives them until one
/// accepts; an IP literal is used as it is. Then, if `options.tls` is set, the TLS
/// handshake runs, with SNI and certificate verification for the host (for IP literals
/// there is no SNI and the certificate must name the IP). Unix socket addresses are
/// connected as they are; asking for TLS over one is a configuration error.
///
/// Errors name the address and the step that failed, with the io or TLS error as their
/// [`source`](std::error::Error::source): a
/// [`NetworkTimeout`](ErrorKind::NetworkTimeout) when `connect_timeout` passes, a
/// [`ConnectionFailure`](ErrorKind::ConnectionFailure) when resolution, every connect,
/// or the handshake fails.
///
/// ```no_run
/// # async fn example() -> mongopool::Result<()> {
/// use mongopool::{connect, ConnectOptions, ServerAddress};
///
/// let stream = connect(&ServerAddress::tcp("localhost", 27017), &ConnectOptions::default()).await?;
/// # drop(stream);
/// # Ok(())
/// # }
/// ```
pub async fn connect(address: &ServerAddress, options: &ConnectOptions) -> Result<Stream> {
    let deadline = TimeLimit::starting_now(options.connect_timeout, "connect");
    match address {
        ServerAddress::Tcp { host, port } => {
            let tcp = connect_tcp(address, host, *port, deadline).await?;
            match &options.tls {
                None => Ok(Stream::from(tcp)),
                Some(tls) => tls_handshake(address, host, tcp, tls, deadline).await,
            }
        }
        ServerAddress::Unix { path } => {
            if options.tls.is_some() {
                return Err(Error::configuration(format!(
                    "TLS over the Unix domain socket {} is not supported",
                    path.display()
                )));
            }
            connect_unix(address, path, deadline).await
        }
    }
}

async fn connect_tcp(
    address: &ServerAddress,
    host: &str,
    port: u16,
    deadline: TimeLimit,
) -> Result<TcpStream> {
    let (candidates, resolved) = match host.parse::<IpAddr>() {
        Ok(ip) => (vec![SocketAddr::new(ip, port)], false),
        Err(_) => {
            let found = deadline
                .run_io(tokio::net::lookup_host((host, port)))
                .await
                .map_err(|e| Error::io(format!("resolving {address}"), e))?;
            (found.collect(), true)
        }
    };
    let mut last_error = None;
    for (tried, candidate) in candidates.iter().enumerate() {
        match deadline.run_io(TcpStream::connect(candidate)).await {
            Ok(tcp) => {
                configure(&tcp)
                    .map_err(|e| Error::io(format!("setting socket options for {address}"), e))?;
                return Ok(tcp);
            }
            Err(e) => {
                let out_of_time = deadline.has_passed();
                last_error = Some(e);
                if out_of_time {
                    let (tried, _) = candidates.split_at(tried + 1);
                    return Err(connect_error(address, tried, resolved, last_error));
                }
            }
        }
    }
    Err(connect_error(address, &candidates, resolved, last_error))
}

/// "connecting to localhost:27017 (tried [::1]:27017, 127.0.0.1:27017)", with the last
/// io error as the source.
fn connect_error(
    address: &ServerAddress,
    tried: &[SocketAddr],
    resolved: bool,
    last_error: Option<io::Error>,
) -> Error {
    let mut what = format!("connecting to {address}");
    if resolved && !tried.is_empty() {
        what.push_str(" (tried ");
        for (i, candidate) in tried.iter().enumerate() {
            let separator = if i == 0 { "" } else { ", " };
            let _ = write!(what, "{separator}{candidate}");
        }
        what.push(')');
    }
    match last_error {
        Some(e) => Error::io(what, e),
        None => Error::connection(format!("{what}: the name resolved to no address")),
    }
}

fn configure(tcp: &TcpStream) -> io::Result<()> {
    tcp.set_nodelay(true)?;
    keepalive::enable(&SockRef::from(tcp))
}

async fn tls_handshake(
    address: &ServerAddress,
    host: &str,
    tcp: TcpStream,
    tls: &TlsConfig,
    deadline: TimeLimit,
) -> Result<Stream> {
    // An IP literal becomes an IP server name: rustls then sends no SNI (RFC 6066 forbids
    // it) and checks the certificate's IP addresses instead of its DNS names.
    let server_name = ServerName::try_from(host.to_owned()).map_err(|e| {
        Error::with_source(
            ErrorKind::Configuration {
                message: format!("{host:?} cannot be used as a TLS server name"),
            },
            e,
        )
    })?;
    match deadline
        .run_io(tls.connector().connect(server_name, tcp))
        .await
    {
        Ok(stream) => Ok(Stream::tls(stream)),
        Err(e) => {
            let what = if is_certificate_error(&e) {
                format!("TLS handshake with {address}: the server's certificate was rejected")
            } else {
                format!("TLS handshake with {address}")
            };
            Err(Error::io(what, e))
        }
    }
}

fn is_certificate_error(e: &io::Error) -> bool {
    matches!(
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        Some(rustls::Error::InvalidCertificate(_))
    )
}

#[cfg(unix)]
async fn connect_unix(
    address: &ServerAddress,
    path: &std::path::Path,
    deadline: TimeLimit,
) -> Result<Stream> {
    deadline
        .run_io(tokio::net::UnixStream::connect(path))
        .await
        .map(Stream::from)
        .map_err(|e| Error::io(format!("connecting to {address}"), e))
}

#[cfg(not(unix))]
async fn connect_unix(
    _address: &ServerAddress,
    path: &std::path::Path,
    _deadline: TimeLimit,
) -> Result<Stream> {
    Err(Error::configuration(format!(
        "Unix domain sockets such as {} are not supported on this platform",
        path.display()
    )))
}
