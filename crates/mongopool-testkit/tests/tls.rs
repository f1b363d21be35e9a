//! TLS servers: the testkit passes the certificate files through and the server
//! serves TLS only, optionally requiring client certificates.

mod support;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use mongopool_testkit::rcgen::{Certificate, KeyPair};
use mongopool_testkit::{CertificateAuthority, Error, TestServer, TlsFiles};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use support::{is_master_op_query, is_ok, read_op_reply};

struct Pki {
    dir: tempfile::TempDir,
    ca: Certificate,
    client_cert: Certificate,
    client_key: KeyPair,
}

impl Pki {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn server_files(&self) -> TlsFiles {
        TlsFiles::new(self.path("server.pem"), self.path("server.key"))
    }
}

fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap();
}

/// A CA, a server certificate for localhost and a client certificate, as PEM files.
fn make_pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();

    let ca = CertificateAuthority::new("testkit CA");
    let server = ca.server(&["localhost"]);
    let client = ca.client();
    write(&dir.path().join("ca.pem"), &ca.cert.pem());
    write(&dir.path().join("server.pem"), &server.cert.pem());
    write(&dir.path().join("server.key"), &server.key.serialize_pem());
    Pki {
        dir,
        ca: ca.cert,
        client_cert: client.cert,
        client_key: client.key,
    }
}

/// Connects with TLS (optionally with the client certificate) and runs a legacy
/// isMaster; `Err` if the handshake or the exchange fails.
fn tls_is_master(server: &TestServer, pki: &Pki, with_client_cert: bool) -> std::io::Result<bool> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = if with_client_cert {
        let cert: CertificateDer<'static> = pki.client_cert.der().clone();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pki.client_key.serialize_der()));
        builder.with_client_auth_cert(vec![cert], key).unwrap()
    } else {
        builder.with_no_client_auth()
    };
    let name = ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let tcp = TcpStream::connect(server.address())?;
    let mut stream = rustls::StreamOwned::new(connection, tcp);
    stream.write_all(&is_master_op_query(5))?;
    stream.flush()?;
    // read_op_reply panics on a short read; probe the first byte through rustls first
    // so that a rejected handshake is an Err, not a panic.
    let mut first = [0u8; 1];
    std::io::Read::read_exact(&mut stream, &mut first)?;
    let mut rest = std::io::Read::chain(&first[..], &mut stream);
    Ok(is_ok(&read_op_reply(&mut rest, 5)))
}

#[test]
fn tls_server_speaks_tls_only() {
    let pki = make_pki();
    let server = TestServer::builder()
        .tls(pki.server_files())
        .start()
        .expect("start a TLS server");
    assert!(server.tls().is_some());

    assert!(tls_is_master(&server, &pki, false).expect("TLS isMaster"));

    // The testkit's own command client is plain TCP and says so.
    let err = server
        .command("admin", bson::doc! { "ping": 1 })
        .expect_err("plain command on a TLS server");
    assert!(matches!(err, Error::InvalidOptions(_)), "{err:?}");
}

#[test]
fn required_client_certificate_is_enforced() {
    let pki = make_pki();
    let server = TestServer::builder()
        .tls(
            pki.server_files()
                .client_ca(pki.path("ca.pem"))
                .require_client_cert(true),
        )
        .start()
        .expect("start an mTLS server");

    assert!(tls_is_master(&server, &pki, true).expect("with a client certificate"));
    assert!(
        tls_is_master(&server, &pki, false).is_err(),
        "a client without a certificate got through"
    );
}

#[test]
fn requiring_client_certs_without_a_ca_is_rejected_up_front() {
    let pki = make_pki();
    let err = TestServer::builder()
        .tls(pki.server_files().require_client_cert(true))
        .start()
        .expect_err("no CA to verify with");
    assert!(matches!(err, Error::InvalidOptions(_)), "{err:?}");
}
