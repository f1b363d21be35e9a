//! The SCRAM key cache: the same inputs hit, any different input misses, a disabled
//! cache never stores, and a hit gives the same answer as a fresh derivation.

use mongopool_wire::scram::{KeyCache, ScramClient, ScramMechanism};

const NONCE: &str = "clientnonce";

fn server_first(salt: &str, iterations: u32) -> String {
    format!("r={NONCE}server,s={salt},i={iterations}")
}

/// Runs the first step and returns the client-final message.
fn client_final(
    cache: &KeyCache,
    mechanism: ScramMechanism,
    password: &str,
    salt: &str,
    iterations: u32,
) -> Vec<u8> {
    ScramClient::new(mechanism, "user", password)
        .unwrap()
        .start_with_nonce(NONCE)
        .unwrap()
        .handle_server_first(server_first(salt, iterations).as_bytes(), cache)
        .unwrap()
        .message()
        .to_vec()
}

const SALT: &str = "c2FsdHNhbHRzYWx0";
const OTHER_SALT: &str = "b3RoZXJzYWx0";

#[test]
fn same_inputs_hit() {
    let cache = KeyCache::new();
    assert!(cache.is_empty());
    let cold = client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4096);
    assert_eq!((cache.len(), cache.hits(), cache.misses()), (1, 0, 1));
    let warm = client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4096);
    assert_eq!((cache.len(), cache.hits(), cache.misses()), (1, 1, 1));
    assert_eq!(cold, warm);
}

#[test]
fn passwords_equal_after_saslprep_share_an_entry() {
    let cache = KeyCache::new();
    client_final(&cache, ScramMechanism::Sha256, "IX", SALT, 4096);
    client_final(&cache, ScramMechanism::Sha256, "I\u{00AD}X", SALT, 4096);
    assert_eq!((cache.len(), cache.hits()), (1, 1));
}

#[test]
fn any_different_input_misses() {
    let cache = KeyCache::new();
    let base = client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4096);
    let variants = [
        client_final(&cache, ScramMechanism::Sha256, "pencil2", SALT, 4096),
        client_final(&cache, ScramMechanism::Sha256, "pencil", OTHER_SALT, 4096),
        client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4097),
        client_final(&cache, ScramMechanism::Sha1, "pencil", SALT, 4096),
    ];
    assert_eq!(cache.hits(), 0);
    assert_eq!(cache.misses(), 5);
    assert_eq!(cache.len(), 5);
    for variant in &variants {
        assert_ne!(variant, &base);
    }
}

#[test]
fn sha1_pre_hash_includes_the_username() {
    // Same SHA-1 password for two users: the pre-hash differs, so the cache must miss.
    let cache = KeyCache::new();
    for user in ["alice", "bob"] {
        ScramClient::new(ScramMechanism::Sha1, user, "pencil")
            .unwrap()
            .start_with_nonce(NONCE)
            .unwrap()
            .handle_server_first(server_first(SALT, 4096).as_bytes(), &cache)
            .unwrap();
    }
    assert_eq!((cache.len(), cache.hits(), cache.misses()), (2, 0, 2));
}

#[test]
fn a_hit_gives_the_same_answer_as_a_fresh_derivation() {
    let cache = KeyCache::new();
    client_final(&cache, ScramMechanism::Sha1, "pencil", SALT, 4096);
    let hit = client_final(&cache, ScramMechanism::Sha1, "pencil", SALT, 4096);
    let fresh = client_final(
        &KeyCache::disabled(),
        ScramMechanism::Sha1,
        "pencil",
        SALT,
        4096,
    );
    assert_eq!(cache.hits(), 1);
    assert_eq!(hit, fresh);
}

#[test]
fn disabled_cache_never_stores() {
    let cache = KeyCache::disabled();
    assert!(!cache.is_enabled());
    assert_eq!(cache.capacity(), 0);
    for _ in 0..3 {
        client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4096);
    }
    assert_eq!((cache.len(), cache.hits(), cache.misses()), (0, 0, 3));
}

#[test]
fn a_refused_server_first_does_not_touch_the_cache() {
    let cache = KeyCache::new();
    let result = ScramClient::new(ScramMechanism::Sha256, "user", "pencil")
        .unwrap()
        .start_with_nonce(NONCE)
        .unwrap()
        .handle_server_first(server_first(SALT, 4095).as_bytes(), &cache);
    assert!(result.is_err());
    assert_eq!((cache.len(), cache.hits(), cache.misses()), (0, 0, 0));
}

#[test]
fn clear_empties_and_keeps_counters() {
    let cache = KeyCache::new();
    client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4096);
    cache.clear();
    assert!(cache.is_empty());
    assert_eq!(cache.misses(), 1);
    client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4096);
    assert_eq!(cache.misses(), 2);
}

#[test]
fn the_global_cache_is_one_instance() {
    assert!(std::ptr::eq(KeyCache::global(), KeyCache::global()));
    assert_eq!(KeyCache::global().capacity(), KeyCache::DEFAULT_CAPACITY);
}

#[test]
fn shared_between_threads() {
    let cache = KeyCache::new();
    let finals: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| client_final(&cache, ScramMechanism::Sha256, "pencil", SALT, 4096))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(finals.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.hits() + cache.misses(), 4);
    assert!(cache.misses() >= 1);
}

#[test]
fn debug_shows_counters_only() {
    let cache = KeyCache::new();
    client_final(&cache, ScramMechanism::Sha256, "hunter2", SALT, 4096);
    let shown = format!("{cache:?}");
    assert!(shown.contains("misses: 1"), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
