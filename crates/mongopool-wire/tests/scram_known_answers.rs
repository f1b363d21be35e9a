//! SCRAM known-answer tests: RFC 5802, RFC 7677, the MongoDB auth spec examples (from
//! tests/data/scram-vectors.json) and vectors computed independently with Python.

use std::path::Path;

use mongopool_wire::saslprep::saslprep;
use mongopool_wire::scram::{KeyCache, ScramClient, ScramMechanism};
use serde_json::Value;

/// One full conversation, checked message by message.
struct Conversation<'a> {
    client_first: &'a str,
    server_first: &'a str,
    client_final: &'a str,
    server_final: &'a str,
}

fn run(client: &ScramClient, nonce: &str, expected: &Conversation<'_>) {
    let cache = KeyCache::new();
    let first = client.start_with_nonce(nonce).unwrap();
    assert_eq!(text(first.message()), expected.client_first);
    let last = first
        .handle_server_first(expected.server_first.as_bytes(), &cache)
        .unwrap();
    assert_eq!(text(last.message()), expected.client_final);
    last.handle_server_final(expected.server_final.as_bytes())
        .unwrap();
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap()
}

#[test]
fn rfc_5802_sha1_with_raw_password() {
    // RFC 5802 section 5: plain SCRAM-SHA-1, no MongoDB pre-hash.
    let client = ScramClient::with_raw_password(ScramMechanism::Sha1, "user", "pencil").unwrap();
    run(
        &client,
        "fyko+d2lbbFgONRv9qkxdawL",
        &Conversation {
            client_first: "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
            server_first: "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            client_final:
                "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            server_final: "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        },
    );
}

#[test]
fn rfc_5802_vector_fails_with_the_mongodb_pre_hash() {
    // The same exchange through `new` pre-hashes the password, so the proof differs
    // and the RFC's server signature is refused.
    let client = ScramClient::new(ScramMechanism::Sha1, "user", "pencil").unwrap();
    let last = client
        .start_with_nonce("fyko+d2lbbFgONRv9qkxdawL")
        .unwrap()
        .handle_server_first(
            b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            &KeyCache::new(),
        )
        .unwrap();
    assert_ne!(
        text(last.message()),
        "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
    );
    assert!(last
        .handle_server_final(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ=")
        .is_err());
}

#[test]
fn rfc_7677_sha256() {
    // RFC 7677 section 3. SASLprep leaves "pencil" as it is, so `new` and the raw
    // password agree.
    let expected = Conversation {
        client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
        server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
        client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
    };
    for client in [
        ScramClient::new(ScramMechanism::Sha256, "user", "pencil").unwrap(),
        ScramClient::with_raw_password(ScramMechanism::Sha256, "user", "pencil").unwrap(),
    ] {
        run(&client, "rOprNGfwEbeRWgbNEkqO", &expected);
    }
}

#[test]
fn sha256_password_is_saslprepped_before_derivation() {
    // "pen\u{00AD}cil" (soft hyphen) prepares to "pencil": the RFC 7677 answer holds.
    let client = ScramClient::new(ScramMechanism::Sha256, "user", "pen\u{00AD}cil").unwrap();
    run(
        &client,
        "rOprNGfwEbeRWgbNEkqO",
        &Conversation {
            client_first: "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
            server_first: "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            client_final: "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            server_final: "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        },
    );
}

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/scram-vectors.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

fn field<'a>(vector: &'a Value, name: &str) -> &'a str {
    vector[name]
        .as_str()
        .unwrap_or_else(|| panic!("vector has no string field {name:?}: {vector}"))
}

#[test]
fn every_vector_of_the_auth_spec() {
    let vectors = vectors();
    let vectors = vectors["vectors"].as_array().unwrap();
    assert!(!vectors.is_empty());
    for vector in vectors {
        let mechanism = ScramMechanism::from_name(field(vector, "mechanism")).unwrap();
        let client = ScramClient::new(
            mechanism,
            field(vector, "username"),
            field(vector, "password"),
        )
        .unwrap();
        run(
            &client,
            field(vector, "client_nonce"),
            &Conversation {
                client_first: field(vector, "client_first"),
                server_first: field(vector, "server_first"),
                client_final: field(vector, "client_final"),
                server_final: field(vector, "server_final"),
            },
        );
    }
}

