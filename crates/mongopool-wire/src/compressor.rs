//! The compressors of OP_COMPRESSED: noop, snappy, zlib and zstd, and the rule of
//! which commands must never be compressed.

use crate::error::{Result, WireError};
#[cfg(feature = "zstd")]
use crate::zstd_contexts;

/// A compression algorithm, with its level where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compressor {
    /// Id 0: the bytes as they are (used for testing).
    Noop,
    /// Id 1: snappy (raw format, no framing).
    Snappy,
    /// Id 2: zlib.
    Zlib {
        /// `zlibCompressionLevel`, `-1..=9`; `None` or `-1` is zlib's default (6).
        level: Option<i32>,
    },
    /// Id 3: zstd.
    Zstd {
        /// Compression level within zstd's range; `None` is zstd's default (3).
        level: Option<i32>,
    },
}

impl Compressor {
    /// The `compressorId` of OP_COMPRESSED.
    pub fn id(&self) -> u8 {
        match self {
            Compressor::Noop => 0,
            Compressor::Snappy => 1,
            Compressor::Zlib { .. } => 2,
            Compressor::Zstd { .. } => 3,
        }
    }

    /// The name used in the handshake and in the connection string.
    pub fn name(&self) -> &'static str {
        match self {
            Compressor::Noop => "noop",
            Compressor::Snappy => "snappy",
            Compressor::Zlib { .. } => "zlib",
            Compressor::Zstd { .. } => "zstd",
        }
    }

    /// The compressor a handshake or connection-string name stands for (any ASCII
    /// case), with the default level; `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Compressor> {
        [
            Compressor::Noop,
            Compressor::Snappy,
            Compressor::Zlib { level: None },
            Compressor::Zstd { level: None },
        ]
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// The compressor of a `compressorId`, with the default level.
    pub fn from_id(id: u8) -> Result<Compressor> {
        match id {
            0 => Ok(Compressor::Noop),
            1 => Ok(Compressor::Snappy),
            2 => Ok(Compressor::Zlib { level: None }),
            3 => Ok(Compressor::Zstd { level: None }),
            other => Err(WireError::UnknownCompressor(other)),
        }
    }

    /// Zlib at `level`, which must be in `-1..=9`.
    pub fn zlib(level: i32) -> Result<Compressor> {
        let c = Compressor::Zlib { level: Some(level) };
        c.validate()?;
        Ok(c)
    }

    /// Zstd at `level`, which must be in zstd's range.
    pub fn zstd(level: i32) -> Result<Compressor> {
        let c = Compressor::Zstd { level: Some(level) };
        c.validate()?;
        Ok(c)
    }

    /// Checks the level; `compress` runs this too.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Compressor::Zlib { level: Some(l) } if !(-1..=9).contains(&l) => Err(
                WireError::InvalidArgument(format!("zlib compression level {l} is not in -1..=9")),
            ),
            #[cfg(feature = "zstd")]
            Compressor::Zstd { level: Some(l) }
                if !zstd::compression_level_range().contains(&l) =>
            {
                let range = zstd::compression_level_range();
                Err(WireError::InvalidArgument(format!(
                    "zstd compression level {l} is not in {}..={}",
                    range.start(),
                    range.end()
                )))
            }
            _ if !self.is_available() => Err(WireError::InvalidArgument(format!(
                "compressor {} was left out of this build (cargo feature \"{}\")",
                self.name(),
                self.name()
            ))),
            _ => Ok(()),
        }
    }

    /// Whether this build can run the algorithm: snappy, zlib and zstd each sit behind
    /// the cargo feature of their name (all on by default); noop always can.
    pub fn is_available(&self) -> bool {
        match self {
            Compressor::Noop => true,
            Compressor::Snappy => cfg!(feature = "snappy"),
            Compressor::Zlib { .. } => cfg!(feature = "zlib"),
            Compressor::Zstd { .. } => cfg!(feature = "zstd"),
        }
    }

    /// Compresses `input`.
    pub fn compress(&self, input: &[u8]) -> Result<Vec<u8>> {
        self.validate()?;
        match *self {
            Compressor::Noop => Ok(input.to_vec()),
            #[cfg(feature = "snappy")]
            Compressor::Snappy => snap::raw::Encoder::new()
                .compress_vec(input)
                .map_err(|e| compression_error("snappy", e)),
            #[cfg(feature = "zlib")]
            Compressor::Zlib { level } => {
                use std::io::Write;
                let level = match level {
                    None | Some(-1) => flate2::Compression::default(),
                    // validate() has checked 0..=9.
                    Some(l) => flate2::Compression::new(u32::try_from(l).unwrap_or(6)),
                };
                let mut enc = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(input.len() / 2 + 64),
                    level,
                );
                enc.write_all(input)
                    .and_then(|()| enc.finish())
                    .map_err(|e| compression_error("zlib", e))
            }
            #[cfg(feature = "zstd")]
            Compressor::Zstd { level } => {
                // Level 0 asks zstd for its default.
                zstd_contexts::compress(input, level.unwrap_or(0))
                    .map_err(|e| compression_error("zstd", e))
            }
            #[allow(unreachable_patterns)]
            _ => Err(unavailable(self)),
        }
    }

    /// Decompresses `input`, which must expand to exactly `uncompressed_size` bytes.
    /// Never produces (or allocates for) more than `uncompressed_size` bytes, so bound
    /// `uncompressed_size` before calling (OP_COMPRESSED checks it against the maximum
    /// message size).
    pub fn decompress(&self, input: &[u8], uncompressed_size: usize) -> Result<Vec<u8>> {
        let out = match self {
            Compressor::Noop => input.to_vec(),
            #[cfg(feature = "snappy")]
            Compressor::Snappy => {
                let announced =
                    snap::raw::decompress_len(input).map_err(|e| compression_error("snappy", e))?;
                if announced != uncompressed_size {
                    return Err(size_mismatch("snappy", announced, uncompressed_size));
                }
                let mut out = vec![0u8; announced];
                let n = snap::raw::Decoder::new()
                    .decompress(input, &mut out)
                    .map_err(|e| compression_error("snappy", e))?;
                out.truncate(n);
                out
            }
            #[cfg(feature = "zlib")]
            Compressor::Zlib { .. } => {
                use std::io::Read;
                // Reserve no more than the input can expand to: a few bytes that claim
                // to make megabytes get a small buffer until they really do.
                let reachable = input
                    .len()
                    .saturating_mul(ZLIB_MAX_RATIO)
                    .saturating_add(64);
                // Plus the one byte that tells a stream too long, so that reading it
                // does not double the buffer.
                let mut out =
                    Vec::with_capacity(uncompressed_size.min(reachable).saturating_add(1));
                // One byte more than expected, to notice a stream that is too long
                // without inflating all of it.
                let limit = u64::try_from(uncompressed_size)
                    .unwrap_or(u64::MAX)
                    .saturating_add(1);
                flate2::read::ZlibDecoder::new(input)
                    .take(limit)
                    .read_to_end(&mut out)
                    .map_err(|e| compression_error("zlib", e))?;
                out
            }
            #[cfg(feature = "zstd")]
            Compressor::Zstd { .. } => {
                // Errors when the output would exceed the capacity.
                zstd_contexts::decompress(input, uncompressed_size)
                    .map_err(|e| compression_error("zstd", e))?
            }
            #[allow(unreachable_patterns)]
            _ => return Err(unavailable(self)),
        };
        if out.len() != uncompressed_size {
            return Err(size_mismatch(self.name(), out.len(), uncompressed_size));
        }
        Ok(out)
    }
}

