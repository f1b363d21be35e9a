//! A node's answer to hello / isMaster: the base reply of the mock server with the
//! scripted view laid over it; awaitable hellos wait for a change of the view, and
//! with exhaustAllowed the node streams replies (moreToCome) until the client leaves.

use std::sync::atomic::Ordering;
use std::time::Duration;

use bson::{DateTime, Document};
use mongopool_wire::{MessageDecoder, MsgFlags};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

use super::command_kind::await_fields;
use super::node::NodeState;
use super::session::Closed;
use super::view::AwaitDecision;
use crate::mock::hello::{hello_reply, HelloSource};
use crate::mock::{Reply, Request, ResponseTo};

/// Answers the hello `request`; `Err` when the client went away meanwhile.
pub(crate) async fn answer_hello(
    client: &mut TcpStream,
    decoder: &mut MessageDecoder,
    request: &Request,
    node: &NodeState,
) -> Result<(), Closed> {
    let (mut known, max_await) = await_fields(request);
    let awaited = known.is_some();
    let exhaust = awaited
        && request
            .msg_flags()
            .is_some_and(|f| f.contains(MsgFlags::EXHAUST_ALLOWED));
    let mut changes = node.sim.changes.subscribe();
    let mut previous_reply = None;
    loop {
        // Marked seen before the view is read: a change after this point wakes the
        // wait below, one before it is in the view.
        changes.borrow_and_update();
        let decision = node
            .sim
            .deployment()
            .await_decision(node.index, known.as_ref(), max_await);
        let document = match decision {
            Err(error) => error,
            Ok(decision) => {
                if let AwaitDecision::UpTo(wait) = decision {
                    wait_for_change(client, decoder, &mut changes, wait).await?;
                }
                hello_document(request, node)
            }
        };
        node.wait_delay().await;
        if node.is_black_holed() {
            return Ok(());
        }
        let stream_on = exhaust && document.get("topologyVersion").is_some();
        known = document.get_document("topologyVersion").ok().cloned();
        let mut reply = Reply::new(document);
        if stream_on {
            // Each reply of a stream answers the one before it.
            reply = reply.more_to_come().response_to(ResponseTo::PreviousReply);
        }
        let id = node.sim.next_reply_id.fetch_add(1, Ordering::Relaxed);
        let frame = match reply.encode(request, id, previous_reply) {
            Ok(frame) => frame,
            Err(_) => return Err(Closed),
        };
        client.write_all(&frame).await.map_err(|_| Closed)?;
        node.counters.hello_sent(awaited);
        node.sim.note_activity();
        if !stream_on {
            return Ok(());
        }
        previous_reply = Some(id);
    }
}

/// The full hello reply of this node now.
fn hello_document(request: &Request, node: &NodeState) -> Document {
    let name = request.command_name().unwrap_or("hello");
    let legacy = !name.eq_ignore_ascii_case("hello");
    let overrides = node
        .sim
        .deployment()
        .hello_fields(node.index, legacy, DateTime::now());
    let source = HelloSource {
        max_wire_version: node.sim.max_wire_version,
        compressors: &[],
        auth: &[],
        overrides: &overrides,
    };
    let empty = bson::RawDocumentBuf::new();
    let command = request.command().unwrap_or(&empty);
    hello_reply(&source, request.connection, name, command)
}

/// Waits until the view changes or `wait` has passed; `Err` when the client hangs up
/// meanwhile (bytes it sends are kept for later).
async fn wait_for_change(
    client: &mut TcpStream,
    decoder: &mut MessageDecoder,
    changes: &mut watch::Receiver<u64>,
    wait: Duration,
) -> Result<(), Closed> {
    let deadline = tokio::time::sleep(wait);
    tokio::pin!(deadline);
    let mut buf = [0u8; 4096];
    loop {
        tokio::select! {
            () = &mut deadline => return Ok(()),
            changed = changes.changed() => return changed.map_err(|_| Closed),
            read = client.read(&mut buf) => match read {
                Ok(0) | Err(_) => return Err(Closed),
                Ok(n) => decoder.push(buf.get(..n).unwrap_or_default()),
            },
        }
    }
}
