//! Encoding then decoding any message, plain or compressed, gives it back.

mod strategies;

use mongopool_wire::{Header, Message, HEADER_LEN};
use proptest::prelude::*;
use strategies::{compressor, message, MAX};

proptest! {
    #[test]
    fn encode_then_decode_is_identity(m in message(), id in any::<i32>(), to in any::<i32>()) {
        let mut buf = vec![0xAB; 3];
        m.encode(id, to, &mut buf).unwrap();
        let frame = &buf[3..];
        prop_assert_eq!(frame.len(), m.encoded_len());
        let header = Header::parse(frame).unwrap();
        prop_assert_eq!(header.message_length as usize, frame.len());
        prop_assert_eq!(header.op_code, m.op_code().as_i32());
        let d = Message::decode(frame, MAX).unwrap();
        prop_assert_eq!(d.header, header);
        prop_assert_eq!(d.compressor, None);
        prop_assert_eq!(d.message, m);
    }

    #[test]
    fn encode_compressed_then_decode_is_identity(
        m in message(),
        c in compressor(),
        id in any::<i32>(),
        to in any::<i32>(),
    ) {
        let mut buf = Vec::new();
        m.encode_compressed(id, to, &c, &mut buf).unwrap();
        let d = Message::decode(&buf, MAX).unwrap();
        prop_assert_eq!(d.header.op_code, 2012);
        prop_assert_eq!((d.header.request_id, d.header.response_to), (id, to));
        prop_assert_eq!(d.compressor.map(|c| c.id()), Some(c.id()));
        prop_assert_eq!(d.message, m);
    }

    #[test]
    fn encoding_appends_after_what_is_in_the_buffer(a in message(), b in message()) {
        let mut both = Vec::new();
        a.encode(1, 0, &mut both).unwrap();
        let split = both.len();
        b.encode(2, 0, &mut both).unwrap();
        prop_assert_eq!(Message::decode(&both[..split], MAX).unwrap().message, a);
        prop_assert_eq!(Message::decode(&both[split..], MAX).unwrap().message, b);
        prop_assert!(both.len() >= 2 * HEADER_LEN);
    }
}
