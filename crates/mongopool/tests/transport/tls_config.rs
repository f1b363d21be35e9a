//! Building a TlsConfig: the files are read once, and mistakes in them are named.

use std::path::{Path, PathBuf};

use mongopool::{TlsConfig, TlsOptions};

use mongopool_testkit::CertificateAuthority;

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// Builds a config from a cert-key file with `contents`, expecting a configuration error
/// that names the file and says `expected`.
fn refused_cert_key_file(contents: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "client.pem", contents);
    let err = TlsConfig::new(&{
        let mut o = TlsOptions::default();
        o.cert_key_file = Some(path.clone());
        o.allow_invalid_certificates = true;
        o
    })
    .unwrap_err();
    assert!(err.is_configuration(), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(path.to_str().unwrap()), "{message}");
    assert!(message.contains(expected), "{message}");
}

#[test]
fn a_missing_ca_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent.pem");
    let err = TlsConfig::new(&{
        let mut o = TlsOptions::default();
        o.ca_file = Some(path.clone());
        o
    })
    .unwrap_err();
    assert!(err.is_configuration(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "invalid configuration: cannot read CA file {}",
            path.display()
        )
    );
}

#[test]
fn a_ca_file_without_a_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key_only = CertificateAuthority::new("ca").key.serialize_pem();
    let path = write(dir.path(), "ca.pem", &key_only);
    let err = TlsConfig::new(&{
        let mut o = TlsOptions::default();
        o.ca_file = Some(path.clone());
        o
    })
    .unwrap_err();
    assert!(err.is_configuration(), "{err:?}");
    assert!(err.to_string().contains("holds no certificate"), "{err}");
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
}

#[test]
fn broken_pem_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "ca.pem",
        "-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n",
    );
    let err = TlsConfig::new(&{
        let mut o = TlsOptions::default();
        o.ca_file = Some(path);
        o
    })
    .unwrap_err();
    assert!(err.is_configuration(), "{err:?}");
    assert!(err.to_string().contains("is not valid PEM"), "{err}");
}

#[test]
fn a_cert_key_file_needs_a_certificate() {
    let ca = CertificateAuthority::new("ca");
    refused_cert_key_file(&ca.key.serialize_pem(), "holds no certificate");
}

#[test]
fn a_cert_key_file_needs_a_key() {
    let ca = CertificateAuthority::new("ca");
    let client = ca.client();
    refused_cert_key_file(&client.cert.pem(), "holds no private key");
}

#[test]
fn a_cert_key_file_with_two_keys_is_ambiguous() {
    let ca = CertificateAuthority::new("ca");
    let client = ca.client();
    let pem = format!("{}{}", client.cert_key_pem(), ca.key.serialize_pem());
    refused_cert_key_file(&pem, "more than one private key");
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_refused() {
    let ca = CertificateAuthority::new("ca");
    let client = ca.client();
    let pem = format!("{}{}", client.cert.pem(), ca.key.serialize_pem());
    refused_cert_key_file(&pem, "cannot be used");
}

#[test]
fn an_encrypted_key_is_refused_with_the_reason() {
    let ca = CertificateAuthority::new("ca");
    let client = ca.client();
    // The block's label is what marks it encrypted; its body is never decoded.
    let encrypted = client
        .key
        .serialize_pem()
        .replace("PRIVATE KEY", "ENCRYPTED PRIVATE KEY");
    let pem = format!("{}{}", client.cert.pem(), encrypted);
    refused_cert_key_file(&pem, "is encrypted");
}

#[test]
fn a_good_config_is_shared_and_debug_shows_no_key() {
    let ca = CertificateAuthority::new("ca");
    let client = ca.client();
    let dir = tempfile::tempdir().unwrap();
    let options = {
        let mut o = TlsOptions::default();
        o.ca_file = Some(write(dir.path(), "ca.pem", &ca.cert.pem()));
        o.cert_key_file = Some(write(dir.path(), "client.pem", &client.cert_key_pem()));
        o
    };
    let config = TlsConfig::new(&options).unwrap();
    assert_eq!(config.options(), &options);
    let copy = config.clone();
    assert!(std::ptr::eq(copy.options(), config.options()));

    let shown = format!("{config:?}");
    assert!(shown.contains("client.pem"), "{shown}");
    let key_pem = client.key.serialize_pem();
    let key_body = key_pem.lines().nth(1).unwrap();
    assert!(!shown.contains(key_body), "{shown}");
    assert!(!shown.contains("BEGIN"), "{shown}");
}
