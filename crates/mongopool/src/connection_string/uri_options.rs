//! The typed options of a connection string.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use mongopool_wire::Compressor;

use super::acknowledgment::Acknowledgment;
use super::monitoring_mode::ServerMonitoringMode;
use super::socks5_proxy::Socks5Proxy;
use crate::credential::Redacted;
use crate::read_preference::ReadPreference;

/// Every option of the URI options spec, typed. `None` means "not given": the
/// defaults named here belong to whoever consumes the option (the pool options, a
/// driver built on mongopool).
///
/// Options whose spec says "0 means no limit" keep the 0 (as `Some(Duration::ZERO)` or
/// `Some(0)`), so "not given" and "explicitly unlimited" stay apart.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct UriOptions {
    /// `appName`: sent in the handshake's client metadata; at most 128 bytes.
    pub app_name: Option<String>,
    /// `authSource`: the database that authenticates the user. It is also the
    /// credential's source when there is a credential; alone it does not ask for
    /// authentication.
    pub auth_source: Option<String>,
    /// `compressors`: the compressors to offer, in order of preference, each at its
    /// default level (`zlibCompressionLevel` is kept apart). Unknown names are dropped
    /// with a warning; `None` when none was known.
    pub compressors: Option<Vec<Compressor>>,
    /// `zlibCompressionLevel`: -1 (zlib's default) to 9.
    pub zlib_compression_level: Option<i32>,
    /// `connectTimeoutMS`: how long opening a TCP connection (and its TLS handshake)
    /// may take. Zero means no timeout. The spec's default is 10 s.
    pub connect_timeout: Option<Duration>,
    /// `socketTimeoutMS`: how long a read or write on a connection may take. Zero means
    /// no timeout (the default). Deprecated in favour of `timeoutMS`.
    pub socket_timeout: Option<Duration>,
    /// `timeoutMS`: the client-side operation timeout (CSOT). Zero means no timeout.
    pub timeout: Option<Duration>,
    /// `serverSelectionTimeoutMS`: how long server selection may block; at least 1 ms.
    pub server_selection_timeout: Option<Duration>,
    /// `serverSelectionTryOnce`: for single-threaded drivers, scan once then fail.
    pub server_selection_try_once: Option<bool>,
    /// `heartbeatFrequencyMS`: interval between server checks; at least 500 ms.
    pub heartbeat_frequency: Option<Duration>,
    /// `localThresholdMS`: the latency window of server selection.
    pub local_threshold: Option<Duration>,
    /// `serverMonitoringMode`: stream, poll or auto.
    pub server_monitoring_mode: Option<ServerMonitoringMode>,
    /// `maxPoolSize`: connections per pool, in use or idle. Zero means no limit. The
    /// spec's default is 100.
    pub max_pool_size: Option<u32>,
    /// `minPoolSize`: connections the pool keeps open. Defaults to 0; never more than a
    /// non-zero `maxPoolSize`.
    pub min_pool_size: Option<u32>,
    /// `maxIdleTimeMS`: how long a connection may stay idle before it is closed. Zero
    /// means no limit (the default).
    pub max_idle_time: Option<Duration>,
    /// `maxConnecting`: connections a pool may be establishing at once; at least 1.
    /// The spec's default is 2.
    pub max_connecting: Option<u32>,
    /// `waitQueueTimeoutMS`: how long a checkout may wait for a connection. Zero means
    /// no limit (the default). Deprecated in favour of `timeoutMS`.
    pub wait_queue_timeout: Option<Duration>,
    /// `waitQueueMultiple` (PyMongo 3's option): at most `maxPoolSize ×
    /// waitQueueMultiple` checkouts may wait for a connection; the next fails at once.
    /// No bound by default.
    pub wait_queue_multiple: Option<u32>,
    /// `directConnection`: talk to the one given host only (Single topology).
    pub direct_connection: Option<bool>,
    /// `loadBalanced`: the host is a load balancer in front of mongos routers.
    pub load_balanced: Option<bool>,
    /// `replicaSet`: the name of the replica set to connect to.
    pub replica_set: Option<String>,
    /// `readPreference`, `readPreferenceTags` and `maxStalenessSeconds` together;
    /// `Some` when any of them is given. `maxStalenessSeconds=-1` means no bound.
    pub read_preference: Option<ReadPreference>,
    /// `readConcernLevel`: the default read concern level.
    pub read_concern_level: Option<String>,
    /// `w`: the default write concern's acknowledgment.
    pub w: Option<Acknowledgment>,
    /// `wTimeoutMS`: the default write concern's timeout. Zero means no timeout.
    pub w_timeout: Option<Duration>,
    /// `journal`: the default write concern's `j`.
    pub journal: Option<bool>,
    /// `retryReads`: retry reads once after a retryable error.
    pub retry_reads: Option<bool>,
    /// `retryWrites`: retry writes once after a retryable error.
    pub retry_writes: Option<bool>,
    /// `maxAdaptiveRetries`: retries after overload errors (client backpressure spec).
    pub max_adaptive_retries: Option<u32>,
    /// `enableOverloadRetargeting`: retry overloaded operations on another server.
    pub enable_overload_retargeting: Option<bool>,
    /// `tls` (or its alias `ssl`) as given. See
    /// [`crate::ConnectionString::tls_enabled`] for when TLS is on without it.
    pub tls: Option<bool>,
    /// `tlsCAFile`: PEM file of the certificate authorities to trust (instead of the
    /// system's).
    pub tls_ca_file: Option<PathBuf>,
    /// `tlsCertificateKeyFile`: PEM file with the client certificate and its key.
    pub tls_certificate_key_file: Option<PathBuf>,
    /// `tlsCertificateKeyFilePassword`: password of an encrypted client key. Never
    /// printed.
    pub tls_certificate_key_file_password: Option<String>,
    /// `tlsAllowInvalidCertificates`: accept any server certificate. Insecure.
    pub tls_allow_invalid_certificates: Option<bool>,
    /// `tlsAllowInvalidHostnames`: accept a certificate issued for another host.
    /// Insecure.
    pub tls_allow_invalid_hostnames: Option<bool>,
    /// `tlsInsecure`: both of the above. Insecure.
    pub tls_insecure: Option<bool>,
    /// `tlsDisableOCSPEndpointCheck`. mongopool never contacts OCSP responders, so
    /// `true` is what it does anyway and `false` is ignored with a warning; the option
    /// takes part in the spec's conflict checks.
    pub tls_disable_ocsp_endpoint_check: Option<bool>,
    /// `tlsDisableCertificateRevocationCheck`. mongopool does not check revocation
    /// (no OCSP, no CRLs), so `true` is what it does anyway and `false` is ignored with
    /// a warning; the option takes part in the spec's conflict checks.
    pub tls_disable_certificate_revocation_check: Option<bool>,
    /// `srvServiceName`: the service of the SRV query (`_<name>._tcp.<host>`).
    /// Defaults to `mongodb`; only with `mongodb+srv://`.
    pub srv_service_name: Option<String>,
    /// `srvMaxHosts`: use at most this many (randomly chosen) SRV results. Zero means
    /// all; only with `mongodb+srv://`.
    pub srv_max_hosts: Option<u32>,
    /// `proxyHost` and friends: a SOCKS5 proxy, which mongopool cannot use yet.
    pub proxy: Option<Socks5Proxy>,
}

