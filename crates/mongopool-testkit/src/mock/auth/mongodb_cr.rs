//! The server side of MONGODB-CR: `getnonce`, then `authenticate` with
//! `key = hex(md5(nonce + user + hex(md5("<user>:mongo:<password>"))))`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use bson::{doc, Document, RawDocument};
use md5::{Digest, Md5};

use super::{auth_failed, fresh_nonce, hex, mongo_password_digest, AuthResponder};

/// One user's MONGODB-CR login, server side (servers before 4.0). Clones share the
/// nonces handed out and the count of logins.
#[derive(Clone)]
pub struct MongoCrServer {
    user: String,
    password: String,
    source: String,
    state: Arc<Mutex<CrState>>,
}

#[derive(Default)]
struct CrState {
    /// The last nonce handed out on each connection; `authenticate` uses it up.
    nonces: HashMap<usize, String>,
    logins: usize,
}

impl std::fmt::Debug for MongoCrServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MongoCrServer")
            .field("user", &self.user)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl MongoCrServer {
    /// `user` with `password` on `admin`.
    pub fn new(user: &str, password: &str) -> Self {
        MongoCrServer {
            user: user.to_owned(),
            password: password.to_owned(),
            source: "admin".to_owned(),
            state: Arc::default(),
        }
    }

    /// The database the user is defined on. Defaults to `admin`.
    pub fn source(mut self, db: &str) -> Self {
        self.source = db.to_owned();
        self
    }

    /// How many `authenticate` commands succeeded.
    pub fn logins(&self) -> usize {
        self.state().logins
    }

    fn state(&self) -> MutexGuard<'_, CrState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn expected_key(&self, nonce: &str) -> String {
        hex(&Md5::new()
            .chain_update(nonce.as_bytes())
            .chain_update(self.user.as_bytes())
            .chain_update(mongo_password_digest(&self.user, &self.password).as_bytes())
            .finalize())
    }
}

impl AuthResponder for MongoCrServer {
    fn mechanisms_for(&self, _db: &str, _user: &str) -> Vec<String> {
        // Servers that speak MONGODB-CR predate saslSupportedMechs.
        Vec::new()
    }

    fn answer(&self, connection: usize, db: &str, command: &RawDocument) -> Option<Document> {
        if db != self.source {
            return None;
        }
        let (name, _) = command.iter().next()?.ok()?;
        if name.as_str().eq_ignore_ascii_case("getnonce") {
            let nonce = hex(&fresh_nonce(8));
            self.state().nonces.insert(connection, nonce.clone());
            return Some(doc! { "nonce": nonce, "ok": 1.0 });
        }
        if !name.as_str().eq_ignore_ascii_case("authenticate") {
            return None;
        }
        match command.get_str("mechanism") {
            Ok("MONGODB-CR") | Err(_) => {}
            Ok(_) => return None,
        }
        if command.get_str("user").ok()? != self.user {
            return None;
        }
        let mut state = self.state();
        let issued = state.nonces.remove(&connection);
        let nonce = command.get_str("nonce").ok();
        let key = command.get_str("key").ok();
        match (issued, nonce, key) {
            (Some(issued), Some(nonce), Some(key))
                if issued == nonce && key == self.expected_key(nonce) =>
            {
                state.logins += 1;
                Some(doc! { "dbname": self.source.as_str(), "user": self.user.as_str(), "ok": 1.0 })
            }
            _ => Some(auth_failed()),
        }
    }
}
