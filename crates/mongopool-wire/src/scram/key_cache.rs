//! The cache of SCRAM keys derived from a password.
//!
//! PBKDF2 with thousands of iterations is by design the slowest step of a login
//! (milliseconds per connection), and a pool opens many connections with the same
//! credential against the same salt. The auth spec requires drivers to cache the result.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::{RngCore, TryRngCore};
use sha2::Sha256;

use super::mechanism::ScramMechanism;

/// `ClientKey` and `ServerKey` of RFC 5802, derived from one salted password.
pub(crate) struct DerivedKeys {
    pub(crate) client_key: Vec<u8>,
    pub(crate) server_key: Vec<u8>,
}

impl DerivedKeys {
    fn derive(
        mechanism: ScramMechanism,
        prepared_password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Self {
        let salted = mechanism.salted_password(prepared_password, salt, iterations);
        DerivedKeys {
            client_key: mechanism.hmac(&salted, b"Client Key"),
            server_key: mechanism.hmac(&salted, b"Server Key"),
        }
    }
}

/// What identifies a derivation. The password appears only as a keyed digest, so the
/// cache never holds the password (or a plain, unkeyed hash of it).
#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    mechanism: ScramMechanism,
    password_digest: [u8; 32],
    salt: Vec<u8>,
    iterations: u32,
}

/// A thread-safe cache of SCRAM keys, keyed by mechanism, password, salt and iteration
/// count: a change to any of these is a miss, never a wrong key.
///
/// Lookups and inserts hold a lock for a hash-map operation only; the key derivation
/// itself (PBKDF2) runs outside it, so two connections that miss at the same moment
/// both derive, and the second insert replaces the first with an identical value.
///
/// The cache holds at most [`capacity`](Self::capacity) entries (a server picks the salt,
/// so a hostile one could otherwise grow it without bound); when full, an arbitrary
/// entry is dropped to make room.
///
/// Most programs use the process-wide [`KeyCache::global`].
pub struct KeyCache {
    entries: Mutex<HashMap<CacheKey, Arc<DerivedKeys>>>,
    capacity: usize,
    /// Secret key of the password digest, random per cache.
    digest_key: [u8; 32],
    hits: AtomicU64,
    misses: AtomicU64,
}

impl KeyCache {
    /// Capacity of [`KeyCache::new`] and of the global cache: 128 entries.
    pub const DEFAULT_CAPACITY: usize = 128;

    /// A new, empty cache of [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY) entries.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A new, empty cache that holds at most `capacity` entries.
    /// A capacity of 0 stores nothing, like [`disabled`](Self::disabled).
    pub fn with_capacity(capacity: usize) -> Self {
        let mut digest_key = [0u8; 32];
        OsRng.unwrap_err().fill_bytes(&mut digest_key);
        KeyCache {
            entries: Mutex::new(HashMap::new()),
            capacity,
            digest_key,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// A cache that never stores anything: every derivation is a miss and runs PBKDF2.
    /// Useful to measure what the cache saves.
    pub fn disabled() -> Self {
        Self::with_capacity(0)
    }

    /// The process-wide cache, created on first use with
    /// [`DEFAULT_CAPACITY`](Self::DEFAULT_CAPACITY).
    pub fn global() -> &'static KeyCache {
        static GLOBAL: OnceLock<KeyCache> = OnceLock::new();
        GLOBAL.get_or_init(KeyCache::new)
    }

    /// The most entries this cache holds (0 for a disabled cache).
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Whether this cache stores anything (its capacity is not 0).
    pub fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// Number of cached derivations.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether no derivation is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of derivations answered from the cache.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// Number of derivations that ran PBKDF2.
    pub fn misses(&self) -> u64 {
        self.misses.load(Ordering::Relaxed)
    }

    /// Drops every cached derivation (the counters are kept).
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Returns the keys for these inputs, from the cache or freshly derived.
    pub(crate) fn derive(
        &self,
        mechanism: ScramMechanism,
        prepared_password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Arc<DerivedKeys> {
        if !self.is_enabled() {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return Arc::new(DerivedKeys::derive(
                mechanism,
                prepared_password,
                salt,
                iterations,
            ));
        }
        let key = CacheKey {
            mechanism,
            password_digest: self.password_digest(prepared_password),
            salt: salt.to_vec(),
            iterations,
        };
        if let Some(found) = self.lock().get(&key).cloned() {
            self.hits.fetch_add(1, Ordering::Relaxed);
            return found;
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        let keys = Arc::new(DerivedKeys::derive(
            mechanism,
            prepared_password,
            salt,
            iterations,
        ));
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            if let Some(victim) = entries.keys().next().cloned() {
                entries.remove(&victim);
            }
        }
        entries.insert(key, Arc::clone(&keys));
        keys
    }

    fn password_digest(&self, prepared_password: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.digest_key)
            .expect("HMAC accepts keys of any length");
        mac.update(prepared_password);
        mac.finalize().into_bytes().into()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<CacheKey, Arc<DerivedKeys>>> {
        // Nothing panics while the lock is held; if something ever did, the map is
        // still a valid map of correct derivations.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for KeyCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .field("hits", &self.hits())
            .field("misses", &self.misses())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_cache_evicts_instead_of_growing() {
        let cache = KeyCache::with_capacity(2);
        for salt in [b"salt-1", b"salt-2", b"salt-3"] {
            cache.derive(ScramMechanism::Sha256, b"pw", salt, 4096);
        }
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.misses(), 3);
    }

    #[test]
    fn a_hit_in_a_full_cache_keeps_the_entry() {
        let cache = KeyCache::with_capacity(1);
        cache.derive(ScramMechanism::Sha1, b"pw", b"salt", 4096);
        cache.derive(ScramMechanism::Sha1, b"pw", b"salt", 4096);
        assert_eq!((cache.len(), cache.hits(), cache.misses()), (1, 1, 1));
    }

    #[test]
    fn password_digest_is_keyed_per_cache() {
        let (a, b) = (KeyCache::new(), KeyCache::new());
        assert_eq!(a.password_digest(b"pw"), a.password_digest(b"pw"));
        assert_ne!(a.password_digest(b"pw"), b.password_digest(b"pw"));
        assert_ne!(a.password_digest(b"pw"), a.password_digest(b"pW"));
    }
}
