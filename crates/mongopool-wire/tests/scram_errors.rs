//! SCRAM error paths: every way a server (or a man in the middle) can answer wrongly
//! must end in `WireError::Authentication`, never in success or a panic, and no error
//! text may contain the password.

use mongopool_wire::scram::{ClientFinal, ClientFirst, KeyCache, ScramClient, ScramMechanism};
use mongopool_wire::WireError;

const PASSWORD: &str = "pencil";
const NONCE: &str = "fyko+d2lbbFgONRv9qkxdawL";
/// The auth spec's SCRAM-SHA-1 exchange (user "user", password "pencil").
const SERVER_FIRST: &str =
    "r=fyko+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000";
const SERVER_FINAL: &str = "v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=";

fn first(mechanism: ScramMechanism) -> ClientFirst {
    ScramClient::new(mechanism, "user", PASSWORD)
        .unwrap()
        .start_with_nonce(NONCE)
        .unwrap()
}

fn last() -> ClientFinal {
    first(ScramMechanism::Sha1)
        .handle_server_first(SERVER_FIRST.as_bytes(), &KeyCache::new())
        .unwrap()
}

/// Unwraps an authentication error and checks it does not leak the password.
fn auth_error<T: std::fmt::Debug>(result: Result<T, WireError>) -> String {
    match result {
        Err(WireError::Authentication(message)) => {
            assert!(!message.contains(PASSWORD), "{message}");
            message
        }
        other => panic!("expected an authentication error, got {other:?}"),
    }
}

fn server_first_error(mechanism: ScramMechanism, server_first: &[u8]) -> String {
    auth_error(first(mechanism).handle_server_first(server_first, &KeyCache::new()))
}

#[test]
fn the_spec_exchange_succeeds_as_a_baseline() {
    last().handle_server_final(SERVER_FINAL.as_bytes()).unwrap();
}

#[test]
fn server_nonce_must_extend_the_client_nonce() {
    for server_first in [
        // Not prefixed by the client nonce.
        "r=XXXX+d2lbbFgONRv9qkxdawLHo+Vgk7qvUOKUwuWLIWg4l/9SraGMHEE,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
        // A prefix of the client nonce only.
        "r=fyko+d2lbbFgONRv9qkxdaw,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
        // Equal: the server added nothing.
        "r=fyko+d2lbbFgONRv9qkxdawL,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
    ] {
        for mechanism in [ScramMechanism::Sha1, ScramMechanism::Sha256] {
            let message = server_first_error(mechanism, server_first.as_bytes());
            assert!(message.contains("nonce"), "{message}");
        }
    }
}

#[test]
fn iteration_count_below_4096_is_refused() {
    for mechanism in [ScramMechanism::Sha1, ScramMechanism::Sha256] {
        for count in [4095, 1, 0] {
            let server_first = format!("r={NONCE}server,s=rQ9ZY3MntBeuP3E1TDVC4w==,i={count}");
            let message = server_first_error(mechanism, server_first.as_bytes());
            assert!(message.contains("4096"), "{message}");
        }
        let at_minimum = format!("r={NONCE}server,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=4096");
        first(mechanism)
            .handle_server_first(at_minimum.as_bytes(), &KeyCache::new())
            .unwrap();
    }
}

#[test]
fn a_wrong_server_signature_is_refused() {
    for server_final in [
        // One character changed.
        "v=UMWeI25JD1yNYZRMpZ4VHvhZ9e1=",
        // The SHA-256 example's signature: right form, wrong length.
        "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        // Empty signature.
        "v=",
    ] {
        let message = auth_error(last().handle_server_final(server_final.as_bytes()));
        assert!(message.contains("signature"), "{message}");
    }
}

#[test]
fn a_server_that_does_not_know_the_password_fails() {
    // The client knows a different password than the one behind the spec exchange, so
    // the spec server's signature (correct for "pencil") proves nothing to it.
    let last = ScramClient::new(ScramMechanism::Sha1, "user", "pencil2")
        .unwrap()
        .start_with_nonce(NONCE)
        .unwrap()
        .handle_server_first(SERVER_FIRST.as_bytes(), &KeyCache::new())
        .unwrap();
    let err = last
        .handle_server_final(SERVER_FINAL.as_bytes())
        .unwrap_err();
    assert!(matches!(err, WireError::Authentication(_)), "{err:?}");
}

#[test]
fn server_error_text_surfaces() {
    let message = server_first_error(ScramMechanism::Sha256, b"e=unknown-user");
    assert!(message.contains("unknown-user"), "{message}");
    let message = auth_error(last().handle_server_final(b"e=invalid-proof"));
    assert!(message.contains("invalid-proof"), "{message}");
}

#[test]
fn malformed_server_first_messages() {
    for server_first in [
        &b""[..],
        b"garbage",
        // Missing r, s, i.
        b"s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
        b"r=fyko+d2lbbFgONRv9qkxdawLserver,i=10000",
        b"r=fyko+d2lbbFgONRv9qkxdawLserver,s=rQ9ZY3MntBeuP3E1TDVC4w==",
        // Attribute order.
        b"s=rQ9ZY3MntBeuP3E1TDVC4w==,r=fyko+d2lbbFgONRv9qkxdawLserver,i=10000",
        b"r=fyko+d2lbbFgONRv9qkxdawLserver,i=10000,s=rQ9ZY3MntBeuP3E1TDVC4w==",
        // A mandatory extension we cannot honour.
        b"m=ext,r=fyko+d2lbbFgONRv9qkxdawLserver,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
        // Bad iteration counts.
        b"r=fyko+d2lbbFgONRv9qkxdawLserver,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=ten",
        b"r=fyko+d2lbbFgONRv9qkxdawLserver,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=-10000",
        b"r=fyko+d2lbbFgONRv9qkxdawLserver,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=4294967296",
        // Not UTF-8.
        b"r=fyko+d2lbbFgONRv9qkxdawL\xff\xfe,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000",
        // Nonce with a character outside printable ASCII.
        "r=fyko+d2lbbFgONRv9qkxdawLé,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000".as_bytes(),
    ] {
        let message = server_first_error(ScramMechanism::Sha1, server_first);
        assert!(
            message.contains("malformed"),
            "{:?}: {message}",
            String::from_utf8_lossy(server_first)
        );
    }
}

