//! How to open a connection: transport, handshake and login settings.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bson::RawDocumentBuf;
use mongopool_wire::scram::KeyCache;
use mongopool_wire::Compressor;

use crate::auth_policy::AuthPolicy;
use crate::client_metadata::ClientMetadata;
use crate::connect::ConnectOptions;
use crate::connection_string::ConnectionString;
use crate::credential::Credential;
use crate::error::{Error, Result};
use crate::tls::{TlsConfig, TlsOptions};

/// Everything needed to open and log in a connection. Built once (for a pool: once
/// for all its connections) with [`ConnectionOptions::builder`]; cheap to clone.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ConnectionOptions {
    pub(crate) connect: ConnectOptions,
    pub(crate) metadata: Arc<RawDocumentBuf>,
    pub(crate) app_name: Option<String>,
    pub(crate) compressors: Vec<Compressor>,
    pub(crate) credential: Option<Credential>,
    pub(crate) load_balanced: bool,
    pub(crate) auth_policy: AuthPolicy,
    pub(crate) max_message_size_ceiling: usize,
}

impl Default for ConnectionOptions {
    fn default() -> Self {
        ConnectionOptionsBuilder::default()
            .build()
            .expect("the default connection options are valid")
    }
}

impl ConnectionOptions {
    /// A builder with the defaults.
    pub fn builder() -> ConnectionOptionsBuilder {
        ConnectionOptionsBuilder::default()
    }

    /// The connection settings a connection string asks for: timeouts, TLS
    /// (`tls`, `tlsCAFile`, `tlsCertificateKeyFile`, `tlsCertificateKeyFilePassword`,
    /// `tlsAllowInvalid*`, `tlsInsecure`), `compressors` with `zlibCompressionLevel`, `appName`,
    /// `loadBalanced`, and the credential. Pool settings are read by
    /// `PoolOptions::from_connection_string`.
    pub fn from_connection_string(cs: &ConnectionString) -> Result<ConnectionOptions> {
        cs.check_supported()?;
        let o = cs.options();
        let tls = cs.tls_enabled().then(|| {
            let insecure = o.tls_insecure.unwrap_or(false);
            TlsOptions {
                ca_file: o.tls_ca_file.clone(),
                cert_key_file: o.tls_certificate_key_file.clone(),
                cert_key_file_password: o.tls_certificate_key_file_password.clone(),
                allow_invalid_certificates: insecure
                    || o.tls_allow_invalid_certificates.unwrap_or(false),
                allow_invalid_hostnames: insecure || o.tls_allow_invalid_hostnames.unwrap_or(false),
            }
        });
        // The URI keeps zlibCompressionLevel apart from the list; here they meet.
        let compressors = o
            .compressors
            .iter()
            .flatten()
            .map(|c| match (c, o.zlib_compression_level) {
                (Compressor::Zlib { .. }, Some(level)) => {
                    Compressor::zlib(level).map_err(|e| Error::configuration(e.to_string()))
                }
                _ => Ok(*c),
            })
            .collect::<Result<Vec<_>>>()?;
        let mut builder = ConnectionOptions::builder()
            .socket_timeout(o.socket_timeout)
            .tls(tls)
            .app_name(o.app_name.clone())
            .compressors(compressors)
            .credential(cs.credential().cloned())
            .load_balanced(o.load_balanced.unwrap_or(false));
        if let Some(t) = o.connect_timeout {
            builder = builder.connect_timeout(Some(t));
        }
        builder.build()
    }

    /// The transport settings.
    pub fn connect_options(&self) -> &ConnectOptions {
        &self.connect
    }

    /// The compressors offered to the server, in order of preference.
    pub fn compressors(&self) -> &[Compressor] {
        &self.compressors
    }

    /// The credential connections log in with, if any.
    pub fn credential(&self) -> Option<&Credential> {
        self.credential.as_ref()
    }

    /// The application name sent in the handshake, if any.
    pub fn app_name(&self) -> Option<&str> {
        self.app_name.as_deref()
    }

    /// Whether the handshake says the client is in load-balanced mode.
    pub fn load_balanced(&self) -> bool {
        self.load_balanced
    }
}

/// Builds [`ConnectionOptions`]; `build()` checks everything and reads TLS files
/// once.
#[derive(Clone, Debug, Default)]
pub struct ConnectionOptionsBuilder {
    connect_timeout: Option<Option<Duration>>,
    socket_timeout: Option<Duration>,
    tls: Option<TlsOptions>,
    app_name: Option<String>,
    compressors: Vec<Compressor>,
    credential: Option<Credential>,
    load_balanced: bool,
    no_key_cache: bool,
    max_scram_iterations: Option<u32>,
    allow_plain_without_tls: bool,
    max_message_size_ceiling: Option<usize>,
}

