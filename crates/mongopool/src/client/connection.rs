//! A connection checked out through the [`Client`](super::Client): the pool's guard,
//! plus the server it was selected on and the way back to the topology for errors.

use std::ops::{Deref, DerefMut};

use bson::{RawDocument, RawDocumentBuf};

use crate::connection::{CommandOptions, Connection};
use crate::error::{Error, Result};
use crate::pool::PooledConnection;
use crate::read_preference::ReadPreference;
use crate::topology::{ErrorPhase, SelectedServer, ServerType, TopologyType};

/// A connection to a selected server, checked in when dropped. Until then it counts
/// as an operation in progress on that server, for server selection (the pool keeps
/// that count: see [`Pool::operation_count`](crate::pool::Pool::operation_count)).
/// Derefs to the pool's
/// [`PooledConnection`] (and through it to the [`Connection`]).
///
/// [`ClientConnection::run_command`] runs a command with the read preference filled
/// in for this server and reports errors to the topology. Code that runs commands on
/// the [`Connection`] directly should pass errors to
/// [`ClientConnection::report_error`].
///
/// It does not keep the [`Client`](super::Client) alive: once every clone of the client
/// is dropped (or it is closed), the connection still runs commands, errors are no
/// longer reported, and the check-in closes it.
#[must_use = "dropping the connection checks it back in at once"]
pub struct ClientConnection {
    conn: PooledConnection<Connection>,
    options: ChosenOptions,
    server: SelectedServer,
}

/// The options a checkout chose. Every write and every primary read uses one of two
/// statics, so the common checkout moves a reference, not a whole [`CommandOptions`]
/// (the connection is moved a few times on its way to the caller).
enum ChosenOptions {
    Static(&'static CommandOptions),
    Owned(Box<CommandOptions>),
}

impl ChosenOptions {
    fn get(&self) -> &CommandOptions {
        match self {
            ChosenOptions::Static(options) => options,
            ChosenOptions::Owned(options) => options,
        }
    }
}

static DEFAULT_OPTIONS: CommandOptions = CommandOptions::DEFAULT;

static SECONDARY_OK_OPTIONS: CommandOptions = {
    let mut options = CommandOptions::DEFAULT;
    options.secondary_ok = true;
    options
};

impl std::fmt::Debug for ClientConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConnection")
            .field("server", self.server())
            .field("connection", &*self.conn)
            .finish()
    }
}

impl ClientConnection {
    #[inline]
    pub(crate) fn new(
        conn: PooledConnection<Connection>,
        read_preference: Option<&ReadPreference>,
        server: SelectedServer,
    ) -> ClientConnection {
        let options = command_options(&server, read_preference);
        ClientConnection {
            conn,
            options,
            server,
        }
    }

    /// The server it was selected on (its description at selection time).
    pub fn server(&self) -> &SelectedServer {
        &self.server
    }

    /// The options [`ClientConnection::run_command`] uses: for a read, secondaryOk on
    /// a direct connection (Single topology) to a non-mongos, the read preference as
    /// `$readPreference` for a mongos or a replica set member; for a write, the
    /// defaults.
    pub fn command_options(&self) -> &CommandOptions {
        self.options.get()
    }

    /// Runs a command with [`ClientConnection::command_options`]; an error is
    /// reported to the topology before it is returned.
    pub async fn run_command(&mut self, db: &str, command: &RawDocument) -> Result<RawDocumentBuf> {
        let result = self.conn.command(db, command, self.options.get()).await;
        if let Err(e) = &result {
            self.report_error(e);
        }
        result
    }

    /// Tells the topology about an error this connection ran into (SDAM error
    /// handling, with the connection's generation and wire version).
    pub fn report_error(&self, error: &Error) {
        // Nothing to tell once the client is gone.
        let Some(topology) = self.server().topology() else {
            return;
        };
        let hello = self.conn.hello();
        topology.handle_application_error(
            error,
            self.conn.address(),
            self.conn.generation(),
            hello.max_wire_version,
            ErrorPhase::AfterHandshake,
            hello.service_id,
        );
    }
}

impl Deref for ClientConnection {
    type Target = PooledConnection<Connection>;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl DerefMut for ClientConnection {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

/// The server-selection spec's rules for passing a read preference on: a mongos (and
/// a load balancer) gets `$readPreference`; a direct connection to anything else gets
/// secondaryOk so that a secondary answers; a replica set member gets the mode (which
/// the connection sends as `$readPreference` unless it is primary).
fn command_options(
    server: &SelectedServer,
    read_preference: Option<&ReadPreference>,
) -> ChosenOptions {
    let Some(rp) = read_preference else {
        return ChosenOptions::Static(&DEFAULT_OPTIONS);
    };
    let passed_on = || match rp.is_primary_only() {
        true => ChosenOptions::Static(&DEFAULT_OPTIONS),
        false => ChosenOptions::Owned(Box::new(CommandOptions {
            read_preference: rp.clone(),
            ..CommandOptions::DEFAULT
        })),
    };
    // The server's type is looked up only for a direct connection.
    if server.topology_type() != TopologyType::Single {
        return passed_on();
    }
    match server.description().server_type {
        ServerType::Mongos | ServerType::LoadBalancer => passed_on(),
        _ => ChosenOptions::Static(&SECONDARY_OK_OPTIONS),
    }
}
