//! What the recording proxy may change on the way, to show the client behaviours of
//! the MongoDB server that SecantusDB 0.5 lacks, using SecantusDB's own answers.
//!
//! - Exhaust replies: SecantusDB sets every follow-up's `responseTo` to the request's
//!   id, where the OP_MSG spec says each answers the previous reply's `requestID`.
//!   [`Rewrite::ChainExhaust`] rewrites them as the spec has them.
//! - Speculative authentication: SecantusDB ignores `speculativeAuthenticate` in the
//!   hello. [`Rewrite::SpeculativeAuth`] does what a MongoDB server does: it sends the
//!   speculative `saslStart` to the server right behind the hello, on the same
//!   connection, and puts the server's answer into the hello reply. The server then
//!   carries on the SASL conversation that it started, as it would on its own.

use bson::raw::cstr;
use bson::{RawDocument, RawDocumentBuf};

use super::recording_proxy::{Direction, Frame, HEADER_LEN, OP_MSG};

/// How the proxy adapts the traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rewrite {
    /// Forward every frame as it is.
    None,
    /// Make the `responseTo`s of exhaust replies follow the spec. The recorded frames
    /// are the server's, unchanged.
    ChainExhaust,
    /// Answer `speculativeAuthenticate` as a MongoDB server does. The recorded frames
    /// are those the client exchanged: the proxy's own saslStart is not among them,
    /// and the hello reply is recorded with the answer in it.
    SpeculativeAuth,
}

/// Request ids of the proxy's own requests; clients count up from 1.
const FIRST_PROXY_REQUEST_ID: i32 = 1_000_000_000;

/// What the proxy does with one frame.
pub(super) struct Relay {
    /// Frames to record, as the client saw them.
    pub(super) record: Vec<Frame>,
    /// Frames to send on, in order.
    pub(super) send: Vec<Vec<u8>>,
}

impl Relay {
    fn unchanged(frame: Frame) -> Relay {
        Relay {
            send: vec![frame.bytes.clone()],
            record: vec![frame],
        }
    }
}

/// A speculative saslStart the proxy sent behind a hello.
struct Speculation {
    hello_request: i32,
    sasl_request: i32,
    hello_reply: Option<Frame>,
}

/// The state of one proxied connection, shared by its two directions.
pub(super) struct ConnectionRewriter {
    rewrite: Rewrite,
    last_request: Option<i32>,
    /// The last reply, while it announced more to come.
    open_reply: Option<i32>,
    next_request_id: i32,
    speculation: Option<Speculation>,
}

impl ConnectionRewriter {
    pub(super) fn new(rewrite: Rewrite) -> Self {
        ConnectionRewriter {
            rewrite,
            last_request: None,
            open_reply: None,
            next_request_id: FIRST_PROXY_REQUEST_ID,
            speculation: None,
        }
    }

    pub(super) fn relay(&mut self, frame: Frame) -> Relay {
        match self.rewrite {
            Rewrite::None => Relay::unchanged(frame),
            Rewrite::ChainExhaust => self.chain_exhaust(frame),
            Rewrite::SpeculativeAuth => self.speculate(frame),
        }
    }

    fn chain_exhaust(&mut self, frame: Frame) -> Relay {
        if frame.direction == Direction::ToServer {
            self.last_request = Some(frame.request_id());
            self.open_reply = None;
            return Relay::unchanged(frame);
        }
        let mut send = frame.bytes.clone();
        if let (Some(previous), Some(request)) = (self.open_reply, self.last_request) {
            if frame.response_to() == request && request != previous {
                send[8..12].copy_from_slice(&previous.to_le_bytes());
            }
        }
        self.open_reply = frame.more_to_come().then(|| frame.request_id());
        Relay {
            send: vec![send],
            record: vec![frame],
        }
    }

