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

#[cfg(test)]
mod tests {
    use bson::{doc, rawdoc};
    use mongopool_wire::{OpCode, OpQuery, DEFAULT_MAX_MESSAGE_SIZE_BYTES};

    use super::*;

    fn request(message: Message, compressor: Option<Compressor>) -> Request {
        Request {
            connection: 0,
            request_id: 77,
            response_to: 0,
            compressor,
            message,
        }
    }

    fn decode(frame: &[u8]) -> mongopool_wire::Decoded {
        Message::decode(frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap()
    }

    #[test]
    fn replies_match_the_request_opcode_and_answer_it() {
        let msg = request(
            Message::Msg(OpMsg::new(rawdoc! {"ping": 1, "$db": "a"})),
            None,
        );
        let query = request(
            Message::Query(OpQuery::command("a", rawdoc! {"ping": 1})),
            None,
        );
        let reply = Reply::new(doc! {"ok": 1.0});
        let d = decode(&reply.encode(&msg, 5, None).unwrap());
        assert_eq!((d.header.request_id, d.header.response_to), (5, 77));
        assert_eq!(d.message.op_code(), OpCode::Msg);
        let d = decode(&reply.encode(&query, 6, None).unwrap());
        assert_eq!(d.message.op_code(), OpCode::Reply);
        let d = decode(&reply.clone().as_op_reply().encode(&msg, 7, None).unwrap());
        assert_eq!(d.message.op_code(), OpCode::Reply);
        let d = decode(&reply.as_op_msg().encode(&query, 8, None).unwrap());
        assert_eq!(d.message.op_code(), OpCode::Msg);
    }

    #[test]
    fn compression_follows_the_request_unless_told_otherwise() {
        let compressed = request(
            Message::Msg(OpMsg::new(rawdoc! {"ping": 1, "$db": "a"})),
            Some(Compressor::Snappy),
        );
        let reply = Reply::new(doc! {"ok": 1.0});
        let d = decode(&reply.encode(&compressed, 1, None).unwrap());
        assert_eq!(d.compressor, Some(Compressor::Snappy));
        let d = decode(
            &reply
                .clone()
                .uncompressed()
                .encode(&compressed, 1, None)
                .unwrap(),
        );
        assert_eq!(d.compressor, None);
        let zlib = Compressor::Zlib { level: None };
        let d = decode(
            &reply
                .clone()
                .compressed_by_default(zlib)
                .encode(&compressed, 1, None)
                .unwrap(),
        );
        assert_eq!(d.compressor, Some(zlib));
        let d = decode(
            &reply
                .uncompressed()
                .compressed_by_default(zlib)
                .encode(&compressed, 1, None)
                .unwrap(),
        );
        assert_eq!(d.compressor, None, "an explicit choice wins");
    }

    #[test]
    fn flags_and_response_to() {
        let msg = request(
            Message::Msg(OpMsg::new(rawdoc! {"ping": 1, "$db": "a"})),
            None,
        );
        let chained = Reply::new(doc! {"ok": 1.0})
            .more_to_come()
            .response_to(ResponseTo::PreviousReply);
        let d = decode(&chained.encode(&msg, 9, Some(8)).unwrap());
        assert_eq!(d.header.response_to, 8);
        let Message::Msg(m) = d.message else { panic!() };
        assert!(m.flags.contains(MsgFlags::MORE_TO_COME));
        let d = decode(&chained.encode(&msg, 9, None).unwrap());
        assert_eq!(
            d.header.response_to, 77,
            "the first reply answers the request"
        );
        let wrong = Reply::new(doc! {"ok": 1.0}).response_to(ResponseTo::Value(-3));
        assert_eq!(
            decode(&wrong.encode(&msg, 1, None).unwrap())
                .header
                .response_to,
            -3
        );
        let failure = Reply::new(doc! {"$err": "x"}).query_failure().as_op_reply();
        let Message::Reply(r) = decode(&failure.encode(&msg, 1, None).unwrap()).message else {
            panic!()
        };
        assert!(r.flags.contains(ReplyFlags::QUERY_FAILURE));
    }
}
