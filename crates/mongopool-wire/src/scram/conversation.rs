//! One SCRAM conversation, as a typestate machine: [`ClientFirst`] sends the first
//! message and turns the server's reply into [`ClientFinal`], which sends the proof
//! and verifies the server's signature.

use std::fmt;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use subtle::ConstantTimeEq;

use super::credential::ScramClient;
use super::key_cache::KeyCache;
use super::mechanism::ScramMechanism;
use super::message::{escape_username, parse_server_final, parse_server_first};
use super::{DEFAULT_MAX_ITERATION_COUNT, MIN_ITERATION_COUNT};
use crate::error::{Result, WireError};

/// GS2 header of a client that does not support channel binding. The auth spec requires
/// exactly this: advertising channel binding breaks older servers.
const GS2_HEADER: &str = "n,,";

/// `c=` attribute of the final message: base64 of [`GS2_HEADER`].
const CHANNEL_BINDING: &str = "c=biws";

/// The first step: holds `client-first-message` and waits for the server's answer.
///
/// Its [`message`](Self::message) is the payload of `saslStart` (or of the
/// `speculativeAuthenticate` document of `hello`); the reply's payload goes to
/// [`handle_server_first`](Self::handle_server_first).
pub struct ClientFirst {
    mechanism: ScramMechanism,
    prepared_password: String,
    client_nonce: String,
    /// `n,,n=<escaped user>,r=<nonce>`.
    message: String,
    /// The largest iteration count accepted from the server.
    max_iterations: u32,
}

impl ClientFirst {
    pub(super) fn new(client: &ScramClient, client_nonce: String) -> Self {
        let message = format!(
            "{GS2_HEADER}n={},r={client_nonce}",
            escape_username(client.username())
        );
        ClientFirst {
            mechanism: client.mechanism(),
            prepared_password: client.prepared_password().to_owned(),
            client_nonce,
            message,
            max_iterations: DEFAULT_MAX_ITERATION_COUNT,
        }
    }

    /// Accepts iteration counts up to `max` instead of
    /// [`DEFAULT_MAX_ITERATION_COUNT`](super::DEFAULT_MAX_ITERATION_COUNT): a server
    /// asking for more is refused before any key derivation.
    #[must_use]
    pub fn with_max_iterations(mut self, max: u32) -> Self {
        self.max_iterations = max;
        self
    }

    /// The largest iteration count this conversation accepts.
    pub fn max_iterations(&self) -> u32 {
        self.max_iterations
    }

    /// The mechanism of this conversation (its [`name`](ScramMechanism::name) goes in
    /// the `mechanism` field of `saslStart`).
    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// The client nonce (`r=` of the first message).
    pub fn nonce(&self) -> &str {
        &self.client_nonce
    }

    /// `client-first-message`: `n,,n=<user>,r=<nonce>`, the `saslStart` payload.
    pub fn message(&self) -> &[u8] {
        self.message.as_bytes()
    }

