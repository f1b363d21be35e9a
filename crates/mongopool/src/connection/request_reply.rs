//! The one request/reply path: a request becomes bytes on the socket, and bytes
//! become a checked reply (read one frame, decompress, decode, check `responseTo`,
//! unwrap the reply document). Every caller uses it: commands, write commands, the
//! exhaust stream, the legacy paths and the handshake, which runs it before there is
//! a [`Connection`](super::Connection). Each read and write is bounded by the socket
//! timeout (`None` or zero: no limit).
//!
//! Buffers are kept from one request to the next, and an ordinary OP_MSG reply is read
//! where it lies in the frame, so that a warm request/reply allocates nothing.

use bson::{RawDocument, RawDocumentBuf};
use mongopool_wire::{
    Compressor, Decoded, Limits, Message, MsgFlags, OpCode, OpCompressed, ReplyFlags,
    COMMAND_OVERHEAD_BYTES, HEADER_LEN,
};

use super::command_frame::{body_in_place, encode_command, FrameLimits, BODY_OFFSET};
use super::io::FramedStream;
use crate::error::{Error, ErrorKind, OperationFailure, Result};
use crate::stream::Stream;

/// Request ids are unique per process, as the drivers make them.
static NEXT_REQUEST_ID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);

/// A fresh request id.
pub fn next_request_id() -> i32 {
    // Wrapping is fine: ids only need to differ from those still in flight.
    NEXT_REQUEST_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// A framed stream and the buffers of the request/reply path.
pub(crate) struct MessageStream {
    framed: FramedStream,
    /// The request being sent.
    request: Vec<u8>,
    /// An uncompressed request waiting to be compressed.
    uncompressed: Vec<u8>,
    /// The last frame read.
    frame: Vec<u8>,
    /// The last reply's document: where it lies in `frame`, or a copy when it had to
    /// be decoded out of it (OP_REPLY, OP_COMPRESSED, checksums).
    reply: ReplyDocument,
    /// The compressor agreed in the handshake: an OP_COMPRESSED reply with any other
    /// is a protocol error (none is agreed before the hello's reply).
    negotiated: Option<Compressor>,
}

enum ReplyDocument {
    None,
    InFrame,
    Decoded(RawDocumentBuf),
}

/// What a reply said besides its document (which [`MessageStream::reply_document`]
/// lends).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReplyHeader {
    pub(crate) request_id: i32,
    /// The request it answers.
    pub(crate) response_to: i32,
    pub(crate) more_to_come: bool,
}

/// What goes into a command's OP_MSG besides the caller's document.
pub(crate) struct CommandFrame<'a> {
    pub(crate) db: &'a str,
    pub(crate) read_pref: Option<&'a RawDocument>,
    pub(crate) flags: MsgFlags,
}

impl MessageStream {
    pub(crate) fn new(stream: Stream, socket_timeout: Option<std::time::Duration>) -> Self {
        MessageStream {
            framed: FramedStream::new(
                stream,
                socket_timeout,
                mongopool_wire::DEFAULT_MAX_MESSAGE_SIZE_BYTES,
            ),
            request: Vec::new(),
            uncompressed: Vec::new(),
            frame: Vec::new(),
            reply: ReplyDocument::None,
            negotiated: None,
        }
    }

    /// Replies may from now on be compressed with `compressor` (and only with it).
    pub(crate) fn set_negotiated(&mut self, compressor: Option<Compressor>) {
        self.negotiated = compressor;
    }

    pub(crate) fn framed(&mut self) -> &mut FramedStream {
        &mut self.framed
    }

    pub(crate) fn framed_ref(&self) -> &FramedStream {
        &self.framed
    }

    /// Encodes `message` as the next request, compressed when a compressor is given
    /// and the message may be compressed. Returns its request id.
    pub(crate) fn encode_message(
        &mut self,
        message: &Message,
        compressor: Option<&Compressor>,
        limits: &Limits,
    ) -> Result<i32> {
        message.check_limits(limits)?;
        let request_id = next_request_id();
        self.request.clear();
        match compressor {
            Some(c) if message.may_compress() => {
                message.encode_compressed(request_id, 0, c, &mut self.request)?
            }
            _ => message.encode(request_id, 0, &mut self.request)?,
        }
        Ok(request_id)
    }

    /// Encodes the OP_MSG command `{...spec, $db, $readPreference}` as the next
    /// request, the document written straight into the frame; compressed when a
    /// compressor is given and the command may be compressed. Returns its request id.
    pub(crate) fn encode_command(
        &mut self,
        spec: &RawDocument,
        frame: &CommandFrame<'_>,
        compressor: Option<&Compressor>,
        limits: &Limits,
    ) -> Result<i32> {
        let request_id = next_request_id();
        let limits = FrameLimits {
            max_body: limits
                .max_bson_object_size
                .saturating_add(COMMAND_OVERHEAD_BYTES),
            max_message: limits.max_message_size_bytes,
        };
        let compressor =
            compressor.filter(|_| mongopool_wire::may_compress(super::command::command_name(spec)));
        let target = if compressor.is_some() {
            &mut self.uncompressed
        } else {
            &mut self.request
        };
        target.clear();
        encode_command(
            target,
            request_id,
            frame.flags,
            spec,
            frame.db,
            frame.read_pref,
            &limits,
        )?;
        if let Some(c) = compressor {
            let body = self.uncompressed.get(HEADER_LEN..).unwrap_or_default();
            self.request.clear();
            OpCompressed::compress(OpCode::Msg, body, c)?.encode(
                request_id,
                0,
                &mut self.request,
            )?;
        }
        Ok(request_id)
    }

