//! zstd compression and decompression contexts, kept per thread and reused.
//!
//! Creating a zstd context allocates and initialises its tables (about 1 MB at the
//! default level), which costs more than compressing a typical command: measured, the
//! two context creations were over 40% of a compress-then-decompress round trip of a
//! 6.5 KB insert. The output is the same as with a fresh context: `compress2` and
//! `decompressDCtx` start every frame from the context's parameters, and the `zstd`
//! crate abandons a failed frame so that the context stays usable.
//!
//! The price is one context of each kind per thread that used zstd, kept until the
//! thread exits.

use std::cell::RefCell;
use std::io;

thread_local! {
    /// The level the compressor is set up for, and the compressor.
    static COMPRESSOR: RefCell<Option<(i32, zstd::bulk::Compressor<'static>)>> =
        const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { RefCell::new(None) };
}

/// `zstd::bulk::compress`, with this thread's context.
pub(crate) fn compress(input: &[u8], level: i32) -> io::Result<Vec<u8>> {
    let reused = COMPRESSOR.try_with(|slot| {
        // A borrow in progress (impossible without re-entrancy) means: use a fresh one.
        let mut slot = slot.try_borrow_mut().ok()?;
        Some(compress_with(&mut slot, input, level))
    });
    match reused {
        Ok(Some(result)) => result,
        // The thread is shutting down and its contexts are gone.
        _ => zstd::bulk::compress(input, level),
    }
}

fn compress_with(
    slot: &mut Option<(i32, zstd::bulk::Compressor<'static>)>,
    input: &[u8],
    level: i32,
) -> io::Result<Vec<u8>> {
    let mut compressor = match slot.take() {
        Some((current, compressor)) if current == level => compressor,
        Some((_, mut compressor)) => {
            // On failure the context is dropped: its parameters are unknown.
            compressor.set_compression_level(level)?;
            compressor
        }
        None => zstd::bulk::Compressor::new(level)?,
    };
    let out = compressor.compress(input);
    *slot = Some((level, compressor));
    out
}

/// `zstd::bulk::decompress`, with this thread's context: fails if the data expands to
/// more than `capacity` bytes.
pub(crate) fn decompress(input: &[u8], capacity: usize) -> io::Result<Vec<u8>> {
    let reused = DECOMPRESSOR.try_with(|slot| {
        let mut slot = slot.try_borrow_mut().ok()?;
        let decompressor = match &mut *slot {
            Some(d) => d,
            None => match zstd::bulk::Decompressor::new() {
                Ok(d) => slot.insert(d),
                Err(e) => return Some(Err(e)),
            },
        };
        Some(decompressor.decompress(input, capacity))
    });
    match reused {
        Ok(Some(result)) => result,
        _ => zstd::bulk::decompress(input, capacity),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        (0..20_000u32).map(|i| (i % 97) as u8).collect()
    }

    #[test]
    fn a_reused_context_writes_what_a_fresh_one_writes() {
        let input = sample();
        for level in [0, 1, 3, 0, 19, 3] {
            let fresh = zstd::bulk::compress(&input, level).unwrap();
            assert_eq!(compress(&input, level).unwrap(), fresh, "level {level}");
            assert_eq!(
                compress(&input, level).unwrap(),
                fresh,
                "level {level} again"
            );
            assert_eq!(decompress(&fresh, input.len()).unwrap(), input);
        }
    }

    #[test]
    fn a_failure_does_not_spoil_the_context() {
        let input = sample();
        let z = compress(&input, 3).unwrap();
        assert!(decompress(&z, input.len() - 1).is_err());
        assert!(decompress(&z[..z.len() / 2], input.len()).is_err());
        assert!(decompress(b"not zstd at all", 100).is_err());
        assert_eq!(decompress(&z, input.len()).unwrap(), input);
        assert_eq!(compress(&input, 3).unwrap(), z);
    }
}
