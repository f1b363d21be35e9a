//! Logging in to a real SecantusDB server started with `--auth`: SCRAM-SHA-1 and
//! SCRAM-SHA-256 users and negotiation between them (the auth spec's test plan, steps
//! 1 to 4, SASLprep users included), wrong passwords, unauthenticated commands,
//! speculative authentication, X.509 over TLS, and `check_auth`.

mod server_support;

use std::collections::BTreeMap;

use bson::{rawdoc, RawDocumentBuf};
use mongopool::ErrorKind;
use mongopool::{
    AuthMechanism, CommandOptions, Connection, ConnectionOptions, Credential, Error, ServerAddress,
    TlsOptions,
};
use mongopool_testkit::{SeedUser, TestServer};

use server_support::address_of;
use server_support::pki::{Pki, CLIENT_SUBJECT, SERVER_NAME};
use server_support::recording_proxy::{Direction, Frame, RecordingProxy, Rewrite};
use server_support::shared::Shared;

const AUTHENTICATION_FAILED: i32 = 18;
const MECHANISM_UNAVAILABLE: i32 = 334;
const UNAUTHORIZED: i32 = 13;
const SHA1: &str = "SCRAM-SHA-1";
const SHA256: &str = "SCRAM-SHA-256";

/// The auth spec's users (step 1 and step 4), and one defined on another database.
fn start_auth_server() -> TestServer {
    TestServer::builder()
        .auth(true)
        .user(SeedUser::scram("sha1", "sha1").mechanisms([SHA1]))
        .user(SeedUser::scram("sha256", "sha256").mechanisms([SHA256]))
        .user(SeedUser::scram("both", "both").mechanisms([SHA1, SHA256]))
        .user(SeedUser::scram("IX", "IX").mechanisms([SHA256]))
        .user(SeedUser::scram("\u{2168}", "\u{2163}").mechanisms([SHA256]))
        .user(
            SeedUser::scram("reporter", "reporter-pw")
                .db("reports")
                .roles([("readWrite", "reports")]),
        )
        .start()
        .expect("start secantusd-rs with --auth")
}

static SERVER: Shared<TestServer> = Shared::new(start_auth_server);

fn scram(user: &str, password: &str, mechanism: Option<AuthMechanism>) -> Credential {
    Credential {
        username: Some(user.to_owned()),
        password: Some(password.to_owned()),
        mechanism,
        ..Credential::default()
    }
}

fn options_with(credential: Option<Credential>) -> ConnectionOptions {
    ConnectionOptions::builder()
        .credential(credential)
        .build()
        .expect("options")
}

async fn login(address: &ServerAddress, credential: Credential) -> Result<Connection, Error> {
    Connection::connect(address, &options_with(Some(credential)), 1, 0).await
}

/// `listDatabases` needs a login (`ping` does not).
async fn list_databases(conn: &mut Connection) -> Result<RawDocumentBuf, Error> {
    conn.command(
        "admin",
        &rawdoc! { "listDatabases": 1 },
        &CommandOptions::default(),
    )
    .await
}

async fn assert_logged_in(address: &ServerAddress, credential: Credential) {
    let what = format!("{:?} with {:?}", credential.username, credential.mechanism);
    let mut conn = login(address, credential)
        .await
        .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), ["admin"], "{what}");
    list_databases(&mut conn)
        .await
        .unwrap_or_else(|e| panic!("{what}: listDatabases: {e:?}"));
}

/// An authentication failure with the server's code 18.
fn assert_authentication_failed(err: &Error) {
    assert!(err.is_authentication(), "{err:?}");
    assert!(!err.is_network(), "{err:?}");
    assert_eq!(err.code(), Some(AUTHENTICATION_FAILED), "{err:?}");
}

#[tokio::test]
async fn every_user_logs_in_with_each_of_its_mechanisms_and_by_negotiation() {
    let server = SERVER.get();
    let address = address_of(&server);
    let users: [(&str, &[AuthMechanism]); 3] = [
        ("sha1", &[AuthMechanism::ScramSha1]),
        ("sha256", &[AuthMechanism::ScramSha256]),
        (
            "both",
            &[AuthMechanism::ScramSha1, AuthMechanism::ScramSha256],
        ),
    ];
    for (user, mechanisms) in users {
        for mechanism in mechanisms {
            assert_logged_in(&address, scram(user, user, Some(*mechanism))).await;
        }
        assert_logged_in(&address, scram(user, user, None)).await;
    }
}

