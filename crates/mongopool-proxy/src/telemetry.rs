//! The proxy's numbers through the [`metrics`](https://docs.rs/metrics) facade (feature
//! `metrics`); without the feature every function here does nothing. Server
//! connections are the pools' own numbers (`mongopool_connections`, ... of
//! `mongopool::PoolMetrics`, which the proxy installs on every server's pool).
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `mongopool_proxy_client_connections` | gauge | |
//! | `mongopool_proxy_client_connections_total` | counter | |
//! | `mongopool_proxy_requests_total` | counter | `outcome` = `forwarded`, `answered`, `server_error` |
//! | `mongopool_proxy_request_duration_seconds` | histogram | |
//! | `mongopool_proxy_rejections_total` | counter | `reason` = `client_connections`, `pending_requests`, `server_connection`, `pinned_transactions`, `cursors`, `bad_request`, `unauthenticated` |
//! | `mongopool_proxy_pinned_cursors` | gauge | |
//! | `mongopool_proxy_pinned_transactions` | gauge | |
//! | `mongopool_proxy_cleanups_total` | counter | |

use std::time::Duration;

/// Why a client or a request was turned away.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Rejection {
    ClientConnections,
    PendingRequests,
    ServerConnection,
    PinnedTransactions,
    Cursors,
    BadRequest,
    Unauthenticated,
}

impl Rejection {
    #[cfg_attr(not(feature = "metrics"), allow(dead_code))]
    fn label(self) -> &'static str {
        match self {
            Rejection::ClientConnections => "client_connections",
            Rejection::PendingRequests => "pending_requests",
            Rejection::ServerConnection => "server_connection",
            Rejection::PinnedTransactions => "pinned_transactions",
            Rejection::Cursors => "cursors",
            Rejection::BadRequest => "bad_request",
            Rejection::Unauthenticated => "unauthenticated",
        }
    }
}

/// How a request ended.
#[derive(Debug, Clone, Copy)]
pub(crate) enum RequestOutcome {
    Forwarded,
    Answered,
    ServerError,
}

#[cfg(feature = "metrics")]
mod on {
    use super::*;

    pub(crate) fn client_opened(open: u64) {
        metrics::counter!("mongopool_proxy_client_connections_total").increment(1);
        metrics::gauge!("mongopool_proxy_client_connections").set(open as f64);
    }

    pub(crate) fn client_closed(open: u64) {
        metrics::gauge!("mongopool_proxy_client_connections").set(open as f64);
    }

    pub(crate) fn request(outcome: RequestOutcome, elapsed: Option<Duration>) {
        let outcome = match outcome {
            RequestOutcome::Forwarded => "forwarded",
            RequestOutcome::Answered => "answered",
            RequestOutcome::ServerError => "server_error",
        };
        metrics::counter!("mongopool_proxy_requests_total", "outcome" => outcome).increment(1);
        if let Some(elapsed) = elapsed {
            metrics::histogram!("mongopool_proxy_request_duration_seconds")
                .record(elapsed.as_secs_f64());
        }
    }

    pub(crate) fn rejected(reason: Rejection) {
        metrics::counter!("mongopool_proxy_rejections_total", "reason" => reason.label())
            .increment(1);
    }

    pub(crate) fn pinned(cursors: usize, transactions: usize) {
        metrics::gauge!("mongopool_proxy_pinned_cursors").set(cursors as f64);
        metrics::gauge!("mongopool_proxy_pinned_transactions").set(transactions as f64);
    }

    pub(crate) fn cleaned_up() {
        metrics::counter!("mongopool_proxy_cleanups_total").increment(1);
    }
}

#[cfg(not(feature = "metrics"))]
mod on {
    use super::*;

    pub(crate) fn client_opened(_open: u64) {}
    pub(crate) fn client_closed(_open: u64) {}
    pub(crate) fn request(_outcome: RequestOutcome, _elapsed: Option<Duration>) {}
    pub(crate) fn rejected(_reason: Rejection) {}
    pub(crate) fn pinned(_cursors: usize, _transactions: usize) {}
    pub(crate) fn cleaned_up() {}
}

pub(crate) use on::*;
