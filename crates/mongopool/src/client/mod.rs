//! The front door: a [`Client`] made from a URI, for everything an application does.
//!
//! It discovers and monitors the deployment (a [`Topology`]), selects a server for
//! each operation by read preference, checks a connection out of that server's pool
//! and runs the command with the read preference filled in for that server. Pools are
//! readied by the monitors: no `ready()` call is needed.
//!
//! ```no_run
//! use mongopool::{Client, ReadPreference};
//!
//! # async fn demo() -> mongopool::Result<()> {
//! let client = Client::connect("mongodb://localhost:27017/?replicaSet=rs0").await?;
//! let reply = client
//!     .command("admin", &bson::rawdoc! { "ping": 1 }, &ReadPreference::primary())
//!     .await?;
//! assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
//! client.close().await;
//! # Ok(()) }
//! ```

mod connection;
mod retry_budget;
mod retry_loop;
mod retry_options;
mod retry_policy;
mod thread_jitter;

use std::sync::Arc;

use bson::{RawDocument, RawDocumentBuf};

pub use connection::ClientConnection;
pub use retry_budget::RetryBudget;
pub use retry_options::{OverloadRetryEvent, OverloadRetryOptions, RetryEventHandler};
use retry_policy::{OperationKind, RetryState};

use crate::connection_string::ConnectionString;
use crate::error::{Error, Result};
use crate::read_preference::ReadPreference;
use crate::topology::ErrorPhase;
use crate::topology::{SelectedServer, SelectionCriteria, Topology, TopologyOptions, TopologyType};

/// A MongoDB deployment, ready for operations. Cheap to clone: clones share the
/// topology. Its monitors and pools stop with [`Client::close`] or when the last
/// clone is dropped.
#[derive(Clone, Debug)]
pub struct Client {
    topology: Topology,
    read_preference: ReadPreference,
    retry: Arc<RetrySettings>,
}

/// The overload retry options with the budget they ask for, shared by clones.
#[derive(Debug)]
struct RetrySettings {
    options: OverloadRetryOptions,
    budget: Option<RetryBudget>,
}

impl RetrySettings {
    fn new(options: OverloadRetryOptions) -> Arc<Self> {
        let budget = options.retry_budget.map(RetryBudget::new);
        Arc::new(RetrySettings { options, budget })
    }
}

impl Client {
    /// Parses `uri`, resolves `mongodb+srv://` through DNS, and starts monitoring the
    /// deployment. Returns at once: servers are discovered in the background, and
    /// operations wait for a suitable one (up to `serverSelectionTimeoutMS`).
    pub async fn connect(uri: &str) -> Result<Client> {
        Client::with_options(ConnectionString::parse(uri)?, TopologyOptions::default()).await
    }

    /// [`Client::connect`] with a parsed connection string.
    pub async fn with_connection_string(cs: ConnectionString) -> Result<Client> {
        Client::with_options(cs, TopologyOptions::default()).await
    }

    /// [`Client::connect`] with a parsed connection string and topology options (an
    /// SDAM event handler; where SRV records are looked up, which then serves the
    /// first lookup too).
    pub async fn with_options(cs: ConnectionString, options: TopologyOptions) -> Result<Client> {
        let cs = resolve(cs, &options).await?;
        let read_preference = cs.options().read_preference.clone().unwrap_or_default();
        let retry = RetrySettings::new(OverloadRetryOptions::from_connection_string(&cs));
        let topology = Topology::from_connection_string(&cs, options)?;
        Ok(Client {
            topology,
            read_preference,
            retry,
        })
    }

    /// This client with other overload retry options (they start as the URI's:
    /// [`OverloadRetryOptions::from_connection_string`]). Clones made before keep
    /// the old ones; a new retry budget starts full.
    pub fn with_overload_retry(mut self, options: OverloadRetryOptions) -> Client {
        self.retry = RetrySettings::new(options);
        self
    }

    /// How the client retries commands a server sheds under load.
    pub fn overload_retry(&self) -> &OverloadRetryOptions {
        &self.retry.options
    }

    /// The retry budget, when [`OverloadRetryOptions::retry_budget`] asked for one.
    pub fn retry_budget(&self) -> Option<&RetryBudget> {
        self.retry.budget.as_ref()
    }

    /// The topology behind the client: its description, stats and events.
    pub fn topology(&self) -> &Topology {
        &self.topology
    }

    /// The read preference of the URI (`readPreference`, `readPreferenceTags`,
    /// `maxStalenessSeconds`); primary if it named none.
    pub fn read_preference(&self) -> &ReadPreference {
        &self.read_preference
    }

    /// Selects a server for a read with `read_preference` and checks a connection
    /// out of its pool. Commands run through [`ClientConnection::run_command`] get
    /// the read preference in the form that server needs.
    pub async fn checkout(&self, read_preference: &ReadPreference) -> Result<ClientConnection> {
        // The primary is found without cloning the read preference into criteria.
        let server = match read_preference.is_primary_only() {
            true => self.topology.primary_now()?,
            false => None,
        };
        let server = match server {
            Some(server) => server,
            None => {
                let criteria = SelectionCriteria::Read(read_preference.clone());
                self.topology.select_server(&criteria).await?
            }
        };
        self.checkout_from(server, Some(read_preference)).await
    }