    fn speculate(&mut self, frame: Frame) -> Relay {
        match frame.direction {
            Direction::ToServer => {
                let Some(sasl_start) = speculative_sasl_start(&frame) else {
                    return Relay::unchanged(frame);
                };
                let sasl_request = self.next_request_id;
                self.next_request_id += 1;
                self.speculation = Some(Speculation {
                    hello_request: frame.request_id(),
                    sasl_request,
                    hello_reply: None,
                });
                Relay {
                    send: vec![frame.bytes.clone(), op_msg(sasl_request, 0, &sasl_start)],
                    record: vec![frame],
                }
            }
            Direction::ToClient => {
                let Some(speculation) = &mut self.speculation else {
                    return Relay::unchanged(frame);
                };
                if frame.response_to() == speculation.hello_request {
                    // Held back until the saslStart's answer can go into it.
                    speculation.hello_reply = Some(frame);
                    return Relay {
                        record: Vec::new(),
                        send: Vec::new(),
                    };
                }
                if frame.response_to() != speculation.sasl_request {
                    return Relay::unchanged(frame);
                }
                let speculation = self.speculation.take().expect("checked above");
                let hello_reply = speculation
                    .hello_reply
                    .expect("the server answers in order: the hello first");
                let merged = merge_speculative_answer(&hello_reply, &frame);
                let bytes = merged.unwrap_or_else(|| hello_reply.bytes.clone());
                let recorded = Frame::new(hello_reply.connection, Direction::ToClient, bytes);
                Relay {
                    send: vec![recorded.bytes.clone()],
                    record: vec![recorded],
                }
            }
        }
    }
}

/// The saslStart a hello's `speculativeAuthenticate` stands for (its `db` becomes
/// `$db`), if the frame is such a hello with a SCRAM start.
fn speculative_sasl_start(frame: &Frame) -> Option<RawDocumentBuf> {
    if frame.op_code != OP_MSG {
        return None;
    }
    let name = frame.command_name()?;
    if !matches!(name.as_str(), "hello" | "isMaster" | "ismaster") {
        return None;
    }
    let body = frame.body()?;
    let speculative = body.get_document("speculativeAuthenticate").ok()?;
    speculative.get_i32("saslStart").ok()?;
    let db = speculative.get_str("db").ok()?;
    let mut command = RawDocumentBuf::new();
    for element in speculative {
        let (key, value) = element.ok()?;
        if key.as_str() != "db" {
            command.append(key, value);
        }
    }
    command.append(cstr!("$db"), db);
    Some(command)
}

/// The hello reply with `speculativeAuthenticate: <the saslStart reply>`, if the
/// saslStart succeeded (a MongoDB server leaves the field out when it failed).
fn merge_speculative_answer(hello_reply: &Frame, sasl_reply: &Frame) -> Option<Vec<u8>> {
    let answer = sasl_reply.body()?;
    if answer.get_f64("ok").ok()? != 1.0 {
        return None;
    }
    let mut body = RawDocumentBuf::new();
    for element in &hello_reply.body()? {
        let (key, value) = element.ok()?;
        body.append(key, value);
    }
    body.append(cstr!("speculativeAuthenticate"), answer);
    Some(op_msg(
        hello_reply.request_id(),
        hello_reply.response_to(),
        &body,
    ))
}

/// An OP_MSG with one body section and no flags, encoded here rather than by the
/// library under test.
fn op_msg(request_id: i32, response_to: i32, body: &RawDocument) -> Vec<u8> {
    let document = body.as_bytes();
    let length = HEADER_LEN + 5 + document.len();
    let mut bytes = Vec::with_capacity(length);
    bytes.extend_from_slice(&i32::try_from(length).expect("small").to_le_bytes());
    bytes.extend_from_slice(&request_id.to_le_bytes());
    bytes.extend_from_slice(&response_to.to_le_bytes());
    bytes.extend_from_slice(&OP_MSG.to_le_bytes());
    bytes.extend_from_slice(&0u32.to_le_bytes());
    bytes.push(0);
    bytes.extend_from_slice(document);
    bytes
}
