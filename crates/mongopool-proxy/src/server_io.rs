//! One request on one server connection: encode under a fresh request id (compressed
//! when the connection agreed a compressor), send, read the reply. The connection's
//! own send / receive keep it safe: a future dropped between the two leaves it
//! unusable, and its pool closes it.

use mongopool::next_request_id;
use mongopool::{Connection, Error, MongoPool, PooledConnection};
use mongopool_wire::{Message, MsgFlags, OpMsg};

use crate::replies::{bad_request, overloaded, server_unreachable, ErrorReply};

/// Sends `msg` and returns the server's reply, or `None` when the request asked for
/// none (moreToCome).
pub(crate) async fn round_trip(
    conn: &mut Connection,
    msg: OpMsg,
) -> Result<Option<Message>, Error> {
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

/// A server connection for one request, or the error reply the client gets instead.
pub(crate) async fn checkout(
    pool: &MongoPool,
    purpose: mongopool::CheckoutPurpose,
) -> Result<PooledConnection<Connection>, ErrorReply> {
    pool.checkout_for(purpose).await.map_err(|e| {
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
