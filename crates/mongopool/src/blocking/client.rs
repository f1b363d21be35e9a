//! The blocking front door: [`Client`] and the connections it checks out.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bson::{RawDocument, RawDocumentBuf};
use serde::de::DeserializeOwned;

use super::runtime::SharedRuntime;
use crate::connection::CommandOptions;
use crate::connection_string::ConnectionString;
use crate::error::Result;
use crate::read_preference::ReadPreference;
use crate::topology::{Topology, TopologyOptions};

/// A MongoDB deployment for code without an async runtime: [`crate::Client`] with
/// methods that block. Cheap to clone (clones share the deployment and the runtime)
/// and `Send + Sync`: share it between threads.
///
/// The monitors and pools run on the client's own background thread; the calling
/// thread blocks only for the call it makes. See the [module docs](super) for what
/// closing and dropping do.
#[derive(Clone, Debug)]
pub struct Client {
    // Declared first: the topology goes before the runtime that drives it.
    inner: crate::Client,
    runtime: Arc<SharedRuntime>,
}

impl Client {
    /// Parses `uri`, resolves `mongodb+srv://`, and starts monitoring the deployment,
    /// as [`crate::Client::connect`] does.
    pub fn connect(uri: &str) -> Result<Client> {
        Client::with_options(ConnectionString::parse(uri)?, TopologyOptions::default())
    }

    /// [`Client::connect`] with a parsed connection string and topology options.
    pub fn with_options(cs: ConnectionString, options: TopologyOptions) -> Result<Client> {
        let runtime = SharedRuntime::start()?;
        let inner = runtime.run(crate::Client::with_options(cs, options))?;
        Ok(Client { inner, runtime })
    }

    /// The async client behind this one (to hand to async code running elsewhere).
    pub fn as_async(&self) -> &crate::Client {
        &self.inner
    }

    /// The topology: its description, stats and events.
    pub fn topology(&self) -> &Topology {
        self.inner.topology()
    }

    /// The read preference of the URI; primary if it named none.
    pub fn read_preference(&self) -> &ReadPreference {
        self.inner.read_preference()
    }

    /// Runs one command with the URI's read preference ([`crate::Client::run_command`]).
    pub fn run_command(&self, db: &str, command: &RawDocument) -> Result<RawDocumentBuf> {
        self.runtime.run(self.inner.run_command(db, command))
    }

    /// Runs one command on a server chosen by `read_preference` ([`crate::Client::command`]).
    pub fn command(
        &self,
        db: &str,
        command: &RawDocument,
        read_preference: &ReadPreference,
    ) -> Result<RawDocumentBuf> {
        self.runtime
            .run(self.inner.command(db, command, read_preference))
    }

    /// [`Client::run_command`], with the reply deserialised into `T`.
    pub fn run_command_as<T: DeserializeOwned>(
        &self,
        db: &str,
        command: &RawDocument,
    ) -> Result<T> {
        let reply = self.run_command(db, command)?;
        super::deserialize_reply(&reply)
    }

    /// Selects a server for a read and checks a connection out of its pool
    /// ([`crate::Client::checkout`]). It is checked back in when dropped.
    pub fn checkout(&self, read_preference: &ReadPreference) -> Result<ClientConnection> {
        let conn = self.runtime.run(self.inner.checkout(read_preference))?;
        Ok(ClientConnection {
            conn,
            runtime: self.runtime.clone(),
        })
    }

    /// Selects a server that takes writes and checks a connection out of its pool.
    pub fn checkout_for_write(&self) -> Result<ClientConnection> {
        let conn = self.runtime.run(self.inner.checkout_for_write())?;
        Ok(ClientConnection {
            conn,
            runtime: self.runtime.clone(),
        })
    }

    /// Closes the client, for every clone: every call in flight on any thread fails
    /// at once (a connection in the middle of a command is closed, not reused),
    /// later calls fail, the monitors stop and the pools close. Connections checked
    /// out of it are closed when dropped.
    pub fn close(&self) {
        self.runtime.close();
        self.runtime.finish(self.inner.close());
    }
}

/// A connection checked out through a blocking [`Client`]; checked back in when
/// dropped. Derefs to [`crate::ClientConnection`] (and through it to the
/// [`Connection`](crate::Connection)) for everything that does not wait.
#[must_use = "dropping the connection checks it back in at once"]
#[derive(Debug)]
pub struct ClientConnection {
    conn: crate::ClientConnection,
    runtime: Arc<SharedRuntime>,
}

impl ClientConnection {
    /// Runs a command with the read preference filled in for this server
    /// ([`crate::ClientConnection::run_command`]); errors are reported to the topology.
    pub fn run_command(&mut self, db: &str, command: &RawDocument) -> Result<RawDocumentBuf> {
        self.runtime.run(self.conn.run_command(db, command))
    }

    /// Runs a command with explicit options ([`crate::Connection::command`]); errors
    /// are reported to the topology.
    pub fn command(
        &mut self,
        db: &str,
        command: &RawDocument,
        options: &CommandOptions,
    ) -> Result<RawDocumentBuf> {
        let result = self.runtime.run(self.conn.command(db, command, options));
        if let Err(e) = &result {
            self.conn.report_error(e);
        }
        result
    }

    /// [`ClientConnection::run_command`], with the reply deserialised into `T`.
    pub fn run_command_as<T: DeserializeOwned>(
        &mut self,
        db: &str,
        command: &RawDocument,
    ) -> Result<T> {
        let reply = self.run_command(db, command)?;
        super::deserialize_reply(&reply)
    }
}

impl Deref for ClientConnection {
    type Target = crate::ClientConnection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl DerefMut for ClientConnection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}
