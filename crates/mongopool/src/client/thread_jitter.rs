//! The jitter source of a [`Client`](super::Client)'s retries: the thread's random
//! generator, fetched at each draw so that nothing `!Send` lives across an `.await`
//! and nothing is set up for the operations that never retry.

use rand::RngCore;

/// Draws from [`rand::rng`] on each call.
pub(crate) struct ThreadJitter;

impl RngCore for ThreadJitter {
    fn next_u32(&mut self) -> u32 {
        rand::rng().next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        rand::rng().next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand::rng().fill_bytes(dest)
    }
}