#[tokio::test]
async fn a_mechanism_the_user_lacks_fails() {
    let server = SERVER.get();
    let address = address_of(&server);
    for (user, lacking) in [
        ("sha1", AuthMechanism::ScramSha256),
        ("sha256", AuthMechanism::ScramSha1),
    ] {
        let err = login(&address, scram(user, user, Some(lacking)))
            .await
            .expect_err("the user has no credentials for that mechanism");
        assert!(err.is_authentication(), "{err:?}");
        assert!(!err.is_network(), "{err:?}");
        assert_eq!(err.code(), Some(MECHANISM_UNAVAILABLE), "{err:?}");
    }
}

#[tokio::test]
async fn an_unknown_user_fails_like_a_wrong_password() {
    let server = SERVER.get();
    let err = login(&address_of(&server), scram("nobody", "nobody", None))
        .await
        .expect_err("no such user");
    assert_authentication_failed(&err);
}

/// The saslStart / saslContinue requests a login sent, in order, as (command,
/// mechanism) pairs; a hello carrying `speculativeAuthenticate` counts as a saslStart.
fn sasl_requests(frames: &[Frame]) -> Vec<(String, Option<String>)> {
    frames
        .iter()
        .filter(|f| f.direction == Direction::ToServer)
        .filter_map(|f| {
            let body = f.body()?;
            let name = f.command_name()?;
            let start = if name == "isMaster" || name == "hello" {
                body.get_document("speculativeAuthenticate")
                    .ok()?
                    .to_owned()
            } else {
                body
            };
            let mechanism = start.get_str("mechanism").ok().map(str::to_owned);
            let command = start.iter().next()?.ok()?.0.as_str().to_owned();
            Some((command, mechanism))
        })
        .collect()
}

#[tokio::test]
async fn negotiation_picks_sha256_when_listed_and_sha1_otherwise() {
    let server = SERVER.get();
    for (user, listed, used) in [
        ("both", vec![SHA1, SHA256], SHA256),
        ("sha256", vec![SHA256], SHA256),
        ("sha1", vec![SHA1], SHA1),
    ] {
        let proxy = RecordingProxy::start(server.address()).await;
        let mut conn = login(&proxy.address(), scram(user, user, None))
            .await
            .unwrap_or_else(|e| panic!("{user}: {e:?}"));
        list_databases(&mut conn).await.expect("logged in");
        let mut sasl_supported = conn.hello().sasl_supported_mechs.clone().expect("listed");
        sasl_supported.sort();
        assert_eq!(sasl_supported, listed, "{user}");

        // The hello asked for the user's mechanisms.
        let hello = proxy.frames()[0].body().expect("hello");
        assert_eq!(
            hello.get_str("saslSupportedMechs").unwrap(),
            format!("admin.{user}")
        );
        // Speculation starts with SCRAM-SHA-256 (the spec's default); a SHA-1-only
        // user then needs a conversation of its own, with SCRAM-SHA-1.
        let requests = sasl_requests(&proxy.frames());
        assert_eq!(
            requests[0],
            ("saslStart".to_owned(), Some(SHA256.to_owned())),
            "{user}"
        );
        let mechanism_used = requests.iter().rev().find_map(|(_, m)| m.clone()).unwrap();
        assert_eq!(mechanism_used, used, "{user}: {requests:?}");
    }
}

#[tokio::test]
async fn saslprep_users_log_in_with_normalized_and_unnormalized_passwords() {
    let server = SERVER.get();
    let address = address_of(&server);
    for (user, password) in [
        ("IX", "IX"),
        ("IX", "I\u{00AD}X"),
        ("\u{2168}", "IV"),
        ("\u{2168}", "I\u{00AD}V"),
    ] {
        assert_logged_in(&address, scram(user, password, None)).await;
        assert_logged_in(
            &address,
            scram(user, password, Some(AuthMechanism::ScramSha256)),
        )
        .await;
    }
}

