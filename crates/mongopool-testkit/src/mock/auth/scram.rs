//! The server side of SCRAM-SHA-1 and SCRAM-SHA-256 over `saslStart` /
//! `saslContinue` (and `speculativeAuthenticate`), with knobs for old and broken
//! servers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use bson::{doc, Document, RawBsonRef, RawDocument};

use super::scram_keys::ScramKeys;
use super::{
    auth_failed, binary, fresh_nonce, mongo_password_digest, next_conversation_id, payload,
    protocol_error, AuthResponder,
};

/// The two SCRAM mechanisms MongoDB has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramMechanism {
    /// SCRAM-SHA-1 (the password is MongoDB's md5 digest of user and password).
    Sha1,
    /// SCRAM-SHA-256 (the password itself; this mock does not SASLprep it, so use
    /// ASCII passwords).
    Sha256,
}

impl ScramMechanism {
    /// The mechanism's name.
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha1 => "SCRAM-SHA-1",
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
        }
    }
}

/// What a SCRAM server has seen. "Round trips" spent on login are `sasl_starts +
/// sasl_continues`: a speculative start rides in the hello and costs none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScramStats {
    /// `saslStart` commands answered.
    pub sasl_starts: usize,
    /// `speculativeAuthenticate` starts answered in a hello.
    pub speculative_starts: usize,
    /// `saslContinue` commands answered.
    pub sasl_continues: usize,
    /// Conversations that ended with the server saying done, the client proven.
    pub successes: usize,
    /// Client proofs refused.
    pub failures: usize,
}

/// One user's SCRAM login, server side.
///
/// Configure it with the builder methods, then clone it into a
/// [`Behavior`](crate::mock::Behavior) and keep a clone to read [`ScramServer::stats`]:
/// clones share conversations and statistics.
#[derive(Clone)]
pub struct ScramServer {
    config: Config,
    state: Arc<Mutex<State>>,
}

#[derive(Clone)]
struct Config {
    mechanism: ScramMechanism,
    user: String,
    password: String,
    source: String,
    salt: Vec<u8>,
    iterations: u32,
    extra_empty_step: bool,
    wrong_server_signature: bool,
    foreign_nonce: bool,
    server_first_error: Option<String>,
    server_final_error: Option<String>,
    speculative: bool,
}

#[derive(Default)]
struct State {
    conversations: HashMap<(usize, i32), Stage>,
    stats: ScramStats,
}

enum Stage {
    /// The server-first message went out; the client's proof is next.
    AwaitingProof {
        client_first_bare: String,
        server_first: String,
        nonce: String,
        skip_empty_exchange: bool,
    },
    /// The server-final message went out with `done: false`; an empty message is next.
    AwaitingEmpty,
}

impl std::fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramServer")
            .field("mechanism", &self.config.mechanism)
            .field("user", &self.config.user)
            .field("source", &self.config.source)
            .finish_non_exhaustive()
    }
}

impl ScramServer {
    /// `user` with `password` on `admin`, salt `"mock salt bytes!"`, 4096 iterations
    /// (the minimum clients accept), answering as a MongoDB 4.4+ server: honouring
    /// `skipEmptyExchange` and speculative authentication.
    pub fn new(mechanism: ScramMechanism, user: &str, password: &str) -> Self {
        ScramServer {
            config: Config {
                mechanism,
                user: user.to_owned(),
                password: password.to_owned(),
                source: "admin".to_owned(),
                salt: b"mock salt bytes!".to_vec(),
                iterations: 4096,
                extra_empty_step: false,
                wrong_server_signature: false,
                foreign_nonce: false,
                server_first_error: None,
                server_final_error: None,
                speculative: true,
            },
            state: Arc::default(),
        }
    }

    /// The database the user is defined on. Defaults to `admin`.
    pub fn source(mut self, db: &str) -> Self {
        self.config.source = db.to_owned();
        self
    }

    /// The salt. Defaults to `"mock salt bytes!"`.
    pub fn salt(mut self, salt: &[u8]) -> Self {
        self.config.salt = salt.to_vec();
        self
    }

    /// The PBKDF2 iteration count. Defaults to 4096.
    pub fn iterations(mut self, iterations: u32) -> Self {
        self.config.iterations = iterations;
        self
    }

    /// Behave as servers before 4.4: ignore `skipEmptyExchange`, answer the proof
    /// with `done: false` and want one more, empty `saslContinue`.
    pub fn extra_empty_step(mut self) -> Self {
        self.config.extra_empty_step = true;
        self
    }

    /// Send a server signature that does not match (a server that does not know the
    /// password, or a man in the middle).
    pub fn wrong_server_signature(mut self) -> Self {
        self.config.wrong_server_signature = true;
        self
    }

