//! A SCRAM credential: the username and the password prepared for key derivation,
//! from which any number of conversations (one per connection) start.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use rand::rngs::OsRng;
use rand::{RngCore, TryRngCore};

use super::conversation::ClientFirst;
use super::mechanism::ScramMechanism;
use super::message::is_valid_nonce;
use crate::error::{Result, WireError};
use crate::{mongodb_cr, saslprep};

/// Random bytes in a client nonce; base64 turns 24 bytes into 32 characters.
const NONCE_BYTES: usize = 24;

/// A SCRAM credential ready to authenticate: mechanism, username, and the password in
/// the form key derivation uses.
///
/// The password is prepared once, here: for SCRAM-SHA-1 it becomes MongoDB's pre-hash
/// (lowercase hex of `md5("<username>:mongo:<password>")`), for SCRAM-SHA-256 it goes
/// through SASLprep. The username is never SASLprep'd (the auth spec forbids it); it is
/// only escaped in the message. Each connection then calls [`start`](Self::start).
///
/// `Debug` does not show the password.
#[derive(Clone)]
pub struct ScramClient {
    mechanism: ScramMechanism,
    username: String,
    prepared_password: String,
}

impl ScramClient {
    /// Prepares a credential for `mechanism`.
    ///
    /// Errors (as [`WireError::Authentication`]) if the username is empty, or, for
    /// SCRAM-SHA-256, if SASLprep rejects the password. Error texts never contain the
    /// password.
    pub fn new(mechanism: ScramMechanism, username: &str, password: &str) -> Result<Self> {
        let prepared_password = match mechanism {
            ScramMechanism::Sha1 => mongodb_cr::password_digest(username, password),
            ScramMechanism::Sha256 => saslprep::saslprep(password)
                .map_err(|_| {
                    WireError::Authentication(
                        "the SCRAM-SHA-256 password is not allowed by SASLprep (RFC 4013): it \
                         contains a prohibited or unassigned character, or invalid \
                         bidirectional text"
                            .to_owned(),
                    )
                })?
                .into_owned(),
        };
        Self::with_prepared_password(mechanism, username, prepared_password)
    }

    /// A credential whose password goes into key derivation exactly as given: no
    /// MongoDB pre-hash, no SASLprep.
    ///
    /// This is plain RFC 5802 / RFC 7677 SCRAM, for running their test vectors (the RFC
    /// 5802 example uses the raw password "pencil", where MongoDB would use its MD5
    /// pre-hash). A MongoDB server expects [`new`](Self::new); use this one only when
    /// the password has already been prepared by other means.
    pub fn with_raw_password(
        mechanism: ScramMechanism,
        username: &str,
        raw_password: &str,
    ) -> Result<Self> {
        Self::with_prepared_password(mechanism, username, raw_password.to_owned())
    }

    fn with_prepared_password(
        mechanism: ScramMechanism,
        username: &str,
        prepared_password: String,
    ) -> Result<Self> {
        if username.is_empty() {
            return Err(WireError::Authentication(format!(
                "{} needs a non-empty username",
                mechanism.name()
            )));
        }
        Ok(ScramClient {
            mechanism,
            username: username.to_owned(),
            prepared_password,
        })
    }

    /// The mechanism this credential authenticates with.
    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// The username, as given (unescaped, not SASLprep'd).
    pub fn username(&self) -> &str {
        &self.username
    }

    /// Starts a conversation with a fresh random nonce (24 bytes from the operating
    /// system's CSPRNG, base64-encoded).
    pub fn start(&self) -> ClientFirst {
        let mut random = [0u8; NONCE_BYTES];
        OsRng.unwrap_err().fill_bytes(&mut random);
        ClientFirst::new(self, BASE64.encode(random))
    }

    /// Starts a conversation with the given client nonce, for known-answer tests.
    ///
    /// A reused or guessable nonce weakens SCRAM: real logins use
    /// [`start`](Self::start). Errors if `nonce` is empty or has a character outside
    /// printable ASCII or a comma.
    pub fn start_with_nonce(&self, nonce: &str) -> Result<ClientFirst> {
        if !is_valid_nonce(nonce) {
            return Err(WireError::InvalidArgument(
                "a SCRAM nonce must be non-empty printable ASCII without commas".to_owned(),
            ));
        }
        Ok(ClientFirst::new(self, nonce.to_owned()))
    }

    pub(super) fn prepared_password(&self) -> &str {
        &self.prepared_password
    }
}

impl fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}
