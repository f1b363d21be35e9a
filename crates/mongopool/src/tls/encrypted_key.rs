//! Encrypted client keys: PKCS#8 `ENCRYPTED PRIVATE KEY` blocks (PBES2: PBKDF2 or scrypt,
//! AES-CBC), decrypted with the `pkcs8` crate; and the legacy OpenSSL encrypted PEM
//! format, which is only recognised, so that it can be refused by name.

use std::fmt;

use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::{Decode, Reader, SliceReader};
use pkcs8::{
    pkcs5, AlgorithmIdentifierRef, EncryptedPrivateKeyInfo, ObjectIdentifier, PrivateKeyInfo,
};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

/// The PEM label of a PKCS#8 `EncryptedPrivateKeyInfo`.
pub(super) const LABEL: &str = "ENCRYPTED PRIVATE KEY";

/// Whether `block` is a key in the legacy OpenSSL encrypted format: a `BEGIN RSA (or EC,
/// DSA) PRIVATE KEY` block with a `Proc-Type: 4,ENCRYPTED` header, which is not PKCS#8
/// and is not supported.
pub(super) fn is_legacy_encrypted(block: &pem::Pem) -> bool {
    block.tag().ends_with("PRIVATE KEY")
        && block
            .headers()
            .get("Proc-Type")
            .is_some_and(|value| value.contains("ENCRYPTED"))
}

/// Why an encrypted key could not be used.
#[derive(Debug)]
pub(super) enum DecryptError {
    /// The block is not PEM of a PKCS#8 `EncryptedPrivateKeyInfo`.
    Malformed(pkcs8::Error),
    /// A well-formed key encrypted with a scheme that is not supported (PBES1, DES, an
    /// unknown algorithm).
    Unsupported(String),
    /// Decryption did not give a private key: the password is wrong (or the encrypted
    /// data is damaged, which cannot be told apart).
    WrongPassword,
}

impl fmt::Display for DecryptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecryptError::Malformed(e) => {
                write!(f, "not a valid PKCS#8 encrypted private key: {e}")
            }
            DecryptError::Unsupported(what) => write!(f, "unsupported encryption: {what}"),
            DecryptError::WrongPassword => f.write_str("wrong password or damaged key"),
        }
    }
}

impl std::error::Error for DecryptError {}

/// Decrypts the DER contents of one `ENCRYPTED PRIVATE KEY` PEM block with `password`,
/// into a PKCS#8 private key.
pub(super) fn decrypt(
    bytes: &[u8],
    password: &str,
) -> Result<PrivateKeyDer<'static>, DecryptError> {
    let info = EncryptedPrivateKeyInfo::try_from(bytes).map_err(|e| match algorithm_of(bytes) {
        Some(oid) => DecryptError::Unsupported(format!("algorithm {oid}: {e}")),
        None => DecryptError::Malformed(e),
    })?;
    let plain = info.decrypt(password).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(
            e @ (pkcs5::Error::UnsupportedAlgorithm { .. }
            | pkcs5::Error::AlgorithmParametersInvalid { .. }),
        ) => DecryptError::Unsupported(e.to_string()),
        // A failed padding check, or plaintext that is not DER: the usual outcomes of a
        // wrong password with CBC.
        _ => DecryptError::WrongPassword,
    })?;
    // A wrong password gives valid padding about once in 256 tries; only a parseable
    // PrivateKeyInfo shows that the password was right.
    if PrivateKeyInfo::try_from(plain.as_bytes()).is_err() {
        return Err(DecryptError::WrongPassword);
    }
    Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        plain.as_bytes().to_vec(),
    )))
}

