//! Server sides of the authentication mechanisms, for the mock server: SCRAM-SHA-1
//! and SCRAM-SHA-256 (with knobs for old and broken servers), MONGODB-CR and PLAIN.
//!
//! They are written here from the RFCs and the MongoDB auth spec, with the RustCrypto
//! primitives, and share no code with the client they test.

mod mongodb_cr;
mod plain;
mod scram;
mod scram_keys;

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use bson::spec::BinarySubtype;
use bson::{Binary, Document, RawBsonRef, RawDocument};
use sha2::{Digest, Sha256};

pub use mongodb_cr::MongoCrServer;
pub use plain::PlainServer;
pub use scram::{ScramMechanism, ScramServer, ScramStats};

/// One user's server side of one mechanism, plugged into a
/// [`Behavior`](super::Behavior) with [`Behavior::auth`](super::Behavior::auth).
pub trait AuthResponder: Send + Sync + 'static {
    /// The mechanisms `user` of `db` may use, for a hello's `saslSupportedMechs`;
    /// empty when this responder does not know that user.
    fn mechanisms_for(&self, db: &str, user: &str) -> Vec<String>;

    /// Answers an authentication command (`saslStart`, `saslContinue`, `getnonce`,
    /// `authenticate`) received on database `db` over connection `connection`, or
    /// `None` when it is not for this responder (another mechanism, another user or
    /// database, a conversation it did not start).
    fn answer(&self, connection: usize, db: &str, command: &RawDocument) -> Option<Document>;

    /// Answers the hello's `speculativeAuthenticate` document (a `saslStart` or
    /// `authenticate` with its database in `db`). By default, as [`answer`] would.
    ///
    /// [`answer`]: AuthResponder::answer
    fn answer_speculative(&self, connection: usize, command: &RawDocument) -> Option<Document> {
        let db = command.get_str("db").ok()?;
        self.answer(connection, db, command)
    }
}

/// What servers say to a failed login: code 18, whatever went wrong, so that nobody
/// learns whether the user exists.
pub fn auth_failed() -> Document {
    super::action::error_document(18, "AuthenticationFailed", "Authentication failed.")
}

/// A protocol error in the conversation itself (code 17).
pub(crate) fn protocol_error(errmsg: &str) -> Document {
    super::action::error_document(17, "ProtocolError", errmsg)
}

/// Conversation ids are unique in the process, so a responder can tell the
/// conversations it started from anyone else's.
pub(crate) fn next_conversation_id() -> i32 {
    static NEXT: AtomicI32 = AtomicI32::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A fresh nonce of `bytes` bytes. Unpredictability does not matter to a test
/// server; uniqueness does, so it hashes a process-wide counter.
pub(crate) fn fresh_nonce(bytes: usize) -> Vec<u8> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let digest = Sha256::new()
        .chain_update(b"mongopool-testkit mock nonce")
        .chain_update(n.to_le_bytes())
        .chain_update(std::process::id().to_le_bytes())
        .finalize();
    digest.iter().copied().cycle().take(bytes).collect()
}

/// The `payload` of a SASL command, binary or (as some drivers send) a string.
pub(crate) fn payload(command: &RawDocument) -> Option<&[u8]> {
    match command.get("payload") {
        Ok(Some(RawBsonRef::Binary(b))) => Some(b.bytes),
        Ok(Some(RawBsonRef::String(s))) => Some(s.as_bytes()),
        _ => None,
    }
}

/// A generic-subtype binary, as servers send SASL payloads.
pub(crate) fn binary(bytes: impl Into<Vec<u8>>) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.into(),
    }
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// MongoDB's password digest, `hex(md5("<user>:mongo:<password>"))`: the
/// MONGODB-CR secret and the SCRAM-SHA-1 password.
pub(crate) fn mongo_password_digest(user: &str, password: &str) -> String {
    use md5::{Digest as _, Md5};
    hex(&Md5::new()
        .chain_update(user.as_bytes())
        .chain_update(b":mongo:")
        .chain_update(password.as_bytes())
        .finalize())
}
