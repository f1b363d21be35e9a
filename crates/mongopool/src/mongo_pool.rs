//! The pool of real MongoDB connections: the generic CMAP [`Pool`] with a connector
//! that connects, runs the handshake and logs in, plus PyMongo's `get_socket`.

use std::collections::BTreeMap;

use crate::address::ServerAddress;
use crate::connection::{Connection, ConnectionOptions};
use crate::connection_string::ConnectionString;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::pool::{ConnectContext, Connector, Pool, PoolOptions, Poolable, PooledConnection};

/// Connections idle for less than this are not probed at checkout: a peer that
/// closed a connection used a moment ago is rare, and the probe is a system call
/// (PyMongo's rule, too).
const PROBE_AFTER_IDLE: std::time::Duration = std::time::Duration::from_secs(1);

/// A [`Connector`] that opens MongoDB connections with the given options.
#[derive(Debug, Clone)]
pub struct MongoConnector {
    options: ConnectionOptions,
}

impl MongoConnector {
    /// A connector that opens connections with `options`.
    pub fn new(options: ConnectionOptions) -> Self {
        MongoConnector { options }
    }

    /// The options connections are opened with.
    pub fn options(&self) -> &ConnectionOptions {
        &self.options
    }
}

impl Connector for MongoConnector {
    type Connection = Connection;

    async fn connect(&self, ctx: ConnectContext) -> Result<Connection> {
        let establish =
            Connection::connect_pooled(&ctx.address, &self.options, ctx.id, ctx.generation);
        let mut conn = tokio::select! {
            biased;
            result = establish => result?,
            _ = ctx.interrupt.interrupted() => {
                return Err(Error::connection(format!(
                    "establishing connection {} to {} was interrupted: the pool was cleared",
                    ctx.id, ctx.address
                )))
            }
        };
        conn.set_interrupt_signal(ctx.interrupt);
        Ok(conn)
    }
}

impl Poolable for Connection {
    fn is_usable(&self) -> bool {
        Connection::is_usable(self)
    }

    fn is_peer_closed(&mut self) -> bool {
        self.last_used().elapsed() >= PROBE_AFTER_IDLE && Connection::is_peer_closed(self)
    }

    fn service_id(&self) -> Option<bson::oid::ObjectId> {
        self.hello().service_id
    }
}

/// A pool of MongoDB connections to one server.
pub type MongoPool = Pool<MongoConnector>;

impl Pool<MongoConnector> {
    /// A pool of connections to `address`, opened with `connection_options`. Like
    /// every pool it starts paused: call [`Pool::ready`] (a server monitor does, once
    /// the server is known to be up). Connections opened in load-balanced mode make a
    /// load-balanced pool ([`PoolOptions::load_balanced`]), whatever `pool_options` say.
    pub fn with_options(
        address: ServerAddress,
        mut pool_options: PoolOptions,
        connection_options: ConnectionOptions,
    ) -> Self {
        pool_options.load_balanced |= connection_options.load_balanced();
        Pool::new(
            address,
            pool_options,
            MongoConnector::new(connection_options),
        )
    }

    /// A pool for the one host of a connection string, with its pool and
    /// connection options. The connection string must be resolved already
    /// (`mongodb+srv://` needs [`ConnectionString::resolve`]).
    ///
    /// A connection string with several hosts or a `replicaSet` describes a
    /// deployment, not one server: that is a configuration error naming
    /// [`Client::connect`](crate::Client::connect), which monitors every server and
    /// selects one per operation (a pool never silently picks the first host).
    pub fn from_connection_string(cs: &ConnectionString) -> Result<Self> {
        let address = match cs.hosts() {
            [] => return Err(Error::configuration("the connection string names no host")),
            [one] if cs.options().replica_set.is_none() => one.clone(),
            hosts => {
                return Err(Error::configuration(format!(
                    "this connection string describes a deployment ({} host{}{}), and a \
                     MongoPool talks to one server: use mongopool::Client::connect (or \
                     Topology::from_connection_string), which discovers and monitors the \
                     servers and selects one per operation",
                    hosts.len(),
                    if hosts.len() == 1 { "" } else { "s" },
                    match &cs.options().replica_set {
                        Some(set) => format!(", replicaSet={set}"),
                        None => String::new(),
                    }
                )))
            }
        };
        let pool_options = PoolOptions::from_connection_string(cs)?;
        let connection_options = ConnectionOptions::from_connection_string(cs)?;
        Ok(Pool::with_options(
            address,
            pool_options,
            connection_options,
        ))
    }

    /// PyMongo's `get_socket`: a checkout, then [`Connection::check_auth`] so the
    /// connection is logged in with exactly `all_credentials` (source → credential).
    /// If that fails the connection goes back to the pool, closed when the failure
    /// broke it.
    pub async fn get_socket(
        &self,
        all_credentials: &BTreeMap<String, Credential>,
    ) -> Result<PooledConnection<Connection>> {
        let mut conn = self.checkout().await?;
        conn.check_auth(all_credentials).await?;
        Ok(conn)
    }
}

