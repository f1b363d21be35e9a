//! Reading the PEM files named by the TLS options, with errors that name the file.

use std::path::Path;

use rustls::pki_types::pem::{PemObject, SectionKind};

use crate::error::{Error, ErrorKind, Result};

/// A configuration error with `message` and the error that caused it.
pub(super) fn configuration(
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

/// The bytes of `path`, the `what` of the error if it cannot be read.
pub(super) fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| configuration(format!("cannot read {what} {}", path.display()), e))
}

/// The PEM sections in `bytes`, read from `path`, with their DER contents (sections of
/// kinds the reader does not know, such as encrypted keys, are skipped).
pub(super) fn sections(
    bytes: &[u8],
    path: &Path,
    what: &str,
) -> Result<Vec<(SectionKind, Vec<u8>)>> {
    <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| configuration(format!("{what} {} is not valid PEM", path.display()), e))
}
