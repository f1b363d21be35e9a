//! The server side of PLAIN (RFC 4616): one `saslStart` carrying
//! `[authzid] NUL user NUL password`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bson::{doc, Document, RawDocument};

use super::{auth_failed, binary, next_conversation_id, payload, protocol_error, AuthResponder};

/// One user's PLAIN login, server side (an LDAP user, on `$external` by default).
/// Clones share the count of logins.
#[derive(Clone)]
pub struct PlainServer {
    user: String,
    password: String,
    source: String,
    logins: Arc<AtomicUsize>,
}

impl std::fmt::Debug for PlainServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainServer")
            .field("user", &self.user)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl PlainServer {
    /// `user` with `password` on `$external`.
    pub fn new(user: &str, password: &str) -> Self {
        PlainServer {
            user: user.to_owned(),
            password: password.to_owned(),
            source: "$external".to_owned(),
            logins: Arc::default(),
        }
    }

    /// The database the user is defined on. Defaults to `$external`.
    pub fn source(mut self, db: &str) -> Self {
        self.source = db.to_owned();
        self
    }

    /// How many logins succeeded.
    pub fn logins(&self) -> usize {
        self.logins.load(Ordering::Relaxed)
    }
}

impl AuthResponder for PlainServer {
    fn mechanisms_for(&self, db: &str, user: &str) -> Vec<String> {
        if db == self.source && user == self.user {
            vec!["PLAIN".to_owned()]
        } else {
            Vec::new()
        }
    }

    fn answer(&self, _connection: usize, db: &str, command: &RawDocument) -> Option<Document> {
        let (name, _) = command.iter().next()?.ok()?;
        if db != self.source
            || !name.as_str().eq_ignore_ascii_case("saslStart")
            || command.get_str("mechanism").ok()? != "PLAIN"
        {
            return None;
        }
        let Some(message) = payload(command) else {
            return Some(protocol_error("PLAIN: saslStart carries no payload"));
        };
        let mut parts = message.split(|b| *b == 0);
        let (Some(_authzid), Some(user), Some(password), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Some(protocol_error(
                "PLAIN: the payload is not authzid NUL user NUL password",
            ));
        };
        if user != self.user.as_bytes() {
            return None;
        }
        if password != self.password.as_bytes() {
            return Some(auth_failed());
        }
        self.logins.fetch_add(1, Ordering::Relaxed);
        Some(doc! {
            "conversationId": next_conversation_id(),
            "done": true,
            "payload": binary(Vec::new()),
            "ok": 1.0,
        })
    }
}
