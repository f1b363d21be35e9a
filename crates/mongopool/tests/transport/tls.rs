//! TLS: verification on and relaxed, client certificates, SNI, handshake timeout.

use std::error::Error as _;
use std::time::Duration;

use mongopool::{connect, ConnectOptions, Error, ServerAddress, Stream, TlsConfig, TlsOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::pki::{serve_one, server_config, ClientFiles};
use mongopool_testkit::{CertificateAuthority, IssuedCertificate};

fn with_tls(tls: TlsOptions) -> ConnectOptions {
    {
        let mut o = ConnectOptions::default();
        o.tls = Some(TlsConfig::new(&tls).unwrap());
        o
    }
}

async fn ping(stream: &mut Stream) {
    stream.write_all(b"ping").await.unwrap();
    let mut pong = [0u8; 4];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"pong");
}

/// The whole chain of sources, for looking for the TLS library's reason.
fn sources(err: &Error) -> String {
    let mut text = String::new();
    let mut next = err.source();
    while let Some(source) = next {
        text.push_str(&source.to_string());
        text.push('\n');
        next = source.source();
    }
    text
}

/// Everything a test needs: a CA the client trusts, one it does not, files.
struct Setup {
    ca: CertificateAuthority,
    stranger: CertificateAuthority,
    client: IssuedCertificate,
    files: ClientFiles,
}

impl Setup {
    fn new() -> Setup {
        let ca = CertificateAuthority::new("test CA");
        let stranger = CertificateAuthority::new("unknown CA");
        let client = ca.client();
        let files = ClientFiles::new(&ca, &client);
        Setup {
            ca,
            stranger,
            client,
            files,
        }
    }

    fn trusting(&self) -> TlsOptions {
        {
            let mut o = TlsOptions::default();
            o.ca_file = Some(self.files.ca_file.clone());
            o
        }
    }
}

#[tokio::test]
async fn connects_with_a_client_certificate() {
    let setup = Setup::new();
    let server = setup.ca.server(&["localhost"]);
    let (port, task) = serve_one(server_config(&server, &setup.ca)).await;
    let tls = {
        let mut o = setup.trusting();
        o.cert_key_file = Some(setup.files.cert_key_file.clone());
        o
    };
    let mut stream = connect(&ServerAddress::tcp("localhost", port), &with_tls(tls))
        .await
        .unwrap();
    assert!(stream.is_tls());
    ping(&mut stream).await;
    let seen = task.await.unwrap().unwrap();
    assert_eq!(seen.sni.as_deref(), Some("localhost"));
    let certs = seen
        .client_certs
        .expect("the server saw no client certificate");
    assert_eq!(&certs[0], setup.client.cert.der());
}

#[tokio::test]
async fn an_ip_literal_is_verified_against_the_certificate_ip_without_sni() {
    let setup = Setup::new();
    let server = setup.ca.server(&["localhost", "127.0.0.1"]);
    let (port, task) = serve_one(server_config(&server, &setup.ca)).await;
    let mut stream = connect(
        &ServerAddress::tcp("127.0.0.1", port),
        &with_tls(setup.trusting()),
    )
    .await
    .unwrap();
    ping(&mut stream).await;
    let seen = task.await.unwrap().unwrap();
    assert_eq!(seen.sni, None);
    assert!(seen.client_certs.is_none());
}

#[tokio::test]
async fn a_hostname_mismatch_is_rejected() {
    let setup = Setup::new();
    let server = setup.ca.server(&["localhost"]);
    let (port, task) = serve_one(server_config(&server, &setup.ca)).await;
    let err = connect(
        &ServerAddress::tcp("127.0.0.1", port),
        &with_tls(setup.trusting()),
    )
    .await
    .unwrap_err();
    assert!(err.is_network() && !err.is_timeout(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "connection failure: TLS handshake with 127.0.0.1:{port}: \
             the server's certificate was rejected"
        )
    );
    assert!(sources(&err).contains("not valid for name"), "{err:?}");
    assert!(task.await.unwrap().is_err());
}

#[tokio::test]
async fn an_unknown_authority_is_rejected() {
    let setup = Setup::new();
    let server = setup.stranger.server(&["localhost"]);
    let (port, task) = serve_one(server_config(&server, &setup.ca)).await;
    let err = connect(
        &ServerAddress::tcp("localhost", port),
        &with_tls(setup.trusting()),
    )
    .await
    .unwrap_err();
    assert!(err.is_network(), "{err:?}");
    assert!(
        err.to_string().contains("certificate was rejected"),
        "{err}"
    );
    assert!(sources(&err).contains("UnknownIssuer"), "{err:?}");
    assert!(task.await.unwrap().is_err());
}

#[tokio::test]
async fn allow_invalid_hostnames_accepts_a_mismatch() {
    let setup = Setup::new();
    let server = setup.ca.server(&["localhost"]);
    let (port, task) = serve_one(server_config(&server, &setup.ca)).await;
    let tls = {
        let mut o = setup.trusting();
        o.allow_invalid_hostnames = true;
        o
    };
    let mut stream = connect(&ServerAddress::tcp("127.0.0.1", port), &with_tls(tls))
        .await
        .unwrap();
    ping(&mut stream).await;
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn allow_invalid_hostnames_still_rejects_an_unknown_authority() {
    let setup = Setup::new();
    let server = setup.stranger.server(&["localhost"]);
    let (port, task) = serve_one(server_config(&server, &setup.ca)).await;
    let tls = {
        let mut o = setup.trusting();
        o.allow_invalid_hostnames = true;
        o
    };
    let err = connect(&ServerAddress::tcp("127.0.0.1", port), &with_tls(tls))
        .await
        .unwrap_err();
    assert!(sources(&err).contains("UnknownIssuer"), "{err:?}");
    assert!(task.await.unwrap().is_err());
}

#[tokio::test]
async fn allow_invalid_certificates_accepts_an_unknown_authority() {
    let setup = Setup::new();
    let server = setup.stranger.server(&["elsewhere.example"]);
    let (port, task) = serve_one(server_config(&server, &setup.ca)).await;
    let tls = {
        let mut o = setup.trusting();
        o.allow_invalid_certificates = true;
        o
    };
    let mut stream = connect(&ServerAddress::tcp("127.0.0.1", port), &with_tls(tls))
        .await
        .unwrap();
    ping(&mut stream).await;
    task.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_handshake_that_never_completes_times_out() {
    // The listener accepts and reads the ClientHello but never answers.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let silent = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut sink = Vec::new();
        tcp.read_to_end(&mut sink).await.unwrap();
        sink.len()
    });
    let options = {
        let mut o = with_tls({
            let mut o = TlsOptions::default();
            o.allow_invalid_certificates = true;
            o
        });
        o.connect_timeout = Some(Duration::from_secs(3));
        o
    };
    let started = tokio::time::Instant::now();
    let err = connect(&ServerAddress::tcp("127.0.0.1", port), &options)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_secs(3));
    assert_eq!(
        err.to_string(),
        format!("network timeout: TLS handshake with 127.0.0.1:{port}")
    );
    // The client gave up and closed; the listener saw a ClientHello, then the end.
    assert!(silent.await.unwrap() > 0);
}
