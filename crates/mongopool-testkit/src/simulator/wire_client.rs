//! A bare wire-protocol client: one connection, one command at a time, replies read
//! as they come. For the simulator's own use (the backend's hello) and for tests that
//! must see exactly what a node sends (exhaust streams, `responseTo`).

use std::io;

use bson::{Document, RawDocumentBuf};
use mongopool_wire::{
    Message, MessageDecoder, MsgFlags, OpMsg, OpQuery, DEFAULT_MAX_MESSAGE_SIZE_BYTES,
};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, ToSocketAddrs};

use super::forward::read_frame;

/// A reply as a [`WireClient`] received it.
#[derive(Debug, Clone, PartialEq)]
pub struct WireReply {
    /// The header's `responseTo`.
    pub response_to: i32,
    /// The header's `requestID`.
    pub request_id: i32,
    /// Whether OP_MSG's moreToCome was set (another reply follows unasked).
    pub more_to_come: bool,
    /// The reply document (the OP_MSG body, or OP_REPLY's first document).
    pub document: Document,
}

impl WireReply {
    /// The reply's `ok` as a number (0 when absent).
    pub fn ok(&self) -> f64 {
        match self.document.get("ok") {
            Some(bson::Bson::Double(v)) => *v,
            Some(bson::Bson::Int32(v)) => f64::from(*v),
            Some(bson::Bson::Int64(v)) => *v as f64,
            _ => 0.0,
        }
    }

    /// The error `code`, if any.
    pub fn code(&self) -> Option<i32> {
        self.document.get_i32("code").ok()
    }
}

/// One plain TCP connection speaking OP_MSG (and OP_QUERY for the legacy hello).
#[derive(Debug)]
pub struct WireClient {
    stream: TcpStream,
    decoder: MessageDecoder,
    next_request_id: i32,
}

impl WireClient {
    /// Connects to `address`.
    pub async fn connect(address: impl ToSocketAddrs) -> io::Result<WireClient> {
        let stream = TcpStream::connect(address).await?;
        let _ = stream.set_nodelay(true);
        Ok(WireClient {
            stream,
            decoder: MessageDecoder::new(DEFAULT_MAX_MESSAGE_SIZE_BYTES),
            next_request_id: 1,
        })
    }

    /// Sends `command` to `db` as OP_MSG with `flags` and returns its `requestID`.
    pub async fn send(&mut self, db: &str, command: Document, flags: MsgFlags) -> io::Result<i32> {
        let mut body = command;
        body.insert("$db", db);
        let body = RawDocumentBuf::try_from(&body).map_err(invalid)?;
        let message = Message::Msg(OpMsg::new(body).with_flags(flags));
        self.send_message(&message).await
    }

    /// Sends `command` to `db` as an OP_QUERY on `<db>.$cmd` and returns its
    /// `requestID`.
    pub async fn send_legacy(&mut self, db: &str, command: Document) -> io::Result<i32> {
        let body = RawDocumentBuf::try_from(&command).map_err(invalid)?;
        let message = Message::Query(OpQuery::command(db, body));
        self.send_message(&message).await
    }

    async fn send_message(&mut self, message: &Message) -> io::Result<i32> {
        let id = self.next_request_id;
        self.next_request_id = self.next_request_id.wrapping_add(1);
        let mut frame = Vec::new();
        message.encode(id, 0, &mut frame).map_err(invalid)?;
        self.stream.write_all(&frame).await?;
        Ok(id)
    }

    /// The next reply; an error at end of stream.
    pub async fn receive(&mut self) -> io::Result<WireReply> {
        let frame = read_frame(&mut self.stream, &mut self.decoder)
            .await?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed"))?;
        let decoded = Message::decode(&frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES).map_err(invalid)?;
        let (more_to_come, raw) = match decoded.message {
            Message::Msg(m) => (m.flags.contains(MsgFlags::MORE_TO_COME), m.body),
            Message::Reply(r) if !r.documents.is_empty() => match r.documents.first() {
                Some(first) => (false, first.to_owned()),
                None => return Err(invalid("OP_REPLY without a document".to_string())),
            },
            other => {
                return Err(invalid(format!(
                    "unexpected reply opcode {:?}",
                    other.op_code()
                )))
            }
        };
        Ok(WireReply {
            response_to: decoded.header.response_to,
            request_id: decoded.header.request_id,
            more_to_come,
            document: Document::try_from(raw.as_ref()).map_err(invalid)?,
        })
    }

    /// Runs `command` on `db` (OP_MSG) and returns the reply, whatever its `ok`.
    pub async fn command(&mut self, db: &str, command: Document) -> io::Result<WireReply> {
        let id = self.send(db, command, MsgFlags::EMPTY).await?;
        let reply = self.receive().await?;
        if reply.response_to != id {
            return Err(invalid(format!(
                "reply answers {} instead of {id}",
                reply.response_to
            )));
        }
        Ok(reply)
    }

    /// Whether the server closed the connection: reads until end of stream or an
    /// error, discarding anything it sent.
    pub async fn closed(&mut self) -> bool {
        loop {
            match read_frame(&mut self.stream, &mut self.decoder).await {
                Ok(Some(_)) => continue,
                Ok(None) | Err(_) => return true,
            }
        }
    }
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}