    /// Send a server nonce that does not start with the client's (a man in the middle
    /// replaying another conversation).
    pub fn foreign_nonce(mut self) -> Self {
        self.config.foreign_nonce = true;
        self
    }

    /// Answer `saslStart` with the server-first message `e=<error>`.
    pub fn error_in_server_first(mut self, error: &str) -> Self {
        self.config.server_first_error = Some(error.to_owned());
        self
    }

    /// Answer a valid proof with the server-final message `e=<error>`.
    pub fn error_in_server_final(mut self, error: &str) -> Self {
        self.config.server_final_error = Some(error.to_owned());
        self
    }

    /// Ignore `speculativeAuthenticate` in the hello, as servers before 4.4 do.
    pub fn without_speculative(mut self) -> Self {
        self.config.speculative = false;
        self
    }

    /// What this server (and its clones) has seen so far.
    pub fn stats(&self) -> ScramStats {
        self.state().stats
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn keys(&self) -> ScramKeys {
        let c = &self.config;
        let password = match c.mechanism {
            ScramMechanism::Sha1 => mongo_password_digest(&c.user, &c.password),
            ScramMechanism::Sha256 => c.password.clone(),
        };
        ScramKeys::derive(c.mechanism, password.as_bytes(), &c.salt, c.iterations)
    }

    /// `saslStart` (or its speculative form): checks the client-first message and
    /// sends the server-first.
    fn start(
        &self,
        connection: usize,
        command: &RawDocument,
        speculative: bool,
    ) -> Option<Document> {
        if command.get_str("mechanism").ok()? != self.config.mechanism.name() {
            return None;
        }
        let Some(client_first) = payload(command).and_then(|p| std::str::from_utf8(p).ok()) else {
            return Some(protocol_error("saslStart: the payload is not UTF-8 text"));
        };
        let Some(client_first_bare) = client_first
            .strip_prefix("n,,")
            .or_else(|| client_first.strip_prefix("y,,"))
        else {
            return Some(protocol_error(
                "SCRAM: the client-first message must start with a gs2 header \"n,,\"",
            ));
        };
        let Some((user, client_nonce)) = parse_client_first_bare(client_first_bare) else {
            return Some(protocol_error("SCRAM: malformed client-first message"));
        };
        if user != self.config.user {
            return None;
        }
        let mut state = self.state();
        if speculative {
            state.stats.speculative_starts += 1;
        } else {
            state.stats.sasl_starts += 1;
        }
        let id = next_conversation_id();
        if let Some(error) = &self.config.server_first_error {
            return Some(sasl_reply(id, false, format!("e={error}")));
        }
        let nonce = if self.config.foreign_nonce {
            BASE64.encode(fresh_nonce(42))
        } else {
            format!("{client_nonce}{}", BASE64.encode(fresh_nonce(18)))
        };
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&self.config.salt),
            self.config.iterations
        );
        let skip_empty_exchange = matches!(
            command
                .get_document("options")
                .map(|o| o.get("skipEmptyExchange")),
            Ok(Ok(Some(RawBsonRef::Boolean(true))))
        );
        state.conversations.insert(
            (connection, id),
            Stage::AwaitingProof {
                client_first_bare: client_first_bare.to_owned(),
                server_first: server_first.clone(),
                nonce,
                skip_empty_exchange,
            },
        );
        Some(sasl_reply(id, false, server_first))
    }

    /// `saslContinue`: checks the proof and proves the server, or closes the
    /// pre-4.4 extra empty exchange.
    fn proceed(&self, connection: usize, command: &RawDocument) -> Option<Document> {
        let id = match command.get("conversationId") {
            Ok(Some(RawBsonRef::Int32(i))) => i,
            Ok(Some(RawBsonRef::Int64(i))) => i32::try_from(i).ok()?,
            _ => return None,
        };
        let mut state = self.state();
        let stage = state.conversations.remove(&(connection, id))?;
        state.stats.sasl_continues += 1;
        let message = payload(command).unwrap_or_default();
        match stage {
            Stage::AwaitingEmpty => {
                if !message.is_empty() {
                    return Some(protocol_error("SCRAM: expected an empty message"));
                }
                state.stats.successes += 1;
                Some(sasl_reply(id, true, ""))
            }
            Stage::AwaitingProof {
                client_first_bare,
                server_first,
                nonce,
                skip_empty_exchange,
            } => {
                let Some(client_final) = std::str::from_utf8(message).ok() else {
                    return Some(protocol_error(
                        "SCRAM: the client-final message is not UTF-8",
                    ));
                };
                let Some((without_proof, proof)) = parse_client_final(client_final, &nonce) else {
                    return Some(protocol_error("SCRAM: malformed client-final message"));
                };
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let keys = self.keys();
                if !keys.verify_proof(auth_message.as_bytes(), &proof) {
                    state.stats.failures += 1;
                    return Some(auth_failed());
                }
                if let Some(error) = &self.config.server_final_error {
                    return Some(sasl_reply(id, true, format!("e={error}")));
                }
                let mut signature = keys.server_signature(auth_message.as_bytes());
                if self.config.wrong_server_signature {
                    if let Some(first) = signature.first_mut() {
                        *first ^= 0xff;
                    }
                }
                let done = skip_empty_exchange && !self.config.extra_empty_step;
                if done {
                    state.stats.successes += 1;
                } else {
                    state
                        .conversations
                        .insert((connection, id), Stage::AwaitingEmpty);
                }
                Some(sasl_reply(
                    id,
                    done,
                    format!("v={}", BASE64.encode(signature)),
                ))
            }
        }
    }
}

