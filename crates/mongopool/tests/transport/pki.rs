//! Certificates made for the tests with rcgen, and a one-connection TLS server.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

/// A certificate authority.
pub struct Authority {
    pub cert: Certificate,
    pub key: KeyPair,
}

impl Authority {
    pub fn new(name: &str) -> Authority {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).unwrap();
        Authority { cert, key }
    }

    /// A leaf certificate for `names` (DNS names or IP literals).
    pub fn issue(&self, common_name: &str, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf { cert, key }
    }
}

/// A certificate and its key.
pub struct Leaf {
    pub cert: Certificate,
    pub key: KeyPair,
}

impl Leaf {
    pub fn server(ca: &Authority, names: &[&str]) -> Leaf {
        ca.issue("server", names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    pub fn client(ca: &Authority) -> Leaf {
        ca.issue("client", &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key.serialize_der()))
    }

    /// The PEM of the certificate followed by its key, as `tlsCertificateKeyFile` wants.
    pub fn cert_key_pem(&self) -> String {
        format!("{}{}", self.cert.pem(), self.key.serialize_pem())
    }
}

/// Files for the client side, in a temporary directory that lives as long as this.
pub struct ClientFiles {
    pub _dir: tempfile::TempDir,
    pub ca_file: PathBuf,
    pub cert_key_file: PathBuf,
}

impl ClientFiles {
    pub fn new(ca: &Authority, client: &Leaf) -> ClientFiles {
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
pub fn server_config(server: &Leaf, client_ca: &Authority) -> Arc<ServerConfig> {
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
        .with_single_cert(vec![server.cert.der().clone()], server.key_der())
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
