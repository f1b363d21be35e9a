//! Opening a connection: connect, hello, compressor, login.
//!
//! The hello goes out as OP_MSG, as the handshake spec says (legacy `isMaster` with
//! `helloOk: true`, or `hello` in load-balanced mode). A server older than 3.6 does not
//! know OP_MSG and hangs up on it; then we connect again and ask with OP_QUERY, which
//! every server answers.
//!
//! In load-balanced mode the load balancer spec allows OP_MSG only, so there is no
//! second try, and a hello without `serviceId` means the server behind the
//! balancer does not know the mode: the connection is refused before any login.

use std::sync::atomic::{AtomicBool, Ordering};

use bson::raw::cstr;
use bson::{RawArrayBuf, RawDocumentBuf};
use mongopool_wire::{Compressor, Limits, Message, MsgFlags, OpQuery, QueryFlags};

use crate::address::ServerAddress;
use crate::auth::HandshakeAuth;
use crate::connection::{CommandFrame, Connection, ConnectionOptions, MessageStream};
use crate::error::{Error, ErrorKind, Result};
use crate::hello_reply::HelloReply;
use crate::reply_check::check_command_reply;
use crate::time_limit::TimeLimit;

/// The load balancer spec's wording for a hello without `serviceId` in
/// load-balanced mode.
const NO_LOAD_BALANCING_SUPPORT: &str =
    "Driver attempted to initialize in load balancing mode, but the server does not support this mode.";

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
        establish_in_span(address, options, id, generation, false).await
    }

    /// [`Connection::connect`] for a pool: a network error or timeout before the
    /// login (connecting, the TLS handshake's I/O, the hello) gets the
    /// `SystemOverloadedError` and `RetryableError` labels, as the CMAP spec asks of a
    /// backpressure-enabled pool, so that SDAM neither marks the server Unknown nor
    /// clears the pool for it and the client may retry. Errors that never come from
    /// overload (a name that does not resolve, a rejected certificate) and every
    /// error while logging in stay unlabelled.
    pub(crate) async fn connect_pooled(
        address: &ServerAddress,
        options: &ConnectionOptions,
        id: u64,
        generation: u32,
    ) -> Result<Connection> {
        establish_in_span(address, options, id, generation, true).await
    }
}

/// Whether an error before the login may come from an overloaded server: a timeout,
/// or a connection failure whose I/O error is one an overloaded server causes
/// (refused, reset, aborted, closed early), not a failed name lookup or a TLS
/// error that is not I/O (the certificate).
fn may_be_overload(error: &Error) -> bool {
    use std::io::ErrorKind as Io;
    if error.is_timeout() {
        return true;
    }
    if !error.is_network() {
        return false;
    }
    let io = std::error::Error::source(error).and_then(|s| s.downcast_ref::<std::io::Error>());
    match io {
        // A failure we raised ourselves (the peer closed the connection mid-reply).
        None => true,
        Some(io) => matches!(
            io.kind(),
            Io::ConnectionRefused
                | Io::ConnectionReset
                | Io::ConnectionAborted
                | Io::BrokenPipe
                | Io::UnexpectedEof
                | Io::NotConnected
                | Io::TimedOut
        ),
    }
}

fn backpressure_labels(mut error: Error) -> Error {
    if may_be_overload(&error) {
        error.add_label(crate::error::SYSTEM_OVERLOADED_ERROR_LABEL);
        error.add_label(crate::error::RETRYABLE_ERROR_LABEL);
    }
    error
}

