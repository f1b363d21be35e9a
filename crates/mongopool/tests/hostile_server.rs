//! A malicious server, played by the mock: every way it can try to burn the client's
//! CPU or memory, weaken its login or confuse its connection. Each case must end in
//! a clear error, within bounded time (a real-time bound in `bounded`) and bounded
//! memory (a counting allocator; the mock server's own allocations count too, so the
//! bounds include the copy of the reply it sends).
// Each case holds a process-wide lock for its whole run, awaits included: the cases
// run on their own runtimes, in parallel threads, and the lock keeps one case's
// allocations out of another's measurement. No task of the same runtime waits on it.
#![allow(clippy::await_holding_lock)]

mod hostile_support;
mod mock_support;

use std::time::Duration;

use bson::rawdoc;
use mongopool::{AuthMechanism, ConnectionOptions, Credential};
use mongopool_testkit::mock::{
    Action, Behavior, MockServer, MongoCrServer, PlainServer, Reply, ResponseTo, ScramMechanism,
    ScramServer,
};
use mongopool_wire::scram::KeyCache;
use mongopool_wire::Compressor;

use hostile_support::{
    answering_ping, bounded, connect_with, header_only, measured, one_at_a_time, op_compressed,
    op_msg, options, ping_error,
};

const MB: usize = 1_000_000;

// ---------------------------------------------------------------------------------
// Sizes

#[tokio::test]
async fn a_2_gb_announced_frame_is_refused_before_anything_is_allocated() {
    let _one = one_at_a_time();
    let server = answering_ping(Behavior::modern(), header_only(i32::MAX, 2013)).await;
    let ((err, conn), peak) = measured(ping_error(&server, &options())).await;
    assert!(err.is_protocol(), "{err:?}");
    assert!(format!("{err:?}").contains("2147483647"), "{err:?}");
    assert!(!conn.is_usable());
    assert!(peak < MB, "peak {peak} B");
}

#[tokio::test]
async fn a_hello_with_absurd_limits_is_clamped_to_the_ceiling() {
    let _one = one_at_a_time();
    // The server claims it may send 2^62-byte messages, then announces a 60 MB one and
    // sends only its header: with the claim believed, the client would wait for
    // 60 MB; clamped to 48,000,000, the header alone is refused.
    let behavior = Behavior::modern()
        .hello_field("maxMessageSizeBytes", 1_i64 << 62)
        .hello_field("maxBsonObjectSize", 1_i64 << 62)
        .hello_field("maxWriteBatchSize", 1_i64 << 40);
    let server = answering_ping(behavior, header_only(60_000_000, 2013)).await;
    let conn = connect_with(&server, &options()).await.unwrap();
    assert_eq!(conn.hello().max_message_size_bytes, 48_000_000);
    assert_eq!(conn.hello().max_bson_object_size, 48_000_000);
    drop(conn);
    let ((err, _), peak) = measured(ping_error(&server, &options())).await;
    assert!(format!("{err:?}").contains("60000000"), "{err:?}");
    assert!(peak < MB, "peak {peak} B");

    // A lower configured ceiling wins over the server's (and the default) claim.
    let low = ConnectionOptions::builder()
        .max_message_size_ceiling(1_000_000)
        .build()
        .unwrap();
    let conn = connect_with(&server, &low).await.unwrap();
    assert_eq!(conn.hello().max_message_size_bytes, 1_000_000);

    // Wire versions that do not fit an i32 are refused, not truncated.
    let server =
        MockServer::start(Behavior::modern().hello_field("maxWireVersion", (1_i64 << 32) + 21))
            .await
            .unwrap();
    let err = connect_with(&server, &options()).await.unwrap_err();
    assert!(
        err.is_protocol() && err.to_string().contains("maxWireVersion"),
        "{err}"
    );
}

/// 64 MB of zeros, compressed: far more than the 48,000,000-byte ceiling.
fn bomb(compressor: Compressor) -> Vec<u8> {
    compressor.compress(&vec![0u8; 64 * MB]).unwrap()
}

async fn compression_bomb(compressor: Compressor) {
    let data = bomb(compressor);
    assert!(data.len() < MB / 2, "{} bytes", data.len());
    let offering = ConnectionOptions::builder()
        .compressors(vec![compressor])
        .socket_timeout(Some(Duration::from_secs(10)))
        .build()
        .unwrap();
    let behavior = || Behavior::modern().compressors(&[compressor.name()]);
    // Three claims: the truth (64 MB, above the ceiling), just under the ceiling, and
    // a small size. Each is refused; none makes the client hold more than the
    // ceiling.
    for (claim, bound) in [(64 * MB as i32, MB), (47 * MB as i32, 50 * MB), (1_000, MB)] {
        let server = answering_ping(behavior(), op_compressed(compressor.id(), claim, &data)).await;
        let ((err, conn), peak) = measured(ping_error(&server, &offering)).await;
        assert!(err.is_protocol(), "{compressor} claiming {claim}: {err:?}");
        assert!(!conn.is_usable());
        assert!(
            peak < bound + 2 * data.len(),
            "{compressor} claiming {claim}: peak {peak} B"
        );
    }
}

