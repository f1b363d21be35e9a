//! Arbitrary server-first and server-final messages into the SCRAM machine, with a
//! fixed credential and client nonce: it must never panic, whatever the server says.
//!
//! Input layout: byte 0 picks the conversation (bit 0: SCRAM-SHA-256 instead of
//! SCRAM-SHA-1; bit 1: the raw RFC password instead of MongoDB's prepared one), then the
//! server-first-message up to the first `\n`, then the server-final-message. With the
//! seeds of `seeds/scram_server_messages` (the RFC 5802/7677 exchanges) the fuzzer
//! starts from conversations that succeed.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use mongopool_wire::scram::{KeyCache, ScramClient, ScramMechanism};

/// The client nonce of the RFC 5802 example (RFC 7677 uses another; both are seeds).
const NONCE_SHA1: &str = "fyko+d2lbbFgONRv9qkxdawL";
const NONCE_SHA256: &str = "rOprNGfwEbeRWgbNEkqO";

/// PBKDF2 runs once per new (salt, iteration count): a server asking for millions of
/// iterations is slow by design, not a bug, so such inputs are skipped. The minimum
/// the client accepts is 4096.
const MAX_FUZZ_ITERATIONS: u32 = 5000;

fn cache() -> &'static KeyCache {
    static CACHE: OnceLock<KeyCache> = OnceLock::new();
    CACHE.get_or_init(|| KeyCache::with_capacity(1024))
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let (server_first, server_final) = match rest.iter().position(|&b| b == b'\n') {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    if asks_too_many_iterations(server_first) {
        return;
    }
    let (mechanism, nonce) = if selector & 1 == 0 {
        (ScramMechanism::Sha1, NONCE_SHA1)
    } else {
        (ScramMechanism::Sha256, NONCE_SHA256)
    };
    let client = if selector & 2 == 0 {
        ScramClient::new(mechanism, "user", "pencil")
    } else {
        ScramClient::with_raw_password(mechanism, "user", "pencil")
    }
    .expect("a valid credential");
    let first = client.start_with_nonce(nonce).expect("a valid nonce");
    let Ok(last) = first.handle_server_first(server_first, cache()) else {
        return;
    };
    // Accepted: the server's nonce extends ours and is echoed in the proof message.
    let text = std::str::from_utf8(last.message()).expect("our message is UTF-8");
    let echoed = text
        .strip_prefix("c=biws,r=")
        .expect("the final message starts with the channel binding and nonce");
    assert!(echoed.starts_with(nonce));
    let _ = last.handle_server_final(server_final);
});

/// Mirrors where the parser finds the count (the third `,`-separated attribute,
/// `i=<digits>`), so that only slow inputs are skipped.
fn asks_too_many_iterations(server_first: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(server_first) else {
        return false;
    };
    let Some(count) = text.split(',').nth(2).and_then(|a| a.strip_prefix("i=")) else {
        return false;
    };
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    // A count that overflows u32 is refused by the parser before any PBKDF2.
    count.parse::<u32>().is_ok_and(|n| n > MAX_FUZZ_ITERATIONS)
}
