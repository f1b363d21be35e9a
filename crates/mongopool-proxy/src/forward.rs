//! A request the server answers: a connection from the pool (or the transaction's
//! pinned one), the round trip, and the bookkeeping of cursors and transactions.

use std::sync::Arc;

use mongopool::{CheckoutPurpose, ServerAddress};
use mongopool_wire::{Message, MsgFlags, OpMsg};
use tracing::debug;

use crate::cleanup;
use crate::cursors::ClientId;
use crate::replies::{overloaded, server_unreachable, ErrorReply};
use crate::request::{cursor_finished, open_cursor, Forward, Transaction};
use crate::retryable::{is_retryable_code, label_reply, RETRYABLE_WRITE_ERROR};
use crate::server_io::{checkout, round_trip, round_trip_error, Target};
use crate::shared::Shared;
use crate::stats::bump;
use crate::telemetry::{self, Rejection, RequestOutcome};

/// What the client gets back.
pub(crate) enum Outcome {
    /// The server's reply.
    Reply(Message),
    /// Nothing: the request asked for no reply.
    NoReply,
    /// An error reply made by the proxy.
    Error(ErrorReply),
}

/// Forwards one command for `client`.
pub(crate) async fn forward(
    shared: &Shared,
    client: ClientId,
    mut msg: OpMsg,
    f: Forward,
) -> Outcome {
    let Ok(_pending) = shared.pending.try_acquire() else {
        bump(&shared.counters.requests_rejected);
        telemetry::rejected(Rejection::PendingRequests);
        return Outcome::Error(overloaded(format!(
            "mongopool proxy: {} requests are pending already (max_pending_requests)",
            shared.max_pending
        )));
    };
    if f.may_open_cursor && shared.cursors().owned(client) >= shared.max_cursors_per_client {
        bump(&shared.counters.requests_rejected);
        telemetry::rejected(Rejection::Cursors);
        return Outcome::Error(ErrorReply::new(
            96,
            "OperationFailed",
            format!(
                "mongopool proxy: this connection has {} open cursors (max_cursors_per_client); \
                 exhaust or kill some first",
                shared.max_cursors_per_client
            ),
        ));
    }
    if let Some(id) = f.get_more {
        shared.cursors().used(client, id);
    }
    // Exhaust streams are started only by getMore (crate::exhaust); anything else that
    // carries the flag gets one reply, a valid answer to exhaustAllowed.
    msg.flags.remove(MsgFlags::EXHAUST_ALLOWED);
    let target = target(shared, &f);
    let result = match &f.transaction {
        Some(t) => in_transaction(shared, client, t, msg).await,
        None => once(shared, &target, msg).await,
    };
    let (mut reply, server) = match result {
        Ok((Some(reply), server)) => (reply, server),
        Ok((None, _)) => {
            // Sent: a moreToCome request is forwarded once it is written.
            bump(&shared.counters.requests_forwarded);
            return Outcome::NoReply;
        }
        Err(e) if f.retryable_write && is_retryable_code(e.code) => {
            return Outcome::Error(e.with_label(RETRYABLE_WRITE_ERROR))
        }
        Err(e) => return Outcome::Error(e),
    };
    if f.retryable_write {
        if let Message::Msg(r) = &mut reply {
            if let Some(labelled) = label_reply(&r.body) {
                r.body = labelled;
            }
        }
    }
    bump(&shared.counters.requests_forwarded);
    if let Message::Msg(r) = &reply {
        if let Some((id, ns)) = open_cursor(&r.body) {
            shared.cursors().opened(client, id, ns, server);
        }
        if let Some(id) = f.get_more.filter(|_| cursor_finished(&r.body)) {
            shared.cursors().forget(id);
        }
    }
    if !f.kill_cursors.is_empty() {
        let mut cursors = shared.cursors();
        for id in &f.kill_cursors {
            cursors.forget(*id);
        }
    }
    if f.may_open_cursor
        || f.get_more.is_some()
        || !f.kill_cursors.is_empty()
        || f.transaction.is_some()
    {
        shared.record_pinned();
    }
    Outcome::Reply(reply)
}

/// Where a command outside a transaction goes: a cursor's server for `getMore` and
/// `killCursors` (when the proxy saw the cursor open), else the server its
/// `$readPreference` selects, else the primary (what a mongos does without one).
pub(crate) fn target(shared: &Shared, f: &Forward) -> Target {
    let cursor = f.get_more.or_else(|| f.kill_cursors.first().copied());
    if let Some(server) = cursor.and_then(|id| shared.cursors().server_of(id)) {
        return Target::Server(server);
    }
    match &f.read_preference {
        Some(rp) => Target::Read(rp.clone()),
        None => Target::Primary,
    }
}