#[test]
fn bad_base64_salt() {
    for salt in [
        "rQ9ZY3MntBeuP3E1TDVC4w=",
        "not base64!",
        "rQ9ZY3MntBeuP3E1TDVC4w",
        "",
    ] {
        let server_first = format!("r={NONCE}server,s={salt},i=10000");
        let message = server_first_error(ScramMechanism::Sha256, server_first.as_bytes());
        assert!(message.contains("salt"), "{salt:?}: {message}");
    }
}

#[test]
fn malformed_server_final_messages() {
    for server_final in [
        &b""[..],
        b"UMWeI25JD1yNYZRMpZ4VHvhZ9e0=",
        b"x=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=",
        b"v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0",
        b"v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=,",
        b"v=UMWeI25JD1yNYZRMpZ4VHvhZ9e0=\xff",
    ] {
        let message = auth_error(last().handle_server_final(server_final));
        assert!(
            message.contains("malformed"),
            "{:?}: {message}",
            String::from_utf8_lossy(server_final)
        );
    }
}

#[test]
fn trailing_extensions_are_ignored() {
    let server_first = format!("{SERVER_FIRST},x=extension");
    let last = first(ScramMechanism::Sha1)
        .handle_server_first(server_first.as_bytes(), &KeyCache::new())
        .unwrap();
    // The extension is part of the signed AuthMessage, so the spec's signature no
    // longer matches: the server text is signed exactly as received.
    assert!(last.handle_server_final(SERVER_FINAL.as_bytes()).is_err());
}

#[test]
fn saslprep_prohibited_password_is_a_clear_error() {
    for password in [
        "bell\u{0007}pencil",
        "private\u{E000}pencil",
        "\u{0627}1pencil",
    ] {
        let result = ScramClient::new(ScramMechanism::Sha256, "user", password);
        let message = auth_error(result);
        assert!(message.contains("SASLprep"), "{message}");
        assert!(!message.contains(password), "{message}");
        // SCRAM-SHA-1 does not SASLprep: the same password is fine there.
        ScramClient::new(ScramMechanism::Sha1, "user", password).unwrap();
    }
}

#[test]
fn empty_username_is_refused() {
    for mechanism in [ScramMechanism::Sha1, ScramMechanism::Sha256] {
        auth_error(ScramClient::new(mechanism, "", PASSWORD));
        auth_error(ScramClient::with_raw_password(mechanism, "", PASSWORD));
    }
}

#[test]
fn fixed_nonce_must_be_printable_ascii_without_commas() {
    let client = ScramClient::new(ScramMechanism::Sha256, "user", PASSWORD).unwrap();
    for nonce in ["", "a,b", "space here", "é", "tab\t"] {
        assert!(
            matches!(
                client.start_with_nonce(nonce),
                Err(WireError::InvalidArgument(_))
            ),
            "{nonce:?}"
        );
    }
}

#[test]
fn iteration_count_above_the_ceiling_is_refused_before_any_derivation() {
    // Were the count accepted, deriving the keys would take hours and the test would
    // time out instead of failing fast.
    for mechanism in [ScramMechanism::Sha1, ScramMechanism::Sha256] {
        for count in [
            u32::MAX,
            mongopool_wire::scram::DEFAULT_MAX_ITERATION_COUNT + 1,
        ] {
            let server_first = format!("r={NONCE}server,s=rQ9ZY3MntBeuP3E1TDVC4w==,i={count}");
            let message = server_first_error(mechanism, server_first.as_bytes());
            assert!(message.contains(&count.to_string()), "{message}");
            assert!(message.contains("maximum"), "{message}");
        }
        // A lower, configured ceiling applies too, and the count at it is accepted.
        let at_ten_thousand = format!("r={NONCE}server,s=rQ9ZY3MntBeuP3E1TDVC4w==,i=10000");
        let lowered = first(mechanism).with_max_iterations(9_999);
        assert_eq!(lowered.max_iterations(), 9_999);
        let message =
            auth_error(lowered.handle_server_first(at_ten_thousand.as_bytes(), &KeyCache::new()));
        assert!(message.contains("9999"), "{message}");
        first(mechanism)
            .with_max_iterations(10_000)
            .handle_server_first(at_ten_thousand.as_bytes(), &KeyCache::new())
            .unwrap();
    }
}

#[test]
fn client_final_debug_hides_the_proof() {
    let final_step = last();
    let message = String::from_utf8(final_step.message().to_vec()).unwrap();
    let proof = message.rsplit_once(",p=").unwrap().1;
    let shown = format!("{final_step:?}");
    assert!(!shown.contains(proof), "{shown}");
    assert!(shown.contains("<redacted>"), "{shown}");
    assert!(shown.contains("c=biws"), "{shown}");
}
