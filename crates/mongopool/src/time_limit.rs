//! The one place a timeout option becomes a limit on waiting.
//!
//! `connectTimeoutMS` and `socketTimeoutMS` of 0 mean "no timeout" (URI options spec),
//! and so does `None`; every wait in the crate (connect, TLS handshake, the hello, each
//! read and write) goes through [`TimeLimit`] so that no path reads 0 as a deadline
//! that has already passed.

use std::fmt;
use std::future::Future;
use std::io;
use std::time::Duration;

use tokio::time::Instant;

/// A limit on how long something may take, named after the option it comes from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeLimit {
    /// When the limit passes, and the option's value (for messages); `None`: no limit.
    deadline: Option<(Instant, Duration)>,
    which: &'static str,
}

/// The limit passed: `which` timeout of `limit`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Elapsed {
    which: &'static str,
    limit: Duration,
}

impl TimeLimit {
    /// A limit of `timeout` from now; `None` and zero mean no limit. `which` names the
    /// option ("connect", "socket") in messages.
    pub(crate) fn starting_now(timeout: Option<Duration>, which: &'static str) -> TimeLimit {
        // No clock read when there is no limit: the common socket timeout is none.
        let deadline = timeout
            .filter(|limit| !limit.is_zero())
            .map(|limit| (Instant::now() + limit, limit));
        TimeLimit { deadline, which }
    }

    /// Whether the deadline has passed (never, without a limit).
    pub(crate) fn has_passed(&self) -> bool {
        self.deadline.is_some_and(|(at, _)| Instant::now() >= at)
    }

    /// Runs `work` until the deadline.
    pub(crate) async fn run<F: Future>(&self, work: F) -> Result<F::Output, Elapsed> {
        match self.deadline {
            None => Ok(work.await),
            Some((at, limit)) => tokio::time::timeout_at(at, work)
                .await
                .map_err(|_| Elapsed {
                    which: self.which,
                    limit,
                }),
        }
    }

    /// Runs an io step until the deadline; passing it is a `TimedOut` io error, which
    /// [`Error::io`](crate::Error::io) turns into a network timeout.
    pub(crate) async fn run_io<T>(
        &self,
        step: impl Future<Output = io::Result<T>>,
    ) -> io::Result<T> {
        self.run(step).await.unwrap_or_else(|e| Err(e.into()))
    }
}

/// Runs `step` for at most `timeout` (`None` or zero: no limit), as [`TimeLimit::run_io`].
pub(crate) async fn within<T>(
    timeout: Option<Duration>,
    which: &'static str,
    step: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    TimeLimit::starting_now(timeout, which).run_io(step).await
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "not done within the {} timeout of {:?}",
            self.which, self.limit
        )
    }
}

impl From<Elapsed> for io::Error {
    fn from(e: Elapsed) -> io::Error {
        io::Error::new(io::ErrorKind::TimedOut, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn zero_and_none_mean_no_limit() {
        for timeout in [None, Some(Duration::ZERO)] {
            let late = tokio::time::sleep(Duration::from_secs(3600));
            let limit = TimeLimit::starting_now(timeout, "socket");
            assert!(limit.run(late).await.is_ok(), "{timeout:?}");
            assert!(!limit.has_passed());
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_limit_ends_the_wait_with_a_timed_out_error() {
        let started = Instant::now();
        let err = within(Some(Duration::from_secs(5)), "socket", async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(())
        })
        .await
        .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        assert!(err.to_string().contains("socket timeout of 5s"), "{err}");
    }
}