    /// Sends the request encoded last.
    pub(crate) async fn send_request(&mut self) -> Result<()> {
        self.framed.write_all(&self.request).await
    }

    /// Sends bytes the caller encoded.
    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) -> Result<()> {
        self.framed.write_all(bytes).await
    }

    /// Reads one frame and checks that it answers one of `accepted` (the first is the
    /// one named in the error otherwise).
    async fn read_answer(&mut self, accepted: &[i32]) -> Result<()> {
        self.reply = ReplyDocument::None;
        self.framed.read_frame(&mut self.frame).await?;
        let response_to = header_field(&self.frame, 8);
        if !accepted.contains(&response_to) {
            let expected = accepted.first().copied().unwrap_or(0);
            return Err(wrong_response_to(expected, response_to));
        }
        Ok(())
    }

    /// Reads the reply to one of `accepted` and takes out its document: see
    /// [`MessageStream::reply_document`]. `ok: 0` is not checked here.
    pub(crate) async fn receive_reply(&mut self, accepted: &[i32]) -> Result<ReplyHeader> {
        self.read_answer(accepted).await?;
        let request_id = header_field(&self.frame, 4);
        let response_to = header_field(&self.frame, 8);
        if let Some((_, more_to_come)) = body_in_place(&self.frame) {
            self.reply = ReplyDocument::InFrame;
            return Ok(ReplyHeader {
                request_id,
                response_to,
                more_to_come,
            });
        }
        let decoded = Message::decode_reply(
            &self.frame,
            self.framed.max_message_size(),
            self.negotiated.as_ref(),
        )?;
        let (document, more_to_come) = unwrap_reply(decoded)?;
        self.reply = ReplyDocument::Decoded(document);
        Ok(ReplyHeader {
            request_id,
            response_to,
            more_to_come,
        })
    }

    /// Reads the reply to `request_id` and decodes it whole (OP_COMPRESSED unwrapped).
    pub(crate) async fn receive_decoded(&mut self, request_id: i32) -> Result<Decoded> {
        self.read_answer(&[request_id]).await?;
        Ok(Message::decode_reply(
            &self.frame,
            self.framed.max_message_size(),
            self.negotiated.as_ref(),
        )?)
    }

    /// Sends the request encoded last and reads its reply.
    pub(crate) async fn round_trip(&mut self, request_id: i32) -> Result<ReplyHeader> {
        self.send_request().await?;
        self.receive_reply(&[request_id]).await
    }

    /// The document of the reply read last (empty if there is none).
    pub(crate) fn reply_document(&self) -> &RawDocument {
        match &self.reply {
            ReplyDocument::InFrame => {
                match self.frame.get(BODY_OFFSET..).map(RawDocument::from_bytes) {
                    Some(Ok(document)) => document,
                    _ => empty(),
                }
            }
            ReplyDocument::Decoded(document) => document,
            ReplyDocument::None => empty(),
        }
    }

    /// The document of the reply read last, owned (a copy unless it was decoded).
    pub(crate) fn take_reply_document(&mut self) -> RawDocumentBuf {
        match std::mem::replace(&mut self.reply, ReplyDocument::None) {
            ReplyDocument::Decoded(document) => document,
            ReplyDocument::InFrame => {
                self.reply = ReplyDocument::InFrame;
                self.reply_document().to_owned()
            }
            ReplyDocument::None => RawDocumentBuf::new(),
        }
    }
}

fn empty() -> &'static RawDocument {
    // The empty document: length 5, then the terminating NUL.
    RawDocument::from_bytes(&[5, 0, 0, 0, 0]).expect("the empty document is valid")
}

/// A little-endian i32 of a frame's header (`at` 4: requestID, 8: responseTo).
fn header_field(frame: &[u8], at: usize) -> i32 {
    frame
        .get(at..at + 4)
        .and_then(|b| b.try_into().ok())
        .map(i32::from_le_bytes)
        .unwrap_or(0)
}

fn wrong_response_to(expected: i32, got: i32) -> Error {
    Error::protocol(format!(
        "reply answers request {got}, but request {expected} was sent"
    ))
}

/// The document of an OP_MSG or OP_REPLY reply, and whether more replies follow.
pub(crate) fn unwrap_reply(decoded: Decoded) -> Result<(RawDocumentBuf, bool)> {
    match decoded.message {
        Message::Msg(msg) => Ok((msg.body, msg.flags.contains(MsgFlags::MORE_TO_COME))),
        Message::Reply(reply) => {
            let query_failure = reply.flags.contains(ReplyFlags::QUERY_FAILURE);
            let Some(document) = reply.documents.first().map(|d| d.to_owned()) else {
                return Err(Error::protocol("OP_REPLY to a command carries no document"));
            };
            if query_failure {
                return Err(query_failure_error(document));
            }
            Ok((document, false))
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
