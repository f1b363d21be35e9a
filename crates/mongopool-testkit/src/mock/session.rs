//! Serving one connection: read a frame, decode it, record it, ask the handler, act.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use mongopool_wire::{Header, Message, MessageDecoder, DEFAULT_MAX_MESSAGE_SIZE_BYTES};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::action::Action;
use super::handler::Handler;
use super::journal::{ClosedBy, ConnectionEvent, Journal};
use super::reply::Reply;
use super::request::Request;

/// What every connection of one server shares.
pub(crate) struct Shared {
    pub(crate) handler: Box<dyn Handler>,
    pub(crate) journal: Journal,
    /// Ids of the server's own messages; far from the client's so that a test
    /// never confuses the two.
    pub(crate) next_reply_id: AtomicI32,
}

/// One step of an action, once delays and sequences are flattened.
enum Step {
    Sleep(Duration),
    Send(Reply),
    SendRaw(Vec<u8>),
    /// A frame whose `responseTo` is set to the request's id before sending; with a
    /// delay, one byte at a time.
    SendAnswer(Vec<u8>, Option<Duration>),
    SendHalf(Reply),
    Close,
}

fn flatten(action: Action, steps: &mut Vec<Step>) {
    match action {
        Action::Reply(r) => steps.push(Step::Send(r)),
        Action::Raw(bytes) => steps.push(Step::SendRaw(bytes)),
        Action::RawAnswer(bytes) => steps.push(Step::SendAnswer(bytes, None)),
        Action::Trickle(bytes, every) => steps.push(Step::SendAnswer(bytes, Some(every))),
        Action::Nothing => {}
        Action::HangUp => steps.push(Step::Close),
        Action::HalfThenHangUp(r) => steps.push(Step::SendHalf(r)),
        Action::Delay(d, then) => {
            steps.push(Step::Sleep(d));
            flatten(*then, steps);
        }
        Action::Sequence(actions) => actions.into_iter().for_each(|a| flatten(a, steps)),
    }
}

/// Serves connection number `index` until either side ends it, and records how it
/// ended.
pub(crate) async fn serve<S>(mut stream: S, index: usize, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    shared
        .journal
        .record_event(ConnectionEvent::Opened { connection: index });
    let by = match serve_requests(&mut stream, index, &shared).await {
        Ok(by) => by,
        Err(e) => ClosedBy::Failure(e),
    };
    // Closing by dropping. Requests are read whole before the handler runs, so the
    // client normally sees an orderly end of stream rather than a reset.
    drop(stream);
    shared.journal.record_event(ConnectionEvent::Closed {
        connection: index,
        by,
    });
}

async fn serve_requests<S>(
    stream: &mut S,
    index: usize,
    shared: &Shared,
) -> Result<ClosedBy, String>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut decoder = MessageDecoder::new(DEFAULT_MAX_MESSAGE_SIZE_BYTES);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let frame = loop {
            match decoder.next_frame() {
                Ok(Some(frame)) => break frame,
                Ok(None) => {}
                Err(e) => return Err(format!("undecodable request: {e}")),
            }
            match stream.read(&mut buf).await {
                Ok(0) => return Ok(ClosedBy::Client),
                Ok(n) => decoder.push(buf.get(..n).unwrap_or_default()),
                Err(e) if is_reset(&e) => return Ok(ClosedBy::Client),
                Err(e) => return Err(format!("reading a request: {e}")),
            }
        };
        let decoded = Message::decode(&frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES)
            .map_err(|e| format!("undecodable request: {e}"))?;
        let request = Request {
            connection: index,
            request_id: decoded.header.request_id,
            response_to: decoded.header.response_to,
            compressor: decoded.compressor,
            message: decoded.message,
        };
        shared.journal.record_request(request.clone());
        // A handler that panics (a failed assertion in a test's closure) would
        // otherwise end the task silently; record it where the test can see it.
        let action = std::panic::catch_unwind(AssertUnwindSafe(|| shared.handler.handle(&request)))
            .map_err(|panic| format!("the handler panicked: {}", panic_message(&*panic)))?;
        let mut steps = Vec::new();
        flatten(action, &mut steps);
        if let Some(by) = perform(stream, &request, steps, shared).await? {
            return Ok(by);
        }
    }
}

/// Carries out the steps for one request; `Some` when the connection must end.
async fn perform<S>(
    stream: &mut S,
    request: &Request,
    steps: Vec<Step>,
    shared: &Shared,
) -> Result<Option<ClosedBy>, String>
where
    S: AsyncWrite + Unpin,
{
    let mut previous_reply = None;
    for step in steps {
        let (bytes, response_to, then_close) = match step {
            Step::Sleep(d) => {
                tokio::time::sleep(d).await;
                continue;
            }
            Step::Close => return Ok(Some(ClosedBy::HangUp)),
            Step::SendRaw(bytes) => (bytes, None, false),
            Step::SendAnswer(mut bytes, every) => {
                if let Some(field) = bytes.get_mut(8..12) {
                    field.copy_from_slice(&request.request_id.to_le_bytes());
                }
                match every {
                    None => (bytes, Some(request.request_id), false),
                    Some(every) => {
                        for byte in &bytes {
                            tokio::time::sleep(every).await;
                            if let Some(by) = write(stream, std::slice::from_ref(byte)).await? {
                                return Ok(Some(by));
                            }
                        }
                        (Vec::new(), Some(request.request_id), false)
                    }
                }
            }
            Step::Send(reply) => {
                let id = shared.next_reply_id.fetch_add(1, Ordering::Relaxed);
                let (frame, response_to) = encode(&reply, request, id, previous_reply)?;
                previous_reply = Some(id);
                (frame, Some(response_to), false)
            }
            Step::SendHalf(reply) => {
                let id = shared.next_reply_id.fetch_add(1, Ordering::Relaxed);
                let (mut frame, response_to) = encode(&reply, request, id, previous_reply)?;
                let half = (frame.len() / 2).max(1).min(frame.len().saturating_sub(1));
                frame.truncate(half);
                (frame, Some(response_to), true)
            }
        };
        if let Some(by) = write(stream, &bytes).await? {
            return Ok(Some(by));
        }
        shared.journal.record_event(ConnectionEvent::Sent {
            connection: request.connection,
            response_to,
            bytes: bytes.len(),
        });
        if then_close {
            return Ok(Some(ClosedBy::HangUp));
        }
    }
    Ok(None)
}

/// The reply's frame and its `responseTo`.
fn encode(
    reply: &Reply,
    request: &Request,
    id: i32,
    previous_reply: Option<i32>,
) -> Result<(Vec<u8>, i32), String> {
    let frame = reply
        .encode(request, id, previous_reply)
        .map_err(|e| format!("encoding a reply: {e}"))?;
    let header = Header::parse(&frame).map_err(|e| format!("encoding a reply: {e}"))?;
    Ok((frame, header.response_to))
}

/// Writes `bytes`; a client that went away ends the connection, it is not a failure.
async fn write<S>(stream: &mut S, bytes: &[u8]) -> Result<Option<ClosedBy>, String>
where
    S: AsyncWrite + Unpin,
{
    let written = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match written.await {
        Ok(()) => Ok(None),
        Err(e) if is_reset(&e) => Ok(Some(ClosedBy::Client)),
        Err(e) => Err(format!("writing a reply: {e}")),
    }
}

fn is_reset(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof
    )
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not a string)")
}