#[tokio::test]
async fn a_wrong_password_fails_with_code_18_and_is_never_shown() {
    let server = SERVER.get();
    let address = address_of(&server);
    let password = "Sekr1t-not-both";
    for mechanism in [
        None,
        Some(AuthMechanism::ScramSha1),
        Some(AuthMechanism::ScramSha256),
    ] {
        let credential = scram("both", password, mechanism);
        let options = options_with(Some(credential.clone()));
        let err = Connection::connect(&address, &options, 1, 0)
            .await
            .expect_err("wrong password");
        assert_authentication_failed(&err);
        let ErrorKind::Authentication {
            mechanism: used, ..
        } = err.kind()
        else {
            panic!("{err:?}");
        };
        assert!(used.starts_with("SCRAM-SHA-"), "{used}");
        for text in [
            err.to_string(),
            format!("{err:?}"),
            format!("{credential:?}"),
            format!("{options:?}"),
        ] {
            assert!(!text.contains(password), "the password shows in {text}");
        }
    }
}

#[tokio::test]
async fn a_command_that_needs_a_login_is_refused_with_code_13() {
    let server = SERVER.get();
    let mut conn = Connection::connect(&address_of(&server), &options_with(None), 1, 0)
        .await
        .expect("the handshake needs no login");
    assert_eq!(conn.auth_sources().count(), 0);
    conn.command("admin", &rawdoc! { "ping": 1 }, &CommandOptions::default())
        .await
        .expect("ping needs no login");
    let err = list_databases(&mut conn).await.expect_err("not logged in");
    assert!(err.is_operation_failure(), "{err:?}");
    assert!(!err.is_authentication(), "{err:?}");
    assert_eq!(err.code(), Some(UNAUTHORIZED));
    assert!(conn.is_usable());
}

/// The command names of the requests a client sent.
fn request_names(proxy: &RecordingProxy) -> Vec<String> {
    proxy
        .frames_to(Direction::ToServer)
        .iter()
        .map(|f| f.command_name().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn speculative_authentication_saves_one_round_trip() {
    let server = SERVER.get();
    let credential = scram("both", "both", Some(AuthMechanism::ScramSha256));

    // SecantusDB ignores speculativeAuthenticate: the hello reply has no answer and
    // the client runs the whole conversation after it.
    let direct = RecordingProxy::start(server.address()).await;
    let mut conn = login(&direct.address(), credential.clone())
        .await
        .expect("login when the server does not speculate");
    assert!(conn.hello().speculative_authenticate.is_none());
    assert_eq!(
        request_names(&direct),
        ["isMaster", "saslStart", "saslContinue"]
    );
    list_databases(&mut conn).await.expect("logged in");

    // Answered as a MongoDB server does (see proxy_rewrites.rs), the saslStart rides
    // in the hello, and the conversation goes on from the answer.
    let speculating = RecordingProxy::start_with(server.address(), Rewrite::SpeculativeAuth).await;
    let mut conn = login(&speculating.address(), credential.clone())
        .await
        .expect("speculative login");
    let answer = conn
        .hello()
        .speculative_authenticate
        .clone()
        .expect("the hello carried the answer");
    assert!(
        answer.get("conversationId").unwrap().is_some(),
        "{answer:?}"
    );
    assert_eq!(request_names(&speculating), ["isMaster", "saslContinue"]);
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), ["admin"]);
    list_databases(&mut conn).await.expect("logged in");

    // Logging in after the handshake can never ride in the hello.
    let later = RecordingProxy::start_with(server.address(), Rewrite::SpeculativeAuth).await;
    let mut conn = Connection::connect(&later.address(), &options_with(None), 1, 0)
        .await
        .expect("connect");
    conn.authenticate(&credential).await.expect("login");
    assert_eq!(
        request_names(&later),
        ["isMaster", "saslStart", "saslContinue"]
    );
    list_databases(&mut conn).await.expect("logged in");

    assert_eq!(
        request_names(&speculating).len() + 1,
        request_names(&later).len()
    );
}

