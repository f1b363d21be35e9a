//! Clients logging in to the proxy: the server side of SCRAM-SHA-256 (RFC 5802 /
//! 7677), against a user list given to the proxy. Sans-IO: documents in, documents
//! out.
//!
//! The user list is a file of `user:password` lines (`#` comments and blank lines
//! skipped; the password is everything after the first `:`). Passwords are SASLprep'd
//! and salted once, at load; only the salted keys are kept.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use bson::raw::cstr;
use bson::spec::BinarySubtype;
use bson::{RawBsonRef, RawDocument, RawDocumentBuf};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use subtle::ConstantTimeEq;

/// The only mechanism offered.
pub(crate) const MECHANISM: &str = "SCRAM-SHA-256";
/// The iteration count of the proxy's salted passwords (the server default).
const ITERATIONS: u32 = 15_000;

/// One user's SCRAM keys.
#[derive(Clone)]
struct UserKeys {
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// The users clients may log in as. Empty: clients connect without authentication.
#[derive(Clone, Default)]
pub struct ClientUsers {
    users: HashMap<String, UserKeys>,
}

impl std::fmt::Debug for ClientUsers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Names only: the keys are secrets.
        let mut names: Vec<&String> = self.users.keys().collect();
        names.sort();
        f.debug_struct("ClientUsers")
            .field("users", &names)
            .finish()
    }
}

impl ClientUsers {
    /// Reads `user:password` lines (see the module docs).
    pub fn parse(text: &str) -> Result<ClientUsers, String> {
        let mut users = ClientUsers::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, password) = line
                .split_once(':')
                .ok_or_else(|| format!("line {}: expected user:password", n + 1))?;
            users
                .add(name, password)
                .map_err(|e| format!("line {}: {e}", n + 1))?;
        }
        Ok(users)
    }

    /// Adds (or replaces) a user.
    pub fn add(&mut self, name: &str, password: &str) -> Result<(), String> {
        if name.is_empty() {
            return Err("a user needs a name".into());
        }
        let prepared = mongopool_wire::saslprep::saslprep(password).map_err(|e| e.to_string())?;
        let mut salt = vec![0u8; 16];
        rand::rng().fill_bytes(&mut salt);
        let mut salted = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(prepared.as_bytes(), &salt, ITERATIONS, &mut salted);
        let client_key = hmac(&salted, b"Client Key");
        self.users.insert(
            name.to_owned(),
            UserKeys {
                salt,
                stored_key: Sha256::digest(&client_key).to_vec(),
                server_key: hmac(&salted, b"Server Key"),
            },
        );
        Ok(())
    }

    /// Whether clients must log in.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Whether `name` is a user (for `saslSupportedMechs` in hello).
    pub(crate) fn knows(&self, name: &str) -> bool {
        self.users.contains_key(name)
    }
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Where one client connection's login stands.
#[derive(Debug, Default)]
pub(crate) enum LoginState {
    /// Not logged in (nor started).
    #[default]
    Anonymous,
    /// `saslStart` answered: waiting for the client's proof.
    Started {
        user: String,
        auth_message_start: String,
        nonce: String,
    },
    /// Logged in as this user.
    LoggedIn(String),
}