    /// Selects a server that takes writes (the primary, a mongos, a standalone) and
    /// checks a connection out of its pool.
    pub async fn checkout_for_write(&self) -> Result<ClientConnection> {
        let server = self
            .topology
            .select_server(&SelectionCriteria::Write)
            .await?;
        self.checkout_from(server, None).await
    }

    /// Runs one command on a server chosen by `read_preference`: selects, checks out,
    /// runs, checks in. Errors are reported to the topology (a "not primary" error
    /// makes the server Unknown and asks for a check, as SDAM says).
    ///
    /// Every command is retried when a server sheds it under load (an error with the
    /// `SystemOverloadedError` and `RetryableError` labels, from the command or from
    /// opening a connection), as the client backpressure spec says: up to
    /// [`OverloadRetryOptions::max_adaptive_retries`] times (2 by default), each
    /// after a random backoff (up to 200 ms, then 400 ms, ...), and only when both
    /// `retryReads` and `retryWrites` are on, since the client cannot tell a read
    /// from a write. With `enableOverloadRetargeting` (and always in a sharded
    /// cluster) a retry goes to another suitable server when there is one. Each
    /// retry is logged (`tracing` target `mongopool::retry`) and reported as an
    /// [`OverloadRetryEvent`]. If your application retries overload errors too, it
    /// may now retry for longer than you expect: consider leaving that to the client.
    pub async fn command(
        &self,
        db: &str,
        command: &RawDocument,
        read_preference: &ReadPreference,
    ) -> Result<RawDocumentBuf> {
        let criteria = SelectionCriteria::Read(read_preference.clone());
        let settings = &*self.retry;
        let state = RetryState::new(
            &settings.options,
            settings.budget.as_ref(),
            OperationKind::RunCommand,
        );
        let timeout = self.topology.settings().server_selection_timeout;
        let criteria = &criteria;
        retry_loop::run_with_retries(
            state,
            settings.options.event_handler.as_deref(),
            &mut thread_jitter::ThreadJitter,
            || self.topology.description().topology_type() == TopologyType::Sharded,
            |deprioritized| async move {
                let server = match self
                    .topology
                    .select_server_with(criteria, &deprioritized, timeout)
                    .await
                {
                    Ok(server) => server,
                    Err(e) => return (None, Err(e)),
                };
                let address = server.address().clone();
                let result = match self.checkout_from(server, Some(read_preference)).await {
                    Ok(mut conn) => conn.run_command(db, command).await,
                    Err(e) => Err(e),
                };
                (Some(address), result)
            },
        )
        .await
    }

    /// [`Client::command`] with the URI's read preference.
    pub async fn run_command(&self, db: &str, command: &RawDocument) -> Result<RawDocumentBuf> {
        self.command(db, command, &self.read_preference).await
    }

    /// Closes the client: stops monitoring and closes every pool; waits until the
    /// monitors have closed their connections. Operations fail afterwards.
    pub async fn close(&self) {
        self.topology.close().await;
    }

    async fn checkout_from(
        &self,
        server: SelectedServer,
        read_preference: Option<&ReadPreference>,
    ) -> Result<ClientConnection> {
        // Read before the checkout: a connection it establishes is of this generation,
        // and the pool may be cleared and readied again before its error comes back.
        let generation = server.pool().generation();
        match server.pool().checkout().await {
            Ok(conn) => Ok(ClientConnection::new(conn, read_preference, server)),
            Err(e) => {
                report_checkout_error(&self.topology, &server, generation, &e);
                Err(e)
            }
        }
    }
}

/// Errors of establishing a connection are SDAM errors "before the handshake" (or
/// while logging in); the pool's own refusals (cleared, closed, wait queue timeout)
/// are not.
fn report_checkout_error(
    topology: &Topology,
    server: &SelectedServer,
    generation: u32,
    error: &Error,
) {
    let phase = if error.is_authentication() {
        ErrorPhase::Authentication
    } else if error.is_network() {
        ErrorPhase::BeforeHandshake
    } else {
        return;
    };
    let max_wire_version = server.description().max_wire_version.unwrap_or(0);
    topology.handle_application_error(
        error,
        server.address(),
        generation,
        max_wire_version,
        phase,
        None,
    );
}

/// Resolves a `mongodb+srv://` string, through the options' SRV source if given.
async fn resolve(cs: ConnectionString, options: &TopologyOptions) -> Result<ConnectionString> {
    if !cs.needs_resolution() {
        return Ok(cs);
    }
    match (&options.srv_source, cs.srv_host().map(str::to_owned)) {
        (Some(source), Some(host)) => {
            let service = cs
                .options()
                .srv_service_name
                .clone()
                .unwrap_or_else(|| crate::connection_string::DEFAULT_SRV_SERVICE_NAME.into());
            let lookup = source.lookup(&host, &service).await?;
            cs.apply_srv_lookup(lookup)
        }
        #[cfg(feature = "dns-srv")]
        _ => cs.resolve().await,
        #[cfg(not(feature = "dns-srv"))]
        _ => Err(Error::configuration(
            "mongodb+srv:// needs the dns-srv feature, or TopologyOptions::srv_source",
        )),
    }
}
