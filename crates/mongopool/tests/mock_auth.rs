//! Logging in against the mock server's own server sides of SCRAM, MONGODB-CR and
//! PLAIN: the conversations, old servers' extra step, speculative authentication,
//! servers that lie or refuse, and mechanism negotiation.

mod mock_support;

use bson::{rawdoc, RawBsonRef};
use mongopool::{AuthMechanism, ConnectionOptions, Credential};
use mongopool_testkit::mock::{
    Behavior, MockServer, MongoCrServer, PlainServer, Request, ScramMechanism, ScramServer,
    ScramStats,
};

use mock_support::{after_handshake, connect, connect_with};

fn credential(mechanism: Option<AuthMechanism>, password: &str) -> Credential {
    Credential {
        username: Some("alice".into()),
        password: Some(password.into()),
        mechanism,
        ..Default::default()
    }
}

fn logging_in(credential: Credential) -> ConnectionOptions {
    ConnectionOptions::builder()
        .credential(Some(credential))
        .build()
        .unwrap()
}

fn plain_without_tls(credential: Credential) -> ConnectionOptions {
    ConnectionOptions::builder()
        .credential(Some(credential))
        .allow_plain_without_tls(true)
        .build()
        .unwrap()
}

fn names(requests: &[Request]) -> Vec<&str> {
    requests
        .iter()
        .map(|r| r.command_name().unwrap_or("?"))
        .collect()
}

fn payload(request: &Request) -> Vec<u8> {
    match request.command().unwrap().get("payload") {
        Ok(Some(RawBsonRef::Binary(b))) => b.bytes.to_vec(),
        other => panic!("no binary payload: {other:?}"),
    }
}

/// Round trips spent on login after the hello.
fn round_trips(stats: ScramStats) -> usize {
    stats.sasl_starts + stats.sasl_continues
}

// ---------------------------------------------------------------------------------
// MONGODB-CR and PLAIN

#[tokio::test]
async fn mongodb_cr_logs_in_with_getnonce_and_authenticate() {
    let cr = MongoCrServer::new("alice", "secret");
    let server = MockServer::start(Behavior::legacy(2).auth(cr.clone()))
        .await
        .unwrap();
    let options = logging_in(credential(Some(AuthMechanism::MongoDbCr), "secret"));
    let conn = connect_with(&server, &options).await.unwrap();
    assert_eq!(cr.logins(), 1);
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), vec!["admin"]);

    let sent = after_handshake(server.journal());
    assert_eq!(names(&sent), vec!["getnonce", "authenticate"]);
    let authenticate = sent[1].command().unwrap();
    assert_eq!(authenticate.get_str("user").unwrap(), "alice");
    assert_eq!(
        sent[1].namespace(),
        Some("admin.$cmd"),
        "OP_QUERY to a wire 2 server"
    );
    assert!(authenticate.get_str("key").unwrap().len() == 32);
}

#[tokio::test]
async fn mongodb_cr_with_a_wrong_password_is_an_authentication_error() {
    let cr = MongoCrServer::new("alice", "secret");
    let server = MockServer::start(Behavior::legacy(2).auth(cr.clone()))
        .await
        .unwrap();
    let options = logging_in(credential(Some(AuthMechanism::MongoDbCr), "wrong"));
    let err = connect_with(&server, &options).await.unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    assert_eq!(err.code(), Some(18));
    assert_eq!(cr.logins(), 0);
}

