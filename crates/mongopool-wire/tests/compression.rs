//! Every compressor round-trips any input and never panics on garbage.

mod strategies;

use mongopool_wire::{Compressor, OpCode, OpCompressed, HEADER_LEN};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::compressor;

fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..4096),
        // Repetitive input, which actually compresses.
        (vec(any::<u8>(), 1..8), 0usize..2000).prop_map(|(unit, n)| unit
            .iter()
            .copied()
            .cycle()
            .take(n)
            .collect()),
    ]
}

proptest! {
    #[test]
    fn compress_then_decompress_is_identity(data in input(), c in compressor()) {
        let z = c.compress(&data).unwrap();
        prop_assert_eq!(c.decompress(&z, data.len()).unwrap(), data);
    }

    #[test]
    fn a_wrong_size_is_always_refused(data in input(), c in compressor(), delta in 1usize..100) {
        let z = c.compress(&data).unwrap();
        prop_assert!(c.decompress(&z, data.len() + delta).is_err());
        if data.len() >= delta {
            prop_assert!(c.decompress(&z, data.len() - delta).is_err());
        }
    }

    #[test]
    fn op_compressed_round_trips(data in input(), c in compressor()) {
        let m = OpCompressed::compress(OpCode::Reply, &data, &c).unwrap();
        let mut buf = Vec::new();
        m.encode(1, 2, &mut buf).unwrap();
        let back = OpCompressed::decode_body(&buf[HEADER_LEN..]).unwrap();
        prop_assert_eq!(back.compressor.id(), c.id());
        prop_assert_eq!(back.decompress(HEADER_LEN + data.len()).unwrap(), data);
    }

    #[test]
    fn garbage_never_panics(data in vec(any::<u8>(), 0..300), size in 0usize..70_000) {
        for c in [
            Compressor::Noop,
            Compressor::Snappy,
            Compressor::Zlib { level: None },
            Compressor::Zstd { level: None },
        ] {
            let _ = c.decompress(&data, size);
        }
    }
}