impl ConnectionOptionsBuilder {
    /// How long connecting (TCP, TLS) may take. Defaults to 10 seconds; `None`
    /// means no limit.
    pub fn connect_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How long one read or write may take. Defaults to no limit.
    pub fn socket_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.socket_timeout = timeout;
        self
    }

    /// TLS settings; `None` (the default) means plain TCP.
    pub fn tls(mut self, tls: Option<TlsOptions>) -> Self {
        self.tls = tls;
        self
    }

    /// The application name sent in the handshake (at most 128 bytes). Defaults
    /// to none.
    pub fn app_name(mut self, name: Option<String>) -> Self {
        self.app_name = name;
        self
    }

    /// Compressors to offer, in order of preference. Defaults to none.
    pub fn compressors(mut self, compressors: Vec<Compressor>) -> Self {
        self.compressors = compressors;
        self
    }

    /// The credential to log in with. Defaults to none.
    pub fn credential(mut self, credential: Option<Credential>) -> Self {
        self.credential = credential;
        self
    }

    /// Load-balanced mode (the handshake says so and uses `hello`). Defaults to
    /// false.
    pub fn load_balanced(mut self, on: bool) -> Self {
        self.load_balanced = on;
        self
    }

    /// Whether SCRAM logins share the process-wide cache of derived keys, so that
    /// a pool opening many connections runs PBKDF2 once. Defaults to true; turning
    /// it off is for measuring what the cache saves.
    pub fn scram_key_cache(mut self, enabled: bool) -> Self {
        self.no_key_cache = !enabled;
        self
    }

    /// The largest PBKDF2 iteration count a server may ask for in a SCRAM login; a
    /// server asking for more is refused before any key derivation. Defaults to
    /// [`mongopool_wire::scram::DEFAULT_MAX_ITERATION_COUNT`] (1,000,000; MongoDB
    /// uses 10,000 for SCRAM-SHA-1 and 15,000 for SCRAM-SHA-256).
    pub fn max_scram_iterations(mut self, max: u32) -> Self {
        self.max_scram_iterations = Some(max);
        self
    }

    /// Lets PLAIN (LDAP) logins send the password over a connection without TLS.
    /// Defaults to false: such a login fails with an authentication error instead.
    pub fn allow_plain_without_tls(mut self, allow: bool) -> Self {
        self.allow_plain_without_tls = allow;
        self
    }

    /// The most the client believes of the server's `maxMessageSizeBytes` (and
    /// `maxBsonObjectSize`): larger announced limits are clamped to this before they
    /// bound frames, `uncompressedSize` and decompression buffers. Defaults to
    /// [`mongopool_wire::DEFAULT_MAX_MESSAGE_SIZE_CEILING`] (48,000,000, what every
    /// MongoDB server announces).
    ///
    /// What one reply can cost, whatever the server sends: the frame (at most the
    /// ceiling; its buffer grows as bytes arrive, so up to twice what arrived while it
    /// grows), a decompressed body (at most the ceiling) for OP_COMPRESSED, and the
    /// decoded documents, held in one buffer as large as their wire bytes
    /// ([`mongopool_wire::Documents`]). Measured worst case, a reply of 4 million empty
    /// documents: 2.7 to 3.5 times the wire size at peak, the mock server's copy of the
    /// reply included (`tests/hostile_server.rs`).
    pub fn max_message_size_ceiling(mut self, ceiling: usize) -> Self {
        self.max_message_size_ceiling = Some(ceiling);
        self
    }

    /// Checks the options: the app name's length, the credential (unsupported
    /// mechanisms fail here, not at first use), and the TLS files, which are read
    /// now and once.
    pub fn build(self) -> Result<ConnectionOptions> {
        let metadata = ClientMetadata::new(self.app_name.as_deref())?.to_document();
        if let Some(c) = &self.credential {
            c.validate()?;
            c.check_supported()?;
        }
        let tls = self.tls.as_ref().map(TlsConfig::new).transpose()?;
        let mut connect = ConnectOptions::default();
        if let Some(t) = self.connect_timeout {
            connect.connect_timeout = t;
        }
        connect.socket_timeout = self.socket_timeout;
        connect.tls = tls;
        Ok(ConnectionOptions {
            connect,
            metadata: Arc::new(metadata),
            app_name: self.app_name,
            compressors: self.compressors,
            credential: self.credential,
            load_balanced: self.load_balanced,
            auth_policy: AuthPolicy {
                key_cache: if self.no_key_cache {
                    static DISABLED: OnceLock<KeyCache> = OnceLock::new();
                    DISABLED.get_or_init(KeyCache::disabled)
                } else {
                    KeyCache::global()
                },
                max_scram_iterations: self
                    .max_scram_iterations
                    .unwrap_or(mongopool_wire::scram::DEFAULT_MAX_ITERATION_COUNT),
                allow_plain_without_tls: self.allow_plain_without_tls,
            },
            max_message_size_ceiling: self
                .max_message_size_ceiling
                .unwrap_or(mongopool_wire::DEFAULT_MAX_MESSAGE_SIZE_CEILING),
        })
    }
}
