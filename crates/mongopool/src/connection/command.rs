//! Commands: `command`, `write_command`, `send_message`, `receive_message`.

use bson::raw::cstr;
use bson::{RawDocument, RawDocumentBuf};
use mongopool_wire::{
    may_compress, Decoded, Message, MsgFlags, OpCode, OpMsg, OpQuery, QueryFlags, ReplyFlags,
    HEADER_LEN,
};
use serde::de::DeserializeOwned;

use super::{next_request_id, Broken, Connection};
use crate::error::{Error, ErrorKind, OperationFailure, Result};
use crate::read_preference::{ReadPreference, ReadPreferenceMode};
use crate::reply_check::{check_command_reply, check_write_reply, AllowableError};

/// How to run one command (the seed's `command` keyword arguments).
#[derive(Debug, Clone)]
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

impl Default for CommandOptions {
    fn default() -> Self {
        CommandOptions {
            secondary_ok: false,
            read_preference: ReadPreference::primary(),
            check: true,
            allowable_errors: Vec::new(),
        }
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

/// What comes back for one request: the reply document and the reply's flags.
pub(crate) struct Reply {
    pub(crate) document: RawDocumentBuf,
    pub(crate) request_id: i32,
    /// The request it answers (its header's `responseTo`).
    pub(crate) response_to: i32,
    pub(crate) more_to_come: bool,
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
        let message = self.command_message(db, spec, options, MsgFlags::default())?;
        let reply = self.round_trip(&message, command_name(spec)).await?;
        if options.check {
            check_command_reply(&reply.document, &options.allowable_errors)?;
        }
        Ok(reply.document)
    }

    /// Runs a command and deserialises the reply into `T` (any serde type, e.g. a
    /// struct with the fields you need, or `bson::Document`). This is what the
    /// seed's `codec_options` become: the type says how to read the reply.
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
        self.check_usable()?;
        self.broken = Some(Broken::Abandoned);
        let interrupt = self.interrupt.clone();
        let result = Self::interruptible(interrupt, async {
            self.stream.write_all(msg).await?;
            self.read_reply(request_id).await
        })
        .await;
        let reply = self.settle(result)?;
        check_write_reply(&reply.document)?;
        Ok(reply.document)
    }

    /// Sends raw, already encoded message bytes (one message, or several back to
    /// back), after checking that `max_doc_size` (the largest document in them) is
    /// within the server's limit. If the last message expects a reply, the
    /// connection is unusable until [`Connection::receive_message`] has read it.
    pub async fn send_message(&mut self, msg: &[u8], max_doc_size: usize) -> Result<()> {
        self.check_usable()?;
        self.check_doc_size(max_doc_size)?;
        let awaiting = expects_reply(msg)?;
        self.broken = Some(Broken::Abandoned);
        let interrupt = self.interrupt.clone();
        let result = Self::interruptible(interrupt, self.stream.write_all(msg)).await;
        self.settle(result)?;
        if awaiting {
            self.broken = Some(Broken::Abandoned);
            self.awaiting_reply = true;
        }
        Ok(())
    }

    /// Reads the reply to `request_id`: its `responseTo` must match, or the
    /// connection is closed with a protocol error. OP_COMPRESSED is unwrapped.
    pub async fn receive_message(&mut self, request_id: i32) -> Result<Decoded> {
        // A reply is only legitimately pending right after send_message; after a
        // dropped command the pending reply belongs to someone else.
        let pending = std::mem::take(&mut self.awaiting_reply);
        if !(pending && self.broken == Some(Broken::Abandoned)) {
            self.check_usable()?;
        }
        self.broken = Some(Broken::Abandoned);
        let interrupt = self.interrupt.clone();
        let result = Self::interruptible(interrupt, async {
            let frame = self.stream.read_frame().await?;
            let decoded = Message::decode_reply(
                &frame,
                self.hello.max_message_size_bytes,
                self.compressor.as_ref(),
            )?;
            if decoded.header.response_to != request_id {
                return Err(wrong_response_to(request_id, decoded.header.response_to));
            }
            Ok(decoded)
        })
        .await;
        self.settle(result)
    }

    pub(crate) fn check_doc_size(&self, size: usize) -> Result<()> {
        let max = self.hello.max_bson_object_size;
        if size > max {
            return Err(Error::new(ErrorKind::DocumentTooLarge { size, max }));
        }
        Ok(())
    }

    /// The message for a command, in the wire format this server speaks.
    pub(crate) fn command_message(
        &self,
        db: &str,
        spec: &RawDocument,
        options: &CommandOptions,
        flags: MsgFlags,
    ) -> Result<Message> {
        let rp = &options.read_preference;
        if self.hello.supports_op_msg() {
            let mut body = RawDocumentBuf::from_bytes(spec.as_bytes().to_vec())
                .map_err(|e| Error::configuration(format!("invalid command document: {e}")))?;
            body.append(cstr!("$db"), db);
            let read_pref = if self.hello.is_mongos {
                (rp.mode != ReadPreferenceMode::Primary).then(|| rp.to_document())
            } else if rp.mode != ReadPreferenceMode::Primary {
                Some(rp.to_document())
            } else if options.secondary_ok {
                Some(ReadPreference::with_mode(ReadPreferenceMode::PrimaryPreferred).to_document())
            } else {
                None
            };
            if let Some(read_pref) = read_pref {
                body.append(cstr!("$readPreference"), read_pref);
            }
            Ok(Message::Msg(OpMsg::new(body).with_flags(flags)))
        } else {
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
            Ok(Message::Query(OpQuery {
                flags: query_flags,
                full_collection_name: format!("{db}.$cmd"),
                number_to_skip: 0,
                number_to_return: -1,
                query,
                return_fields_selector: None,
            }))
        }
    }

