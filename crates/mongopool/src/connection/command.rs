//! Commands: `command`, `write_command`, `send_message`, `receive_message`.

use std::borrow::Cow;

use bson::raw::cstr;
use bson::{RawDocument, RawDocumentBuf};
use mongopool_wire::{Decoded, Message, MsgFlags, OpCode, OpQuery, QueryFlags, HEADER_LEN};
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::request_reply::ReplyHeader;
use super::{Admission, Broken, CommandFrame, Connection};
use crate::error::{Error, ErrorKind, Result};
use crate::read_preference::{ReadPreference, ReadPreferenceMode};
use crate::reply_check::{check_command_reply, check_write_reply, AllowableError};

/// How to run one command (PyMongo's `command` keyword arguments).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CommandOptions {
    /// Allow a secondary to answer: sets the SlaveOk bit on OP_QUERY, and asks for
    /// `primaryPreferred` on OP_MSG to a non-mongos. Defaults to false.
    pub secondary_ok: bool,
    /// The read preference, passed to a mongos. Defaults to primary.
    pub read_preference: ReadPreference,
    /// Turn `ok: 0` into an error. Defaults to true.
    pub check: bool,
    /// Errors returned as replies instead of raised, when `check` is on. Defaults to
    /// none.
    pub allowable_errors: Vec<AllowableError>,
}

impl CommandOptions {
    /// The defaults, as a constant (what [`CommandOptions::default`] returns).
    pub const DEFAULT: CommandOptions = CommandOptions {
        secondary_ok: false,
        read_preference: ReadPreference::primary(),
        check: true,
        allowable_errors: Vec::new(),
    };
}

impl Default for CommandOptions {
    fn default() -> Self {
        CommandOptions::DEFAULT
    }
}

crate::option_builder::option_builder! {
    /// Builds [`CommandOptions`] from the defaults.
    CommandOptionsBuilder for CommandOptions {
        /// Sets [`CommandOptions::secondary_ok`].
        secondary_ok: bool,
        /// Sets [`CommandOptions::read_preference`].
        read_preference: ReadPreference,
        /// Sets [`CommandOptions::check`].
        check: bool,
        /// Sets [`CommandOptions::allowable_errors`].
        allowable_errors: Vec<AllowableError>,
    }
}

impl CommandOptions {
    /// Defaults, but with `check` off: every reply comes back, `ok: 0` included.
    pub fn unchecked() -> Self {
        CommandOptions {
            check: false,
            ..CommandOptions::default()
        }
    }
}

impl Connection {
    /// Runs a command on `db` and returns the server's reply as a raw document.
    ///
    /// The wire format follows the server: OP_MSG (`$db`, and `$readPreference` where
    /// a mongos or a secondary needs it) from wire version 6, else OP_QUERY on
    /// `<db>.$cmd` (SlaveOk bit, `$query`/`$readPreference` wrapper for a mongos).
    /// The caller's document is never modified. With `check` on, `ok: 0` is an
    /// [`ErrorKind::OperationFailure`] (or [`ErrorKind::NotPrimary`]) unless
    /// allowed by `allowable_errors`.
    pub async fn command(
        &mut self,
        db: &str,
        spec: &RawDocument,
        options: &CommandOptions,
    ) -> Result<RawDocumentBuf> {
        self.command_borrowed(db, spec, options).await?;
        Ok(self.io.take_reply_document())
    }

    /// Runs a command as [`Connection::command`] does, and lends the reply where it
    /// was read, in the connection's buffer, until the next operation: nothing is
    /// allocated for it. The cheapest way to run a command whose reply is looked at
    /// and not kept (a ping, a hello on a monitoring connection).
    pub async fn command_borrowed(
        &mut self,
        db: &str,
        spec: &RawDocument,
        options: &CommandOptions,
    ) -> Result<&RawDocument> {
        self.run_command(db, spec, options, MsgFlags::EMPTY).await?;
        let reply = self.io.reply_document();
        if options.check {
            check_command_reply(reply, &options.allowable_errors)?;
        }
        Ok(reply)
    }

