//! One blocking connection, outside any pool.

use std::collections::BTreeMap;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bson::{RawDocument, RawDocumentBuf};
use serde::de::DeserializeOwned;

use super::runtime::SharedRuntime;
use crate::address::ServerAddress;
use crate::connection::{CommandOptions, ConnectionOptions};
use crate::credential::Credential;
use crate::error::Result;

/// One server connection for code without an async runtime: [`crate::Connection`]
/// with methods that block, and a runtime of its own. Derefs to the async connection
/// for everything that does not wait (its hello reply, address, ids).
#[derive(Debug)]
pub struct Connection {
    // Declared first: the socket goes before the runtime it is registered with.
    inner: crate::Connection,
    runtime: Arc<SharedRuntime>,
}

impl Connection {
    /// Opens a connection: connects, runs the handshake and logs in with the
    /// options' credential ([`crate::Connection::connect`], id and generation 0).
    pub fn connect(address: &ServerAddress, options: &ConnectionOptions) -> Result<Connection> {
        let runtime = SharedRuntime::start()?;
        let inner = runtime.run(crate::Connection::connect(address, options, 0, 0))?;
        Ok(Connection { inner, runtime })
    }

    /// Runs a command ([`crate::Connection::command`]).
    pub fn command(
        &mut self,
        db: &str,
        command: &RawDocument,
        options: &CommandOptions,
    ) -> Result<RawDocumentBuf> {
        self.runtime.run(self.inner.command(db, command, options))
    }

    /// Runs a command and deserialises the reply ([`crate::Connection::command_as`]).
    pub fn command_as<T: DeserializeOwned>(
        &mut self,
        db: &str,
        command: &RawDocument,
        options: &CommandOptions,
    ) -> Result<T> {
        self.runtime
            .run(self.inner.command_as(db, command, options))
    }

    /// Logs in with `credential` ([`crate::Connection::authenticate`]).
    pub fn authenticate(&mut self, credential: &Credential) -> Result<()> {
        self.runtime.run(self.inner.authenticate(credential))
    }

    /// Makes the connection logged in with exactly `all_credentials`
    /// ([`crate::Connection::check_auth`]).
    pub fn check_auth(&mut self, all_credentials: &BTreeMap<String, Credential>) -> Result<()> {
        self.runtime.run(self.inner.check_auth(all_credentials))
    }
}

impl Deref for Connection {
    type Target = crate::Connection;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl DerefMut for Connection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.inner
    }
}