impl fmt::Debug for UriOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("UriOptions");
        // Only the options that were given, to keep the output readable.
        macro_rules! given {
            ($($field:ident),* $(,)?) => {
                $( if let Some(v) = &self.$field { d.field(stringify!($field), v); } )*
            };
        }
        given!(
            app_name,
            auth_source,
            compressors,
            zlib_compression_level,
            connect_timeout,
            socket_timeout,
            timeout,
            server_selection_timeout,
            server_selection_try_once,
            heartbeat_frequency,
            local_threshold,
            server_monitoring_mode,
            max_pool_size,
            min_pool_size,
            max_idle_time,
            max_connecting,
            wait_queue_timeout,
            wait_queue_multiple,
            direct_connection,
            load_balanced,
            replica_set,
            read_preference,
            read_concern_level,
            w,
            w_timeout,
            journal,
            retry_reads,
            retry_writes,
            max_adaptive_retries,
            enable_overload_retargeting,
            tls,
            tls_ca_file,
            tls_certificate_key_file,
            tls_allow_invalid_certificates,
            tls_allow_invalid_hostnames,
            tls_insecure,
            tls_disable_ocsp_endpoint_check,
            tls_disable_certificate_revocation_check,
            srv_service_name,
            srv_max_hosts,
            proxy,
        );
        if self.tls_certificate_key_file_password.is_some() {
            d.field("tls_certificate_key_file_password", &Redacted);
        }
        d.finish()
    }
}
