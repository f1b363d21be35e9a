//! Size limits the server announces in its hello reply, and the check on an
//! announced message length that runs before any allocation.

use crate::error::{Result, WireError};
use crate::header::HEADER_LEN;

/// `maxMessageSizeBytes` when the server does not say.
pub const DEFAULT_MAX_MESSAGE_SIZE_BYTES: usize = 48_000_000;

/// The largest `maxMessageSizeBytes` believed from a server, unless configured
/// otherwise: a hello announcing more is clamped to this before it bounds what the
/// client reads (frames, `uncompressedSize`, decompression buffers). Real servers
/// announce exactly 48 000 000.
pub const DEFAULT_MAX_MESSAGE_SIZE_CEILING: usize = 48_000_000;
/// `maxBsonObjectSize` when the server does not say.
pub const DEFAULT_MAX_BSON_OBJECT_SIZE: usize = 16 * 1024 * 1024;

/// `maxWriteBatchSize` when the server does not say.
pub const DEFAULT_MAX_WRITE_BATCH_SIZE: usize = 100_000;

/// The allowance a command body gets above `maxBsonObjectSize`: the server accepts a
/// command whose user document is at the limit plus the fields the driver adds.
pub const COMMAND_OVERHEAD_BYTES: usize = 16 * 1024;

/// The limits a server announced (or the defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limits {
    /// Largest document the server stores. Defaults to 16 MiB.
    pub max_bson_object_size: usize,
    /// Largest message the server accepts. Defaults to 48 000 000.
    pub max_message_size_bytes: usize,
    /// Most documents in one write batch. Defaults to 100 000.
    pub max_write_batch_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bson_object_size: DEFAULT_MAX_BSON_OBJECT_SIZE,
            max_message_size_bytes: DEFAULT_MAX_MESSAGE_SIZE_BYTES,
            max_write_batch_size: DEFAULT_MAX_WRITE_BATCH_SIZE,
        }
    }
}

impl Limits {
    /// These limits with `max_message_size_bytes` (and `max_bson_object_size`, which
    /// cannot exceed it) at most `ceiling`.
    #[must_use]
    pub fn clamped(self, ceiling: usize) -> Limits {
        Limits {
            max_bson_object_size: self.max_bson_object_size.min(ceiling),
            max_message_size_bytes: self.max_message_size_bytes.min(ceiling),
            max_write_batch_size: self.max_write_batch_size,
        }
    }
}

/// Checks an announced `messageLength` against `16..=max` and returns it as a `usize`.
///
/// Run this on the first four bytes of a frame, before allocating room for the rest.
pub fn check_message_length(announced: i32, max: usize) -> Result<usize> {
    match usize::try_from(announced) {
        Ok(len) if (HEADER_LEN..=max).contains(&len) => Ok(len),
        _ => Err(WireError::MessageLength {
            length: i64::from(announced),
            max,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_server_defaults() {
        let l = Limits::default();
        assert_eq!(l.max_bson_object_size, 16_777_216);
        assert_eq!(l.max_message_size_bytes, 48_000_000);
        assert_eq!(l.max_write_batch_size, 100_000);
    }

    #[test]
    fn clamping_bounds_the_sizes_and_keeps_smaller_ones() {
        let absurd = Limits {
            max_bson_object_size: usize::MAX,
            max_message_size_bytes: usize::MAX,
            max_write_batch_size: 7,
        };
        let c = absurd.clamped(DEFAULT_MAX_MESSAGE_SIZE_CEILING);
        assert_eq!(c.max_message_size_bytes, 48_000_000);
        assert_eq!(c.max_bson_object_size, 48_000_000);
        assert_eq!(c.max_write_batch_size, 7);
        assert_eq!(Limits::default().clamped(48_000_000), Limits::default());
    }

    #[test]
    fn lengths_inside_the_range_are_accepted() {
        assert_eq!(check_message_length(16, 100), Ok(16));
        assert_eq!(check_message_length(100, 100), Ok(100));
        assert_eq!(
            check_message_length(48_000_000, DEFAULT_MAX_MESSAGE_SIZE_BYTES),
            Ok(48_000_000)
        );
    }

    #[test]
    fn lengths_outside_the_range_are_refused() {
        for (len, max) in [(15, 100), (0, 100), (-1, 100), (i32::MIN, 100), (101, 100)] {
            assert_eq!(
                check_message_length(len, max),
                Err(WireError::MessageLength {
                    length: i64::from(len),
                    max
                })
            );
        }
    }
}