#[tokio::test]
async fn a_failed_speculation_falls_back_to_the_users_mechanism() {
    let server = SERVER.get();
    let proxy = RecordingProxy::start_with(server.address(), Rewrite::SpeculativeAuth).await;
    let mut conn = login(&proxy.address(), scram("sha1", "sha1", None))
        .await
        .expect("login");
    // The speculative SCRAM-SHA-256 start failed for a SHA-1-only user, so the hello
    // reply carries no answer and the client starts over with SCRAM-SHA-1.
    assert!(conn.hello().speculative_authenticate.is_none());
    assert_eq!(
        sasl_requests(&proxy.frames()),
        [
            ("saslStart".to_owned(), Some(SHA256.to_owned())),
            ("saslStart".to_owned(), Some(SHA1.to_owned())),
            ("saslContinue".to_owned(), None),
        ]
    );
    list_databases(&mut conn).await.expect("logged in");
}

/// A TLS-only server with auth and one X.509 user, the client certificate's subject.
struct X509Server {
    server: TestServer,
    pki: Pki,
}

static X509_SERVER: Shared<X509Server> = Shared::new(|| {
    let pki = Pki::generate();
    let server = TestServer::builder()
        .auth(true)
        .tls(pki.server_files(false))
        .user(SeedUser::x509(CLIENT_SUBJECT))
        .start()
        .expect("start a TLS secantusd-rs with --auth");
    X509Server { server, pki }
});

impl X509Server {
    fn options(&self, cert_key_file: std::path::PathBuf, user: Option<&str>) -> ConnectionOptions {
        ConnectionOptions::builder()
            .tls(Some({
                let mut o = TlsOptions::default();
                o.ca_file = Some(self.pki.ca_file());
                o.cert_key_file = Some(cert_key_file);
                o
            }))
            .credential(Some(Credential {
                username: user.map(str::to_owned),
                mechanism: Some(AuthMechanism::MongoDbX509),
                ..Credential::default()
            }))
            .build()
            .expect("options")
    }

    async fn connect(&self, options: &ConnectionOptions) -> Result<Connection, Error> {
        let address = ServerAddress::tcp(SERVER_NAME, self.server.port());
        Connection::connect(&address, options, 1, 0).await
    }
}

#[tokio::test]
async fn x509_logs_in_the_certificate_subject() {
    let x509 = X509_SERVER.get();
    for user in [None, Some(CLIENT_SUBJECT)] {
        let options = x509.options(x509.pki.client_cert_key_file(), user);
        let mut conn = x509
            .connect(&options)
            .await
            .unwrap_or_else(|e| panic!("X.509 login as {user:?}: {e:?}"));
        assert_eq!(conn.auth_sources().collect::<Vec<_>>(), ["$external"]);
        list_databases(&mut conn).await.expect("logged in");
    }
}

#[tokio::test]
async fn x509_with_a_certificate_of_no_user_fails() {
    let x509 = X509_SERVER.get();
    let options = x509.options(x509.pki.nobody_cert_key_file(), None);
    let err = x509
        .connect(&options)
        .await
        .expect_err("CN=nobody is no user");
    assert!(err.is_authentication(), "{err:?}");

    // The user name must be the certificate's subject.
    let options = x509.options(x509.pki.client_cert_key_file(), Some("CN=somebody else"));
    let err = x509
        .connect(&options)
        .await
        .expect_err("the name is not the certificate's");
    assert!(err.is_authentication(), "{err:?}");
}

fn credentials(list: &[(&str, Credential)]) -> BTreeMap<String, Credential> {
    list.iter()
        .map(|(source, credential)| (source.to_string(), credential.clone()))
        .collect()
}

fn reporter() -> Credential {
    Credential {
        source: Some("reports".to_owned()),
        ..scram("reporter", "reporter-pw", None)
    }
}

async fn find_report(conn: &mut Connection) -> Result<RawDocumentBuf, Error> {
    conn.command(
        "reports",
        &rawdoc! { "find": "daily", "filter": {} },
        &CommandOptions::default(),
    )
    .await
}