#[cfg(feature = "zlib")]
/// Deflate's largest expansion: a 258-byte match costs at least 2 bits, so one input
/// byte makes at most 1032 output bytes.
const ZLIB_MAX_RATIO: usize = 1032;

impl std::fmt::Display for Compressor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

fn unavailable(c: &Compressor) -> WireError {
    WireError::Compression(format!(
        "{}: left out of this build (cargo feature \"{}\")",
        c.name(),
        c.name()
    ))
}

#[cfg(any(feature = "snappy", feature = "zlib", feature = "zstd"))]
fn compression_error(name: &str, e: impl std::fmt::Display) -> WireError {
    WireError::Compression(format!("{name}: {e}"))
}

fn size_mismatch(name: &str, got: usize, expected: usize) -> WireError {
    WireError::Compression(format!(
        "{name}: the data expands to {got} bytes but uncompressedSize says {expected}"
    ))
}

/// Commands that must never be compressed (spec: "Messages not allowed to be
/// compressed"), lower-cased; matching ignores ASCII case, which also covers the
/// legacy `isMaster`/`ismaster`.
const NEVER_COMPRESSED: [&str; 11] = [
    "hello",
    "ismaster",
    "saslstart",
    "saslcontinue",
    "getnonce",
    "authenticate",
    "createuser",
    "updateuser",
    "copydbsaslstart",
    "copydbgetnonce",
    "copydb",
];

