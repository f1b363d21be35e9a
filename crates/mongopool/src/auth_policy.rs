//! How a connection may log in beyond what its credential says: where SCRAM keys are
//! cached, the ceiling on PBKDF2 iterations, whether PLAIN may go over a non-TLS
//! stream, and how many key derivations may run at once in the whole process.

use std::sync::{Arc, OnceLock};

use mongopool_wire::scram::KeyCache;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, ErrorKind, Result};

/// Login settings taken from the connection's options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthPolicy {
    /// The SCRAM key cache (the process-wide one, or a disabled one).
    pub(crate) key_cache: &'static KeyCache,
    /// The largest PBKDF2 iteration count accepted from a server.
    pub(crate) max_scram_iterations: u32,
    /// Whether PLAIN may send the password over a stream without TLS.
    pub(crate) allow_plain_without_tls: bool,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        AuthPolicy {
            key_cache: KeyCache::global(),
            max_scram_iterations: mongopool_wire::scram::DEFAULT_MAX_ITERATION_COUNT,
            allow_plain_without_tls: false,
        }
    }
}

impl AuthPolicy {
    /// PLAIN sends the password itself: refused over a stream without TLS unless the
    /// options allow it.
    pub(crate) fn check_plain(&self, is_tls: bool) -> Result<()> {
        if is_tls || self.allow_plain_without_tls {
            return Ok(());
        }
        Err(policy_error(
            "PLAIN",
            None,
            "PLAIN would send the password in clear text over a connection without TLS; \
             use TLS, or allow it with ConnectionOptionsBuilder::allow_plain_without_tls"
                .to_owned(),
        ))
    }
}

/// Most PBKDF2 derivations running at once in the process: the number of cores, at
/// most 8. tokio's blocking pool has 512 threads; without this bound a server asking
/// every new connection for the maximum iteration count could occupy all of them
/// (a job whose login timed out still runs to its end).
fn max_concurrent_derivations() -> usize {
    std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .clamp(1, 8)
}

/// A permit to run one key derivation; waits while the maximum are running. (The
/// semaphore is never closed, so the `None` of a closed one does not happen.)
pub(crate) async fn pbkdf2_permit() -> Option<OwnedSemaphorePermit> {
    static JOBS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    let jobs = JOBS.get_or_init(|| Arc::new(Semaphore::new(max_concurrent_derivations())));
    Arc::clone(jobs).acquire_owned().await.ok()
}

/// A login refused by the policy, before anything is sent.
fn policy_error(mechanism: &str, code: Option<i32>, message: String) -> Error {
    Error::new(ErrorKind::Authentication {
        mechanism: mechanism.to_owned(),
        code,
        message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_needs_tls_or_the_explicit_option() {
        let strict = AuthPolicy::default();
        let err = strict.check_plain(false).unwrap_err();
        assert!(err.to_string().contains("without TLS"), "{err}");
        assert!(strict.check_plain(true).is_ok());
        let lax = AuthPolicy {
            allow_plain_without_tls: true,
            ..AuthPolicy::default()
        };
        assert!(lax.check_plain(false).is_ok());
    }
}