    /// Runs a command and deserialises the reply into `T` (any serde type, e.g. a
    /// struct with the fields you need, or `bson::Document`). This is what
    /// PyMongo's `codec_options` become: the type says how to read the reply.
    ///
    /// ```no_run
    /// # async fn f(conn: &mut mongopool::Connection) -> mongopool::Result<()> {
    /// #[derive(serde::Deserialize)]
    /// struct BuildInfo { version: String }
    /// let info: BuildInfo = conn
    ///     .command_as("admin", &bson::rawdoc! {"buildInfo": 1}, &Default::default())
    ///     .await?;
    /// println!("{}", info.version);
    /// # Ok(()) }
    /// ```
    pub async fn command_as<T: DeserializeOwned>(
        &mut self,
        db: &str,
        spec: &RawDocument,
        options: &CommandOptions,
    ) -> Result<T> {
        let reply = self.command(db, spec, options).await?;
        bson::deserialize_from_slice(reply.as_bytes()).map_err(|e| {
            Error::with_source(
                ErrorKind::Protocol {
                    message: format!("the reply cannot be read as {}", std::any::type_name::<T>()),
                },
                e,
            )
        })
    }

    /// Sends an already encoded write command (`insert`, `update`, `delete`, as an
    /// OP_MSG or OP_QUERY message whose request id is `request_id`) and returns its
    /// reply. Write errors and write concern errors are errors; a duplicate key is
    /// [`ErrorKind::DuplicateKey`] with the failed index.
    pub async fn write_command(&mut self, request_id: i32, msg: &[u8]) -> Result<RawDocumentBuf> {
        self.admit(Admission::Ready)?;
        let io = &mut self.io;
        self.life
            .guarded(async {
                io.send_bytes(msg).await?;
                io.receive_reply(&[request_id]).await
            })
            .await?;
        check_write_reply(self.io.reply_document())?;
        Ok(self.io.take_reply_document())
    }

    /// Sends raw, already encoded message bytes (one message, or several back to
    /// back), after checking that `max_doc_size` (the largest document in them) is
    /// within the server's limit. If the last message expects a reply, the
    /// connection is unusable until [`Connection::receive_message`] has read it.
    pub async fn send_message(&mut self, msg: &[u8], max_doc_size: usize) -> Result<()> {
        self.admit(Admission::Ready)?;
        self.check_doc_size(max_doc_size)?;
        let awaiting = expects_reply(msg)?;
        self.life.guarded(self.io.send_bytes(msg)).await?;
        if awaiting {
            self.life.broken = Some(Broken::Abandoned);
            self.awaiting_reply = true;
        }
        Ok(())
    }

    /// Reads the reply to `request_id`: its `responseTo` must match, or the
    /// connection is closed with a protocol error. OP_COMPRESSED is unwrapped.
    pub async fn receive_message(&mut self, request_id: i32) -> Result<Decoded> {
        let admission = self.pending_reply();
        self.admit(admission)?;
        self.life.guarded(self.io.receive_decoded(request_id)).await
    }

    /// How a read of the reply `send_message` announced may start.
    pub(super) fn pending_reply(&mut self) -> Admission {
        // A reply is only legitimately pending right after send_message; after a
        // dropped command the pending reply belongs to someone else.
        if std::mem::take(&mut self.awaiting_reply) {
            Admission::PendingReply
        } else {
            Admission::Ready
        }
    }

    pub(crate) fn check_doc_size(&self, size: usize) -> Result<()> {
        let max = self.hello.max_bson_object_size;
        if size > max {
            return Err(Error::new(ErrorKind::DocumentTooLarge { size, max }));
        }
        Ok(())
    }