/// The server's view of who is logged in on this connection, as (user, db) pairs.
async fn authenticated_users(conn: &mut Connection) -> Vec<(String, String)> {
    let status = conn
        .command(
            "admin",
            &rawdoc! { "connectionStatus": 1 },
            &CommandOptions::default(),
        )
        .await
        .expect("connectionStatus");
    let mut users: Vec<(String, String)> = status
        .get_document("authInfo")
        .unwrap()
        .get_array("authenticatedUsers")
        .unwrap()
        .into_iter()
        .map(|user| {
            let user = user.unwrap();
            let user = user.as_document().unwrap();
            (
                user.get_str("user").unwrap().to_owned(),
                user.get_str("db").unwrap().to_owned(),
            )
        })
        .collect();
    users.sort();
    users
}

fn user(name: &str, db: &str) -> (String, String) {
    (name.to_owned(), db.to_owned())
}

#[tokio::test]
async fn check_auth_logs_in_to_a_second_database() {
    let server = SERVER.get();
    let admin = scram("both", "both", None);
    let mut conn = login(&address_of(&server), admin.clone())
        .await
        .expect("login");
    assert_eq!(
        authenticated_users(&mut conn).await,
        [user("both", "admin")]
    );
    conn.check_auth(&credentials(&[
        ("admin", admin.clone()),
        ("reports", reporter()),
    ]))
    .await
    .expect("log in to reports too");
    assert_eq!(
        conn.auth_sources().collect::<Vec<_>>(),
        ["admin", "reports"]
    );
    assert_eq!(
        authenticated_users(&mut conn).await,
        [user("both", "admin"), user("reporter", "reports")]
    );
    find_report(&mut conn).await.expect("find on reports");

    // Nothing changes when nothing new is asked for.
    let before = authenticated_users(&mut conn).await;
    conn.check_auth(&credentials(&[("admin", admin), ("reports", reporter())]))
        .await
        .expect("no change");
    assert_eq!(conn.auth_sources().count(), 2);
    assert_eq!(authenticated_users(&mut conn).await, before);
}

#[tokio::test]
async fn check_auth_logs_out_of_a_credential_no_longer_wanted() {
    let server = SERVER.get();
    let mut conn = Connection::connect(&address_of(&server), &options_with(None), 1, 0)
        .await
        .expect("connect");
    conn.check_auth(&credentials(&[("reports", reporter())]))
        .await
        .expect("log in to reports");
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), ["reports"]);
    find_report(&mut conn)
        .await
        .expect("reporter may read reports");

    // SecantusDB knows logout, so the connection stays open, without the login.
    conn.check_auth(&BTreeMap::new())
        .await
        .expect("logout of reports");
    assert_eq!(conn.auth_sources().count(), 0);
    assert!(conn.is_usable());
    let err = find_report(&mut conn).await.expect_err("logged out");
    assert_eq!(err.code(), Some(UNAUTHORIZED), "{err:?}");
}

/// Negotiation asks the server which mechanisms *this* user has; the handshake's
/// answer was about another user, or about nobody.
#[tokio::test]
async fn authenticate_after_the_handshake_negotiates_for_its_own_user() {
    let server = SERVER.get();
    let mut conn = Connection::connect(&address_of(&server), &options_with(None), 1, 0)
        .await
        .expect("connect");
    conn.authenticate(&scram("sha256", "sha256", None))
        .await
        .expect("a SCRAM-SHA-256-only user, negotiated after the handshake");
    assert_eq!(
        authenticated_users(&mut conn).await,
        [user("sha256", "admin")]
    );
}

#[tokio::test]
async fn check_auth_replaces_a_changed_credential() {
    let server = SERVER.get();
    let mut conn = login(&address_of(&server), scram("sha1", "sha1", None))
        .await
        .expect("login");
    conn.check_auth(&credentials(&[("admin", scram("sha256", "sha256", None))]))
        .await
        .expect("switch users");
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), ["admin"]);
    assert_eq!(
        authenticated_users(&mut conn).await,
        [user("sha256", "admin")]
    );
}
