//! What a user asks of TLS, as plain options (the `tls*` options of a connection string).

use std::fmt;
use std::path::PathBuf;

use crate::credential::Redacted;

/// How to set up TLS to a server.
///
/// All fields default to "off"/"none" (see [`Default`]): the server's certificate chain is
/// verified against the system's root certificates, its host name is checked, and no
/// client certificate is sent. Turn the options into a [`TlsConfig`](super::TlsConfig)
/// once, and share that between connections.
///
/// `TlsOptions` holds paths and at most the password of the client key, never key
/// material; its `Debug` output redacts the password, so it is safe to log.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsOptions {
    /// A PEM file of the certificate authorities to trust (`tlsCAFile`). When `None`, the
    /// system's root certificates are used. Defaults to `None`.
    pub ca_file: Option<PathBuf>,
    /// One PEM file holding the client certificate chain and its private key
    /// (`tlsCertificateKeyFile`), as used for X.509 authentication. The key is either
    /// unencrypted (PKCS#8, PKCS#1 or SEC1) or an encrypted PKCS#8 key
    /// (`ENCRYPTED PRIVATE KEY`) whose password is
    /// [`cert_key_file_password`](Self::cert_key_file_password). Defaults to `None`: no
    /// client certificate.
    pub cert_key_file: Option<PathBuf>,
    /// The password of an encrypted private key in
    /// [`cert_key_file`](Self::cert_key_file) (`tlsCertificateKeyFilePassword`).
    ///
    /// Encrypted PKCS#8 keys (PBES2: PBKDF2 with HMAC-SHA-1/SHA-2 or scrypt, and AES-CBC;
    /// what `openssl pkcs8 -topk8 -v2 aes-256-cbc` and `openssl genpkey -aes256` write)
    /// are decrypted once, when the [`TlsConfig`](super::TlsConfig) is built. As other
    /// drivers do, a password given for a key that is not encrypted is ignored and the
    /// key used as it is. The legacy OpenSSL format (`Proc-Type: 4,ENCRYPTED` headers in
    /// a `BEGIN RSA PRIVATE KEY` block) is refused: convert it with `openssl pkcs8
    /// -topk8`. Never shown by `Debug`. Defaults to `None`.
    pub cert_key_file_password: Option<String>,
    /// Accept any server certificate, even one signed by an unknown authority, expired,
    /// or for another host (`tlsAllowInvalidCertificates`). The handshake signatures are
    /// still checked, but the connection is not protected from an active attacker.
    /// Defaults to `false`.
    pub allow_invalid_certificates: bool,
    /// Verify the server's certificate chain but not that it was issued for the host
    /// being connected to (`tlsAllowInvalidHostnames`). Defaults to `false`.
    pub allow_invalid_hostnames: bool,
}

crate::option_builder::option_builder! {
    /// Builds [`TlsOptions`] from the defaults.
    TlsOptionsBuilder for TlsOptions {
        /// Sets [`TlsOptions::ca_file`].
        ca_file: Option<PathBuf>,
        /// Sets [`TlsOptions::cert_key_file`].
        cert_key_file: Option<PathBuf>,
        /// Sets [`TlsOptions::cert_key_file_password`].
        cert_key_file_password: Option<String>,
        /// Sets [`TlsOptions::allow_invalid_certificates`].
        allow_invalid_certificates: bool,
        /// Sets [`TlsOptions::allow_invalid_hostnames`].
        allow_invalid_hostnames: bool,
    }
}

impl fmt::Debug for TlsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsOptions")
            .field("ca_file", &self.ca_file)
            .field("cert_key_file", &self.cert_key_file)
            .field(
                "cert_key_file_password",
                &self.cert_key_file_password.as_ref().map(|_| Redacted),
            )
            .field(
                "allow_invalid_certificates",
                &self.allow_invalid_certificates,
            )
            .field("allow_invalid_hostnames", &self.allow_invalid_hostnames)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_that_a_password_is_set_but_not_the_password() {
        let options = TlsOptions {
            cert_key_file: Some(PathBuf::from("/keys/client.pem")),
            cert_key_file_password: Some("hunter2-secret".to_owned()),
            ..TlsOptions::default()
        };
        let shown = format!("{options:?}");
        assert!(!shown.contains("hunter2-secret"), "{shown}");
        assert!(
            shown.contains("cert_key_file_password: Some(<redacted>)"),
            "{shown}"
        );
        assert!(shown.contains("/keys/client.pem"), "{shown}");

        let shown = format!("{:?}", TlsOptions::default());
        assert!(shown.contains("cert_key_file_password: None"), "{shown}");
    }
}
