//! The blocking pool: [`Pool`] (a [`MongoPool`] to one server) and the connections
//! it hands out.

use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use bson::{RawDocument, RawDocumentBuf};
use serde::de::DeserializeOwned;

use super::runtime::SharedRuntime;
use crate::address::ServerAddress;
use crate::connection::{CommandOptions, Connection, ConnectionOptions};
use crate::connection_string::ConnectionString;
use crate::error::{Error, Result};
use crate::mongo_pool::MongoPool;
use crate::pool::{PoolOptions, PoolStats};

/// A CMAP pool of connections to one server, for code without an async runtime:
/// [`MongoPool`] with methods that block. Cheap to clone (clones share the pool and
/// the runtime) and `Send + Sync`.
///
/// No server monitor owns it, so it is made ready at once: [`Pool::clear`] pauses
/// it and [`Pool::ready`] resumes it. For a deployment, use [`super::Client`].
#[derive(Clone, Debug)]
pub struct Pool {
    // Declared first: the pool goes before the runtime that drives its tasks.
    inner: MongoPool,
    runtime: Arc<SharedRuntime>,
}

impl Pool {
    /// A ready pool for the one host of `uri`, with the URI's pool and connection
    /// options ([`MongoPool::from_connection_string`]; `mongodb+srv://` is resolved
    /// first, with the `dns-srv` feature).
    pub fn connect(uri: &str) -> Result<Pool> {
        let runtime = SharedRuntime::start()?;
        let cs = resolve(ConnectionString::parse(uri)?, &runtime)?;
        let inner = runtime.enter(|| MongoPool::from_connection_string(&cs))?;
        inner.ready();
        Ok(Pool { inner, runtime })
    }

    /// A ready pool for `address` with the given options ([`MongoPool::with_options`]).
    pub fn with_options(
        address: ServerAddress,
        pool_options: PoolOptions,
        connection_options: ConnectionOptions,
    ) -> Result<Pool> {
        let runtime = SharedRuntime::start()?;
        let inner =
            runtime.enter(|| MongoPool::with_options(address, pool_options, connection_options));
        inner.ready();
        Ok(Pool { inner, runtime })
    }

    /// The async pool behind this one.
    pub fn as_async(&self) -> &MongoPool {
        &self.inner
    }

    /// Checks out a connection ([`MongoPool::checkout`]): blocks while the pool is
    /// at `max_pool_size`, up to its wait queue timeout. Checked back in when dropped.
    pub fn checkout(&self) -> Result<PooledConnection> {
        let conn = self.runtime.run(self.inner.checkout())?;
        Ok(PooledConnection {
            conn,
            runtime: self.runtime.clone(),
        })
    }

    /// Checks a connection out, runs one command with default options, checks it in.
    pub fn run_command(&self, db: &str, command: &RawDocument) -> Result<RawDocumentBuf> {
        self.checkout()?
            .command(db, command, &CommandOptions::default())
    }

    /// A snapshot of the pool's counts.
    pub fn stats(&self) -> PoolStats {
        self.inner.stats()
    }

    /// The server the pool is for.
    pub fn address(&self) -> &ServerAddress {
        self.inner.address()
    }

    /// Clears the pool ([`MongoPool::clear`]): it is paused until [`Pool::ready`].
    pub fn clear(&self, cause: Option<&Error>, interrupt_in_use: bool) {
        self.inner.clear(cause, interrupt_in_use);
    }

    /// Marks the pool ready again after [`Pool::clear`].
    pub fn ready(&self) {
        self.inner.ready();
    }

    /// Closes the pool, for every clone: every call in flight on any thread fails at
    /// once (a connection in the middle of a command is closed, not reused), later
    /// calls fail, the idle connections are closed, and connections checked out are
    /// closed when dropped.
    pub fn close(&self) {
        self.runtime.close();
        self.inner.close();
    }
}

/// Resolves a `mongodb+srv://` string on the runtime.
fn resolve(cs: ConnectionString, runtime: &SharedRuntime) -> Result<ConnectionString> {
    if !cs.needs_resolution() {
        return Ok(cs);
    }
    #[cfg(feature = "dns-srv")]
    return runtime.run(cs.resolve());
    #[cfg(not(feature = "dns-srv"))]
    {
        let _ = runtime;
        Err(Error::configuration(
            "mongodb+srv:// needs the dns-srv feature",
        ))
    }
}

/// A connection checked out of a blocking [`Pool`]; checked back in when dropped.
/// Derefs to the [`Connection`] for everything that does not wait.
#[must_use = "dropping the connection checks it back in at once"]
#[derive(Debug)]
pub struct PooledConnection {
    conn: crate::pool::PooledConnection<Connection>,
    runtime: Arc<SharedRuntime>,
}

impl PooledConnection {
    /// Runs a command ([`Connection::command`]).
    pub fn command(
        &mut self,
        db: &str,
        command: &RawDocument,
        options: &CommandOptions,
    ) -> Result<RawDocumentBuf> {
        self.runtime.run(self.conn.command(db, command, options))
    }

    /// Runs a command and deserialises the reply ([`Connection::command_as`]).
    pub fn command_as<T: DeserializeOwned>(
        &mut self,
        db: &str,
        command: &RawDocument,
        options: &CommandOptions,
    ) -> Result<T> {
        self.runtime.run(self.conn.command_as(db, command, options))
    }

    /// The pool's guard around the connection (its id, generation, purpose).
    pub fn pooled(&self) -> &crate::pool::PooledConnection<Connection> {
        &self.conn
    }
}

impl Deref for PooledConnection {
    type Target = Connection;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl DerefMut for PooledConnection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}
