//! One connection to one server: the seed's `SocketInfo`.
//!
//! A [`Connection`] is a stream plus what the handshake learned (the [`HelloReply`]),
//! the negotiated compressor, the pool's identity for it (id, generation) and the set
//! of credentials it is logged in with. Its methods are the seed's: `command`,
//! `write_command`, `legacy_write`, `send_message`, `receive_message`, plus
//! `authenticate` / `check_auth` (in `auth`).
//!
//! Whatever goes wrong on the wire closes the connection for good: a network error, a
//! protocol violation, or a future dropped between sending a request and reading its
//! reply (the reply may still be in the socket, and reusing the connection would hand
//! it to the next caller). [`Connection::is_usable`] says so, and a pool never reuses
//! such a connection.

mod command;
mod exhaust;
mod io;
mod legacy_write;
mod options;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Instant;

use mongopool_wire::Compressor;

use crate::address::ServerAddress;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::hello_reply::HelloReply;
use crate::pool::InterruptSignal;
use crate::stream::Stream;

pub(crate) use command::reply_document;
pub use command::CommandOptions;
pub(crate) use io::FramedStream as HandshakeStream;
pub use legacy_write::LegacyWriteResult;
pub use options::ConnectionOptions;

/// Why a connection may not be used again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// A network error or timeout happened on it.
    Network,
    /// The peer broke the wire protocol.
    Protocol,
    /// A request was sent (or partly sent) and its reply was never read: the future
    /// doing it was dropped. The reply may still arrive.
    Abandoned,
    /// The pool interrupted it (clear with `interrupt_in_use`).
    Interrupted,
    /// It was closed on purpose (e.g. a `logout` the server refused).
    Closed,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Broken::Network => "a network error happened on it",
            Broken::Protocol => "the server broke the wire protocol on it",
            Broken::Abandoned => "an operation on it was abandoned mid-flight",
            Broken::Interrupted => "its pool interrupted it",
            Broken::Closed => "it was closed",
        })
    }
}

/// Request ids are unique per process, as the drivers make them.
static NEXT_REQUEST_ID: AtomicI32 = AtomicI32::new(1);

/// A fresh request id.
pub fn next_request_id() -> i32 {
    // Wrapping is fine: ids only need to differ from those still in flight.
    NEXT_REQUEST_ID.fetch_add(1, Ordering::Relaxed)
}

/// The stream of a connection being opened: socket timeout, and the default
/// message size limit until the server has said its own.
pub(crate) fn io_for_handshake(stream: Stream, options: &ConnectionOptions) -> io::FramedStream {
    io::FramedStream::new(
        stream,
        options.connect.socket_timeout,
        mongopool_wire::DEFAULT_MAX_MESSAGE_SIZE_BYTES,
    )
}

