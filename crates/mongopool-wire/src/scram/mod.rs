//! SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) as MongoDB uses them, as a
//! sans-IO state machine: it turns the server's payloads into the client's payloads and
//! never touches a socket.
//!
//! A [`ScramClient`] is a prepared credential. Per connection:
//!
//! 1. [`ScramClient::start`] gives a [`ClientFirst`]; send its
//!    [`message`](ClientFirst::message) as the `saslStart` payload with
//!    `mechanism: ScramMechanism::name()` (or inside `speculativeAuthenticate` of the
//!    `hello`, plus the `db` field, whose reply then carries the server's answer).
//! 2. [`ClientFirst::handle_server_first`] takes the reply payload and gives a
//!    [`ClientFinal`]; send its [`message`](ClientFinal::message) with `saslContinue`.
//! 3. [`ClientFinal::handle_server_final`] checks the reply payload. A server that
//!    answered `done: false` then expects one empty `saslContinue`.
//!
//! Derived keys are cached in a [`KeyCache`] (usually [`KeyCache::global`]), so only the
//! first connection of a pool pays for PBKDF2.
//!
//! ```
//! use mongopool_wire::scram::{KeyCache, ScramClient, ScramMechanism};
//!
//! // The RFC 7677 example; SASLprep leaves "pencil" unchanged.
//! let client = ScramClient::new(ScramMechanism::Sha256, "user", "pencil")?;
//! let first = client.start_with_nonce("rOprNGfwEbeRWgbNEkqO")?;
//! assert_eq!(first.message(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
//!
//! let cache = KeyCache::new();
//! let last = first.handle_server_first(
//!     b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
//!     &cache,
//! )?;
//! assert_eq!(
//!     last.message(),
//!     &b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
//!        p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="[..],
//! );
//! last.handle_server_final(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")?;
//! # Ok::<(), mongopool_wire::WireError>(())
//! ```

mod conversation;
mod credential;
mod key_cache;
mod mechanism;
mod message;

pub use conversation::{ClientFinal, ClientFirst};
pub use credential::ScramClient;
pub use key_cache::KeyCache;
pub use mechanism::ScramMechanism;

/// The fewest PBKDF2 iterations a server may ask for. The auth spec requires refusing
/// fewer, so that a man in the middle cannot downgrade the cost of cracking the password.
pub const MIN_ITERATION_COUNT: u32 = 4096;

/// The largest PBKDF2 iteration count a client accepts unless told otherwise
/// ([`ClientFirst::with_max_iterations`]).
///
/// The server chooses the count, so a hostile or compromised server (or anyone in the
/// middle of a non-TLS connection) could ask for `i=4294967295`: hours of CPU per
/// login. MongoDB's defaults are 10 000 (SHA-1) and 15 000 (SHA-256); OWASP's 2023
/// advice for PBKDF2-HMAC-SHA256 is 600 000. One million leaves room for an
/// administrator who follows that advice and then some, while bounding one
/// derivation to about a second of one core.
pub const DEFAULT_MAX_ITERATION_COUNT: u32 = 1_000_000;