    /// Checks `server-first-message` and computes the client proof.
    ///
    /// The derived keys come from `cache` when it has them, otherwise this runs PBKDF2
    /// with the server's iteration count: milliseconds of CPU, so async callers should
    /// run it off the reactor (e.g. `spawn_blocking`) or accept the stall.
    ///
    /// Errors ([`WireError::Authentication`]): the server returned `e=...`; the message
    /// is malformed (not UTF-8, attributes missing or out of order, bad salt base64, bad
    /// number); the server nonce does not start with the client nonce or adds nothing to
    /// it; the iteration count is below [`MIN_ITERATION_COUNT`] or above
    /// [`ClientFirst::max_iterations`].
    pub fn handle_server_first(self, server_first: &[u8], cache: &KeyCache) -> Result<ClientFinal> {
        let server = parse_server_first(server_first)?;
        if !server.nonce.starts_with(&self.client_nonce)
            || server.nonce.len() <= self.client_nonce.len()
        {
            return Err(WireError::Authentication(
                "the server nonce does not extend the client nonce".to_owned(),
            ));
        }
        if server.iterations < MIN_ITERATION_COUNT {
            return Err(WireError::Authentication(format!(
                "the server asked for {} PBKDF2 iterations, fewer than the minimum of \
                 {MIN_ITERATION_COUNT}",
                server.iterations
            )));
        }
        if server.iterations > self.max_iterations {
            return Err(WireError::Authentication(format!(
                "the server asked for {} PBKDF2 iterations, more than the maximum of {} \
                 (a hostile server can make each login cost hours of CPU)",
                server.iterations, self.max_iterations
            )));
        }

        let mechanism = self.mechanism;
        let keys = cache.derive(
            mechanism,
            self.prepared_password.as_bytes(),
            &server.salt,
            server.iterations,
        );
        let without_proof = format!("{CHANNEL_BINDING},r={}", server.nonce);
        let client_first_bare = self.message.strip_prefix(GS2_HEADER).unwrap_or_default();
        let auth_message = format!("{client_first_bare},{},{without_proof}", server.text);

        let stored_key = mechanism.hash(&keys.client_key);
        let client_signature = mechanism.hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = keys
            .client_key
            .iter()
            .zip(&client_signature)
            .map(|(key, signature)| key ^ signature)
            .collect();
        let server_signature = mechanism.hmac(&keys.server_key, auth_message.as_bytes());

        Ok(ClientFinal {
            mechanism,
            message: format!("{without_proof},p={}", BASE64.encode(proof)),
            server_signature,
        })
    }
}

impl fmt::Debug for ClientFirst {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientFirst")
            .field("mechanism", &self.mechanism)
            .field("message", &self.message)
            .finish_non_exhaustive()
    }
}

/// The second step: holds `client-final-message` (with the proof) and the server
/// signature the server must answer with.
///
/// Its [`message`](Self::message) is the payload of `saslContinue`; the reply's payload
/// goes to [`handle_server_final`](Self::handle_server_final). If that reply is not yet
/// `done` (servers before 4.4, or without `skipEmptyExchange`), the driver sends one more
/// `saslContinue` with an empty payload and expects `done: true`.
pub struct ClientFinal {
    mechanism: ScramMechanism,
    /// `c=biws,r=<nonce>,p=<proof>`.
    message: String,
    server_signature: Vec<u8>,
}

impl ClientFinal {
    /// The mechanism of this conversation.
    pub fn mechanism(&self) -> ScramMechanism {
        self.mechanism
    }

    /// `client-final-message`: `c=biws,r=<nonce>,p=<proof>`, the `saslContinue` payload.
    pub fn message(&self) -> &[u8] {
        self.message.as_bytes()
    }

    /// Verifies `server-final-message`: the server proves it knows the credential too.
    ///
    /// The signature is compared in constant time. Errors
    /// ([`WireError::Authentication`]): the server returned `e=...`, the message is
    /// malformed, or the signature is wrong (the peer is not the server it claims to be).
    pub fn handle_server_final(self, server_final: &[u8]) -> Result<()> {
        let signature = parse_server_final(server_final)?;
        if bool::from(signature.as_slice().ct_eq(&self.server_signature)) {
            Ok(())
        } else {
            Err(WireError::Authentication(format!(
                "the {} server signature is wrong: the server could not prove it knows the \
                 credential",
                self.mechanism.name()
            )))
        }
    }
}

impl fmt::Debug for ClientFinal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The proof (`p=`) stands in for the password: anyone who sees it can replay
        // this login. Only what comes before it is shown.
        let without_proof = self
            .message
            .rsplit_once(",p=")
            .map_or("", |(before, _)| before);
        f.debug_struct("ClientFinal")
            .field("mechanism", &self.mechanism)
            .field("message", &format_args!("{without_proof},p=<redacted>"))
            .finish_non_exhaustive()
    }
}