/// The reply to `saslStart` / `saslContinue`, and the state after it. Errors are
/// `AuthenticationFailed` (18) messages that do not say whether the user exists.
pub(crate) fn step(
    users: &ClientUsers,
    state: &mut LoginState,
    command: &str,
    body: &RawDocument,
) -> Result<RawDocumentBuf, String> {
    let failed = "Authentication failed.".to_owned();
    match command {
        "saslStart" => {
            let mechanism = body.get_str("mechanism").unwrap_or("");
            if mechanism != MECHANISM {
                *state = LoginState::Anonymous;
                return Err(format!(
                    "mongopool proxy: mechanism {mechanism:?} is not offered; use {MECHANISM}"
                ));
            }
            let payload = payload(body)?;
            let (first_bare, user, client_nonce) = parse_client_first(&payload)?;
            let Some(keys) = users.users.get(&user) else {
                *state = LoginState::Anonymous;
                return Err(failed);
            };
            let mut random = [0u8; 24];
            rand::rng().fill_bytes(&mut random);
            let nonce = format!("{client_nonce}{}", BASE64.encode(random));
            let server_first = format!("r={nonce},s={},i={ITERATIONS}", BASE64.encode(&keys.salt));
            *state = LoginState::Started {
                user,
                auth_message_start: format!("{first_bare},{server_first}"),
                nonce,
            };
            Ok(reply(server_first.as_bytes(), false))
        }
        "saslContinue" => {
            let LoginState::Started {
                user,
                auth_message_start,
                nonce,
            } = std::mem::take(state)
            else {
                // After a success, drivers that do not skip the empty exchange send
                // one more saslContinue: it is answered done.
                if let LoginState::LoggedIn(user) = std::mem::take(state) {
                    *state = LoginState::LoggedIn(user);
                    return Ok(reply(b"", true));
                }
                return Err("mongopool proxy: saslContinue without saslStart".into());
            };
            let payload = payload(body)?;
            let client_final = std::str::from_utf8(&payload).map_err(|_| failed.clone())?;
            let (without_proof, proof) = client_final
                .rsplit_once(",p=")
                .ok_or_else(|| failed.clone())?;
            let got_nonce = without_proof
                .split(',')
                .find_map(|f| f.strip_prefix("r="))
                .ok_or_else(|| failed.clone())?;
            let proof = BASE64.decode(proof).map_err(|_| failed.clone())?;
            let keys = users.users.get(&user).ok_or_else(|| failed.clone())?;
            let auth_message = format!("{auth_message_start},{without_proof}");
            let signature = hmac(&keys.stored_key, auth_message.as_bytes());
            if got_nonce != nonce || proof.len() != signature.len() {
                return Err(failed);
            }
            let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(a, b)| a ^ b).collect();
            let stored = Sha256::digest(&client_key);
            if !bool::from(stored.as_slice().ct_eq(&keys.stored_key)) {
                return Err(failed);
            }
            let server_signature = hmac(&keys.server_key, auth_message.as_bytes());
            *state = LoginState::LoggedIn(user);
            let server_final = format!("v={}", BASE64.encode(server_signature));
            Ok(reply(server_final.as_bytes(), true))
        }
        _ => Err(format!(
            "mongopool proxy: {command} is not supported; use {MECHANISM}"
        )),
    }
}

fn payload(body: &RawDocument) -> Result<Vec<u8>, String> {
    match body.get("payload").ok().flatten() {
        Some(RawBsonRef::Binary(b)) => Ok(b.bytes.to_vec()),
        Some(RawBsonRef::String(s)) => Ok(s.as_bytes().to_vec()),
        _ => Err("mongopool proxy: the SASL command has no payload".into()),
    }
}

/// `n,,n=user,r=nonce` -> (`n=user,r=nonce`, user, nonce). Channel binding is not
/// offered (`n` or `y` only).
fn parse_client_first(payload: &[u8]) -> Result<(String, String, String), String> {
    let text = std::str::from_utf8(payload).map_err(|_| "the SCRAM message is not UTF-8")?;
    let bad = || "mongopool proxy: malformed SCRAM client-first message".to_owned();
    let rest = text
        .strip_prefix("n,")
        .or_else(|| text.strip_prefix("y,"))
        .ok_or_else(bad)?;
    let (_authzid, bare) = rest.split_once(',').ok_or_else(bad)?;
    let mut user = None;
    let mut nonce = None;
    for field in bare.split(',') {
        if let Some(u) = field.strip_prefix("n=") {
            user = Some(u.replace("=2C", ",").replace("=3D", "="));
        } else if let Some(r) = field.strip_prefix("r=") {
            nonce = Some(r.to_owned());
        }
    }
    match (user, nonce) {
        (Some(u), Some(r)) if !r.is_empty() => Ok((bare.to_owned(), u, r)),
        _ => Err(bad()),
    }
}