impl PoolOptions {
    /// The pool options a connection string asks for (`maxPoolSize`, `minPoolSize`,
    /// `maxIdleTimeMS`, `maxConnecting`, `waitQueueTimeoutMS`, `waitQueueMultiple`,
    /// `loadBalanced`); the rest keep their
    /// defaults. Checked as [`PoolOptions::builder`]'s `build` checks.
    pub fn from_connection_string(cs: &ConnectionString) -> Result<PoolOptions> {
        let o = cs.options();
        let mut b = PoolOptions::builder();
        if let Some(n) = o.max_pool_size {
            b = b.max_pool_size(n);
        }
        if let Some(n) = o.min_pool_size {
            b = b.min_pool_size(n);
        }
        if let Some(d) = o.max_idle_time {
            b = b.max_idle_time(d);
        }
        if let Some(n) = o.max_connecting {
            b = b.max_connecting(n);
        }
        if let Some(d) = o.wait_queue_timeout {
            b = b.wait_queue_timeout(d);
        }
        if let Some(m) = o.wait_queue_multiple {
            // After maxPoolSize: the bound is a multiple of it.
            b = b.wait_queue_multiple(m);
        }
        b = b.load_balanced(o.load_balanced == Some(true));
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn pool_options_from_a_uri() {
        let cs = ConnectionString::parse(
            "mongodb://h/?maxPoolSize=7&minPoolSize=2&maxIdleTimeMS=500&maxConnecting=3&waitQueueTimeoutMS=250",
        )
        .unwrap();
        let o = PoolOptions::from_connection_string(&cs).unwrap();
        assert_eq!(o.max_pool_size, 7);
        assert_eq!(o.min_pool_size, 2);
        assert_eq!(o.max_idle_time, Some(Duration::from_millis(500)));
        assert_eq!(o.max_connecting, 3);
        assert_eq!(o.wait_queue_timeout, Some(Duration::from_millis(250)));
        assert_eq!(o.max_waiters, None);
        let cs = ConnectionString::parse("mongodb://h/?maxPoolSize=4&waitQueueMultiple=2").unwrap();
        assert!(cs.warnings().is_empty(), "{:?}", cs.warnings());
        let o = PoolOptions::from_connection_string(&cs).unwrap();
        assert_eq!(o.max_waiters, Some(8));
        // The spec's default maxPoolSize (100) when only the multiple is given.
        let cs = ConnectionString::parse("mongodb://h/?waitQueueMultiple=3").unwrap();
        assert_eq!(
            PoolOptions::from_connection_string(&cs)
                .unwrap()
                .max_waiters,
            Some(300)
        );
        // The parser already refuses minPoolSize > maxPoolSize.
        assert!(ConnectionString::parse("mongodb://h/?maxPoolSize=2&minPoolSize=3").is_err());
        // An invalid value is a warning and the default stays.
        let cs = ConnectionString::parse("mongodb://h/?maxConnecting=0").unwrap();
        assert!(!cs.warnings().is_empty());
        assert_eq!(
            PoolOptions::from_connection_string(&cs)
                .unwrap()
                .max_connecting,
            2
        );
    }

    #[test]
    fn load_balanced_from_a_uri() {
        let lb = ConnectionString::parse("mongodb://h/?loadBalanced=true").unwrap();
        assert!(
            PoolOptions::from_connection_string(&lb)
                .unwrap()
                .load_balanced
        );
        let plain = ConnectionString::parse("mongodb://h/").unwrap();
        assert!(
            !PoolOptions::from_connection_string(&plain)
                .unwrap()
                .load_balanced
        );
        // The connection options alone make the pool load-balanced.
        let pool = Pool::with_options(
            ServerAddress::tcp("h", 27017),
            PoolOptions::default(),
            ConnectionOptions::from_connection_string(&lb).unwrap(),
        );
        assert!(pool.options().load_balanced);
    }

    #[test]
    fn a_deployment_is_refused_with_the_client_named() {
        for uri in [
            "mongodb://a,b/",
            "mongodb://a/?replicaSet=rs",
            "mongodb://a:1,a:2/?directConnection=false",
        ] {
            let cs = ConnectionString::parse(uri).unwrap();
            let err = Pool::from_connection_string(&cs).unwrap_err();
            assert!(err.is_configuration(), "{uri}: {err}");
            assert!(err.to_string().contains("Client::connect"), "{uri}: {err}");
        }
        let one = ConnectionString::parse("mongodb://a:1/").unwrap();
        assert_eq!(
            Pool::from_connection_string(&one).unwrap().address(),
            &ServerAddress::tcp("a", 1)
        );
    }

    #[test]
    fn unsupported_mechanisms_fail_when_options_are_built() {
        let cs = ConnectionString::parse("mongodb://u@h/?authMechanism=GSSAPI").unwrap();
        let err = Pool::from_connection_string(&cs).unwrap_err();
        assert!(err.is_configuration(), "{err}");
    }
}