#[tokio::test]
async fn a_zlib_bomb_is_refused_within_the_ceiling() {
    let _one = one_at_a_time();
    bounded(compression_bomb(Compressor::Zlib { level: Some(1) })).await;
}

#[tokio::test]
async fn a_zstd_bomb_is_refused_within_the_ceiling() {
    let _one = one_at_a_time();
    bounded(compression_bomb(Compressor::Zstd { level: Some(1) })).await;
}

#[tokio::test]
async fn a_compressor_that_was_not_negotiated_is_a_protocol_error() {
    let _one = one_at_a_time();
    let body = rawdoc! { "ok": 1.0 };
    let inner = op_msg(0, &body, &[]);
    let inner_body = &inner[16..];
    for (offered, sent) in [
        (vec![], Compressor::Zstd { level: None }),
        (vec![Compressor::Snappy], Compressor::Zlib { level: None }),
    ] {
        let data = sent.compress(inner_body).unwrap();
        let reply = op_compressed(sent.id(), inner_body.len() as i32, &data);
        let names: Vec<&str> = offered.iter().map(|c| c.name()).collect();
        let server = answering_ping(Behavior::modern().compressors(&names), reply).await;
        let opts = ConnectionOptions::builder()
            .compressors(offered.clone())
            .build()
            .unwrap();
        let (err, conn) = bounded(ping_error(&server, &opts)).await;
        assert!(err.is_protocol(), "{err:?}");
        assert!(
            format!("{err:?}").contains("CompressorNotNegotiated"),
            "{err:?}"
        );
        assert!(!conn.is_usable());
    }
}

#[tokio::test]
async fn five_million_document_sequences_are_refused_quickly() {
    let _one = one_at_a_time();
    // 5 million distinct identifiers take ~50 MB: above the default ceiling, so this
    // client raises it (and the server announces as much) to let the frame through
    // to the decoder, whose sequence cap must then refuse it at once.
    let mut sections = Vec::with_capacity(52 * MB);
    for i in 0..5_000_000u32 {
        let id = format!("{i:x}");
        sections.push(1);
        sections.extend_from_slice(&((4 + id.len() + 1) as i32).to_le_bytes());
        sections.extend_from_slice(id.as_bytes());
        sections.push(0);
    }
    let reply = op_msg(0, &rawdoc! { "ok": 1.0 }, &sections);
    drop(sections);
    let ceiling = reply.len() + 1024;
    let behavior = Behavior::modern().hello_field("maxMessageSizeBytes", ceiling as i64);
    let server = answering_ping(behavior, reply).await;
    let opts = ConnectionOptions::builder()
        .max_message_size_ceiling(ceiling)
        .socket_timeout(Some(Duration::from_secs(60)))
        .build()
        .unwrap();
    let ((err, conn), peak) = measured(ping_error(&server, &opts)).await;
    assert!(err.is_protocol(), "{err:?}");
    assert!(format!("{err:?}").contains("document sequences"), "{err:?}");
    assert!(!conn.is_usable());
    // The mock's copy and the client's frame.
    assert!(
        peak < 3 * ceiling,
        "peak {peak} B for a {ceiling}-byte frame"
    );
}

#[tokio::test]
async fn a_reply_of_millions_of_tiny_documents_costs_about_its_wire_size() {
    let _one = one_at_a_time();
    let count = 4_000_000usize;
    let mut sequence = Vec::with_capacity(count * 5 + 16);
    sequence.push(1);
    sequence.extend_from_slice(&((4 + 5 + count * 5) as i32).to_le_bytes());
    sequence.extend_from_slice(b"docs\0");
    for _ in 0..count {
        sequence.extend_from_slice(&[5, 0, 0, 0, 0]);
    }
    let reply = op_msg(0, &rawdoc! { "ok": 1.0 }, &sequence);
    drop(sequence);
    let wire = reply.len();
    let server = answering_ping(Behavior::modern(), reply).await;
    let mut conn = connect_with(&server, &options()).await.unwrap();
    let (answer, peak) =
        measured(conn.command("admin", &rawdoc! { "ping": 1 }, &Default::default())).await;
    answer.unwrap();
    // The mock's copy of the reply (1x), the client's frame (1x, up to 2x while it
    // grows as the bytes arrive) and the documents in one buffer (1x): measured 3.5x
    // the wire size. One heap buffer per document cost about 9x.
    let factor = peak as f64 / wire as f64;
    println!("{count} tiny documents, {wire} wire bytes: peak {peak} B, {factor:.2}x");
    assert!(factor < 4.5, "peak {factor:.2}x the wire size");
}