#[tokio::test]
async fn plain_sends_user_and_password_in_one_sasl_start_on_external() {
    let plain = PlainServer::new("alice", "secret");
    let server = MockServer::start(Behavior::modern().auth(plain.clone()))
        .await
        .unwrap();
    // The mock speaks plain TCP: PLAIN must be allowed without TLS explicitly.
    let conn = connect_with(
        &server,
        &plain_without_tls(credential(Some(AuthMechanism::Plain), "secret")),
    )
    .await
    .unwrap();
    assert_eq!(plain.logins(), 1);
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), vec!["$external"]);

    let sent = after_handshake(server.journal());
    assert_eq!(names(&sent), vec!["saslStart"]);
    assert_eq!(sent[0].db(), Some("$external"));
    assert_eq!(
        sent[0].command().unwrap().get_str("mechanism").unwrap(),
        "PLAIN"
    );
    assert_eq!(payload(&sent[0]), b"\0alice\0secret");

    let err = connect_with(
        &server,
        &plain_without_tls(credential(Some(AuthMechanism::Plain), "wrong")),
    )
    .await
    .unwrap_err();
    assert!(err.is_authentication() && err.code() == Some(18), "{err:?}");
    assert_eq!(plain.logins(), 1);
}

// ---------------------------------------------------------------------------------
// SCRAM

#[tokio::test]
async fn scram_with_the_pre_4_4_extra_empty_step() {
    for (mechanism, auth_mechanism) in [
        (ScramMechanism::Sha1, AuthMechanism::ScramSha1),
        (ScramMechanism::Sha256, AuthMechanism::ScramSha256),
    ] {
        let scram = ScramServer::new(mechanism, "alice", "secret").extra_empty_step();
        // MongoDB 4.2: OP_MSG, no speculative authentication.
        let server = MockServer::start(Behavior::legacy(8).auth(scram.clone()))
            .await
            .unwrap();
        let conn = connect_with(
            &server,
            &logging_in(credential(Some(auth_mechanism), "secret")),
        )
        .await
        .unwrap();
        assert!(conn.is_usable());
        assert_eq!(
            scram.stats(),
            ScramStats {
                sasl_starts: 1,
                sasl_continues: 2,
                successes: 1,
                ..ScramStats::default()
            },
            "{mechanism:?}"
        );
        let sent = after_handshake(server.journal());
        assert_eq!(
            names(&sent),
            vec!["saslStart", "saslContinue", "saslContinue"]
        );
        let start = sent[0].command().unwrap();
        assert_eq!(start.get_str("mechanism").unwrap(), mechanism.name());
        assert!(start
            .get_document("options")
            .unwrap()
            .get_bool("skipEmptyExchange")
            .unwrap());
        assert!(!payload(&sent[1]).is_empty(), "the client proof");
        assert!(payload(&sent[2]).is_empty(), "the extra step is empty");
    }
}

#[tokio::test]
async fn scram_on_a_4_4_server_skips_the_empty_exchange() {
    let scram = ScramServer::new(ScramMechanism::Sha256, "alice", "secret").without_speculative();
    let server = MockServer::start(Behavior::modern().auth(scram.clone()))
        .await
        .unwrap();
    connect_with(
        &server,
        &logging_in(credential(Some(AuthMechanism::ScramSha256), "secret")),
    )
    .await
    .unwrap();
    assert_eq!(
        (round_trips(scram.stats()), scram.stats().successes),
        (2, 1)
    );
}

#[tokio::test]
async fn speculative_scram_in_the_hello_saves_a_round_trip() {
    let speculative = ScramServer::new(ScramMechanism::Sha256, "alice", "secret");
    let classic = ScramServer::new(ScramMechanism::Sha256, "alice", "secret").without_speculative();
    let with = MockServer::start(Behavior::modern().auth(speculative.clone()))
        .await
        .unwrap();
    let without = MockServer::start(Behavior::modern().auth(classic.clone()))
        .await
        .unwrap();
    let options = logging_in(credential(Some(AuthMechanism::ScramSha256), "secret"));
    connect_with(&with, &options).await.unwrap();
    connect_with(&without, &options).await.unwrap();

    assert_eq!(speculative.stats().speculative_starts, 1);
    assert_eq!(speculative.stats().successes, 1);
    assert_eq!(classic.stats().successes, 1);
    assert_eq!(round_trips(speculative.stats()), 1);
    assert_eq!(round_trips(classic.stats()), 2);
    assert_eq!(
        names(&after_handshake(with.journal())),
        vec!["saslContinue"]
    );
    assert_eq!(
        names(&after_handshake(without.journal())),
        vec!["saslStart", "saslContinue"]
    );
    // Both hellos offered the speculative start; only one server took it.
    for server in [&with, &without] {
        let hello = server.journal().requests().remove(0);
        let start = hello
            .command()
            .unwrap()
            .get_document("speculativeAuthenticate")
            .unwrap();
        assert_eq!(start.get_str("mechanism").unwrap(), "SCRAM-SHA-256");
        assert_eq!(start.get_str("db").unwrap(), "admin");
    }
}