/// A connection to one server, described by its handshake.
pub struct Connection {
    stream: io::FramedStream,
    address: ServerAddress,
    // Behind an Arc: connections move by value through the pool.
    hello: std::sync::Arc<HelloReply>,
    compressor: Option<Compressor>,
    id: u64,
    generation: u32,
    created: Instant,
    last_used: Instant,
    broken: Option<Broken>,
    /// Set while an exhaust stream is being read: only `next_exhaust_reply` may run.
    exhaust_request: Option<exhaust::ExhaustIds>,
    /// Set by `send_message` when the bytes sent ask for a reply: only then may
    /// `receive_message` read from a connection marked as awaiting one.
    awaiting_reply: bool,
    /// Fired by the pool on `clear(interrupt_in_use)`: operations fail at once.
    interrupt: Option<InterruptSignal>,
    /// Credentials this connection is logged in with, by source database.
    authset: BTreeMap<String, Credential>,
    /// How it may log in (key cache, SCRAM iteration ceiling, PLAIN without TLS).
    auth_policy: crate::auth::AuthPolicy,
    write_buf: Vec<u8>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .field("address", &self.address)
            .field("max_wire_version", &self.hello.max_wire_version)
            .field("compressor", &self.compressor.as_ref().map(|c| c.name()))
            .field("broken", &self.broken)
            .field("auth_sources", &self.authset.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Connection {
    /// Opens a connection: connects (TCP, Unix socket or TLS), runs the handshake,
    /// and logs in with the options' credential if there is one. `id` and
    /// `generation` are the pool's; use 0 outside a pool.
    pub async fn connect(
        address: &ServerAddress,
        options: &ConnectionOptions,
        id: u64,
        generation: u32,
    ) -> Result<Connection> {
        crate::handshake::establish(address, options, id, generation).await
    }

    pub(crate) fn from_framed(
        mut stream: io::FramedStream,
        address: ServerAddress,
        hello: HelloReply,
        compressor: Option<Compressor>,
        id: u64,
        generation: u32,
        options: &ConnectionOptions,
    ) -> Connection {
        let now = Instant::now();
        stream.set_max_message_size(hello.max_message_size_bytes);
        stream.set_socket_timeout(options.connect.socket_timeout);
        Connection {
            stream,
            address,
            hello: std::sync::Arc::new(hello),
            compressor,
            id,
            generation,
            created: now,
            last_used: now,
            broken: None,
            exhaust_request: None,
            awaiting_reply: false,
            interrupt: None,
            authset: BTreeMap::new(),
            auth_policy: options.auth_policy,
            write_buf: Vec::new(),
        }
    }

    /// The server's address.
    pub fn address(&self) -> &ServerAddress {
        &self.address
    }

    /// What the server said in the handshake.
    pub fn hello(&self) -> &HelloReply {
        &self.hello
    }

    /// The compressor used for messages that may be compressed, if one was agreed.
    pub fn compressor(&self) -> Option<&Compressor> {
        self.compressor.as_ref()
    }

    /// The pool's id for this connection (0 outside a pool).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The pool generation this connection belongs to.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// When it was opened.
    pub fn created(&self) -> Instant {
        self.created
    }

    /// When an operation on it last finished.
    pub fn last_used(&self) -> Instant {
        self.last_used
    }

    /// Whether it may carry another operation: false once anything went wrong on
    /// the wire, or an operation was abandoned mid-flight.
    pub fn is_usable(&self) -> bool {
        self.broken.is_none() && self.exhaust_request.is_none()
    }

    /// Why it may not be used, if so.
    pub fn broken(&self) -> Option<Broken> {
        self.broken
    }

    /// A cheap, non-blocking probe: has the peer closed the connection (or sent
    /// bytes nobody asked for)? Does not read anything.
    pub fn is_peer_closed(&mut self) -> bool {
        self.stream.is_peer_closed()
    }

    /// Marks the connection closed so that nobody reuses it; the socket is shut
    /// when the connection is dropped.
    pub fn close(&mut self) {
        self.broken.get_or_insert(Broken::Closed);
    }

    /// Marks the connection interrupted by its pool.
    pub fn interrupt(&mut self) {
        self.broken.get_or_insert(Broken::Interrupted);
    }

    /// Lets a pool interrupt this connection: once `signal` fires, the operation in
    /// flight fails and the connection is unusable.
    pub fn set_interrupt_signal(&mut self, signal: InterruptSignal) {
        self.interrupt = Some(signal);
    }

    /// Runs `io` unless the pool interrupts the connection first.
    async fn interruptible<T>(
        interrupt: Option<InterruptSignal>,
        io: impl std::future::Future<Output = Result<T>>,
    ) -> Result<T> {
        let Some(signal) = interrupt else {
            return io.await;
        };
        tokio::select! {
            biased;
            result = io => result,
            _ = signal.interrupted() => Err(Error::connection(
                "the operation was interrupted: the connection's pool was cleared",
            )),
        }
    }

    /// The credentials this connection is logged in with, by source.
    pub fn auth_sources(&self) -> impl Iterator<Item = &str> {
        self.authset.keys().map(String::as_str)
    }

    pub(crate) fn authset(&self) -> &BTreeMap<String, Credential> {
        &self.authset
    }

    pub(crate) fn authset_mut(&mut self) -> &mut BTreeMap<String, Credential> {
        &mut self.authset
    }

    pub(crate) fn auth_policy(&self) -> crate::auth::AuthPolicy {
        self.auth_policy
    }

    /// Whether the stream is TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    fn check_usable(&self) -> Result<()> {
        if self.interrupt.as_ref().is_some_and(|s| s.is_interrupted()) {
            return Err(Error::connection(format!(
                "connection {} to {} cannot be used: {}",
                self.id,
                self.address,
                Broken::Interrupted
            )));
        }
        if let Some(reason) = self.broken {
            return Err(Error::connection(format!(
                "connection {} to {} cannot be used: {reason}",
                self.id, self.address
            )));
        }
        if self.exhaust_request.is_some() {
            return Err(Error::new(crate::error::ErrorKind::Unsupported {
                message: "an exhaust stream is being read on this connection; read it to the \
                          end with next_exhaust_reply"
                    .into(),
            }));
        }
        Ok(())
    }

    /// Records the outcome of an operation: errors that break the connection mark it.
    fn settle<T>(&mut self, result: Result<T>) -> Result<T> {
        match &result {
            Ok(_) => {
                self.broken = None;
                self.last_used = Instant::now();
            }
            Err(e) if e.is_protocol() => self.broken = Some(Broken::Protocol),
            Err(e) if e.is_network() => {
                let interrupted = self.interrupt.as_ref().is_some_and(|s| s.is_interrupted());
                self.broken = Some(if interrupted {
                    Broken::Interrupted
                } else {
                    Broken::Network
                });
            }
            // The operation itself failed (ok: 0, write error...): the connection is
            // in a clean state again.
            Err(_) => {
                self.broken = None;
                self.last_used = Instant::now();
            }
        }
        result
    }
}