/// A request's reply (`None` for moreToCome) and the server that answered.
type Forwarded = (Option<Message>, ServerAddress);

/// A command outside any pinned state: a connection for this request only.
async fn once(shared: &Shared, target: &Target, msg: OpMsg) -> Result<Forwarded, ErrorReply> {
    let mut conn = checkout(
        &shared.client,
        target,
        CheckoutPurpose::Operation,
        shared.wait_queue_timeout,
    )
    .await
    .inspect_err(|_| {
        bump(&shared.counters.requests_rejected);
        telemetry::rejected(Rejection::ServerConnection);
    })?;
    let server = conn.address().clone();
    let reply = round_trip(&shared.client, &mut conn, msg)
        .await
        .map_err(|e| {
            bump(&shared.counters.server_errors);
            telemetry::request(RequestOutcome::ServerError, None);
            round_trip_error(&e)
        })?;
    Ok((reply, server))
}

/// A command of a transaction: on the transaction's pinned connection.
async fn in_transaction(
    shared: &Shared,
    client: ClientId,
    t: &Transaction,
    msg: OpMsg,
) -> Result<Forwarded, ErrorReply> {
    let transient = |e: ErrorReply| {
        if t.commits {
            e
        } else {
            e.with_label("TransientTransactionError")
        }
    };
    let slot = if t.starts {
        pin_new(shared, client, t).await.map_err(transient)?
    } else {
        let found = shared.transactions().find(&t.lsid, t.txn_number, client);
        match found {
            Some(slot) => slot,
            // Not pinned (any more): a retried commit, or a transaction the proxy
            // already gave up on. The server has the session's state; it answers.
            None => return once(shared, &Target::Primary, msg).await,
        }
    };
    let mut guard = slot.lock().await;
    let Some(conn) = guard.as_mut() else {
        return Err(transient(server_unreachable(
            "mongopool proxy: the server connection of this transaction is gone",
        )));
    };
    let server = conn.address().clone();
    match round_trip(&shared.client, conn, msg).await {
        Ok(reply) => {
            if t.ends {
                // Back to the pool now, not when the last handle to the slot goes.
                guard.take();
                drop(guard);
                shared.transactions().unpin(&t.lsid, t.txn_number);
            }
            Ok((reply, server))
        }
        Err(e) => {
            bump(&shared.counters.server_errors);
            telemetry::request(RequestOutcome::ServerError, None);
            guard.take();
            drop(guard);
            shared.transactions().unpin(&t.lsid, t.txn_number);
            Err(transient(round_trip_error(&e)))
        }
    }
}

/// Checks out a connection and pins `t` to it.
async fn pin_new(
    shared: &Shared,
    client: ClientId,
    t: &Transaction,
) -> Result<crate::transactions::Slot, ErrorReply> {
    let full = || {
        bump(&shared.counters.requests_rejected);
        telemetry::rejected(Rejection::PinnedTransactions);
        overloaded(
            "mongopool proxy: too many transactions are pinned to server connections \
             (max_pinned_transactions); retry the transaction",
        )
    };
    if !shared.transactions().has_room_for(&t.lsid) {
        return Err(full());
    }
    // Transactions run on the primary (a mongos pins them to one shard's primary).
    let conn = checkout(
        &shared.client,
        &Target::Primary,
        CheckoutPurpose::Transaction,
        shared.wait_queue_timeout,
    )
    .await
    .inspect_err(|_| {
        bump(&shared.counters.requests_rejected);
        telemetry::rejected(Rejection::ServerConnection);
    })?;
    let slot = Arc::new(tokio::sync::Mutex::new(Some(conn)));
    let replaced = {
        let mut pins = shared.transactions();
        // Checked again: other transactions may have been pinned during the checkout.
        if !pins.has_room_for(&t.lsid) {
            drop(pins);
            return Err(full());
        }
        pins.pin(t.lsid.clone(), t.txn_number, slot.clone(), client)
    };
    if let Some(old) = replaced {
        debug!(
            txn_number = old.txn_number,
            "a newer transaction of the session replaces a pinned one"
        );
        cleanup::release(old);
    }
    Ok(slot)
}
