//! The streaming decoder yields the same messages however the stream is cut.

mod strategies;

use mongopool_wire::{Message, MessageDecoder};
use proptest::collection::vec;
use proptest::prelude::*;
use strategies::{compressor, message, MAX};

proptest! {
    #[test]
    fn any_fragmentation_yields_the_same_messages(
        messages in vec((message(), proptest::option::of(compressor())), 1..6),
        cuts in vec(any::<prop::sample::Index>(), 0..20),
    ) {
        let mut stream = Vec::new();
        for (i, (m, c)) in messages.iter().enumerate() {
            match c {
                Some(c) => m.encode_compressed(i as i32, 0, c, &mut stream).unwrap(),
                None => m.encode(i as i32, 0, &mut stream).unwrap(),
            }
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();

        let mut d = MessageDecoder::new(MAX);
        let mut got: Vec<(i32, Message)> = Vec::new();
        for w in points.windows(2) {
            d.push(&stream[w[0]..w[1]]);
            while let Some(decoded) = d.next_message().unwrap() {
                got.push((decoded.header.request_id, decoded.message));
            }
        }
        prop_assert_eq!(d.buffered(), 0);
        let want: Vec<(i32, Message)> = messages
            .into_iter()
            .enumerate()
            .map(|(i, (m, _))| (i as i32, m))
            .collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn frames_come_out_byte_for_byte(
        messages in vec(message(), 1..4),
        chunk in 1usize..40,
    ) {
        let mut stream = Vec::new();
        let mut frames = Vec::new();
        for m in &messages {
            let start = stream.len();
            m.encode(1, 0, &mut stream).unwrap();
            frames.push(stream[start..].to_vec());
        }
        let mut d = MessageDecoder::new(MAX);
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            d.push(piece);
            while let Some(f) = d.next_frame().unwrap() {
                got.push(f);
            }
        }
        prop_assert_eq!(got, frames);
    }
}
