//! TLS against a real SecantusDB server, with certificates made in the test: a trusted
//! chain works; a wrong host name or an unknown CA fail with an error that says so;
//! the relaxations do what they say and no more; client certificates, also with an
//! encrypted key opened with `tlsCertificateKeyFilePassword`. (X.509 authentication is
//! mostly in `server_auth.rs`.)

mod server_support;

use std::error::Error as _;
use std::time::{Duration, Instant};

use bson::rawdoc;
use mongopool::{
    CommandOptions, Connection, ConnectionOptions, ConnectionString, Error, ServerAddress,
    TlsOptions,
};
use mongopool_testkit::{SeedUser, TestServer};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use server_support::pki::{Pki, CLIENT_KEY_PASSWORD, CLIENT_SUBJECT, SERVER_NAME};
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

    /// Requires a client certificate, and a login; the client certificate's subject is
    /// an X.509 user.
    fn start_x509() -> TlsServer {
        let pki = Pki::generate();
        let server = TestServer::builder()
            .auth(true)
            .tls(pki.server_files(true))
            .user(SeedUser::x509(CLIENT_SUBJECT))
            .start()
            .expect("start a TLS secantusd-rs with --auth");
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
        {
            let mut o = TlsOptions::default();
            o.ca_file = Some(self.pki.ca_file());
            o
        }
    }
}

/// Client certificates are verified when sent, but optional.
static OPTIONAL_CLIENT_CERT: Shared<TlsServer> = Shared::new(|| TlsServer::start(false));
/// Client certificates are required.
static REQUIRED_CLIENT_CERT: Shared<TlsServer> = Shared::new(|| TlsServer::start(true));
/// Client certificates are required, and logins too (X.509 users).
static X509_REQUIRED: Shared<TlsServer> = Shared::new(TlsServer::start_x509);

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
    let stranger = {
        let mut o = TlsOptions::default();
        o.ca_file = Some(tls.pki.stranger_ca_file());
        o
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
    let relaxed = {
        let mut o = tls.trusting();
        o.allow_invalid_hostnames = true;
        o
    };
    let mut conn = connect(&tls.by_ip(), relaxed)
        .await
        .expect("the host name is not checked");
    ping(&mut conn).await;

    let stranger = {
        let mut o = TlsOptions::default();
        o.ca_file = Some(tls.pki.stranger_ca_file());
        o.allow_invalid_hostnames = true;
        o
    };
    let err = connect(&tls.by_ip(), stranger)
        .await
        .expect_err("the chain is still verified");
    assert!(full_text(&err).contains("UnknownIssuer"), "{err:?}");
}

#[tokio::test]
async fn allow_invalid_certificates_accepts_an_unknown_ca() {
    let tls = OPTIONAL_CLIENT_CERT.get();
    let relaxed = {
        let mut o = TlsOptions::default();
        o.ca_file = Some(tls.pki.stranger_ca_file());
        o.allow_invalid_certificates = true;
        o
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

    let with_cert = {
        let mut o = tls.trusting();
        o.cert_key_file = Some(tls.pki.client_cert_key_file());
        o
    };
    let mut conn = connect(&tls.by_name(), with_cert)
        .await
        .expect("with a client certificate");
    ping(&mut conn).await;
}

fn uri_encoded(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

/// A connection string for `tls` with its CA, the encrypted client key file and
/// `password` (when given), then `extra` options.
fn encrypted_key_uri(tls: &TlsServer, password: Option<&str>, extra: &str) -> String {
    let file = tls.pki.encrypted_client_cert_key_file();
    let mut uri = format!(
        "mongodb://{SERVER_NAME}:{}/?tls=true&tlsCAFile={}&tlsCertificateKeyFile={}",
        tls.server.port(),
        uri_encoded(tls.pki.ca_file().to_str().unwrap()),
        uri_encoded(file.to_str().unwrap()),
    );
    if let Some(password) = password {
        uri.push_str("&tlsCertificateKeyFilePassword=");
        uri.push_str(&uri_encoded(password));
    }
    uri.push_str(extra);
    uri
}

async fn connect_by_uri(uri: &str) -> Result<Connection, Error> {
    let cs = ConnectionString::parse(uri).expect("a valid connection string");
    let options = ConnectionOptions::from_connection_string(&cs)?;
    Connection::connect(&cs.hosts()[0], &options, 1, 0).await
}

async fn list_databases(conn: &mut Connection) -> Result<(), Error> {
    conn.command(
        "admin",
        &rawdoc! { "listDatabases": 1 },
        &CommandOptions::default(),
    )
    .await
    .map(drop)
}

#[tokio::test]
async fn an_encrypted_client_key_from_the_uri_is_sent_and_logs_in_with_x509() {
    let tls = X509_REQUIRED.get();

    // The server requires a client certificate: the handshake works only with the key.
    let uri = encrypted_key_uri(&tls, Some(CLIENT_KEY_PASSWORD), "");
    let mut conn = connect_by_uri(&uri)
        .await
        .expect("TLS with the decrypted client key");
    ping(&mut conn).await;
    let err = list_databases(&mut conn)
        .await
        .expect_err("not logged in yet");
    assert_eq!(err.code(), Some(13), "{err:?}");

    let uri = encrypted_key_uri(
        &tls,
        Some(CLIENT_KEY_PASSWORD),
        "&authMechanism=MONGODB-X509",
    );
    let mut conn = connect_by_uri(&uri).await.expect("X.509 login");
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), ["$external"]);
    list_databases(&mut conn)
        .await
        .expect("logged in as the certificate's subject");
}

#[tokio::test]
async fn a_wrong_or_missing_key_password_fails_before_connecting() {
    let tls = X509_REQUIRED.get();
    let file = tls.pki.encrypted_client_cert_key_file();
    let wrong = "s3cret p@ss&word=%/-";
    for (password, expected) in [
        (Some(wrong), "could not be decrypted"),
        (None, "tlsCertificateKeyFilePassword"),
    ] {
        let uri = encrypted_key_uri(&tls, password, "&authMechanism=MONGODB-X509");
        let cs = ConnectionString::parse(&uri).expect("a valid connection string");
        // The key is decrypted while the options are built, before any connection exists.
        let err =
            ConnectionOptions::from_connection_string(&cs).expect_err("the key cannot be used");
        assert!(err.is_configuration(), "{err:?}");
        let text = full_text(&err);
        assert!(text.contains(expected), "{text}");
        assert!(text.contains(file.to_str().unwrap()), "{text}");
        let shown = format!("{text} {err:?} {cs:?}");
        for secret in [wrong, CLIENT_KEY_PASSWORD] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.contains(&uri_encoded(secret)), "{shown}");
        }
    }
}
