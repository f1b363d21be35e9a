//! A byte stream cut at fuzz-chosen points and pushed into `MessageDecoder`: whatever the
//! cuts, the decoder must yield the same frames, the same decoded messages and the same
//! errors as when the stream arrives in one piece, never panic, and keep a fatal length
//! error sticky.
//!
//! Input layout: byte 0 is the number of cuts `n` (mod 32), then `n` little-endian u16
//! cut offsets (taken modulo the stream length + 1), then the stream.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mongopool_wire::{Decoded, Message, MessageDecoder, WireError};

/// Small, so that both refused lengths and whole frames are common.
const MAX_MESSAGE_SIZE: usize = 4096;

/// What the decoder produced, in order.
#[derive(Debug, PartialEq)]
enum Event {
    /// A whole frame was cut out and decoded (or failed to decode, which is not fatal).
    Message(Result<Decoded, WireError>),
    /// The stream is broken (a refused length): every later call fails the same way.
    Fatal(WireError),
}

fuzz_target!(|data: &[u8]| {
    let Some((&count, rest)) = data.split_first() else {
        return;
    };
    let count = usize::from(count % 32);
    let Some(offsets) = rest.get(..count * 2) else {
        return;
    };
    let stream = &rest[count * 2..];
    let mut cuts: Vec<usize> = offsets
        .chunks_exact(2)
        .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])) % (stream.len() + 1))
        .collect();
    cuts.push(0);
    cuts.push(stream.len());
    cuts.sort_unstable();

    let whole = reference(stream);
    let chunks: Vec<&[u8]> = cuts.windows(2).map(|w| &stream[w[0]..w[1]]).collect();
    assert_eq!(chunked(&chunks), whole, "cut at {cuts:?}");
});

/// The stream in one push, cut into frames with `next_frame` and decoded separately.
fn reference(stream: &[u8]) -> Vec<Event> {
    let mut d = MessageDecoder::new(MAX_MESSAGE_SIZE);
    d.push(stream);
    let mut events = Vec::new();
    let mut taken = 0;
    loop {
        match d.next_frame() {
            Ok(Some(frame)) => {
                assert!((16..=MAX_MESSAGE_SIZE).contains(&frame.len()));
                assert_eq!(&stream[taken..taken + frame.len()], &frame[..]);
                taken += frame.len();
                events.push(Event::Message(Message::decode(&frame, MAX_MESSAGE_SIZE)));
            }
            Ok(None) => {
                assert_eq!(taken + d.buffered(), stream.len());
                return events;
            }
            Err(e) => {
                assert_eq!(d.next_frame(), Err(e.clone()), "a length error is sticky");
                events.push(Event::Fatal(e));
                return events;
            }
        }
    }
}

/// The stream in pieces, read with `next_message` after every push.
fn chunked(chunks: &[&[u8]]) -> Vec<Event> {
    let mut d = MessageDecoder::new(MAX_MESSAGE_SIZE);
    let mut events = Vec::new();
    for chunk in chunks {
        d.push(chunk);
        loop {
            let before = d.buffered();
            match d.next_message() {
                Ok(Some(m)) => events.push(Event::Message(Ok(m))),
                Ok(None) => break,
                // A frame was consumed: that message was bad, the stream is fine.
                Err(e) if d.buffered() < before => events.push(Event::Message(Err(e))),
                Err(e) => {
                    // Nothing consumed: the fatal error. More bytes change nothing.
                    d.push(b"\x10\0\0\0");
                    assert_eq!(d.next_message().unwrap_err(), e, "a length error is sticky");
                    events.push(Event::Fatal(e));
                    return events;
                }
            }
        }
    }
    events
}