    /// Sends a command in the wire format this server speaks and, unless `flags`
    /// has moreToCome, reads its reply (lent by `self.io.reply_document()`). An
    /// OP_MSG command is written straight into the frame.
    pub(super) async fn run_command(
        &mut self,
        db: &str,
        spec: &RawDocument,
        options: &CommandOptions,
        flags: MsgFlags,
    ) -> Result<ReplyHeader> {
        self.admit(Admission::Ready)?;
        let limits = self.hello.limits();
        let compressor = self.compressor.as_ref();
        let request_id = if self.hello.supports_op_msg() {
            let read_pref = self.op_msg_read_preference(options);
            let frame = CommandFrame {
                db,
                read_pref: read_pref.as_deref(),
                flags,
            };
            self.io.encode_command(spec, &frame, compressor, &limits)?
        } else {
            let message = self.op_query_command(db, spec, options);
            self.io.encode_message(&message, compressor, &limits)?
        };
        let span = self.command_span(db, spec, request_id);
        if !span.is_disabled() {
            let started = std::time::Instant::now();
            let result = self
                .round_trip_command(request_id, flags)
                .instrument(span.clone())
                .await;
            self.finish_command_span(&span, started, &result);
            return result;
        }
        self.round_trip_command(request_id, flags).await
    }

    /// Sends the encoded command and, unless it has moreToCome, reads its reply.
    async fn round_trip_command(
        &mut self,
        request_id: i32,
        flags: MsgFlags,
    ) -> Result<ReplyHeader> {
        let io = &mut self.io;
        self.life
            .guarded(async {
                if flags.contains(MsgFlags::MORE_TO_COME) {
                    io.send_request().await?;
                    return Ok(ReplyHeader {
                        request_id,
                        response_to: 0,
                        more_to_come: false,
                    });
                }
                let reply = io.round_trip(request_id).await?;
                // moreToCome on a reply means more replies follow, unasked: only an
                // exhaust request may get that; otherwise the next caller would read them.
                if reply.more_to_come && !flags.contains(MsgFlags::EXHAUST_ALLOWED) {
                    return Err(Error::protocol(
                        "the reply has moreToCome set, but the request did not allow exhaust",
                    ));
                }
                Ok(reply)
            })
            .await
    }

    /// The span of one command: the spec's fields, never the body.
    fn command_span(&self, db: &str, spec: &RawDocument, request_id: i32) -> tracing::Span {
        let span = tracing::debug_span!(
            target: crate::spans::TARGET,
            "command",
            commandName = tracing::field::Empty,
            databaseName = db,
            requestId = request_id,
            driverConnectionId = self.id,
            serverConnectionId = self.hello.connection_id,
            serverHost = tracing::field::Empty,
            serverPort = tracing::field::Empty,
            durationMS = tracing::field::Empty,
            outcome = tracing::field::Empty,
            failure = tracing::field::Empty,
        );
        if !span.is_disabled() {
            let (host, port) = crate::spans::host_port(&self.address);
            span.record("commandName", command_name(spec));
            span.record("serverHost", host.as_str());
            span.record("serverPort", port);
        }
        span
    }

    /// Records how a command went: `ok: 0` is a failure too (with its code, not its
    /// message, which may quote the command).
    fn finish_command_span(
        &self,
        span: &tracing::Span,
        started: std::time::Instant,
        result: &Result<ReplyHeader>,
    ) {
        match result {
            Err(e) => crate::spans::finish(span, started, Some(e)),
            Ok(header) if header.response_to == 0 => crate::spans::finish(span, started, None),
            Ok(_) => {
                let reply = self.io.reply_document();
                let ok = match reply.get("ok") {
                    Ok(Some(bson::RawBsonRef::Double(v))) => v == 1.0,
                    Ok(Some(bson::RawBsonRef::Int32(v))) => v == 1,
                    Ok(Some(bson::RawBsonRef::Int64(v))) => v == 1,
                    Ok(Some(bson::RawBsonRef::Boolean(v))) => v,
                    _ => false,
                };
                crate::spans::finish(span, started, None);
                if !ok {
                    let code = reply.get_i32("code").ok();
                    let name = reply.get_str("codeName").ok();
                    span.record("outcome", "failed");
                    span.record(
                        "failure",
                        tracing::field::display(format_args!(
                            "ok: 0, code {}{}",
                            code.unwrap_or(0),
                            name.map(|n| format!(" ({n})")).unwrap_or_default()
                        )),
                    );
                }
            }
        }
    }