/// The algorithm of a DER `EncryptedPrivateKeyInfo` whose shape is right, whether or not
/// the `pkcs8` crate knows the algorithm: tells "unsupported" apart from "not a key".
fn algorithm_of(der: &[u8]) -> Option<ObjectIdentifier> {
    let mut reader = SliceReader::new(der).ok()?;
    let oid = reader
        .sequence(|r| {
            let algorithm = AlgorithmIdentifierRef::decode(r)?;
            OctetStringRef::decode(r)?;
            Ok(algorithm.oid)
        })
        .ok()?;
    reader.finish(oid).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    const PLAIN: &str = include_str!("testdata/topk8-plain.pem");
    const PASSWORD: &str = "fixture-password";

    /// The DER of the unencrypted key that the OpenSSL fixtures encrypt.
    fn plain_der() -> Vec<u8> {
        match PrivateKeyDer::from_pem_slice(PLAIN.as_bytes()) {
            Ok(PrivateKeyDer::Pkcs8(key)) => key.secret_pkcs8_der().to_vec(),
            other => panic!("the plain fixture is a PKCS#8 key: {other:?}"),
        }
    }

    fn decrypted_der(text: &str, password: &str) -> Result<Vec<u8>, DecryptError> {
        let blocks = pem::parse_many(text).unwrap();
        assert_eq!(blocks.len(), 1, "{text}");
        assert_eq!(blocks[0].tag(), LABEL);
        match decrypt(blocks[0].contents(), password)? {
            PrivateKeyDer::Pkcs8(key) => Ok(key.secret_pkcs8_der().to_vec()),
            other => panic!("a PKCS#8 key comes out: {other:?}"),
        }
    }

    /// Files written by OpenSSL 3.0 (see testdata/README.md) decrypt to the same key.
    #[test]
    fn keys_encrypted_by_openssl_decrypt_to_the_plain_key() {
        for (name, pem) in [
            (
                "pkcs8 -topk8 -v2 aes-256-cbc",
                include_str!("testdata/topk8-aes256.pem"),
            ),
            (
                "pkcs8 -topk8 -scrypt",
                include_str!("testdata/topk8-scrypt.pem"),
            ),
            (
                "pkcs8 -topk8 -v2 aes-128-cbc -v2prf hmacWithSHA1",
                include_str!("testdata/topk8-sha1.pem"),
            ),
        ] {
            let der = decrypted_der(pem, PASSWORD).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(der, plain_der(), "{name}");
        }
    }

    #[test]
    fn a_key_from_openssl_genpkey_aes256_decrypts() {
        let expected = match PrivateKeyDer::from_pem_slice(
            include_str!("testdata/genpkey-plain.pem").as_bytes(),
        ) {
            Ok(key) => key.secret_der().to_vec(),
            other => panic!("the plain fixture is a key: {other:?}"),
        };
        let der = decrypted_der(include_str!("testdata/genpkey-aes256.pem"), PASSWORD).unwrap();
        assert_eq!(der, expected);
    }

    #[test]
    fn a_wrong_password_is_told_apart_from_a_broken_file() {
        for pem in [
            include_str!("testdata/topk8-aes256.pem"),
            include_str!("testdata/topk8-scrypt.pem"),
        ] {
            for wrong in ["fixture-passwore", "", "FIXTURE-PASSWORD"] {
                assert!(
                    matches!(decrypted_der(pem, wrong), Err(DecryptError::WrongPassword)),
                    "{wrong:?}"
                );
            }
        }
    }

    #[test]
    fn pbes1_is_unsupported() {
        let err = decrypted_der(include_str!("testdata/pbes1.pem"), PASSWORD).unwrap_err();
        assert!(matches!(err, DecryptError::Unsupported(_)), "{err:?}");
    }

    #[test]
    fn a_plain_key_under_the_encrypted_label_is_malformed() {
        let relabeled = PLAIN.replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
        let err = decrypted_der(&relabeled, PASSWORD).unwrap_err();
        assert!(matches!(err, DecryptError::Malformed(_)), "{err:?}");
    }

    #[test]
    fn the_legacy_format_is_recognised_by_its_header() {
        let legacy = |text: &str| {
            let blocks = pem::parse_many(text).unwrap();
            assert!(!blocks.is_empty(), "{text}");
            blocks.iter().any(is_legacy_encrypted)
        };
        assert!(legacy(include_str!("testdata/legacy-rsa.pem")));
        assert!(legacy(include_str!("testdata/legacy-ec.pem")));
        assert!(!legacy(PLAIN));
        assert!(!legacy(include_str!("testdata/topk8-aes256.pem")));
        let signed_only = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,MIC-ONLY\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(!legacy(signed_only));
    }
}