    /// Sends `message` and reads its reply, compressing when a compressor was agreed
    /// and the command may be compressed. Any network or protocol error, or dropping
    /// the future before the reply is read, makes the connection unusable.
    pub(crate) async fn round_trip(&mut self, message: &Message, name: &str) -> Result<Reply> {
        self.check_usable()?;
        message.check_limits(&self.hello.limits())?;
        let request_id = next_request_id();
        let mut buf = std::mem::take(&mut self.write_buf);
        buf.clear();
        let encoded = match &self.compressor {
            Some(c) if may_compress(name) => message.encode_compressed(request_id, 0, c, &mut buf),
            _ => message.encode(request_id, 0, &mut buf),
        };
        if let Err(e) = encoded {
            self.write_buf = buf;
            return Err(e.into());
        }
        let expects_reply =
            !matches!(message, Message::Msg(m) if m.flags.contains(MsgFlags::MORE_TO_COME));
        let exhaust_allowed =
            matches!(message, Message::Msg(m) if m.flags.contains(MsgFlags::EXHAUST_ALLOWED));
        self.broken = Some(Broken::Abandoned);
        let interrupt = self.interrupt.clone();
        let result = Self::interruptible(interrupt, async {
            self.stream.write_all(&buf).await?;
            if !expects_reply {
                return Ok(None);
            }
            let reply = self.read_reply(request_id).await?;
            // moreToCome on a reply means more replies follow, unasked: only an
            // exhaust request may get that; otherwise the next caller would read them.
            if reply.more_to_come && !exhaust_allowed {
                return Err(Error::protocol(
                    "the reply has moreToCome set, but the request did not allow exhaust",
                ));
            }
            Ok(Some(reply))
        })
        .await;
        self.write_buf = buf;
        let reply = self.settle(result)?;
        Ok(reply.unwrap_or_else(|| Reply {
            document: RawDocumentBuf::new(),
            request_id,
            response_to: 0,
            more_to_come: false,
        }))
    }

    /// Reads one reply to `request_id` and takes out its document.
    pub(crate) async fn read_reply(&mut self, request_id: i32) -> Result<Reply> {
        self.read_reply_to(&[request_id]).await
    }

    /// Reads one reply whose `responseTo` is one of `accepted` (the first is the
    /// one named in the error otherwise) and takes out its document.
    pub(crate) async fn read_reply_to(&mut self, accepted: &[i32]) -> Result<Reply> {
        let frame = self.stream.read_frame().await?;
        let decoded = Message::decode_reply(
            &frame,
            self.hello.max_message_size_bytes,
            self.compressor.as_ref(),
        )?;
        if !accepted.contains(&decoded.header.response_to) {
            let expected = accepted.first().copied().unwrap_or(0);
            return Err(wrong_response_to(expected, decoded.header.response_to));
        }
        reply_document(decoded)
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

fn wrong_response_to(expected: i32, got: i32) -> Error {
    Error::protocol(format!(
        "reply answers request {got}, but request {expected} was sent"
    ))
}

/// The document of an OP_MSG or OP_REPLY reply.
pub(crate) fn reply_document(decoded: Decoded) -> Result<Reply> {
    let request_id = decoded.header.request_id;
    let response_to = decoded.header.response_to;
    match decoded.message {
        Message::Msg(msg) => Ok(Reply {
            more_to_come: msg.flags.contains(MsgFlags::MORE_TO_COME),
            document: msg.body,
            request_id,
            response_to,
        }),
        Message::Reply(reply) => {
            let query_failure = reply.flags.contains(ReplyFlags::QUERY_FAILURE);
            let Some(document) = reply.documents.first().map(|d| d.to_owned()) else {
                return Err(Error::protocol("OP_REPLY to a command carries no document"));
            };
            if query_failure {
                return Err(query_failure_error(document));
            }
            Ok(Reply {
                document,
                request_id,
                response_to,
                more_to_come: false,
            })
        }
        other => Err(Error::protocol(format!(
            "expected OP_MSG or OP_REPLY as a reply, got {:?}",
            other.op_code()
        ))),
    }
}

fn query_failure_error(doc: RawDocumentBuf) -> Error {
    let code = doc.get_i32("code").unwrap_or(0);
    let message = doc.get_str("$err").unwrap_or("query failure").to_owned();
    let failure = OperationFailure {
        code,
        code_name: None,
        message,
        labels: Vec::new(),
        reply: doc,
    };
    Error::new(
        if crate::reply_check::is_not_primary(code, &failure.message) {
            ErrorKind::NotPrimary(failure)
        } else {
            ErrorKind::OperationFailure(failure)
        },
    )
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
