//! The retry budget: a token bucket shared by every operation of a client. A retry
//! after an overload error takes a token; a success puts a tenth of one back (and a
//! whole one more when it was a retry that succeeded). When overload persists the
//! bucket empties and the client stops adding retries to a server that sheds load.
//!
//! The client backpressure spec had this bucket in its first versions and then
//! turned it off by default (2026-02-20) and left it out of phase 1; it is kept here
//! as an opt-in ([`OverloadRetryOptions::retry_budget`](super::OverloadRetryOptions::retry_budget)),
//! with the values of the spec's draft.

use std::sync::atomic::{AtomicU64, Ordering};

/// Tokens are counted in thousandths so that a tenth of a token is exact.
const MILLI: u64 = 1000;
/// The draft's `RETRY_TOKEN_RETURN_RATE`: a tenth of a token per success.
const RETURN_PER_SUCCESS: u64 = MILLI / 10;

/// A token bucket of retries (see the module documentation). Lock-free.
#[derive(Debug)]
pub struct RetryBudget {
    capacity: u64,
    milli_tokens: AtomicU64,
}

impl RetryBudget {
    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        let capacity = u64::from(capacity) * MILLI;
        RetryBudget {
            capacity,
            milli_tokens: AtomicU64::new(capacity),
        }
    }

    /// Tokens left (rounded down).
    pub fn tokens(&self) -> u64 {
        self.milli_tokens.load(Ordering::Relaxed) / MILLI
    }

    /// Takes one token for a retry; false (and nothing taken) when less than one is left.
    pub fn try_withdraw(&self) -> bool {
        self.milli_tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                t.checked_sub(MILLI)
            })
            .is_ok()
    }

    /// Puts tokens back after a success: a tenth, plus one if `retried` (the retry
    /// that took it succeeded). Never above the capacity.
    pub fn deposit(&self, retried: bool) {
        let amount = RETURN_PER_SUCCESS + if retried { MILLI } else { 0 };
        let capacity = self.capacity;
        let _ = self
            .milli_tokens
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                (t < capacity).then(|| t.saturating_add(amount).min(capacity))
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_empties_and_refills_by_tenths() {
        let budget = RetryBudget::new(2);
        assert!(budget.try_withdraw());
        assert!(budget.try_withdraw());
        assert!(!budget.try_withdraw(), "two tokens allow two retries");
        assert_eq!(budget.tokens(), 0);
        for _ in 0..9 {
            budget.deposit(false);
        }
        assert!(!budget.try_withdraw(), "nine tenths are not a token");
        budget.deposit(false);
        assert!(budget.try_withdraw(), "ten successes give one retry back");
    }

    #[test]
    fn a_successful_retry_returns_its_token_and_the_bucket_never_overflows() {
        let budget = RetryBudget::new(3);
        assert!(budget.try_withdraw());
        budget.deposit(true);
        assert_eq!(budget.tokens(), 3);
        for _ in 0..100 {
            budget.deposit(true);
        }
        assert_eq!(budget.milli_tokens.load(Ordering::Relaxed), 3 * MILLI);
    }
}
