//! What checked-out connections are used for: the Load Balancer spec's "connection
//! tracking". In load-balanced mode a connection stays checked out for as long as a
//! cursor or a transaction is pinned to it, and a wait queue timeout then says how many
//! connections each kind of use holds, so that a user can tell a pool too small from
//! cursors left open.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a checked-out connection is used for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CheckoutPurpose {
    /// An operation that gives the connection back when it is done (the default).
    #[default]
    Operation,
    /// A cursor pinned to the connection until it is exhausted or killed.
    Cursor,
    /// A transaction pinned to the connection until it commits or aborts.
    Transaction,
}

/// The connections checked out at one instant, by [`CheckoutPurpose`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InUseByPurpose {
    /// The pool's `max_pool_size` (0: unbounded).
    pub max_pool_size: u32,
    /// Held by cursors.
    pub cursors: usize,
    /// Held by transactions.
    pub transactions: usize,
    /// Held by other operations.
    pub other: usize,
}

impl fmt::Display for InUseByPurpose {
    /// The spec's wording.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "maxPoolSize: {}, connections in use by cursors: {}, connections in use by \
             transactions: {}, connections in use by other operations: {}",
            self.max_pool_size, self.cursors, self.transactions, self.other
        )
    }
}

/// How many checked-out connections are pinned to cursors and to transactions (the
/// rest of those in use serve operations). Only connections whose purpose was set
/// touch these, so the plain checkout path does not.
#[derive(Debug, Default)]
pub(crate) struct PurposeCounts {
    cursors: AtomicUsize,
    transactions: AtomicUsize,
}

impl PurposeCounts {
    fn counter(&self, purpose: CheckoutPurpose) -> Option<&AtomicUsize> {
        match purpose {
            CheckoutPurpose::Operation => None,
            CheckoutPurpose::Cursor => Some(&self.cursors),
            CheckoutPurpose::Transaction => Some(&self.transactions),
        }
    }

    /// A checked-out connection changes purpose (to `Operation` when it is checked in).
    pub(crate) fn changed(&self, from: CheckoutPurpose, to: CheckoutPurpose) {
        if from == to {
            return;
        }
        if let Some(c) = self.counter(from) {
            c.fetch_sub(1, Ordering::Relaxed);
        }
        if let Some(c) = self.counter(to) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The breakdown of `in_use` connections.
    pub(crate) fn breakdown(&self, in_use: usize, max_pool_size: u32) -> InUseByPurpose {
        let cursors = self.cursors.load(Ordering::Relaxed);
        let transactions = self.transactions.load(Ordering::Relaxed);
        InUseByPurpose {
            max_pool_size,
            cursors,
            transactions,
            // An interrupting clear stops counting a connection in use before its guard
            // gives up its purpose: never below zero.
            other: in_use.saturating_sub(cursors + transactions),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_follow_the_changes() {
        let p = PurposeCounts::default();
        p.changed(CheckoutPurpose::Operation, CheckoutPurpose::Cursor);
        p.changed(CheckoutPurpose::Operation, CheckoutPurpose::Cursor);
        p.changed(CheckoutPurpose::Operation, CheckoutPurpose::Transaction);
        p.changed(CheckoutPurpose::Cursor, CheckoutPurpose::Transaction);
        let b = p.breakdown(5, 8);
        assert_eq!((b.cursors, b.transactions, b.other), (1, 2, 2));
        p.changed(CheckoutPurpose::Cursor, CheckoutPurpose::Operation);
        p.changed(CheckoutPurpose::Transaction, CheckoutPurpose::Operation);
        p.changed(CheckoutPurpose::Transaction, CheckoutPurpose::Operation);
        assert_eq!(
            p.breakdown(0, 8),
            InUseByPurpose {
                max_pool_size: 8,
                ..Default::default()
            }
        );
        assert_eq!(
            p.breakdown(3, 0).to_string(),
            "maxPoolSize: 0, connections in use by cursors: 0, connections in use by \
             transactions: 0, connections in use by other operations: 3"
        );
    }
}
