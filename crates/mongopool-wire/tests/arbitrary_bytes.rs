//! Decoding arbitrary bytes never panics: random bytes, random bodies behind a
//! valid header, and valid messages with bytes flipped or cut.

mod strategies;

use mongopool_wire::{Header, Message, MessageDecoder, HEADER_LEN};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{compressor, message, MAX};

const OPCODES: [i32; 10] = [1, 2001, 2002, 2004, 2005, 2006, 2007, 2012, 2013, 7];

fn framed(op_code: i32, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    Header {
        message_length: (HEADER_LEN + body.len()) as i32,
        request_id: 1,
        response_to: 2,
        op_code,
    }
    .write_to(&mut f);
    f.extend_from_slice(body);
    f
}

/// Feeds `bytes` to a streaming decoder in `chunk`-sized pieces until it needs more
/// or fails; returns how many messages came out.
fn drain(bytes: &[u8], chunk: usize) -> usize {
    let mut d = MessageDecoder::new(MAX);
    let mut n = 0;
    for piece in bytes.chunks(chunk.max(1)) {
        d.push(piece);
        loop {
            match d.next_message() {
                Ok(Some(_)) => n += 1,
                Ok(None) => break,
                Err(_) => {
                    // A framing error is sticky; a message error is not.
                    if d.next_frame().is_err() {
                        return n;
                    }
                }
            }
        }
    }
    n
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_bytes(bytes in vec(any::<u8>(), 0..200), max in 0usize..400) {
        let _ = Message::decode(&bytes, max);
        let _ = drain(&bytes, 7);
    }

    #[test]
    fn random_bodies_behind_a_valid_header(
        op in proptest::sample::select(&OPCODES[..]),
        body in vec(any::<u8>(), 0..300),
        chunk in 1usize..50,
    ) {
        let f = framed(op, &body);
        let _ = Message::decode(&f, MAX);
        let _ = drain(&f, chunk);
    }

    #[test]
    fn mutated_valid_messages(
        m in message(),
        c in proptest::option::of(compressor()),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        chunk in 1usize..64,
    ) {
        let mut f = Vec::new();
        match c {
            Some(c) => m.encode_compressed(1, 0, &c, &mut f).unwrap(),
            None => m.encode(1, 0, &mut f).unwrap(),
        }
        for (at, x) in &flips {
            let i = at.index(f.len());
            f[i] ^= x;
        }
        let _ = Message::decode(&f, MAX);
        let _ = drain(&f, chunk);
        // Truncated, with the header patched to the new length so that the body
        // parsers (not only the length check) see the cut.
        let n = cut.index(f.len());
        let mut short = f[..n].to_vec();
        if short.len() >= 4 {
            let len = (short.len() as i32).to_le_bytes();
            short[..4].copy_from_slice(&len);
        }
        let _ = Message::decode(&short, MAX);
    }

    #[test]
    fn op_compressed_with_random_payloads(
        original in proptest::sample::select(&OPCODES[..]),
        size in prop_oneof![0i32..600, any::<i32>()],
        id in 0u8..6,
        data in vec(any::<u8>(), 0..200),
    ) {
        let mut body = original.to_le_bytes().to_vec();
        body.extend_from_slice(&size.to_le_bytes());
        body.push(id);
        body.extend_from_slice(&data);
        let _ = Message::decode(&framed(2012, &body), MAX);
    }
}