    /// `$readPreference` of an OP_MSG command, where a mongos or a secondary needs one.
    fn op_msg_read_preference(
        &self,
        options: &CommandOptions,
    ) -> Option<Cow<'static, RawDocument>> {
        let rp = &options.read_preference;
        if self.hello.is_mongos {
            (rp.mode != ReadPreferenceMode::Primary).then(|| rp.wire_document())
        } else if rp.mode != ReadPreferenceMode::Primary {
            Some(rp.wire_document())
        } else if options.secondary_ok {
            Some(ReadPreference::with_mode(ReadPreferenceMode::PrimaryPreferred).wire_document())
        } else {
            None
        }
    }

    /// A command as OP_QUERY on `<db>.$cmd`, for servers before OP_MSG: the SlaveOk
    /// bit, and the `$query`/`$readPreference` wrapper for a mongos.
    fn op_query_command(&self, db: &str, spec: &RawDocument, options: &CommandOptions) -> Message {
        let rp = &options.read_preference;
        let mut query_flags = QueryFlags::default();
        if options.secondary_ok || rp.secondary_ok() {
            query_flags.insert(QueryFlags::SECONDARY_OK);
        }
        let query = if self.hello.is_mongos && rp.needs_query_wrapper() {
            let mut wrapped = RawDocumentBuf::new();
            wrapped.append(cstr!("$query"), spec.to_owned());
            wrapped.append(cstr!("$readPreference"), rp.to_document());
            wrapped
        } else {
            spec.to_owned()
        };
        Message::Query(OpQuery {
            flags: query_flags,
            full_collection_name: format!("{db}.$cmd"),
            number_to_skip: 0,
            number_to_return: -1,
            query,
            return_fields_selector: None,
        })
    }
}

/// The first key of a command document is its name.
pub(crate) fn command_name(spec: &RawDocument) -> &str {
    spec.iter()
        .next()
        .and_then(|e| e.ok())
        .map(|(k, _)| k.as_str())
        .unwrap_or("")
}

/// Whether the last of the messages in `bytes` gets a reply: OP_QUERY and
/// OP_GET_MORE do, OP_MSG does unless it has moreToCome, the legacy writes and
/// OP_KILL_CURSORS do not.
fn expects_reply(bytes: &[u8]) -> Result<bool> {
    let mut rest = bytes;
    let mut last = None;
    while !rest.is_empty() {
        let header = mongopool_wire::Header::parse(rest)?;
        let len = usize::try_from(header.message_length)
            .ok()
            .filter(|l| (HEADER_LEN..=rest.len()).contains(l))
            .ok_or_else(|| {
                Error::configuration("send_message: the bytes are not whole messages")
            })?;
        let flags = rest
            .get(HEADER_LEN..HEADER_LEN + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        last = Some((header.op_code, flags));
        rest = &rest[len..];
    }
    Ok(match last {
        None => false,
        Some((op, _)) if op == OpCode::Query as i32 || op == OpCode::GetMore as i32 => true,
        Some((op, flags)) if op == OpCode::Msg as i32 => {
            flags.is_some_and(|f| f & MsgFlags::MORE_TO_COME.0 == 0)
        }
        // A compressed message: its inner opcode decides, which we cannot see
        // without decompressing; assume it wants a reply (the safe side: the
        // connection stays unusable until receive_message).
        Some((op, _)) if op == OpCode::Compressed as i32 => true,
        Some(_) => false,
    })
}
