//! One client connection to a front node: read a request, answer a hello from the
//! view, refuse what the node's role refuses, forward the rest to the real server.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use mongopool_wire::{Message, MessageDecoder, DEFAULT_MAX_MESSAGE_SIZE_BYTES};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::command_kind::{classify, refusal, secondary_ok, CommandKind};
use super::forward::{read_frame, Backend};
use super::hello_answer::answer_hello;
use super::node::NodeState;
use super::scripted_failure::scripted_error;
use super::stats::bump;
use crate::mock::{Reply, Request};

/// The connection ended (the client left, or something broke): close it.
#[derive(Debug)]
pub(crate) struct Closed;

/// Counts the connection open while it lives, also when its task is aborted.
struct OpenConnection<'a>(&'a NodeState);

impl<'a> OpenConnection<'a> {
    fn new(node: &'a NodeState) -> Self {
        bump(&node.counters.connections_open);
        bump(&node.counters.connections_total);
        node.sim.note_activity();
        OpenConnection(node)
    }
}

impl Drop for OpenConnection<'_> {
    fn drop(&mut self) {
        self.0
            .counters
            .connections_open
            .fetch_sub(1, Ordering::Relaxed);
        self.0.sim.note_activity();
    }
}

/// Serves connection number `index` until either side ends it.
pub(crate) async fn serve(mut client: TcpStream, index: usize, node: Arc<NodeState>) {
    let _open = OpenConnection::new(&node);
    let _ = serve_requests(&mut client, index, &node).await;
}

async fn serve_requests(
    client: &mut TcpStream,
    index: usize,
    node: &NodeState,
) -> Result<(), Closed> {
    let mut decoder = MessageDecoder::new(DEFAULT_MAX_MESSAGE_SIZE_BYTES);
    let mut backend: Option<Backend> = None;
    loop {
        let frame = read_frame(client, &mut decoder)
            .await
            .map_err(|_| Closed)?
            .ok_or(Closed)?;
        if node.is_black_holed() {
            continue;
        }
        let decoded =
            Message::decode(&frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES).map_err(|_| Closed)?;
        let request = Request {
            connection: index,
            request_id: decoded.header.request_id,
            response_to: decoded.header.response_to,
            compressor: decoded.compressor,
            message: decoded.message,
        };
        let kind = classify(&request);
        if let CommandKind::Hello { .. } = kind {
            answer_hello(client, &mut decoder, &request, node).await?;
            continue;
        }
        if let Some(error) = scripted_error(node, request.command_name()) {
            refuse(client, &request, CommandKind::Other, error, node).await?;
            continue;
        }
        let refused = {
            let deployment = node.sim.deployment();
            let member = deployment.members.get(node.index).ok_or(Closed)?;
            refusal(
                member.spec.role,
                member.in_config,
                kind,
                secondary_ok(&request),
                deployment.topology_version(node.index),
            )
        };
        match refused {
            Some(error) => refuse(client, &request, kind, error, node).await?,
            None => forward(client, &mut backend, &frame, &request, kind, node).await?,
        }
    }
}

async fn refuse(
    client: &mut TcpStream,
    request: &Request,
    kind: CommandKind,
    error: bson::Document,
    node: &NodeState,
) -> Result<(), Closed> {
    match kind {
        CommandKind::Write => bump(&node.counters.writes_refused),
        CommandKind::Read => bump(&node.counters.reads_refused),
        // A scripted failure: counted by what is left of it.
        _ => {}
    }
    node.sim.note_activity();
    if !request.expects_reply() {
        return Ok(());
    }
    node.wait_delay().await;
    if node.is_black_holed() {
        return Ok(());
    }
    let id = node.sim.next_reply_id.fetch_add(1, Ordering::Relaxed);
    let frame = Reply::new(error)
        .encode(request, id, None)
        .map_err(|_| Closed)?;
    client.write_all(&frame).await.map_err(|_| Closed)
}

async fn forward(
    client: &mut TcpStream,
    backend: &mut Option<Backend>,
    frame: &[u8],
    request: &Request,
    kind: CommandKind,
    node: &NodeState,
) -> Result<(), Closed> {
    let connection = match backend {
        Some(connection) => connection,
        None => backend.insert(
            Backend::connect(node.sim.backend)
                .await
                .map_err(|_| Closed)?,
        ),
    };
    bump(&node.counters.commands_forwarded);
    match kind {
        CommandKind::Write => bump(&node.counters.writes_accepted),
        CommandKind::Read => bump(&node.counters.reads_accepted),
        _ => {}
    }
    node.sim.note_activity();
    connection.send(frame).await.map_err(|_| Closed)?;
    if !request.expects_reply() {
        return Ok(());
    }
    loop {
        let (reply, more) = connection.next_reply().await.map_err(|_| Closed)?;
        node.wait_delay().await;
        if !node.is_black_holed() {
            client.write_all(&reply).await.map_err(|_| Closed)?;
        }
        if !more {
            break;
        }
    }
    if kind == CommandKind::Write {
        node.counters.write_answered();
        node.sim.note_activity();
    }
    Ok(())
}
