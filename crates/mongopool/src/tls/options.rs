//! What a user asks of TLS, as plain options (the `tls*` options of a connection string).

use std::path::PathBuf;

/// How to set up TLS to a server.
///
/// All fields default to "off"/"none" (see [`Default`]): the server's certificate chain is
/// verified against the system's root certificates, its host name is checked, and no
/// client certificate is sent. Turn the options into a [`TlsConfig`](super::TlsConfig)
/// once, and share that between connections.
///
/// `TlsOptions` holds paths only, never key material, so its `Debug` output is safe to
/// log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// A PEM file of the certificate authorities to trust (`tlsCAFile`). When `None`, the
    /// system's root certificates are used. Defaults to `None`.
    pub ca_file: Option<PathBuf>,
    /// One PEM file holding the client certificate chain and its unencrypted private key
    /// (`tlsCertificateKeyFile`), as used for X.509 authentication. Defaults to `None`: no
    /// client certificate.
    pub cert_key_file: Option<PathBuf>,
    /// Accept any server certificate, even one signed by an unknown authority, expired,
    /// or for another host (`tlsAllowInvalidCertificates`). The handshake signatures are
    /// still checked, but the connection is not protected from an active attacker.
    /// Defaults to `false`.
    pub allow_invalid_certificates: bool,
    /// Verify the server's certificate chain but not that it was issued for the host
    /// being connected to (`tlsAllowInvalidHostnames`). Defaults to `false`.
    pub allow_invalid_hostnames: bool,
}