#[test]
fn spec_sha1_pre_hash_matches_the_vector_note() {
    // "password_used_for_pbkdf2": "HEX(MD5('user:mongo:pencil')) = 1c33..."
    let vectors = vectors();
    let sha1 = vectors["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["mechanism"] == "SCRAM-SHA-1")
        .unwrap();
    let note = field(sha1, "password_used_for_pbkdf2");
    let (_, hex) = note.rsplit_once("= ").unwrap();
    assert_eq!(
        mongopool_wire::mongodb_cr::password_digest(
            field(sha1, "username"),
            field(sha1, "password")
        ),
        hex
    );
    // Running the raw pre-hash gives the same conversation as `new`.
    let raw = ScramClient::with_raw_password(ScramMechanism::Sha1, "user", hex).unwrap();
    run(
        &raw,
        field(sha1, "client_nonce"),
        &Conversation {
            client_first: field(sha1, "client_first"),
            server_first: field(sha1, "server_first"),
            client_final: field(sha1, "client_final"),
            server_final: field(sha1, "server_final"),
        },
    );
}

#[test]
fn saslprep_cases_of_the_spec_test_plan() {
    let vectors = vectors();
    let cases = vectors["saslprep_cases_from_test_plan"].as_array().unwrap();
    assert_eq!(cases.len(), 2);
    for case in cases {
        let stored = saslprep(field(case, "stored_password")).unwrap();
        for form in case["accepted_password_forms"].as_array().unwrap() {
            let form = form.as_str().unwrap();
            assert_eq!(saslprep(form).unwrap(), stored, "form {form:?}");
        }
    }
}

#[test]
fn spec_minimum_iteration_count_is_the_enforced_one() {
    assert_eq!(
        vectors()["min_iteration_count"].as_u64(),
        Some(u64::from(mongopool_wire::scram::MIN_ITERATION_COUNT))
    );
}

// Vectors for a username that needs escaping, computed independently with Python 3:
//   import hashlib, hmac, base64
//   user, esc = 'a=b,c', 'a=3Db=2Cc'
//   sha1_pw = hashlib.md5((user + ':mongo:p@ss,w=rd').encode()).hexdigest()
//   # then, for (h, pw) in [('sha1', sha1_pw), ('sha256', 'p@ss,w=rd')]:
//   salted = hashlib.pbkdf2_hmac(h, pw.encode(), base64.b64decode('c2FsdHNhbHRzYWx0'), 4096)
//   ck = hmac.new(salted, b'Client Key', h).digest(); sk = hmac.new(salted, b'Server Key', h).digest()
//   am = ('n=' + esc + ',r=clientNONCE0123456789abc,'
//         + 'r=clientNONCE0123456789abcSERVERpart,s=c2FsdHNhbHRzYWx0,i=4096,'
//         + 'c=biws,r=clientNONCE0123456789abcSERVERpart').encode()
//   proof = bytes(a ^ b for a, b in zip(ck, hmac.new(hashlib.new(h, ck).digest(), am, h).digest()))
//   print(base64.b64encode(proof), base64.b64encode(hmac.new(sk, am, h).digest()))
// The SHA-1 pre-hash uses the raw username; the message uses the escaped one.

#[test]
fn escaped_username_sha1() {
    let client = ScramClient::new(ScramMechanism::Sha1, "a=b,c", "p@ss,w=rd").unwrap();
    run(
        &client,
        "clientNONCE0123456789abc",
        &Conversation {
            client_first: "n,,n=a=3Db=2Cc,r=clientNONCE0123456789abc",
            server_first: "r=clientNONCE0123456789abcSERVERpart,s=c2FsdHNhbHRzYWx0,i=4096",
            client_final:
                "c=biws,r=clientNONCE0123456789abcSERVERpart,p=xK5hJWMUEUcqiOe0RUcXEwsHTVw=",
            server_final: "v=5DnSIr4txWETINwTChGQMODvTPo=",
        },
    );
}

#[test]
fn escaped_username_sha256() {
    let client = ScramClient::new(ScramMechanism::Sha256, "a=b,c", "p@ss,w=rd").unwrap();
    run(
        &client,
        "clientNONCE0123456789abc",
        &Conversation {
            client_first: "n,,n=a=3Db=2Cc,r=clientNONCE0123456789abc",
            server_first: "r=clientNONCE0123456789abcSERVERpart,s=c2FsdHNhbHRzYWx0,i=4096",
            client_final: "c=biws,r=clientNONCE0123456789abcSERVERpart,p=ssyUS1hjAfNHH6//LDGvZhde3vUo7LexMo+wcRXIFVU=",
            server_final: "v=1oPwPqTS/4NvTASzGKqa7WmgZE6dOGixFHQ+0CBFGfs=",
        },
    );
}

#[test]
fn random_nonces_are_long_and_fresh() {
    let client = ScramClient::new(ScramMechanism::Sha256, "user", "pencil").unwrap();
    let (a, b) = (client.start(), client.start());
    // 24 random bytes in base64.
    assert_eq!(a.nonce().len(), 32);
    assert_ne!(a.nonce(), b.nonce());
    assert_eq!(
        text(a.message()),
        format!("n,,n=user,r={}", a.nonce()).as_str()
    );
    assert!(a.nonce().bytes().all(|c| c.is_ascii_graphic() && c != b','));
}

#[test]
fn mechanism_names() {
    for (mechanism, name) in [
        (ScramMechanism::Sha1, "SCRAM-SHA-1"),
        (ScramMechanism::Sha256, "SCRAM-SHA-256"),
    ] {
        assert_eq!(mechanism.name(), name);
        assert_eq!(mechanism.to_string(), name);
        assert_eq!(ScramMechanism::from_name(name), Some(mechanism));
        assert_eq!(name.parse::<ScramMechanism>().unwrap(), mechanism);
    }
    for other in ["scram-sha-1", "PLAIN", "SCRAM-SHA-512", ""] {
        assert_eq!(ScramMechanism::from_name(other), None);
        assert!(other.parse::<ScramMechanism>().is_err());
    }
}

#[test]
fn conversation_reports_its_mechanism() {
    let client = ScramClient::new(ScramMechanism::Sha1, "user", "pencil").unwrap();
    assert_eq!(client.mechanism(), ScramMechanism::Sha1);
    assert_eq!(client.username(), "user");
    let first = client.start();
    assert_eq!(first.mechanism(), ScramMechanism::Sha1);
}

#[test]
fn debug_output_hides_the_password() {
    let client = ScramClient::new(ScramMechanism::Sha256, "user", "hunter2-secret").unwrap();
    let first = client.start_with_nonce("fixednonce").unwrap();
    let shown = format!("{client:?} {first:?}");
    assert!(!shown.contains("hunter2-secret"), "{shown}");
    assert!(shown.contains("user"));
    let sha1 = ScramClient::new(ScramMechanism::Sha1, "user", "pencil").unwrap();
    let pre_hash = mongopool_wire::mongodb_cr::password_digest("user", "pencil");
    let shown = format!("{sha1:?} {:?}", sha1.start());
    assert!(
        !shown.contains(&pre_hash) && !shown.contains("pencil"),
        "{shown}"
    );
}
