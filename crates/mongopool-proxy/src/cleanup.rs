//! Pinned state a client leaves behind: its cursors are killed and its transactions
//! aborted, as a driver does when it closes, and transactions idle past their timeout
//! are aborted by a background task.

use std::sync::Arc;
use std::time::Duration;

use bson::raw::cstr;
use bson::{rawdoc, RawArrayBuf, RawDocumentBuf};
use mongopool::CheckoutPurpose;
use mongopool::CommandOptions;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info};

use crate::cursors::{ClientId, OwnedCursors};
use crate::server_io::{checkout, Target};
use crate::shared::Shared;
use crate::stats::bump;
use crate::telemetry;
use crate::transactions::Released;

/// Kills the cursors and aborts the transactions `client` owns.
pub(crate) async fn client_gone(shared: &Shared, client: ClientId) {
    let cursors = shared.cursors().take_owned(client);
    let transactions = shared.transactions().take_owned(client);
    for group in cursors {
        kill_cursors(shared, client, group).await;
    }
    for t in transactions {
        abort(shared, t, "its client disconnected").await;
    }
    shared.record_pinned();
}

async fn kill_cursors(shared: &Shared, client: ClientId, group: OwnedCursors) {
    let OwnedCursors { ns, server, ids } = group;
    let Some((db, coll)) = ns.split_once('.') else {
        return;
    };
    let mut cursors = RawArrayBuf::new();
    for id in &ids {
        cursors.push(*id);
    }
    let mut command = RawDocumentBuf::new();
    command.append(cstr!("killCursors"), coll);
    command.append(cstr!("cursors"), cursors);
    let target = Target::Server(server);
    let result = match checkout(
        &shared.client,
        &target,
        CheckoutPurpose::Operation,
        shared.wait_queue_timeout,
    )
    .await
    {
        Ok(mut conn) => conn
            .command(db, &command, &CommandOptions::unchecked())
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.message),
    };
    bump(&shared.counters.cleanups);
    telemetry::cleaned_up();
    debug!(
        client,
        ns,
        cursors = ids.len(),
        ?result,
        "killed the cursors of a client that left"
    );
}

/// Aborts a transaction taken out of the table, on its pinned connection, then gives
/// the connection back to the pool.
pub(crate) async fn abort(shared: &Shared, t: Released, why: &str) {
    let conn = t.slot.lock().await.take();
    bump(&shared.counters.cleanups);
    telemetry::cleaned_up();
    let Some(mut conn) = conn else {
        return;
    };
    let command = rawdoc! {
        "abortTransaction": 1,
        "lsid": t.lsid,
        "txnNumber": t.txn_number,
        "autocommit": false,
    };
    let result = conn
        .command("admin", &command, &CommandOptions::unchecked())
        .await;
    debug!(
        txn_number = t.txn_number,
        why,
        ok = result.is_ok(),
        "aborted a pinned transaction"
    );
}

/// Lets go of a transaction without aborting it (the server aborts it itself: a newer
/// transaction of the same session started). Its connection goes back to the pool as
/// soon as no command uses it.
pub(crate) fn release(t: Released) {
    if let Ok(mut slot) = t.slot.try_lock() {
        slot.take();
    }
}

/// Aborts transactions idle past `shared.transaction_idle_timeout` until `shutdown`
/// says the proxy stops.
pub(crate) async fn reap_idle_transactions(
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<Option<Instant>>,
) {
    let timeout = shared.transaction_idle_timeout;
    let period = (timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = crate::shared::stopping(&mut shutdown) => return,
        }
        let idle = shared.transactions().take_idle(timeout, Instant::now());
        for t in idle {
            info!(
                txn_number = t.txn_number,
                ?timeout,
                "aborting a pinned transaction that idled past its timeout"
            );
            abort(&shared, t, "it idled past transaction_idle_timeout").await;
            shared.record_pinned();
        }
    }
}