// ---------------------------------------------------------------------------------
// Time and framing

#[tokio::test(start_paused = true)]
async fn a_reply_that_never_ends_times_out() {
    let _one = one_at_a_time();
    // A 1 MB reply sent one byte every 100 ms: 28 hours. The socket timeout bounds the
    // whole read, not each byte.
    let mut never_ending = header_only(MB as i32, 2013);
    never_ending.resize(MB, 0);
    let server = MockServer::start(Behavior::modern().on("ping", move |_, _| {
        Action::Trickle(never_ending.clone(), Duration::from_millis(100))
    }))
    .await
    .unwrap();
    let opts = ConnectionOptions::builder()
        .socket_timeout(Some(Duration::from_secs(5)))
        .build()
        .unwrap();
    let (err, conn) = bounded(ping_error(&server, &opts)).await;
    assert!(err.is_timeout(), "{err:?}");
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn a_reply_with_a_wrong_response_to_is_a_protocol_error() {
    let _one = one_at_a_time();
    let server = MockServer::start(Behavior::modern().on("ping", |_, _| {
        Reply::new(bson::doc! { "ok": 1.0 })
            .response_to(ResponseTo::Value(424_242))
            .into()
    }))
    .await
    .unwrap();
    let (err, conn) = bounded(ping_error(&server, &options())).await;
    assert!(
        err.is_protocol() && err.to_string().contains("424242"),
        "{err}"
    );
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn an_unexpected_more_to_come_is_a_protocol_error() {
    let _one = one_at_a_time();
    let server = MockServer::start(Behavior::modern().on("ping", |_, _| {
        Reply::new(bson::doc! { "ok": 1.0 }).more_to_come().into()
    }))
    .await
    .unwrap();
    let (err, conn) = bounded(ping_error(&server, &options())).await;
    assert!(
        err.is_protocol() && err.to_string().contains("moreToCome"),
        "{err}"
    );
    assert!(!conn.is_usable());
}

#[tokio::test]
async fn an_error_inside_an_exhaust_stream_breaks_the_connection() {
    let _one = one_at_a_time();
    // The first reply has moreToCome and fails the command check; the stream goes on
    // on the server's side, so the connection cannot be used again.
    let server = MockServer::start(Behavior::modern().on("getMore", |_, _| {
        Action::exhaust(vec![
            bson::doc! { "ok": 0.0, "errmsg": "boom", "code": 2 },
            bson::doc! { "ok": 1.0 },
        ])
    }))
    .await
    .unwrap();
    let mut conn = connect_with(&server, &options()).await.unwrap();
    let err = bounded(conn.command_exhaust(
        "db",
        &rawdoc! { "getMore": 1_i64, "collection": "c" },
        &Default::default(),
    ))
    .await
    .unwrap_err();
    assert!(err.is_operation_failure(), "{err:?}");
    assert!(conn.broken().is_some(), "{conn:?}");
    assert!(!conn.is_usable());
}

// ---------------------------------------------------------------------------------
// Logins

fn alice(mechanism: Option<AuthMechanism>) -> Credential {
    Credential {
        username: Some("alice".into()),
        password: Some("secret".into()),
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

async fn scram_error(scram: ScramServer) -> mongopool::Error {
    let server = MockServer::start(Behavior::modern().auth(scram))
        .await
        .unwrap();
    let options = logging_in(alice(Some(AuthMechanism::ScramSha256)));
    bounded(connect_with(&server, &options)).await.unwrap_err()
}

#[tokio::test]
async fn scram_asking_for_4294967295_iterations_is_refused_at_once() {
    let _one = one_at_a_time();
    let scram = ScramServer::new(ScramMechanism::Sha256, "alice", "secret").iterations(u32::MAX);
    // Accepted, this would be hours of PBKDF2 on a blocking thread that no timeout
    // can stop; the test's time bound would catch it.
    let err = scram_error(scram).await;
    assert!(
        err.is_authentication() && err.to_string().contains("4294967295"),
        "{err}"
    );
}

#[tokio::test]
async fn scram_with_a_server_nonce_that_does_not_extend_ours_is_refused() {
    let _one = one_at_a_time();
    let scram = ScramServer::new(ScramMechanism::Sha256, "alice", "secret").foreign_nonce();
    let err = scram_error(scram).await;
    assert!(
        err.is_authentication() && err.to_string().contains("nonce"),
        "{err}"
    );
}

#[tokio::test]
async fn scram_with_a_forged_server_signature_is_refused() {
    let _one = one_at_a_time();
    let scram =
        ScramServer::new(ScramMechanism::Sha256, "alice", "secret").wrong_server_signature();
    let err = scram_error(scram).await;
    assert!(
        err.is_authentication() && err.to_string().contains("signature"),
        "{err}"
    );
}

#[tokio::test]
async fn an_old_wire_version_does_not_downgrade_the_login_to_mongodb_cr() {
    let _one = one_at_a_time();
    let cr = MongoCrServer::new("alice", "secret");
    let server = MockServer::start(Behavior::legacy(2).auth(cr.clone()))
        .await
        .unwrap();
    let err = bounded(connect_with(&server, &logging_in(alice(None))))
        .await
        .unwrap_err();
    assert!(
        err.is_authentication() && err.to_string().contains("MONGODB-CR"),
        "{err}"
    );
    assert_eq!(cr.logins(), 0);
    assert_eq!(server.journal().count("getnonce"), 0);
    // Connection::authenticate refuses the same way.
    let mut conn = connect_with(&server, &options()).await.unwrap();
    let err = conn.authenticate(&alice(None)).await.unwrap_err();
    assert!(
        err.is_authentication() && err.to_string().contains("MONGODB-CR"),
        "{err}"
    );
    assert_eq!(server.journal().count("getnonce"), 0);
}

#[tokio::test]
async fn plain_over_a_stream_without_tls_is_refused_unless_allowed() {
    let _one = one_at_a_time();
    let plain = PlainServer::new("alice", "secret");
    let server = MockServer::start(Behavior::modern().auth(plain.clone()))
        .await
        .unwrap();
    let err = bounded(connect_with(
        &server,
        &logging_in(alice(Some(AuthMechanism::Plain))),
    ))
    .await
    .unwrap_err();
    assert!(
        err.is_authentication() && err.to_string().contains("without TLS"),
        "{err}"
    );
    assert_eq!(
        server.journal().count("saslStart"),
        0,
        "the password never left"
    );
    let allowed = ConnectionOptions::builder()
        .credential(Some(alice(Some(AuthMechanism::Plain))))
        .allow_plain_without_tls(true)
        .build()
        .unwrap();
    connect_with(&server, &allowed).await.unwrap();
    assert_eq!(plain.logins(), 1);
}

#[tokio::test]
async fn authenticate_honours_a_disabled_key_cache() {
    let _one = one_at_a_time();
    // A salt of its own, so that only this test's derivations could land in the cache.
    let scram =
        ScramServer::new(ScramMechanism::Sha256, "alice", "secret").salt(b"hostile key cache salt");
    let server = MockServer::start(Behavior::modern().auth(scram.clone()))
        .await
        .unwrap();
    let no_cache = ConnectionOptions::builder()
        .scram_key_cache(false)
        .build()
        .unwrap();
    let global = KeyCache::global();
    let (hits, misses) = (global.hits(), global.misses());
    let mut conn = connect_with(&server, &no_cache).await.unwrap();
    conn.authenticate(&alice(Some(AuthMechanism::ScramSha256)))
        .await
        .unwrap();
    assert_eq!(scram.stats().successes, 1);
    assert_eq!(
        (global.hits(), global.misses()),
        (hits, misses),
        "the process-wide cache was used"
    );
}

// ---------------------------------------------------------------------------------
// Secrets in connection strings

#[test]
fn a_password_with_an_unescaped_question_mark_is_never_echoed() {
    // The '?' ends the hosts early: "alice:1234" reads as a host and port, and the
    // rest of the password as option names.
    for (uri, secret) in [
        ("mongodb://alice:1234?x=y@host", "1234"),
        (
            "mongodb://alice:pa?sswordFragment=1@host/db",
            "sswordFragment",
        ),
        ("mongodb://alice:pa/xyzzy42@host", "xyzzy42"),
    ] {
        match mongopool::ConnectionString::parse(uri) {
            Ok(cs) => {
                let shown = format!("{cs:?} {:?}", cs.warnings());
                assert!(!shown.contains(secret), "{uri}: {shown}");
                panic!("{uri} parsed as hosts {:?}", cs.hosts());
            }
            Err(e) => {
                let shown = format!("{e} {e:?}");
                assert!(e.is_configuration(), "{uri}: {shown}");
                assert!(!shown.contains(secret), "{uri}: {shown}");
            }
        }
    }
}