fn reply(payload: &[u8], done: bool) -> RawDocumentBuf {
    let mut doc = RawDocumentBuf::new();
    doc.append(cstr!("conversationId"), 1);
    doc.append(cstr!("done"), done);
    doc.append(
        cstr!("payload"),
        bson::RawBson::Binary(bson::Binary {
            subtype: BinarySubtype::Generic,
            bytes: payload.to_vec(),
        }),
    );
    doc.append(cstr!("ok"), 1.0);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_files_are_read_and_bad_lines_refused() {
        let users = ClientUsers::parse("# apps\nalice:s3cr:et\n\nbob:pw\n").unwrap();
        assert!(users.knows("alice") && users.knows("bob") && !users.knows("carol"));
        assert!(ClientUsers::parse("no-colon").is_err());
        assert!(ClientUsers::parse(":pw").is_err());
        assert!(!format!("{users:?}").contains("s3cr"));
    }

    use bson::rawdoc;
    use mongopool_wire::scram::{KeyCache, ScramClient, ScramMechanism};

    fn binary(bytes: &[u8]) -> bson::RawBson {
        bson::RawBson::Binary(bson::Binary {
            subtype: BinarySubtype::Generic,
            bytes: bytes.to_vec(),
        })
    }

    /// A whole conversation with the wire crate's SCRAM client; `Err` from the proxy.
    fn converse(users: &ClientUsers, user: &str, password: &str) -> Result<LoginState, String> {
        let client = ScramClient::new(ScramMechanism::Sha256, user, password).unwrap();
        let first = client.start();
        let mut state = LoginState::default();
        let start = rawdoc! {"saslStart": 1, "mechanism": MECHANISM,
        "payload": binary(first.message())};
        let reply = step(users, &mut state, "saslStart", &start)?;
        let server_first = payload(&reply).unwrap();
        let last = first
            .handle_server_first(&server_first, &KeyCache::disabled())
            .unwrap();
        let cont = rawdoc! {"saslContinue": 1, "conversationId": 1,
        "payload": binary(last.message())};
        let reply = step(users, &mut state, "saslContinue", &cont)?;
        assert_eq!(reply.get_bool("done").ok(), Some(true));
        last.handle_server_final(&payload(&reply).unwrap())
            .expect("the proxy proves it knows the password too");
        Ok(state)
    }

    #[test]
    fn the_proof_decides() {
        let users = ClientUsers::parse("alice:pencil\n").unwrap();
        let state = converse(&users, "alice", "pencil").expect("the right password");
        assert!(matches!(state, LoginState::LoggedIn(u) if u == "alice"));
        assert!(
            converse(&users, "alice", "pencil!").is_err(),
            "a wrong password"
        );
        assert!(
            converse(&users, "bob", "pencil").is_err(),
            "an unknown user"
        );
        let mut state = LoginState::default();
        let cont = rawdoc! {"saslContinue": 1, "payload": binary(b"c=biws,r=x,p=AAAA")};
        assert!(step(&users, &mut state, "saslContinue", &cont).is_err());
        let sha1 = rawdoc! {"saslStart": 1, "mechanism": "SCRAM-SHA-1", "payload": binary(b"n,,n=alice,r=abc")};
        assert!(step(&users, &mut state, "saslStart", &sha1).is_err());
    }

    #[test]
    fn client_first_messages_are_parsed() {
        let (bare, user, nonce) = parse_client_first(b"n,,n=a=2Cb,r=abc").unwrap();
        assert_eq!(
            (bare.as_str(), user.as_str(), nonce.as_str()),
            ("n=a=2Cb,r=abc", "a,b", "abc")
        );
        assert!(parse_client_first(b"p=tls,,n=a,r=x").is_err());
        assert!(parse_client_first(b"n,,n=a").is_err());
    }
}