#[tokio::test]
async fn a_wrong_server_signature_fails_the_login() {
    let scram =
        ScramServer::new(ScramMechanism::Sha256, "alice", "secret").wrong_server_signature();
    let server = MockServer::start(Behavior::modern().auth(scram.clone()))
        .await
        .unwrap();
    let err = connect_with(
        &server,
        &logging_in(credential(Some(AuthMechanism::ScramSha256), "secret")),
    )
    .await
    .unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    assert!(err.to_string().contains("signature"), "{err}");
    assert_eq!(
        err.code(),
        None,
        "the client refused the server, not the other way"
    );
    // The proof was right, so the server took the login; the client stopped there.
    assert_eq!(scram.stats().failures, 0);
    assert_eq!(
        names(&after_handshake(server.journal())),
        vec!["saslContinue"]
    );
}

#[tokio::test]
async fn a_wrong_password_is_refused_by_the_server() {
    let scram = ScramServer::new(ScramMechanism::Sha1, "alice", "secret");
    let server = MockServer::start(Behavior::modern().auth(scram.clone()))
        .await
        .unwrap();
    let err = connect_with(
        &server,
        &logging_in(credential(Some(AuthMechanism::ScramSha1), "wrong")),
    )
    .await
    .unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    assert_eq!(err.code(), Some(18));
    assert_eq!((scram.stats().failures, scram.stats().successes), (1, 0));
}

