//! TLS against a real SecantusDB server, with certificates made in the test: a trusted
//! chain works; a wrong host name or an unknown CA fail with an error that says so;
//! the relaxations do what they say and no more; client certificates.
//! (X.509 authentication is in `server_auth.rs`.)

mod server_support;

use std::error::Error as _;
use std::time::{Duration, Instant};

use bson::rawdoc;
use mongopool::{CommandOptions, Connection, ConnectionOptions, Error, ServerAddress, TlsOptions};
use mongopool_testkit::TestServer;

use server_support::pki::{Pki, SERVER_NAME};
use server_support::shared::Shared;

/// A TLS-only server and the certificates it was made with.
struct TlsServer {
    // Declared first: the server stops before its certificate files are deleted.
    server: TestServer,
    pki: Pki,
}

impl TlsServer {
    fn start(require_client_cert: bool) -> TlsServer {
        let pki = Pki::generate();
        let server = TestServer::builder()
            .tls(pki.server_files(require_client_cert))
            .start()
            .expect("start a TLS secantusd-rs");
        TlsServer { server, pki }
    }

    /// The server by the name in its certificate.
    fn by_name(&self) -> ServerAddress {
        ServerAddress::tcp(SERVER_NAME, self.server.port())
    }

    /// The server by its IP address, which its certificate does not name.
    fn by_ip(&self) -> ServerAddress {
        ServerAddress::tcp("127.0.0.1", self.server.port())
    }

    fn trusting(&self) -> TlsOptions {
        TlsOptions {
            ca_file: Some(self.pki.ca_file()),
            ..TlsOptions::default()
        }
    }
}

/// Client certificates are verified when sent, but optional.
static OPTIONAL_CLIENT_CERT: Shared<TlsServer> = Shared::new(|| TlsServer::start(false));
/// Client certificates are required.
static REQUIRED_CLIENT_CERT: Shared<TlsServer> = Shared::new(|| TlsServer::start(true));

fn options(tls: TlsOptions) -> ConnectionOptions {
    ConnectionOptions::builder()
        .tls(Some(tls))
        .connect_timeout(Some(Duration::from_secs(10)))
        .build()
        .expect("options")
}

async fn connect(address: &ServerAddress, tls: TlsOptions) -> Result<Connection, Error> {
    Connection::connect(address, &options(tls), 1, 0).await
}

async fn ping(conn: &mut Connection) {
    conn.command("admin", &rawdoc! { "ping": 1 }, &CommandOptions::default())
        .await
        .expect("ping over TLS");
}

/// The error and its whole chain of sources, for looking for the reason.
fn full_text(err: &Error) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(source) = next {
        text.push_str(" <- ");
        text.push_str(&source.to_string());
        next = source.source();
    }
    text
}

#[tokio::test]
async fn a_trusted_certificate_for_the_host_works() {
    let tls = OPTIONAL_CLIENT_CERT.get();
    let mut conn = connect(&tls.by_name(), tls.trusting())
        .await
        .expect("TLS connection");
    assert_eq!(conn.hello().max_wire_version, 27);
    ping(&mut conn).await;
}

#[tokio::test]
async fn a_certificate_for_another_host_is_refused_clearly() {
    let tls = OPTIONAL_CLIENT_CERT.get();
    let err = connect(&tls.by_ip(), tls.trusting())
        .await
        .expect_err("the certificate names localhost, not 127.0.0.1");
    assert!(err.is_network(), "{err:?}");
    assert!(!err.is_timeout(), "{err:?}");
    // The message itself says what failed; the source says why.
    assert!(err.to_string().contains("certificate"), "{err}");
    let text = full_text(&err);
    assert!(text.contains("127.0.0.1"), "{text}");
    assert!(text.contains("TLS"), "{text}");
    assert!(text.contains("not valid for name"), "{text}");
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused_clearly() {
    let tls = OPTIONAL_CLIENT_CERT.get();
    let stranger = TlsOptions {
        ca_file: Some(tls.pki.stranger_ca_file()),
        ..TlsOptions::default()
    };
    let err = connect(&tls.by_name(), stranger)
        .await
        .expect_err("the server's CA is not trusted");
    assert!(err.is_network(), "{err:?}");
    assert!(err.to_string().contains("certificate"), "{err}");
    let text = full_text(&err);
    assert!(text.contains("TLS"), "{text}");
    assert!(text.contains("UnknownIssuer"), "{text}");
}

#[tokio::test]
async fn allow_invalid_hostnames_accepts_another_host_but_still_checks_the_ca() {
    let tls = OPTIONAL_CLIENT_CERT.get();
    let relaxed = TlsOptions {
        allow_invalid_hostnames: true,
        ..tls.trusting()
    };
    let mut conn = connect(&tls.by_ip(), relaxed)
        .await
        .expect("the host name is not checked");
    ping(&mut conn).await;

    let stranger = TlsOptions {
        ca_file: Some(tls.pki.stranger_ca_file()),
        allow_invalid_hostnames: true,
        ..TlsOptions::default()
    };
    let err = connect(&tls.by_ip(), stranger)
        .await
        .expect_err("the chain is still verified");
    assert!(full_text(&err).contains("UnknownIssuer"), "{err:?}");
}

#[tokio::test]
async fn allow_invalid_certificates_accepts_an_unknown_ca() {
    let tls = OPTIONAL_CLIENT_CERT.get();
    let relaxed = TlsOptions {
        ca_file: Some(tls.pki.stranger_ca_file()),
        allow_invalid_certificates: true,
        ..TlsOptions::default()
    };
    let mut conn = connect(&tls.by_ip(), relaxed)
        .await
        .expect("nothing is verified");
    ping(&mut conn).await;
}

#[tokio::test]
async fn a_plain_client_cannot_talk_to_a_tls_server() {
    let tls = OPTIONAL_CLIENT_CERT.get();
    let started = Instant::now();
    let err = Connection::connect(&tls.by_name(), &ConnectionOptions::default(), 1, 0)
        .await
        .expect_err("the server speaks TLS only");
    assert!(err.is_network(), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the failure took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_server_that_requires_a_client_certificate_gets_one() {
    let tls = REQUIRED_CLIENT_CERT.get();
    let err = connect(&tls.by_name(), tls.trusting())
        .await
        .expect_err("no client certificate");
    assert!(err.is_network(), "{err:?}");

    let with_cert = TlsOptions {
        cert_key_file: Some(tls.pki.client_cert_key_file()),
        ..tls.trusting()
    };
    let mut conn = connect(&tls.by_name(), with_cert)
        .await
        .expect("with a client certificate");
    ping(&mut conn).await;
}
