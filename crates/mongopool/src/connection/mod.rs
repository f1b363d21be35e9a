//! One connection to one server: PyMongo's `SocketInfo`.
//!
//! A [`Connection`] is a stream plus what the handshake learned (the [`HelloReply`]),
//! the negotiated compressor, the pool's identity for it (id, generation) and the set
//! of credentials it is logged in with. Its methods are PyMongo's: `command`,
//! `write_command`, `legacy_write`, `send_message`, `receive_message`, plus
//! `authenticate` / `check_auth` (in `auth`).
//!
//! Whatever goes wrong on the wire closes the connection for good: a network error, a
//! protocol violation, or a future dropped between sending a request and reading its
//! reply (the reply may still be in the socket, and reusing the connection would hand
//! it to the next caller). [`Connection::is_usable`] says so, and a pool never reuses
//! such a connection.

mod command;
mod command_frame;
mod exhaust;
mod io;
mod legacy_write;
mod lifecycle;
mod options;
mod request_reply;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Instant;

use mongopool_wire::Compressor;

use crate::address::ServerAddress;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::hello_reply::HelloReply;
use crate::interrupt::InterruptSignal;

pub use command::{CommandOptions, CommandOptionsBuilder};
pub use lifecycle::Broken;
use lifecycle::Lifecycle;
pub use options::{ConnectionOptions, ConnectionOptionsBuilder};
pub use request_reply::next_request_id;
pub(crate) use request_reply::{CommandFrame, MessageStream};

/// A connection to one server, described by its handshake.
pub struct Connection {
    io: MessageStream,
    address: ServerAddress,
    // Behind an Arc: connections move by value through the pool.
    hello: std::sync::Arc<HelloReply>,
    compressor: Option<Compressor>,
    id: u64,
    generation: u32,
    created: Instant,
    life: Lifecycle,
    /// Set while an exhaust stream is being read: only `next_exhaust_reply` may run.
    exhaust_request: Option<exhaust::ExhaustIds>,
    /// Set by `send_message` when the bytes sent ask for a reply: only then may
    /// `receive_message` read from a connection marked as awaiting one.
    awaiting_reply: bool,
    /// Credentials this connection is logged in with, by source database.
    authset: BTreeMap<String, Credential>,
    /// How it may log in (key cache, SCRAM iteration ceiling, PLAIN without TLS).
    auth_policy: crate::auth_policy::AuthPolicy,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("id", &self.id)
            .field("generation", &self.generation)
            .field("address", &self.address)
            .field("max_wire_version", &self.hello.max_wire_version)
            .field("compressor", &self.compressor.as_ref().map(|c| c.name()))
            .field("broken", &self.life.broken)
            .field("auth_sources", &self.authset.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Connection {
    /// A connection over `io`, once the handshake is done: from now on the server's
    /// message size limit applies.
    pub(crate) fn from_handshake(
        mut io: MessageStream,
        address: ServerAddress,
        hello: HelloReply,
        compressor: Option<Compressor>,
        auth_policy: crate::auth_policy::AuthPolicy,
        id: u64,
        generation: u32,
    ) -> Connection {
        let now = Instant::now();
        io.framed()
            .set_max_message_size(hello.max_message_size_bytes);
        io.set_negotiated(compressor);
        Connection {
            io,
            address,
            hello: std::sync::Arc::new(hello),
            compressor,
            id,
            generation,
            created: now,
            life: Lifecycle::new(now),
            exhaust_request: None,
            awaiting_reply: false,
            authset: BTreeMap::new(),
            auth_policy,
        }
    }

    pub(crate) fn auth_policy(&self) -> crate::auth_policy::AuthPolicy {
        self.auth_policy
    }

    /// Whether the stream is TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.io.framed_ref().is_tls()
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
        self.life.last_used
    }

    /// Whether it may carry another operation: false once anything went wrong on
    /// the wire, or an operation was abandoned mid-flight.
    pub fn is_usable(&self) -> bool {
        self.life.broken.is_none() && self.exhaust_request.is_none()
    }

    /// Why it may not be used, if so.
    pub fn broken(&self) -> Option<Broken> {
        self.life.broken
    }

    /// A cheap, non-blocking probe: has the peer closed the connection (or sent
    /// bytes nobody asked for)? Does not read anything.
    pub fn is_peer_closed(&mut self) -> bool {
        self.io.framed().is_peer_closed()
    }

    /// Marks the connection closed so that nobody reuses it; the socket is shut
    /// when the connection is dropped.
    pub fn close(&mut self) {
        self.life.broken.get_or_insert(Broken::Closed);
    }

    /// Marks the connection interrupted by its pool.
    pub fn interrupt(&mut self) {
        self.life.broken.get_or_insert(Broken::Interrupted);
    }

    /// Lets a pool interrupt this connection: once `signal` fires, the operation in
    /// flight fails and the connection is unusable.
    pub fn set_interrupt_signal(&mut self, signal: InterruptSignal) {
        self.life.interrupt = Some(signal);
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

    /// Whether an operation may start now. A reply announced by `send_message` may
    /// be read from a connection marked abandoned; an exhaust stream may be read on
    /// while nothing else may run.
    fn admit(&self, admission: Admission) -> Result<()> {
        let unusable = |reason: Broken| {
            Err(Error::connection(format!(
                "connection {} to {} cannot be used: {reason}",
                self.id, self.address
            )))
        };
        if admission == Admission::Exhaust {
            return match self.life.broken {
                Some(reason) => unusable(reason),
                None => Ok(()),
            };
        }
        if self.life.is_interrupted() {
            return unusable(Broken::Interrupted);
        }
        match self.life.broken {
            Some(Broken::Abandoned) if admission == Admission::PendingReply => {}
            Some(reason) => return unusable(reason),
            None => {}
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
}

/// How an operation may start (see [`Connection::admit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admission {
    /// A new operation: the connection must be usable.
    Ready,
    /// Reading the reply `send_message` announced.
    PendingReply,
    /// Reading the next reply of an exhaust stream.
    Exhaust,
}
