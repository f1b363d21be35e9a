//! Exhaust cursors through the proxy: a `getMore` with `exhaustAllowed` keeps its
//! server connection until the server's stream of replies ends, and every reply of
//! the stream goes to the client as it comes, with moreToCome set on all but the last.
//! The connection is the client's for that long (as it is for a driver's); then it
//! goes back to the pool.

use std::sync::atomic::{AtomicI32, Ordering};

use bson::{RawDocument, RawDocumentBuf};
use mongopool::{CheckoutPurpose, CommandOptions};
use mongopool_wire::{Compressor, Message, MsgFlags, OpMsg};
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tracing::debug;

use crate::cursors::ClientId;
use crate::forward::target;
use crate::replies::{overloaded, ErrorReply};
use crate::request::{cursor_finished, Forward};
use crate::server_io::{checkout, report, round_trip_error};
use crate::shared::Shared;
use crate::stats::bump;
use crate::telemetry::{self, Rejection, RequestOutcome};

/// Whether `msg` starts an exhaust stream: a `getMore` with `exhaustAllowed`, outside
/// a transaction (`f` is what routing read from it).
pub(crate) fn starts_stream(msg: &OpMsg, f: &Forward) -> bool {
    msg.flags.contains(MsgFlags::EXHAUST_ALLOWED)
        && f.get_more.is_some()
        && f.transaction.is_none()
        && !f.more_to_come
}

/// An exhaust `getMore` as the client sent it.
pub(crate) struct ExhaustRequest {
    pub(crate) msg: OpMsg,
    /// What routing read from it.
    pub(crate) forward: Forward,
    /// The client's request id: the first reply answers it.
    pub(crate) request_id: i32,
    /// The replies are compressed with it when the request was.
    pub(crate) compressor: Option<Compressor>,
}

/// Forwards `request` and writes every reply of the stream to `write`. `Err` when the
/// client cannot be written to.
pub(crate) async fn stream<W: AsyncWrite + Unpin>(
    shared: &Shared,
    client: ClientId,
    request: ExhaustRequest,
    next_reply_id: &AtomicI32,
    write: &mut W,
) -> Result<(), String> {
    let ExhaustRequest {
        msg,
        forward: f,
        request_id,
        compressor,
    } = request;
    let mut writer = ReplyWriter {
        write,
        compressor,
        next_reply_id,
        responds_to: request_id,
    };
    let Ok(_pending) = shared.pending.try_acquire() else {
        bump(&shared.counters.requests_rejected);
        telemetry::rejected(Rejection::PendingRequests);
        let e = overloaded("mongopool proxy: too many requests are pending already");
        return writer.last(e.to_document()).await;
    };
    let cursor = f.get_more.unwrap_or(0);
    shared.cursors().used(client, cursor);
    let target = target(shared, &f);
    let mut conn = match checkout(
        &shared.client,
        &target,
        CheckoutPurpose::Cursor,
        shared.wait_queue_timeout,
    )
    .await
    {
        Ok(conn) => conn,
        Err(e) => {
            bump(&shared.counters.requests_rejected);
            telemetry::rejected(Rejection::ServerConnection);
            return writer.last(e.to_document()).await;
        }
    };
    let db = msg.body.get_str("$db").unwrap_or("admin").to_owned();
    let spec = without_db(&msg.body);
    let options = CommandOptions::unchecked();
    let mut reply = conn.command_exhaust(&db, &spec, &options).await;
    let mut replies = 0u32;
    loop {
        let doc = match reply {
            Ok(doc) => doc,
            Err(e) => {
                // The stream broke: the client gets an error as its last reply; the
                // connection is closed by its pool (it is marked broken).
                report(&shared.client, &conn, &e);
                bump(&shared.counters.server_errors);
                telemetry::request(RequestOutcome::ServerError, None);
                let reply: ErrorReply = round_trip_error(&e);
                return writer.last(reply.to_document()).await;
            }
        };
        replies += 1;
        if !conn.is_exhausting() {
            if cursor_finished(&doc) {
                shared.cursors().forget(cursor);
            }
            bump(&shared.counters.requests_forwarded);
            telemetry::request(RequestOutcome::Forwarded, None);
            debug!(client, cursor, replies, "an exhaust stream ended");
            shared.record_pinned();
            return writer.last(doc).await;
        }
        writer.more(doc).await?;
        reply = match conn.next_exhaust_reply().await {
            Ok(Some(doc)) => Ok(doc),
            Ok(None) => Err(mongopool::Error::connection(
                "the exhaust stream ended without its last reply",
            )),
            Err(e) => Err(e),
        };
    }
}

/// `body` without its `$db` (the connection adds its own).
fn without_db(body: &RawDocument) -> RawDocumentBuf {
    let mut spec = RawDocumentBuf::new();
    for (key, value) in body.iter().flatten() {
        if key.as_str() != "$db" {
            spec.append(key, bson::RawBson::from(value));
        }
    }
    spec
}

/// Writes the replies of one stream: each answers the previous one's id, the first
/// the client's request.
struct ReplyWriter<'a, W> {
    write: &'a mut W,
    compressor: Option<Compressor>,
    next_reply_id: &'a AtomicI32,
    responds_to: i32,
}

impl<W: AsyncWrite + Unpin> ReplyWriter<'_, W> {
    async fn more(&mut self, doc: RawDocumentBuf) -> Result<(), String> {
        self.send(doc, MsgFlags::MORE_TO_COME).await
    }

    async fn last(&mut self, doc: RawDocumentBuf) -> Result<(), String> {
        self.send(doc, MsgFlags::EMPTY).await
    }

    async fn send(&mut self, doc: RawDocumentBuf, flags: MsgFlags) -> Result<(), String> {
        let id = self.next_reply_id.fetch_add(1, Ordering::Relaxed);
        let message = Message::Msg(OpMsg::new(doc).with_flags(flags));
        let mut out = Vec::new();
        match &self.compressor {
            Some(c) => message.encode_compressed(id, self.responds_to, c, &mut out),
            None => message.encode(id, self.responds_to, &mut out),
        }
        .map_err(|e| format!("an exhaust reply could not be encoded: {e}"))?;
        self.responds_to = id;
        self.write
            .write_all(&out)
            .await
            .map_err(|e| format!("writing an exhaust reply: {e}"))
    }
}
