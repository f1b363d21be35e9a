//! Client files and a one-connection TLS server for certificates of the testkit's
//! certificate authority.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use mongopool_testkit::{CertificateAuthority, IssuedCertificate};

fn key_der(leaf: &IssuedCertificate) -> PrivateKeyDer<'static> {
    PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf.key.serialize_der()))
}

/// Files for the client side, in a temporary directory that lives as long as this.
pub struct ClientFiles {
    pub _dir: tempfile::TempDir,
    pub ca_file: PathBuf,
    pub cert_key_file: PathBuf,
}

impl ClientFiles {
    pub fn new(ca: &CertificateAuthority, client: &IssuedCertificate) -> ClientFiles {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("ca.pem");
        let cert_key_file = dir.path().join("client.pem");
        std::fs::write(&ca_file, ca.cert.pem()).unwrap();
        std::fs::write(&cert_key_file, client.cert_key_pem()).unwrap();
        ClientFiles {
            _dir: dir,
            ca_file,
            cert_key_file,
        }
    }
}

/// A server configuration presenting `server`, asking for (not requiring) a client
/// certificate issued by `client_ca`.
pub fn server_config(
    server: &IssuedCertificate,
    client_ca: &CertificateAuthority,
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(client_ca.cert.der().clone()).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .unwrap();
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![server.cert.der().clone()], key_der(server))
        .unwrap();
    Arc::new(config)
}

/// What the TLS server saw of its one client.
#[derive(Debug)]
pub struct Seen {
    pub sni: Option<String>,
    pub client_certs: Option<Vec<CertificateDer<'static>>>,
}

/// Serves one TLS connection on 127.0.0.1: handshake, then answers `ping` with `pong`.
/// Returns the port and the server task, which ends with what it saw or the error.
pub async fn serve_one(config: Arc<ServerConfig>) -> (u16, JoinHandle<io::Result<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await?;
        let mut tls = TlsAcceptor::from(config).accept(tcp).await?;
        let (_, session) = tls.get_ref();
        let seen = Seen {
            sni: session.server_name().map(str::to_owned),
            client_certs: session.peer_certificates().map(|c| c.to_vec()),
        };
        let mut ping = [0u8; 4];
        tls.read_exact(&mut ping).await?;
        assert_eq!(&ping, b"ping");
        tls.write_all(b"pong").await?;
        tls.flush().await?;
        Ok(seen)
    });
    (port, task)
}
