//! Transactions pinned to one server connection, from `startTransaction` until
//! `commitTransaction` / `abortTransaction`, a limit, an idle timeout, or the owner's
//! disconnect.
//!
//! Like cursors, a transaction is keyed by its session (`lsid`), not by the client
//! connection: a driver may send a transaction's commands over any of its connections
//! to the proxy (it pins the transaction to "the mongos", which is the proxy). Two
//! commands of one transaction arriving at once take turns on the pinned connection
//! (the slot's async mutex). The map itself is behind a synchronous mutex that is
//! never held across an `.await`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use bson::RawDocumentBuf;
use mongopool::{Connection, PooledConnection};

use crate::cursors::ClientId;

/// The pinned connection of one transaction; `None` once it broke or was released.
pub(crate) type Slot = Arc<tokio::sync::Mutex<Option<PooledConnection<Connection>>>>;

#[derive(Debug)]
struct Pin {
    lsid: RawDocumentBuf,
    txn_number: i64,
    slot: Slot,
    owner: ClientId,
    last_used: Instant,
}

/// A pinned transaction taken out of the table, to be aborted.
#[derive(Debug)]
pub(crate) struct Released {
    pub(crate) lsid: RawDocumentBuf,
    pub(crate) txn_number: i64,
    pub(crate) slot: Slot,
}

/// Every pinned transaction, by session.
#[derive(Debug)]
pub(crate) struct TransactionPins {
    pins: HashMap<Vec<u8>, Pin>,
    limit: usize,
}

impl TransactionPins {
    pub(crate) fn new(limit: usize) -> Self {
        TransactionPins {
            pins: HashMap::new(),
            limit,
        }
    }

    /// Pinned transactions.
    pub(crate) fn len(&self) -> usize {
        self.pins.len()
    }

    /// Whether a transaction of session `lsid` may be pinned: below the limit, or
    /// replacing the session's older transaction.
    pub(crate) fn has_room_for(&self, lsid: &RawDocumentBuf) -> bool {
        self.pins.len() < self.limit || self.pins.contains_key(lsid.as_bytes())
    }

    /// The slot of transaction `txn_number` of session `lsid`, now used by `owner`.
    pub(crate) fn find(
        &mut self,
        lsid: &RawDocumentBuf,
        txn_number: i64,
        owner: ClientId,
    ) -> Option<Slot> {
        let pin = self.pins.get_mut(lsid.as_bytes())?;
        if pin.txn_number != txn_number {
            return None;
        }
        pin.owner = owner;
        pin.last_used = Instant::now();
        Some(pin.slot.clone())
    }

    /// Pins a new transaction. An older transaction of the same session is returned to
    /// be released (the server aborts it when a newer one starts).
    pub(crate) fn pin(
        &mut self,
        lsid: RawDocumentBuf,
        txn_number: i64,
        slot: Slot,
        owner: ClientId,
    ) -> Option<Released> {
        let key = lsid.as_bytes().to_vec();
        let previous = self.pins.insert(
            key,
            Pin {
                lsid,
                txn_number,
                slot,
                owner,
                last_used: Instant::now(),
            },
        );
        previous.map(Pin::released)
    }

    /// Unpins transaction `txn_number` of `lsid` (it committed or aborted, or its
    /// connection broke). A newer transaction of the session stays pinned.
    pub(crate) fn unpin(&mut self, lsid: &RawDocumentBuf, txn_number: i64) -> Option<Released> {
        let key = lsid.as_bytes();
        if self.pins.get(key)?.txn_number != txn_number {
            return None;
        }
        self.pins.remove(key).map(Pin::released)
    }

    /// Unpins every transaction `owner` used last.
    pub(crate) fn take_owned(&mut self, owner: ClientId) -> Vec<Released> {
        self.take_where(|pin| pin.owner == owner)
    }

    /// Unpins every transaction idle for longer than `timeout` at `now`.
    pub(crate) fn take_idle(&mut self, timeout: Duration, now: Instant) -> Vec<Released> {
        self.take_where(|pin| now.saturating_duration_since(pin.last_used) > timeout)
    }

    fn take_where(&mut self, mut pred: impl FnMut(&Pin) -> bool) -> Vec<Released> {
        let keys: Vec<Vec<u8>> = self
            .pins
            .iter()
            .filter(|(_, pin)| pred(pin))
            .map(|(k, _)| k.clone())
            .collect();
        keys.iter()
            .filter_map(|k| self.pins.remove(k))
            .map(Pin::released)
            .collect()
    }
}

impl Pin {
    fn released(self) -> Released {
        Released {
            lsid: self.lsid,
            txn_number: self.txn_number,
            slot: self.slot,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    fn slot() -> Slot {
        Arc::new(tokio::sync::Mutex::new(None))
    }

    #[test]
    fn a_pin_is_found_by_session_and_transaction_number() {
        let mut t = TransactionPins::new(2);
        let a = rawdoc! {"id": 1};
        assert!(t.pin(a.clone(), 5, slot(), 1).is_none());
        assert!(t.find(&a, 5, 2).is_some());
        assert!(t.find(&a, 6, 2).is_none());
        assert!(t.find(&rawdoc! {"id": 2}, 5, 2).is_none());
        // The last user owns it now.
        assert!(t.take_owned(1).is_empty());
        assert_eq!(t.take_owned(2).len(), 1);
        assert_eq!(t.len(), 0);
    }

    #[test]
    fn the_limit_counts_pinned_transactions() {
        let mut t = TransactionPins::new(1);
        let (a, b) = (rawdoc! {"id": 1}, rawdoc! {"id": 2});
        assert!(t.has_room_for(&a));
        t.pin(a.clone(), 1, slot(), 1);
        assert!(!t.has_room_for(&b));
        assert!(
            t.has_room_for(&a),
            "a newer transaction of the same session"
        );
        assert!(t.unpin(&a, 2).is_none(), "another txnNumber");
        assert!(t.unpin(&a, 1).is_some());
        assert!(t.has_room_for(&b));
    }

    #[test]
    fn a_newer_transaction_replaces_the_older_one() {
        let mut t = TransactionPins::new(4);
        let a = rawdoc! {"id": 1};
        t.pin(a.clone(), 1, slot(), 1);
        let old = t.pin(a.clone(), 2, slot(), 1).expect("the older one");
        assert_eq!(old.txn_number, 1);
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn idle_pins_time_out() {
        let mut t = TransactionPins::new(4);
        t.pin(rawdoc! {"id": 1}, 1, slot(), 1);
        let now = Instant::now();
        assert!(t.take_idle(Duration::from_secs(60), now).is_empty());
        let later = now + Duration::from_secs(61);
        assert_eq!(t.take_idle(Duration::from_secs(60), later).len(), 1);
        assert_eq!(t.len(), 0);
    }
}
