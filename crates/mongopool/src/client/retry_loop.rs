//! Applies the [`RetryState`] decisions: runs attempts, sleeps the backoff, logs and
//! emits each retry. Generic over the attempt so that it runs with no server (unit
//! tests with tokio's paused clock) as well as in the [`Client`](super::Client).

use std::future::Future;

use rand::Rng;

use super::retry_options::{OverloadRetryEvent, RetryEventHandler};
use super::retry_policy::{RetryDecision, RetryState};
use crate::address::ServerAddress;
use crate::error::Result;

/// What an attempt reports: the server it ran on (none if selection failed) and
/// its outcome.
pub(crate) type AttemptOutcome<T> = (Option<ServerAddress>, Result<T>);

/// Runs `attempt` until it succeeds or `state` gives up. Each attempt gets the
/// servers to avoid. `sharded` is asked after every failure (the topology may have
/// changed).
pub(crate) async fn run_with_retries<T, F, Fut>(
    mut state: RetryState<'_>,
    handler: Option<&dyn RetryEventHandler>,
    rng: &mut impl Rng,
    sharded: impl Fn() -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut(Vec<ServerAddress>) -> Fut,
    Fut: Future<Output = AttemptOutcome<T>>,
{
    loop {
        let (server, result) = attempt(state.deprioritized().to_vec()).await;
        let error = match result {
            Ok(value) => {
                state.on_success();
                return Ok(value);
            }
            Err(error) => error,
        };
        match state.on_error(&error, server.as_ref(), sharded(), rng) {
            RetryDecision::Retry {
                attempt,
                delay,
                overload,
            } => {
                tracing::debug!(
                    target: "mongopool::retry",
                    server = server.as_ref().map(tracing::field::display),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    overload,
                    error = %error,
                    "Retrying command"
                );
                if let Some(handler) = handler {
                    handler.handle(OverloadRetryEvent {
                        address: server,
                        attempt,
                        delay,
                        overload,
                        deprioritized: state.deprioritized().to_vec(),
                        error,
                    });
                }
                if !delay.is_zero() {
                    tokio::time::sleep(delay).await;
                }
            }
            RetryDecision::GiveUp(reason) => {
                if state.retries() > 0 {
                    tracing::debug!(
                        target: "mongopool::retry",
                        retries = state.retries(),
                        reason = ?reason,
                        error = %error,
                        "Giving up retrying command"
                    );
                }
                return Err(error);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use rand::rngs::StdRng;
    use rand::SeedableRng;

    use super::*;
    use crate::client::retry_options::OverloadRetryOptions;
    use crate::client::retry_policy::OperationKind;
    use crate::error::{Error, ErrorKind, OperationFailure};

    fn overloaded() -> Error {
        Error::new(ErrorKind::OperationFailure(OperationFailure {
            code: 462,
            code_name: None,
            message: "rate exceeded".into(),
            labels: vec!["SystemOverloadedError".into(), "RetryableError".into()],
            reply: Default::default(),
        }))
    }

    #[derive(Default)]
    struct Recorded(Mutex<Vec<OverloadRetryEvent>>);

    impl RetryEventHandler for Recorded {
        fn handle(&self, event: OverloadRetryEvent) {
            self.0.lock().unwrap().push(event);
        }
    }

    /// Attempts on servers 0, 1, 2, ... that fail with `errors` failures first.
    async fn run(
        options: &OverloadRetryOptions,
        failures: usize,
    ) -> (
        Result<u32>,
        Vec<OverloadRetryEvent>,
        Vec<Vec<ServerAddress>>,
        Duration,
    ) {
        let events = Arc::new(Recorded::default());
        let seen = Mutex::new(Vec::new());
        let calls = Mutex::new(0_usize);
        let start = tokio::time::Instant::now();
        let state = RetryState::new(options, None, OperationKind::RunCommand);
        let result = run_with_retries(
            state,
            Some(&*events),
            &mut StdRng::seed_from_u64(3),
            || false,
            |deprioritized| {
                seen.lock().unwrap().push(deprioritized);
                let n = {
                    let mut calls = calls.lock().unwrap();
                    *calls += 1;
                    *calls - 1
                };
                async move {
                    let server = ServerAddress::tcp("s", n as u16);
                    if n < failures {
                        (Some(server), Err(overloaded()))
                    } else {
                        (Some(server), Ok(n as u32))
                    }
                }
            },
        )
        .await;
        let events = std::mem::take(&mut *events.0.lock().unwrap());
        (result, events, seen.into_inner().unwrap(), start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn two_overloads_then_success_sleep_exactly_the_emitted_delays() {
        let options = OverloadRetryOptions {
            enable_overload_retargeting: true,
            ..Default::default()
        };
        let (result, events, seen, elapsed) = run(&options, 2).await;
        assert_eq!(result.unwrap(), 2);
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].attempt, 1);
        assert_eq!(events[1].attempt, 2);
        assert!(events
            .iter()
            .all(|e| e.overload && e.error.is_retryable_overload()));
        let slept: Duration = events.iter().map(|e| e.delay).sum();
        assert!(slept > Duration::ZERO);
        // The paused clock advances only by the sleeps (each rounded up to the timer's
        // millisecond).
        assert!(
            elapsed >= slept && elapsed <= slept + Duration::from_millis(2),
            "{elapsed:?} vs {slept:?}"
        );
        // Each retry avoids the servers that shed the earlier attempts.
        assert_eq!(
            seen,
            [
                vec![],
                vec![ServerAddress::tcp("s", 0)],
                vec![ServerAddress::tcp("s", 0), ServerAddress::tcp("s", 1)]
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn three_overloads_exhaust_the_default_two_retries() {
        let (result, events, _, _) = run(&OverloadRetryOptions::default(), 3).await;
        assert!(result.unwrap_err().is_retryable_overload());
        assert_eq!(events.len(), 2);
        let off = OverloadRetryOptions {
            max_adaptive_retries: 0,
            ..Default::default()
        };
        let (result, events, _, elapsed) = run(&off, 1).await;
        assert!(result.is_err());
        assert!(events.is_empty());
        assert_eq!(elapsed, Duration::ZERO);
    }
}