/// [`establish`] inside a `connect` span (target `mongopool::span`).
async fn establish_in_span(
    address: &ServerAddress,
    options: &ConnectionOptions,
    id: u64,
    generation: u32,
    pooled: bool,
) -> Result<Connection> {
    let (host, port) = crate::spans::host_port(address);
    let span = tracing::info_span!(
        target: crate::spans::TARGET,
        "connect",
        serverHost = host.as_str(),
        serverPort = port,
        driverConnectionId = id,
        generation,
        durationMS = tracing::field::Empty,
        outcome = tracing::field::Empty,
        failure = tracing::field::Empty,
    );
    // Boxed: the handshake's state (the stream, the hello, the login) is tens of KB,
    // and every future that awaits a connect (a pool's establishment, a monitor, the
    // caller's own) would otherwise carry it inline and copy it through its frames in
    // debug builds, deep enough to overflow a 2 MB thread stack.
    let establishing = Box::pin(establish(address, options, id, generation, pooled));
    crate::spans::run_in(span, establishing).await
}

/// Connects, runs the handshake and logs in.
async fn establish(
    address: &ServerAddress,
    options: &ConnectionOptions,
    id: u64,
    generation: u32,
    pooled: bool,
) -> Result<Connection> {
    let auth = HandshakeAuth::prepare(options.credential.as_ref())?;
    // Set once the hello is done: errors from then on are the login's, never labelled.
    let logging_in = AtomicBool::new(false);
    let label = |e: Error| match pooled && !logging_in.load(Ordering::Relaxed) {
        true => backpressure_labels(e),
        false => e,
    };
    let command = hello_command(options, &auth);
    let timeout = options.connect.connect_timeout;
    let establish = async {
        let stream = crate::connect::connect(address, &options.connect)
            .await
            .map_err(label)?;
        let mut io = MessageStream::new(stream, options.connect.socket_timeout);
        let handshake = tracing::debug_span!(
            target: crate::spans::TARGET,
            "handshake",
            opMsg = true,
            maxWireVersion = tracing::field::Empty,
            compressor = tracing::field::Empty,
            durationMS = tracing::field::Empty,
            outcome = tracing::field::Empty,
            failure = tracing::field::Empty,
        );
        let hello_exchange = async {
            match hello_round_trip(&mut io, &command, true).await {
                Ok(reply) => Ok(reply),
                // An OP_MSG-less server hangs up: ask again the old way (never when
                // load-balanced, where every step of the handshake must be OP_MSG).
                Err(e) if e.is_network() && !e.is_timeout() && !options.load_balanced => {
                    let stream = crate::connect::connect(address, &options.connect)
                        .await
                        .map_err(label)?;
                    io = MessageStream::new(stream, options.connect.socket_timeout);
                    tracing::Span::current().record("opMsg", false);
                    hello_round_trip(&mut io, &command, false)
                        .await
                        .map_err(|_| label(e))
                }
                Err(e) => Err(label(e)),
            }
            .and_then(|reply| {
                let hello =
                    HelloReply::parse_with_ceiling(reply, options.max_message_size_ceiling)?;
                if options.load_balanced && hello.service_id.is_none() {
                    return Err(Error::new(ErrorKind::Unsupported {
                        message: NO_LOAD_BALANCING_SUPPORT.into(),
                    }));
                }
                let compressor = negotiate_compressor(&options.compressors, &hello.compression);
                let span = tracing::Span::current();
                span.record("maxWireVersion", hello.max_wire_version);
                span.record("compressor", compressor.as_ref().map(|c| c.name()));
                Ok((hello, compressor))
            })
        };
        let (hello, compressor) = crate::spans::run_in(handshake, hello_exchange).await?;
        let mut conn = Connection::from_handshake(
            io,
            address.clone(),
            hello,
            compressor,
            options.auth_policy,
            id,
            generation,
        );
        logging_in.store(true, Ordering::Relaxed);
        auth.finish(&mut conn, options.credential.as_ref()).await?;
        Ok(conn)
    };
    TimeLimit::starting_now(timeout, "connect")
        .run(establish)
        .await
        .map_err(|elapsed| {
            label(Error::io(
                format!("opening a connection to {address}"),
                elapsed.into(),
            ))
        })?
}

