//! The prepared TLS client configuration: PEM files read and verifiers built once, then
//! shared by every connection of a pool.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::SectionKind;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, RootCertStore};
use tokio_rustls::TlsConnector;

use super::cert_key_file;
use super::options::TlsOptions;
use super::pem_file::{self, configuration};
use super::verifier::{AcceptAnyCertificate, IgnoreHostname};
use crate::error::{Error, Result};

/// TLS settings ready for use: the files named by a [`TlsOptions`] have been read and the
/// rustls client configuration built.
///
/// Build it once per pool (or per client) with [`TlsConfig::new`]; cloning is cheap (an
/// `Arc`), so a hundred connections share one parsed copy of the certificates. `Debug`
/// shows the options only, never key material.
#[derive(Clone)]
pub struct TlsConfig {
    inner: Arc<Prepared>,
}

struct Prepared {
    options: TlsOptions,
    connector: TlsConnector,
}

impl TlsConfig {
    /// Reads the files named by `options` and builds the client configuration, with the
    /// `ring` crypto provider.
    ///
    /// Fails with a [`Configuration`](crate::error::ErrorKind::Configuration) error naming
    /// the file when a file cannot be read, holds no certificate, or holds a private key
    /// that is missing, unsupported, encrypted without a password (or with a wrong one,
    /// or in the legacy OpenSSL format) or does not match the certificate; and when
    /// `ca_file` is `None` and the system has no usable root certificate. When
    /// `allow_invalid_certificates` is set the system roots are not loaded, but a given
    /// `ca_file` is still read so that a wrong path does not go unnoticed.
    pub fn new(options: &TlsOptions) -> Result<TlsConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| configuration("the TLS crypto provider cannot be used", e))?;

        let builder = if options.allow_invalid_certificates {
            if let Some(path) = &options.ca_file {
                read_ca_file(path)?;
            }
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate::new(
                    provider.signature_verification_algorithms,
                )))
        } else {
            let roots = match &options.ca_file {
                Some(path) => read_ca_file(path)?,
                None => system_roots()?,
            };
            let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| configuration("the trusted certificates cannot be used", e))?;
            if options.allow_invalid_hostnames {
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(IgnoreHostname::new(verifier)))
            } else {
                builder.with_webpki_verifier(verifier)
            }
        };

        let client = match &options.cert_key_file {
            None => builder.with_no_client_auth(),
            Some(path) => {
                let password = options.cert_key_file_password.as_deref();
                let (chain, key) = cert_key_file::read(path, password)?;
                builder.with_client_auth_cert(chain, key).map_err(|e| {
                    configuration(
                        format!(
                            "the client certificate and key in {} cannot be used",
                            path.display()
                        ),
                        e,
                    )
                })?
            }
        };

        Ok(TlsConfig {
            inner: Arc::new(Prepared {
                options: options.clone(),
                connector: TlsConnector::from(Arc::new(client)),
            }),
        })
    }

    /// The options this configuration was built from.
    pub fn options(&self) -> &TlsOptions {
        &self.inner.options
    }

    pub(crate) fn connector(&self) -> &TlsConnector {
        &self.inner.connector
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

fn read_ca_file(path: &Path) -> Result<RootCertStore> {
    let bytes = pem_file::read(path, "CA file")?;
    let mut roots = RootCertStore::empty();
    for (kind, der) in pem_file::sections(&bytes, path, "CA file")? {
        if kind == SectionKind::Certificate {
            roots.add(CertificateDer::from(der)).map_err(|e| {
                configuration(
                    format!("CA file {} holds an unusable certificate", path.display()),
                    e,
                )
            })?;
        }
    }
    if roots.is_empty() {
        return Err(Error::configuration(format!(
            "CA file {} holds no certificate",
            path.display()
        )));
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore> {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _unparsable) = roots.add_parsable_certificates(found.certs);
    if added > 0 {
        return Ok(roots);
    }
    let message = "no usable root certificate in the system's store; give a CA file";
    Err(match found.errors.into_iter().next() {
        Some(first) => configuration(message, first),
        None => Error::configuration(message),
    })
}
