//! What the mock server does about one request.

use std::time::Duration;

use bson::Document;

use super::reply::{Reply, ResponseTo};

/// The mock server's answer to one request, chosen by its
/// [`Handler`](super::Handler).
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Send this reply.
    Reply(Reply),
    /// Send these bytes exactly as they are (garbage, a made-up header announcing an
    /// absurd length, ...), then go on reading requests.
    Raw(Vec<u8>),
    /// Send these bytes, a whole frame as a hostile server would make it, with the
    /// header's `responseTo` (bytes 8..12) set to the request's id, so that only the
    /// rest of the frame is wrong.
    RawAnswer(Vec<u8>),
    /// Send these bytes (with `responseTo` set as for [`Action::RawAnswer`]) one byte
    /// at a time, waiting this long (tokio time) before each: a reply that takes for
    /// ever to arrive.
    Trickle(Vec<u8>, Duration),
    /// Send nothing and go on reading requests (legacy writes, moreToCome).
    Nothing,
    /// Close the connection without sending anything.
    HangUp,
    /// Send the first half of this reply's frame (at least one byte, never all of
    /// it), then close the connection.
    HalfThenHangUp(Reply),
    /// Wait this long (tokio time: a paused clock applies), then do the action.
    Delay(Duration, Box<Action>),
    /// Do these actions one after the other (several replies to one request).
    Sequence(Vec<Action>),
}

impl Action {
    /// Reply with `document`, framed to match the request.
    pub fn reply(document: Document) -> Self {
        Action::Reply(Reply::new(document))
    }

    /// `{ok: 1.0}` plus the fields of `fields`.
    pub fn ok(fields: Document) -> Self {
        let mut document = fields;
        document.insert("ok", 1.0);
        Action::reply(document)
    }

    /// `{ok: 0.0, errmsg, code, codeName}`.
    pub fn error(code: i32, code_name: &str, errmsg: &str) -> Self {
        Action::reply(error_document(code, code_name, errmsg))
    }

    /// An exhaust stream: every document but the last is sent with moreToCome, each
    /// answering the one before it (the first answers the request).
    pub fn exhaust(documents: Vec<Document>) -> Self {
        let last = documents.len().saturating_sub(1);
        Action::Sequence(
            documents
                .into_iter()
                .enumerate()
                .map(|(i, d)| {
                    let reply = Reply::new(d).response_to(ResponseTo::PreviousReply);
                    Action::Reply(if i < last {
                        reply.more_to_come()
                    } else {
                        reply
                    })
                })
                .collect(),
        )
    }

    /// Waits `delay`, then does `self`.
    pub fn after(self, delay: Duration) -> Self {
        Action::Delay(delay, Box::new(self))
    }
}

impl From<Reply> for Action {
    fn from(reply: Reply) -> Self {
        Action::Reply(reply)
    }
}

/// The document of a command error, as servers send it.
pub fn error_document(code: i32, code_name: &str, errmsg: &str) -> Document {
    bson::doc! { "ok": 0.0, "errmsg": errmsg, "code": code, "codeName": code_name }
}