impl AuthResponder for ScramServer {
    fn mechanisms_for(&self, db: &str, user: &str) -> Vec<String> {
        if db == self.config.source && user == self.config.user {
            vec![self.config.mechanism.name().to_owned()]
        } else {
            Vec::new()
        }
    }

    fn answer(&self, connection: usize, db: &str, command: &RawDocument) -> Option<Document> {
        if db != self.config.source {
            return None;
        }
        let (name, _) = command.iter().next()?.ok()?;
        if name.as_str().eq_ignore_ascii_case("saslStart") {
            self.start(connection, command, false)
        } else if name.as_str().eq_ignore_ascii_case("saslContinue") {
            self.proceed(connection, command)
        } else {
            None
        }
    }

    fn answer_speculative(&self, connection: usize, command: &RawDocument) -> Option<Document> {
        if !self.config.speculative || command.get_str("db").ok()? != self.config.source {
            return None;
        }
        self.start(connection, command, true)
    }
}

/// `{conversationId, done, payload, ok: 1}`.
fn sasl_reply(id: i32, done: bool, payload: impl Into<Vec<u8>>) -> Document {
    doc! { "conversationId": id, "done": done, "payload": binary(payload), "ok": 1.0 }
}

/// `n=<user>,r=<nonce>[,extensions]` → (unescaped user, nonce).
fn parse_client_first_bare(bare: &str) -> Option<(String, &str)> {
    let mut parts = bare.split(',');
    let user = parts.next()?.strip_prefix("n=")?;
    let nonce = parts.next()?.strip_prefix("r=")?;
    if nonce.is_empty() {
        return None;
    }
    // RFC 5802 saslname: "=2C" is ',' and "=3D" is '='; any other '=' is invalid.
    let mut unescaped = String::with_capacity(user.len());
    let mut rest = user;
    while let Some(at) = rest.find('=') {
        unescaped.push_str(rest.get(..at)?);
        let code = rest.get(at..at + 3)?;
        unescaped.push(match code {
            "=2C" => ',',
            "=3D" => '=',
            _ => return None,
        });
        rest = rest.get(at + 3..)?;
    }
    unescaped.push_str(rest);
    Some((unescaped, nonce))
}

/// `c=biws,r=<nonce>,p=<proof>` → (the message without `,p=...`, the decoded proof).
/// The channel binding must be `biws` (base64 of "n,,") and the nonce the combined one.
fn parse_client_final<'a>(message: &'a str, nonce: &str) -> Option<(&'a str, Vec<u8>)> {
    let at = message.rfind(",p=")?;
    let without_proof = message.get(..at)?;
    let proof = BASE64.decode(message.get(at + 3..)?).ok()?;
    let mut parts = without_proof.split(',');
    if parts.next()? != "c=biws" || parts.next()?.strip_prefix("r=")? != nonce {
        return None;
    }
    Some((without_proof, proof))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_first_usernames_are_unescaped() {
        assert_eq!(
            parse_client_first_bare("n=a=2Cb=3Dc,r=xyz"),
            Some(("a,b=c".to_owned(), "xyz"))
        );
        assert_eq!(parse_client_first_bare("n=a=2,r=xyz"), None);
        assert_eq!(parse_client_first_bare("n=a=ZZ,r=xyz"), None);
        assert_eq!(parse_client_first_bare("r=xyz,n=a"), None);
        assert_eq!(parse_client_first_bare("n=a,r="), None);
    }

    #[test]
    fn client_final_needs_the_binding_and_the_nonce() {
        let (head, proof) = parse_client_final("c=biws,r=abc,p=AAEC", "abc").unwrap();
        assert_eq!((head, proof), ("c=biws,r=abc", vec![0, 1, 2]));
        assert!(parse_client_final("c=biws,r=abd,p=AAEC", "abc").is_none());
        assert!(parse_client_final("c=eSws,r=abc,p=AAEC", "abc").is_none());
        assert!(parse_client_final("c=biws,r=abc,p=!!", "abc").is_none());
        assert!(parse_client_final("c=biws,r=abc", "abc").is_none());
    }
}
