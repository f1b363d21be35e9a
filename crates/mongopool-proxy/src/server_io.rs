//! One request on one server connection: which server (selected by the topology, or
//! the one that owns a cursor), the checkout from its pool, the round trip, and what
//! the topology is told when the server or the connection fails.
//!
//! The connection's own send / receive keep it safe: a future dropped between the two
//! leaves it unusable, and its pool closes it.

use mongopool::topology::{is_state_change, ErrorPhase, SelectionCriteria};
use mongopool::{
    check_command_reply, next_request_id, CheckoutPurpose, Client, Connection, Error,
    PooledConnection, ReadPreference, ServerAddress,
};
use std::time::Duration;

use mongopool_wire::{Message, MsgFlags, OpMsg};

use crate::replies::{bad_request, overloaded, server_unreachable, ErrorReply};

/// A pooled connection to one server of the topology.
pub(crate) type ServerConnection = PooledConnection<Connection>;

/// Where a request goes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Target {
    /// A server selected for a read with this preference (`$readPreference`).
    Read(ReadPreference),
    /// The primary (or the mongos, the standalone): commands without a read
    /// preference, as a mongos sends them.
    Primary,
    /// This server: it owns the cursor the command continues.
    Server(ServerAddress),
}

/// Sends `msg` and returns the server's reply, or `None` when the request asked for
/// none (moreToCome). Errors are told to the topology (a network error marks the
/// server Unknown and clears its pool), and so are replies that say the server is
/// no longer primary or is recovering (the topology then checks it at once), exactly
/// as a driver's own operations would.
pub(crate) async fn round_trip(
    client: &Client,
    conn: &mut Connection,
    msg: OpMsg,
) -> Result<Option<Message>, Error> {
    let result = send_and_receive(conn, msg).await;
    match &result {
        Err(e) => report(client, conn, e),
        Ok(Some(Message::Msg(reply))) => {
            if let Err(e) = check_command_reply(&reply.body, &[]) {
                let message = reply.body.get_str("errmsg").unwrap_or("");
                if e.is_not_primary() || is_state_change(e.code(), message) {
                    report(client, conn, &e);
                }
            }
        }
        Ok(_) => {}
    }
    result
}

async fn send_and_receive(conn: &mut Connection, msg: OpMsg) -> Result<Option<Message>, Error> {
    let more_to_come = msg.flags.contains(MsgFlags::MORE_TO_COME);
    let message = Message::Msg(msg);
    message.check_limits(&conn.hello().limits())?;
    let request_id = next_request_id();
    let mut buf = Vec::with_capacity(message.encoded_len());
    match conn.compressor() {
        Some(c) if message.may_compress() => {
            let c = *c;
            message.encode_compressed(request_id, 0, &c, &mut buf)?
        }
        _ => message.encode(request_id, 0, &mut buf)?,
    }
    // Limits were checked above on the whole message.
    conn.send_message(&buf, 0).await?;
    if more_to_come {
        return Ok(None);
    }
    let reply = conn.receive_message(request_id).await?;
    Ok(Some(reply.message))
}

pub(crate) fn report(client: &Client, conn: &Connection, e: &Error) {
    let hello = conn.hello();
    client.topology().handle_application_error(
        e,
        conn.address(),
        conn.generation(),
        hello.max_wire_version,
        ErrorPhase::AfterHandshake,
        hello.service_id,
    );
}

/// A server connection for one request, or the error reply the client gets instead.
/// Waiting for a free connection ends after `wait` (code 89, which drivers retry).
pub(crate) async fn checkout(
    client: &Client,
    target: &Target,
    purpose: CheckoutPurpose,
    wait: Duration,
) -> Result<ServerConnection, ErrorReply> {
    let topology = client.topology();
    let pool = match target {
        Target::Server(address) => topology.pool(address).ok_or_else(|| {
            server_unreachable(format!(
                "mongopool proxy: the server {address} that owns this cursor is no longer \
                 part of the deployment"
            ))
        })?,
        Target::Read(_) | Target::Primary => {
            let criteria = match target {
                Target::Read(rp) => SelectionCriteria::Read(rp.clone()),
                _ => SelectionCriteria::Write,
            };
            let server = topology.select_server(&criteria).await.map_err(|e| {
                server_unreachable(format!("mongopool proxy: no server to run this on: {e}"))
            })?;
            server.pool().clone()
        }
    };
    let checked_out = tokio::time::timeout(wait, pool.checkout_for(purpose))
        .await
        .map_err(|_| {
            overloaded(format!(
                "mongopool proxy: no connection to {} became free within {wait:?}",
                pool.address()
            ))
        })?;
    checked_out.map_err(|e| {
        if e.is_network() || e.is_authentication() {
            // Opening the connection failed: SDAM's "before the handshake" error.
            let phase = if e.is_authentication() {
                ErrorPhase::Authentication
            } else {
                ErrorPhase::BeforeHandshake
            };
            topology.handle_application_error(
                &e,
                pool.address(),
                pool.stats().generation,
                0,
                phase,
                None,
            );
        }
        if e.is_wait_queue_timeout() {
            overloaded(format!(
                "mongopool proxy: no server connection became free in time: {e}"
            ))
        } else {
            server_unreachable(format!("mongopool proxy: no connection to the server: {e}"))
        }
    })
}

/// The error reply for a request whose round trip failed.
pub(crate) fn round_trip_error(e: &Error) -> ErrorReply {
    if e.is_document_too_large() {
        bad_request(format!("mongopool proxy: {e}"))
    } else {
        server_unreachable(format!(
            "mongopool proxy: the connection to the server failed: {e}"
        ))
    }
}