#[tokio::test]
async fn server_errors_in_scram_messages_fail_the_login_with_their_text() {
    let servers = [
        (
            ScramServer::new(ScramMechanism::Sha256, "alice", "secret")
                .without_speculative()
                .error_in_server_first("other-error"),
            "other-error",
        ),
        (
            ScramServer::new(ScramMechanism::Sha256, "alice", "secret")
                .error_in_server_final("invalid-proof"),
            "invalid-proof",
        ),
    ];
    for (scram, reason) in servers {
        let server = MockServer::start(Behavior::modern().auth(scram))
            .await
            .unwrap();
        let err = connect_with(
            &server,
            &logging_in(credential(Some(AuthMechanism::ScramSha256), "secret")),
        )
        .await
        .unwrap_err();
        assert!(err.is_authentication(), "{err:?}");
        assert!(
            err.to_string().contains(reason),
            "the server's reason is kept: {err}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Negotiation

#[tokio::test]
async fn no_mechanism_and_a_server_listing_only_sha1_logs_in_with_sha1() {
    let sha1 = ScramServer::new(ScramMechanism::Sha1, "alice", "secret");
    let server = MockServer::start(Behavior::modern().auth(sha1.clone()))
        .await
        .unwrap();
    let conn = connect_with(&server, &logging_in(credential(None, "secret")))
        .await
        .unwrap();
    assert_eq!(
        conn.hello().sasl_supported_mechs,
        Some(vec!["SCRAM-SHA-1".to_owned()])
    );
    assert_eq!(
        conn.hello().speculative_authenticate,
        None,
        "SHA-256 was refused"
    );
    assert_eq!(sha1.stats().successes, 1);
    let hello = server.journal().requests().remove(0);
    assert_eq!(
        hello
            .command()
            .unwrap()
            .get_str("saslSupportedMechs")
            .unwrap(),
        "admin.alice"
    );
    let sent = after_handshake(server.journal());
    assert_eq!(names(&sent), vec!["saslStart", "saslContinue"]);
    assert_eq!(
        sent[0].command().unwrap().get_str("mechanism").unwrap(),
        "SCRAM-SHA-1"
    );
}

#[tokio::test]
async fn no_mechanism_and_a_server_listing_sha256_logs_in_speculatively_with_sha256() {
    let sha1 = ScramServer::new(ScramMechanism::Sha1, "alice", "secret");
    let sha256 = ScramServer::new(ScramMechanism::Sha256, "alice", "secret");
    let server = MockServer::start(Behavior::modern().auth(sha1.clone()).auth(sha256.clone()))
        .await
        .unwrap();
    let conn = connect_with(&server, &logging_in(credential(None, "secret")))
        .await
        .unwrap();
    assert_eq!(
        conn.hello().sasl_supported_mechs,
        Some(vec!["SCRAM-SHA-1".to_owned(), "SCRAM-SHA-256".to_owned()])
    );
    assert_eq!(sha1.stats(), ScramStats::default());
    assert_eq!(
        (sha256.stats().speculative_starts, sha256.stats().successes),
        (1, 1)
    );
    assert_eq!(
        names(&after_handshake(server.journal())),
        vec!["saslContinue"]
    );
}

/// Used to log in with MONGODB-CR by itself (a downgrade anyone in the middle could
/// force by claiming an old wire version); now MONGODB-CR must be asked for.
#[tokio::test]
async fn no_mechanism_below_wire_version_3_is_refused_not_downgraded_to_mongodb_cr() {
    let cr = MongoCrServer::new("alice", "secret");
    let scram = ScramServer::new(ScramMechanism::Sha1, "alice", "secret");
    let server = MockServer::start(Behavior::legacy(2).auth(cr.clone()).auth(scram.clone()))
        .await
        .unwrap();
    let err = connect_with(&server, &logging_in(credential(None, "secret")))
        .await
        .unwrap_err();
    assert!(err.is_authentication(), "{err:?}");
    assert!(err.to_string().contains("MONGODB-CR"), "{err}");
    assert_eq!(cr.logins(), 0);
    assert_eq!(scram.stats(), ScramStats::default());
    assert!(after_handshake(server.journal()).is_empty());
    // Asked for by name, it still works.
    connect_with(
        &server,
        &logging_in(credential(Some(AuthMechanism::MongoDbCr), "secret")),
    )
    .await
    .unwrap();
    assert_eq!(cr.logins(), 1);
}

#[tokio::test]
async fn authenticate_logs_an_open_connection_in() {
    let scram = ScramServer::new(ScramMechanism::Sha256, "alice", "secret");
    let server = MockServer::start(Behavior::modern().auth(scram.clone()))
        .await
        .unwrap();
    let mut conn = connect(&server).await;
    assert_eq!(conn.auth_sources().count(), 0);
    conn.authenticate(&credential(Some(AuthMechanism::ScramSha256), "secret"))
        .await
        .unwrap();
    assert_eq!(conn.auth_sources().collect::<Vec<_>>(), vec!["admin"]);
    assert_eq!((scram.stats().sasl_starts, scram.stats().successes), (1, 1));
    let err = conn
        .authenticate(&Credential {
            source: Some("other".into()),
            ..credential(Some(AuthMechanism::ScramSha256), "secret")
        })
        .await
        .unwrap_err();
    assert!(err.is_authentication() && err.code() == Some(18), "{err:?}");
    assert!(
        conn.is_usable(),
        "a refused login leaves the connection in step"
    );
    let reply = conn
        .command("admin", &rawdoc! {"ping": 1}, &Default::default())
        .await
        .unwrap();
    assert!(reply.get_document("echo").is_ok());
}
