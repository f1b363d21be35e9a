//! The prepared TLS client configuration: PEM files read and verifiers built once, then
//! shared by every connection of a pool.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore};
use rustls_pemfile::Item;
use tokio_rustls::TlsConnector;

use super::options::TlsOptions;
use super::verifier::{AcceptAnyCertificate, IgnoreHostname};
use crate::error::{Error, ErrorKind, Result};

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
    /// Fails with a [`Configuration`](ErrorKind::Configuration) error naming the file when
    /// a file cannot be read, holds no certificate, or holds a private key that is
    /// missing, encrypted, unsupported or does not match the certificate; and when
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
                let (chain, key) = read_cert_key_file(path)?;
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

fn configuration(
    message: impl Into<String>,
    source: impl std::error::Error + Send + Sync + 'static,
) -> Error {
    Error::with_source(
        ErrorKind::Configuration {
            message: message.into(),
        },
        source,
    )
}

/// The bytes of `path` and the PEM sections in it (sections of unknown kinds are skipped).
fn read_pem(path: &Path, what: &str) -> Result<(Vec<u8>, Vec<Item>)> {
    let bytes = std::fs::read(path)
        .map_err(|e| configuration(format!("cannot read {what} {}", path.display()), e))?;
    let items = rustls_pemfile::read_all(&mut bytes.as_slice())
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| configuration(format!("{what} {} is not valid PEM", path.display()), e))?;
    Ok((bytes, items))
}

fn read_ca_file(path: &Path) -> Result<RootCertStore> {
    let (_, items) = read_pem(path, "CA file")?;
    let mut roots = RootCertStore::empty();
    for item in items {
        if let Item::X509Certificate(cert) = item {
            roots.add(cert).map_err(|e| {
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

fn read_cert_key_file(
    path: &Path,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let (bytes, items) = read_pem(path, "certificate key file")?;
    let mut chain = Vec::new();
    let mut keys = Vec::new();
    for item in items {
        match item {
            Item::X509Certificate(cert) => chain.push(cert),
            Item::Pkcs1Key(key) => keys.push(PrivateKeyDer::from(key)),
            Item::Pkcs8Key(key) => keys.push(PrivateKeyDer::from(key)),
            Item::Sec1Key(key) => keys.push(PrivateKeyDer::from(key)),
            _ => {}
        }
    }
    let shown = path.display();
    if chain.is_empty() {
        return Err(Error::configuration(format!(
            "certificate key file {shown} holds no certificate"
        )));
    }
    let mut keys = keys.into_iter();
    match (keys.next(), keys.next()) {
        (Some(key), None) => Ok((chain, key)),
        (Some(_), Some(_)) => Err(Error::configuration(format!(
            "certificate key file {shown} holds more than one private key"
        ))),
        // Encrypted keys are skipped by the PEM reader; say why rather than "no key".
        (None, _) if contains(&bytes, b"ENCRYPTED") => Err(Error::configuration(format!(
            "the private key in {shown} is encrypted; only unencrypted keys are supported"
        ))),
        (None, _) => Err(Error::configuration(format!(
            "certificate key file {shown} holds no private key"
        ))),
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