/// The first command on every connection.
fn hello_command(options: &ConnectionOptions, auth: &HandshakeAuth) -> RawDocumentBuf {
    let mut cmd = RawDocumentBuf::new();
    if options.load_balanced {
        cmd.append(cstr!("hello"), 1_i32);
    } else {
        cmd.append(cstr!("isMaster"), 1_i32);
        cmd.append(cstr!("helloOk"), true);
    }
    // Handshake spec: the client backpressure version this client follows, always
    // the string "2" (never a boolean).
    cmd.append(cstr!("backpressure"), "2");
    cmd.append(cstr!("client"), options.metadata.as_ref().clone());
    if !options.compressors.is_empty() {
        let mut names = RawArrayBuf::new();
        for c in &options.compressors {
            names.push(c.name());
        }
        cmd.append(cstr!("compression"), names);
    }
    if options.load_balanced {
        cmd.append(cstr!("loadBalanced"), true);
    }
    auth.append_to_hello(&mut cmd);
    cmd
}

/// Sends the hello as OP_MSG (`op_msg`) or as OP_QUERY on `admin.$cmd`, and reads
/// the reply document. `ok: 0` is an error: the connection is not established.
async fn hello_round_trip(
    io: &mut MessageStream,
    command: &RawDocumentBuf,
    op_msg: bool,
) -> Result<RawDocumentBuf> {
    // Nothing is agreed yet: no compressor, the default limits.
    let limits = Limits::default();
    let request_id = if op_msg {
        let frame = CommandFrame {
            db: "admin",
            read_pref: None,
            flags: MsgFlags::EMPTY,
        };
        io.encode_command(command, &frame, None, &limits)?
    } else {
        let message = Message::Query(OpQuery {
            flags: QueryFlags::default(),
            full_collection_name: "admin.$cmd".into(),
            number_to_skip: 0,
            number_to_return: -1,
            query: command.clone(),
            return_fields_selector: None,
        });
        io.encode_message(&message, None, &limits)?
    };
    io.round_trip(request_id).await?;
    check_command_reply(io.reply_document(), &[])?;
    Ok(io.take_reply_document())
}

/// The first of our compressors, in our order of preference, that the server
/// accepted.
fn negotiate_compressor(ours: &[Compressor], server: &[String]) -> Option<Compressor> {
    ours.iter()
        .find(|c| server.iter().any(|s| s.eq_ignore_ascii_case(c.name())))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressor_negotiation_keeps_our_order() {
        let ours = vec![Compressor::Zstd { level: None }, Compressor::Snappy];
        assert_eq!(
            negotiate_compressor(&ours, &["snappy".into(), "zstd".into()]),
            Some(Compressor::Zstd { level: None })
        );
        assert_eq!(
            negotiate_compressor(&ours, &["snappy".into()]),
            Some(Compressor::Snappy)
        );
        assert_eq!(negotiate_compressor(&ours, &["zlib".into()]), None);
        assert_eq!(negotiate_compressor(&[], &["zlib".into()]), None);
    }

    #[test]
    fn the_hello_says_the_client_supports_backpressure() {
        let options = ConnectionOptions::default();
        let auth = HandshakeAuth::prepare(None).unwrap();
        let hello = hello_command(&options, &auth);
        assert_eq!(hello.get_str("backpressure").ok(), Some("2"));
    }

    #[test]
    fn only_errors_an_overloaded_server_can_cause_get_the_labels() {
        use std::io;
        let labelled = |e: Error| backpressure_labels(e).is_retryable_overload();
        assert!(labelled(Error::timeout("hello")));
        assert!(labelled(Error::connection(
            "the server closed the connection"
        )));
        for kind in [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionRefused,
            io::ErrorKind::UnexpectedEof,
        ] {
            assert!(
                labelled(Error::io("reading", io::Error::from(kind))),
                "{kind:?}"
            );
        }
        // A failed name lookup, a certificate (InvalidData from rustls), a login.
        assert!(!labelled(Error::io(
            "resolving",
            io::Error::other("no such host")
        )));
        assert!(!labelled(Error::io(
            "TLS handshake",
            io::Error::new(io::ErrorKind::InvalidData, "bad certificate")
        )));
        assert!(!labelled(Error::configuration("bad option")));
    }
}
