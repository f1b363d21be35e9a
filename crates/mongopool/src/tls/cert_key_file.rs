//! The client's certificate key file: a certificate chain and one private key, which may
//! be an encrypted PKCS#8 key opened with `tlsCertificateKeyFilePassword`.

use std::path::Path;

use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

use super::encrypted_key::{self, DecryptError};
use super::pem_file::{self, configuration};
use crate::error::{Error, Result};

const WHAT: &str = "certificate key file";

/// Reads the certificate chain and the private key in `path`, decrypting the key with
/// `password` when it is an encrypted PKCS#8 key.
///
/// A password given for a key that is not encrypted is ignored, as other drivers do: the
/// key is usable, and refusing it would only make switching between an encrypted and a
/// plain key file harder. Every error is a configuration error naming the file, never the
/// password.
pub(super) fn read(
    path: &Path,
    password: Option<&str>,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let shown = path.display();
    let bytes = pem_file::read(path, WHAT)?;
    // The `pem` crate rather than the PEM reader of rustls' types, which skips the
    // sections it does not know (encrypted keys among them) and calls the headers of
    // the legacy format invalid.
    let blocks = pem::parse_many(&bytes)
        .map_err(|e| configuration(format!("{WHAT} {shown} is not valid PEM"), e))?;
    if blocks.iter().any(encrypted_key::is_legacy_encrypted) {
        return Err(Error::configuration(format!(
            "the private key in {shown} is in the legacy OpenSSL encrypted PEM format \
             (Proc-Type: 4,ENCRYPTED), which is not supported; convert it to an encrypted \
             PKCS#8 key with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in OLD -out NEW`"
        )));
    }
    let mut chain = Vec::new();
    let mut keys: Vec<PrivateKeyDer<'static>> = Vec::new();
    let mut encrypted = Vec::new();
    for block in blocks {
        match block.tag() {
            "CERTIFICATE" => chain.push(CertificateDer::from(block.into_contents())),
            "RSA PRIVATE KEY" => keys.push(PrivatePkcs1KeyDer::from(block.into_contents()).into()),
            "PRIVATE KEY" => keys.push(PrivatePkcs8KeyDer::from(block.into_contents()).into()),
            "EC PRIVATE KEY" => keys.push(PrivateSec1KeyDer::from(block.into_contents()).into()),
            encrypted_key::LABEL => encrypted.push(block.into_contents()),
            _ => {}
        }
    }
    if chain.is_empty() {
        return Err(Error::configuration(format!(
            "{WHAT} {shown} holds no certificate"
        )));
    }
    if keys.len() + encrypted.len() > 1 {
        return Err(Error::configuration(format!(
            "{WHAT} {shown} holds more than one private key"
        )));
    }
    if let Some(key) = keys.pop() {
        return Ok((chain, key));
    }
    let Some(block) = encrypted.first() else {
        return Err(Error::configuration(format!(
            "{WHAT} {shown} holds no private key"
        )));
    };
    let Some(password) = password else {
        return Err(Error::configuration(format!(
            "the private key in {shown} is encrypted; give its password with \
             tlsCertificateKeyFilePassword"
        )));
    };
    let key = encrypted_key::decrypt(block, password).map_err(|e| {
        let why = match &e {
            DecryptError::WrongPassword => "with the given tlsCertificateKeyFilePassword",
            DecryptError::Unsupported(_) => {
                "as its encryption is not supported (supported: PKCS#8 PBES2 with PBKDF2 \
                 or scrypt and AES-CBC, as written by `openssl pkcs8 -topk8 -v2 aes-256-cbc`)"
            }
            DecryptError::Malformed(_) => "as it is not a valid PKCS#8 encrypted key",
        };
        configuration(
            format!("the private key in {shown} could not be decrypted {why}"),
            e,
        )
    })?;
    Ok((chain, key))
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;
    use std::path::PathBuf;

    use pkcs8::pkcs5::{pbes2, scrypt};
    use pkcs8::{LineEnding, PrivateKeyInfo};
    use rcgen::{CertificateParams, KeyPair};

    use super::*;
    use crate::tls::{TlsConfig, TlsOptions};

    const PASSWORD: &str = "correct horse & battery=staple";

    /// A self-signed client certificate and its key.
    struct Client {
        cert_pem: String,
        key: KeyPair,
    }

    impl Client {
        fn new() -> Client {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec!["client".to_owned()])
                .unwrap()
                .self_signed(&key)
                .unwrap();
            Client {
                cert_pem: cert.pem(),
                key,
            }
        }

        fn key_der(&self) -> Vec<u8> {
            self.key.serialize_der()
        }

        /// The key as an `ENCRYPTED PRIVATE KEY` block, encrypted with the pkcs8
        /// crate's own API and `params`.
        fn encrypted_key_pem(&self, params: pbes2::Parameters<'_>, password: &str) -> String {
            let der = self.key_der();
            let info = PrivateKeyInfo::try_from(der.as_slice()).unwrap();
            let encrypted = info.encrypt_with_params(params, password).unwrap();
            encrypted
                .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
                .unwrap()
                .to_string()
        }

        /// PBKDF2-HMAC-SHA256 (OpenSSL's default iteration count) and AES-256-CBC.
        fn pbkdf2_key_pem(&self, password: &str) -> String {
            let salt: [u8; 16] = rand::random();
            let iv: [u8; 16] = rand::random();
            let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv).unwrap();
            self.encrypted_key_pem(params, password)
        }

        /// scrypt (small parameters, for a fast debug build) and AES-128-CBC.
        fn scrypt_key_pem(&self, password: &str) -> String {
            let salt: [u8; 16] = rand::random();
            let iv: [u8; 16] = rand::random();
            let cost = scrypt::Params::new(10, 8, 1, 16).unwrap();
            let params = pbes2::Parameters::scrypt_aes128cbc(cost, &salt, &iv).unwrap();
            self.encrypted_key_pem(params, password)
        }
    }

    fn write(dir: &tempfile::TempDir, contents: &str) -> PathBuf {
        let path = dir.path().join("client.pem");
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn read_file(contents: &str, password: Option<&str>) -> (PathBuf, Result<Vec<u8>>) {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, contents);
        let key = read(&path, password).map(|(chain, key)| {
            assert_eq!(chain.len(), 1);
            key.secret_der().to_vec()
        });
        (path, key)
    }

    /// The error's message, its chain of sources and its `Debug`, all of it.
    fn everything_shown(err: &Error) -> String {
        let mut text = format!("{err} {err:?}");
        let mut next = err.source();
        while let Some(source) = next {
            text.push_str(&format!(" <- {source} {source:?}"));
            next = source.source();
        }
        text
    }

    /// Reads `contents` expecting a configuration error that names the file and says
    /// each of `expected`, and never shows `password`.
    fn refused(contents: &str, password: Option<&str>, expected: &[&str]) {
        let (path, result) = read_file(contents, password);
        let err = result.expect_err("the key file is refused");
        assert!(err.is_configuration(), "{err:?}");
        let message = err.to_string();
        assert!(message.contains(path.to_str().unwrap()), "{message}");
        for part in expected {
            assert!(message.contains(part), "{part:?} in {message}");
        }
        if let Some(password) = password {
            let shown = everything_shown(&err);
            assert!(!shown.contains(password), "{shown}");
        }
    }

    #[test]
    fn a_pbkdf2_encrypted_key_is_decrypted_with_its_password() {
        let client = Client::new();
        let file = format!("{}{}", client.cert_pem, client.pbkdf2_key_pem(PASSWORD));
        let (_, key) = read_file(&file, Some(PASSWORD));
        assert_eq!(key.unwrap(), client.key_der());
    }

    #[test]
    fn a_scrypt_encrypted_key_before_its_certificate_is_decrypted() {
        let client = Client::new();
        let file = format!("{}{}", client.scrypt_key_pem(PASSWORD), client.cert_pem);
        let (_, key) = read_file(&file, Some(PASSWORD));
        assert_eq!(key.unwrap(), client.key_der());
    }

    #[test]
    fn a_wrong_password_says_the_key_could_not_be_decrypted() {
        let client = Client::new();
        let file = format!("{}{}", client.cert_pem, client.pbkdf2_key_pem(PASSWORD));
        let wrong = "correct horse & battery=stapler";
        refused(
            &file,
            Some(wrong),
            &["could not be decrypted", "tlsCertificateKeyFilePassword"],
        );
        // The right password appears nowhere either (it is not in the options here, but
        // nothing derived from it must leak into the text).
        let (_, result) = read_file(&file, Some(wrong));
        assert!(!everything_shown(&result.unwrap_err()).contains(PASSWORD));
    }

    #[test]
    fn an_encrypted_key_without_a_password_names_the_option() {
        let client = Client::new();
        let file = format!("{}{}", client.cert_pem, client.pbkdf2_key_pem(PASSWORD));
        refused(
            &file,
            None,
            &[
                "is encrypted",
                "give its password with tlsCertificateKeyFilePassword",
            ],
        );
    }

    #[test]
    fn a_password_for_a_plain_key_is_ignored() {
        let client = Client::new();
        let file = format!("{}{}", client.cert_pem, client.key.serialize_pem());
        let (_, key) = read_file(&file, Some(PASSWORD));
        assert_eq!(key.unwrap(), client.key_der());
    }

    #[test]
    fn the_legacy_openssl_format_is_refused_with_the_conversion() {
        let client = Client::new();
        for legacy in [
            include_str!("testdata/legacy-rsa.pem"),
            include_str!("testdata/legacy-ec.pem"),
        ] {
            let file = format!("{}{}", client.cert_pem, legacy);
            for password in [None, Some("fixture-password")] {
                refused(
                    &file,
                    password,
                    &[
                        "legacy OpenSSL encrypted PEM format",
                        "not supported",
                        "openssl pkcs8 -topk8",
                    ],
                );
            }
        }
    }

    #[test]
    fn an_unsupported_scheme_is_named_as_such() {
        let client = Client::new();
        let file = format!("{}{}", client.cert_pem, include_str!("testdata/pbes1.pem"));
        refused(
            &file,
            Some("fixture-password"),
            &["could not be decrypted", "encryption is not supported"],
        );
    }

    #[test]
    fn a_plain_key_under_the_encrypted_label_is_not_valid() {
        let client = Client::new();
        let relabeled = client
            .key
            .serialize_pem()
            .replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
        let file = format!("{}{}", client.cert_pem, relabeled);
        refused(
            &file,
            Some(PASSWORD),
            &["could not be decrypted", "not a valid PKCS#8 encrypted key"],
        );
    }

    #[test]
    fn text_around_the_blocks_is_ignored() {
        let client = Client::new();
        let file = format!(
            "a comment\n{}text between, CRLF\r\n{}trailing",
            client.cert_pem,
            client.pbkdf2_key_pem(PASSWORD).replace('\n', "\r\n")
        );
        let (_, key) = read_file(&file, Some(PASSWORD));
        assert_eq!(key.unwrap(), client.key_der());
    }

    #[test]
    fn broken_base64_in_an_encrypted_key_is_not_valid_pem() {
        let client = Client::new();
        let file = format!(
            "{}-----BEGIN ENCRYPTED PRIVATE KEY-----\n!!!!\n-----END ENCRYPTED PRIVATE KEY-----\n",
            client.cert_pem
        );
        refused(&file, Some(PASSWORD), &["is not valid PEM"]);
    }

    #[test]
    fn an_encrypted_and_a_plain_key_are_two_keys() {
        let client = Client::new();
        let file = format!(
            "{}{}{}",
            client.cert_pem,
            client.key.serialize_pem(),
            client.pbkdf2_key_pem(PASSWORD)
        );
        refused(&file, Some(PASSWORD), &["more than one private key"]);
    }

    #[test]
    fn a_tls_config_uses_the_decrypted_key_and_hides_the_password() {
        let client = Client::new();
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            &format!("{}{}", client.cert_pem, client.pbkdf2_key_pem(PASSWORD)),
        );
        let options = TlsOptions {
            cert_key_file: Some(path),
            cert_key_file_password: Some(PASSWORD.to_owned()),
            allow_invalid_certificates: true,
            ..TlsOptions::default()
        };
        // rustls checks that the key is usable and matches the certificate.
        let config = TlsConfig::new(&options).expect("the decrypted key is used");
        let shown = format!("{config:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(shown.contains("<redacted>"), "{shown}");

        let wrong = TlsOptions {
            cert_key_file_password: Some("not it".to_owned()),
            ..options
        };
        let err = TlsConfig::new(&wrong).expect_err("a wrong password");
        assert!(err.is_configuration(), "{err:?}");
        assert!(err.to_string().contains("could not be decrypted"), "{err}");
    }
}