/// Whether a message carrying the command `command_name` may be compressed.
pub fn may_compress(command_name: &str) -> bool {
    !NEVER_COMPRESSED
        .iter()
        .any(|c| c.eq_ignore_ascii_case(command_name))
}

#[cfg(all(test, feature = "snappy", feature = "zlib", feature = "zstd"))]
mod tests {
    use super::*;

    fn all() -> [Compressor; 4] {
        [
            Compressor::Noop,
            Compressor::Snappy,
            Compressor::Zlib { level: None },
            Compressor::Zstd { level: None },
        ]
    }

    #[test]
    fn ids_and_names_are_the_specs() {
        let expected = [(0, "noop"), (1, "snappy"), (2, "zlib"), (3, "zstd")];
        for (c, (id, name)) in all().into_iter().zip(expected) {
            assert_eq!((c.id(), c.name()), (id, name));
            assert_eq!(Compressor::from_id(id).unwrap(), c);
            assert_eq!(Compressor::from_name(name), Some(c));
            assert_eq!(c.to_string(), name);
        }
        assert_eq!(
            Compressor::from_name("ZLIB"),
            Some(Compressor::Zlib { level: None })
        );
        assert_eq!(Compressor::from_name("snoopy"), None);
        for id in 4..=255u8 {
            assert_eq!(
                Compressor::from_id(id),
                Err(WireError::UnknownCompressor(id))
            );
        }
    }

    #[test]
    fn every_compressor_round_trips() {
        let input: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut compressors = all().to_vec();
        compressors.extend([
            Compressor::zlib(-1).unwrap(),
            Compressor::zlib(0).unwrap(),
            Compressor::zlib(9).unwrap(),
            Compressor::zstd(1).unwrap(),
            Compressor::zstd(19).unwrap(),
        ]);
        for c in compressors {
            let z = c.compress(&input).unwrap();
            if c != Compressor::Noop && c != (Compressor::Zlib { level: Some(0) }) {
                assert!(z.len() < input.len(), "{c:?} did not compress");
            }
            assert_eq!(c.decompress(&z, input.len()).unwrap(), input, "{c:?}");
            assert_eq!(c.decompress(&c.compress(&[]).unwrap(), 0).unwrap(), b"");
        }
    }

    #[test]
    fn bad_levels_are_refused() {
        assert!(matches!(
            Compressor::zlib(10),
            Err(WireError::InvalidArgument(_))
        ));
        assert!(matches!(
            Compressor::zlib(-2),
            Err(WireError::InvalidArgument(_))
        ));
        assert!(matches!(
            Compressor::zstd(1000),
            Err(WireError::InvalidArgument(_))
        ));
        let bad = Compressor::Zlib { level: Some(42) };
        assert!(matches!(
            bad.compress(b"x"),
            Err(WireError::InvalidArgument(_))
        ));
    }

    #[test]
    fn a_wrong_uncompressed_size_is_an_error() {
        let input = vec![7u8; 1000];
        for c in all() {
            let z = c.compress(&input).unwrap();
            for wrong in [0, 999, 1001, 5000] {
                assert!(
                    matches!(c.decompress(&z, wrong), Err(WireError::Compression(_))),
                    "{c:?} accepted size {wrong}"
                );
            }
        }
    }

    #[test]
    fn garbage_does_not_decompress() {
        let garbage = [0xFFu8, 0x13, 0x37, 0x00, 0x42, 0x99, 0x01];
        for c in [
            Compressor::Snappy,
            Compressor::Zlib { level: None },
            Compressor::Zstd { level: None },
        ] {
            assert!(c.decompress(&garbage, 100).is_err(), "{c:?}");
        }
    }

    #[test]
    fn auth_and_handshake_commands_are_never_compressed() {
        for name in [
            "hello",
            "isMaster",
            "ismaster",
            "ISMASTER",
            "saslStart",
            "saslContinue",
            "getnonce",
            "authenticate",
            "createUser",
            "updateUser",
            "copydbSaslStart",
            "copydbgetnonce",
            "copydb",
        ] {
            assert!(!may_compress(name), "{name}");
        }
        for name in ["find", "insert", "ping", "getMore", "helloWorld", ""] {
            assert!(may_compress(name), "{name}");
        }
    }
}
