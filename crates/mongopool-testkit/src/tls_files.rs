//! The PEM files a TLS test server is started with.

use std::path::{Path, PathBuf};

/// Certificate files for a TLS test server.
///
/// With TLS on, SecantusDB accepts only TLS connections on its port (plain TCP clients
/// are disconnected). Client certificates are verified against [`TlsFiles::client_ca`]
/// when one is given, and are then optional unless [`TlsFiles::require_client_cert`] is
/// set. Client certificates need X.509 v3 extensions (rustls rejects v1 certificates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    cert_file: PathBuf,
    key_file: PathBuf,
    ca_file: Option<PathBuf>,
    require_client_cert: bool,
}

impl TlsFiles {
    /// The server's PEM certificate chain and its PEM private key.
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        TlsFiles {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            ca_file: None,
            require_client_cert: false,
        }
    }

    /// A PEM CA bundle the server verifies client certificates with (`--tls-ca-file`).
    /// Defaults to none: client certificates are not asked for.
    pub fn client_ca(mut self, ca_file: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(ca_file.into());
        self
    }

    /// Reject clients without a valid certificate (`--tls-require-client-cert`); needs
    /// [`TlsFiles::client_ca`]. Defaults to false.
    pub fn require_client_cert(mut self, require: bool) -> Self {
        self.require_client_cert = require;
        self
    }

    /// The server certificate chain.
    pub fn cert_file(&self) -> &Path {
        &self.cert_file
    }

    /// The server private key.
    pub fn key_file(&self) -> &Path {
        &self.key_file
    }

    /// The CA that verifies client certificates, if any.
    pub fn ca_file(&self) -> Option<&Path> {
        self.ca_file.as_deref()
    }

    /// Whether clients must present a certificate.
    pub fn requires_client_cert(&self) -> bool {
        self.require_client_cert
    }
}
