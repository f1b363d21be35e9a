//! One reply document and how to frame it: opcode, flags, `responseTo`, compression.

use bson::{Document, RawDocumentBuf};
use mongopool_wire::{Compressor, Message, MsgFlags, OpMsg, OpReply, ReplyFlags, WireError};

use super::request::Request;

/// A reply the mock server sends: a document plus the framing around it.
///
/// By default a reply answers the request's opcode (OP_MSG to OP_MSG, OP_REPLY to
/// everything else), answers the request (`responseTo` is its `requestID`) and is
/// compressed exactly when the request was, with the same compressor.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    document: Document,
    framing: Framing,
    more_to_come: bool,
    query_failure: bool,
    response_to: ResponseTo,
    compression: Compression,
}

/// Which opcode a reply goes out as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// OP_MSG for an OP_MSG request, OP_REPLY otherwise.
    MatchRequest,
    Msg,
    OpReply,
}

/// What a reply's `responseTo` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseTo {
    /// The request's `requestID` (the default).
    Request,
    /// The `requestID` of the reply sent just before this one for the same request
    /// (exhaust streams chain their replies this way); the request's for the first.
    PreviousReply,
    /// This exact value (a wrong `responseTo`).
    Value(i32),
}

/// Whether a reply is wrapped in OP_COMPRESSED.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    /// As the request was.
    MatchRequest,
    Never,
    With(Compressor),
}

impl Reply {
    /// A reply carrying `document`, framed to match the request.
    pub fn new(document: Document) -> Self {
        Reply {
            document,
            framing: Framing::MatchRequest,
            more_to_come: false,
            query_failure: false,
            response_to: ResponseTo::Request,
            compression: Compression::MatchRequest,
        }
    }

    /// The document.
    pub fn document(&self) -> &Document {
        &self.document
    }

    /// Sends it as OP_MSG whatever the request was.
    pub fn as_op_msg(mut self) -> Self {
        self.framing = Framing::Msg;
        self
    }

    /// Sends it as OP_REPLY whatever the request was.
    pub fn as_op_reply(mut self) -> Self {
        self.framing = Framing::OpReply;
        self
    }

    /// Sets moreToCome (OP_MSG): another reply follows without a request.
    pub fn more_to_come(mut self) -> Self {
        self.more_to_come = true;
        self
    }

    /// Sets the QueryFailure flag (OP_REPLY): the document is a `$err` document.
    pub fn query_failure(mut self) -> Self {
        self.query_failure = true;
        self
    }

    /// Sets what `responseTo` says.
    pub fn response_to(mut self, response_to: ResponseTo) -> Self {
        self.response_to = response_to;
        self
    }

    /// Wraps it in OP_COMPRESSED with `compressor`, whatever the request was.
    pub fn compressed(mut self, compressor: Compressor) -> Self {
        self.compression = Compression::With(compressor);
        self
    }

    /// Never compresses it.
    pub fn uncompressed(mut self) -> Self {
        self.compression = Compression::Never;
        self
    }

    /// Compresses it with `compressor` unless its compression was set explicitly.
    pub(crate) fn compressed_by_default(mut self, compressor: Compressor) -> Self {
        if self.compression == Compression::MatchRequest {
            self.compression = Compression::With(compressor);
        }
        self
    }

    /// The whole frame answering `request`, with `request_id` as its own id.
    /// `previous_reply` is the id of the reply sent before it for the same request.
    pub(crate) fn encode(
        &self,
        request: &Request,
        request_id: i32,
        previous_reply: Option<i32>,
    ) -> Result<Vec<u8>, WireError> {
        let body = RawDocumentBuf::try_from(&self.document)
            .map_err(|e| WireError::InvalidArgument(format!("reply document: {e}")))?;
        let as_msg = match self.framing {
            Framing::MatchRequest => matches!(request.message, Message::Msg(_)),
            Framing::Msg => true,
            Framing::OpReply => false,
        };
        let message = if as_msg {
            let flags = if self.more_to_come {
                MsgFlags::MORE_TO_COME
            } else {
                MsgFlags::EMPTY
            };
            Message::Msg(OpMsg::new(body).with_flags(flags))
        } else {
            let mut reply = OpReply::new(vec![body])?;
            if self.query_failure {
                reply.flags.insert(ReplyFlags::QUERY_FAILURE);
            }
            Message::Reply(reply)
        };
        let response_to = match self.response_to {
            ResponseTo::Request => request.request_id,
            ResponseTo::PreviousReply => previous_reply.unwrap_or(request.request_id),
            ResponseTo::Value(v) => v,
        };
        let compressor = match self.compression {
            Compression::Never => None,
            Compression::With(c) => Some(c),
            Compression::MatchRequest => request.compressor,
        };
        let mut frame = Vec::new();
        match compressor {
            Some(c) => message.encode_compressed(request_id, response_to, &c, &mut frame)?,
            None => message.encode(request_id, response_to, &mut frame)?,
        }
        Ok(frame)
    }
}

impl From<Document> for Reply {
    fn from(document: Document) -> Self {
        Reply::new(document)
    }
}
