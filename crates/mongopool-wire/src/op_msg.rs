//! OP_MSG (2013): flag bits, one body document, any number of document sequences,
//! and an optional CRC-32C checksum.

use std::collections::HashSet;

use bson::RawDocumentBuf;

use crate::documents::Documents;
use crate::error::{Result, WireError};
use crate::flags::wire_flags;
use crate::header::{Header, OpCode, HEADER_LEN};
use crate::reader::WireReader;
use crate::writer::{cstring_len, encode_frame, put_cstring, put_document, put_i32, put_u32};

const WHAT: &str = "OP_MSG";
const KIND_BODY: u8 = 0;
const KIND_SEQUENCE: u8 = 1;
const CHECKSUM_LEN: usize = 4;

/// Most document sequences one OP_MSG may carry. Commands use one or two (`bulkWrite`
/// uses `ops` and `nsInfo`); the bound keeps a peer from filling a message with
/// millions of empty sequences.
pub const MAX_DOCUMENT_SEQUENCES: usize = 64;

wire_flags! {
    /// The `flagBits` of OP_MSG. Bits 0-15 are required (a receiver must understand
    /// them), bits 16-31 optional.
    pub struct MsgFlags;
    /// A CRC-32C checksum follows the sections.
    const CHECKSUM_PRESENT = 0;
    /// The sender will send another message without waiting for a reply.
    const MORE_TO_COME = 1;
    /// The client accepts several replies (exhaust) to this request.
    const EXHAUST_ALLOWED = 16;
}

impl MsgFlags {
    /// The required bits (0-15).
    pub const REQUIRED_MASK: u32 = 0xFFFF;

    /// The required bits this crate does not understand; non-zero means the message
    /// must be refused.
    pub const fn unsupported_required_bits(self) -> u32 {
        self.0 & Self::REQUIRED_MASK & !(Self::CHECKSUM_PRESENT.0 | Self::MORE_TO_COME.0)
    }
}

/// A payload type 1 section: documents that stand for the command argument named
/// `identifier` (`documents` of insert, `updates` of update, `deletes` of delete).
#[derive(Debug, Clone, PartialEq)]
pub struct DocumentSequence {
    /// Name of the command argument the documents belong to.
    pub identifier: String,
    /// The documents, in order.
    pub documents: Documents,
}

impl DocumentSequence {
    /// A sequence named `identifier`.
    pub fn new(identifier: impl Into<String>, documents: impl Into<Documents>) -> Self {
        DocumentSequence {
            identifier: identifier.into(),
            documents: documents.into(),
        }
    }

    /// Size of the section's payload: the size field, the identifier and the documents
    /// (the kind byte excluded).
    fn payload_len(&self) -> usize {
        (4 + cstring_len(&self.identifier)).saturating_add(self.documents.as_bytes().len())
    }
}

/// An OP_MSG.
#[derive(Debug, Clone, PartialEq)]
pub struct OpMsg {
    /// The flag bits, written as they are. [`MsgFlags::CHECKSUM_PRESENT`] makes
    /// [`OpMsg::encode`] append a checksum.
    pub flags: MsgFlags,
    /// The payload type 0 section: the command, or the reply.
    pub body: RawDocumentBuf,
    /// The payload type 1 sections, identifiers unique.
    pub sequences: Vec<DocumentSequence>,
}

impl OpMsg {
    /// A message with `body`, no flag and no sequence.
    pub fn new(body: RawDocumentBuf) -> Self {
        OpMsg {
            flags: MsgFlags::EMPTY,
            body,
            sequences: Vec::new(),
        }
    }

    /// Adds a document sequence.
    #[must_use]
    pub fn with_sequence(mut self, sequence: DocumentSequence) -> Self {
        self.sequences.push(sequence);
        self
    }

    /// Replaces the flags.
    #[must_use]
    pub fn with_flags(mut self, flags: MsgFlags) -> Self {
        self.flags = flags;
        self
    }

    /// The command name: the first key of the body, if the body has one that reads.
    pub fn command_name(&self) -> Option<&str> {
        match self.body.iter().next() {
            Some(Ok((key, _))) => Some(key.as_str()),
            _ => None,
        }
    }

    /// Size of the encoded message, header and checksum included.
    pub fn encoded_len(&self) -> usize {
        let sections = self
            .sequences
            .iter()
            .fold(1usize.saturating_add(self.body.as_bytes().len()), |n, s| {
                n.saturating_add(1).saturating_add(s.payload_len())
            });
        let checksum = if self.flags.contains(MsgFlags::CHECKSUM_PRESENT) {
            CHECKSUM_LEN
        } else {
            0
        };
        (HEADER_LEN + 4 + checksum).saturating_add(sections)
    }

    /// Appends the whole message, header included, to `buf`. With
    /// [`MsgFlags::CHECKSUM_PRESENT`] the CRC-32C of everything before it is appended.
    ///
    /// Fails with `InvalidArgument` (and leaves `buf` as it was) if a required flag bit
    /// other than 0 and 1 is set, or an identifier is duplicated or contains a NUL.
    pub fn encode(&self, request_id: i32, response_to: i32, buf: &mut Vec<u8>) -> Result<()> {
        let unsupported = self.flags.unsupported_required_bits();
        if unsupported != 0 {
            return Err(WireError::InvalidArgument(format!(
                "OP_MSG flag bits {unsupported:#06x} are required bits this crate does not define"
            )));
        }
        if self.sequences.len() > MAX_DOCUMENT_SEQUENCES {
            return Err(WireError::InvalidArgument(format!(
                "OP_MSG has {} document sequences, more than the {MAX_DOCUMENT_SEQUENCES} allowed",
                self.sequences.len()
            )));
        }
        let mut seen = HashSet::with_capacity(self.sequences.len());
        for s in &self.sequences {
            if !seen.insert(s.identifier.as_str()) {
                return Err(WireError::InvalidArgument(format!(
                    "OP_MSG document sequence identifier {:?} is used twice",
                    s.identifier
                )));
            }
        }
        let with_checksum = self.flags.contains(MsgFlags::CHECKSUM_PRESENT);
        let start = encode_frame(buf, request_id, response_to, OpCode::Msg, |buf| {
            buf.reserve(self.encoded_len().saturating_sub(HEADER_LEN));
            put_u32(buf, self.flags.bits());
            buf.push(KIND_BODY);
            put_document(buf, &self.body);
            for s in &self.sequences {
                buf.push(KIND_SEQUENCE);
                let size =
                    i32::try_from(s.payload_len()).map_err(|_| WireError::DocumentTooLarge {
                        size: s.payload_len(),
                        max: i32::MAX as usize,
                    })?;
                put_i32(buf, size);
                put_cstring(buf, &s.identifier, "document sequence identifier")?;
                buf.extend_from_slice(s.documents.as_bytes());
            }
            if with_checksum {
                // Placeholder, so that messageLength counts the checksum.
                put_u32(buf, 0);
            }
            Ok(())
        })?;
        if with_checksum {
            let end = buf.len();
            let checksum = buf
                .get(start..end - CHECKSUM_LEN)
                .map(crc32c::crc32c)
                .ok_or_else(|| WireError::Malformed("OP_MSG vanished while encoding".into()))?;
            if let Some(slot) = buf.get_mut(end - CHECKSUM_LEN..end) {
                slot.copy_from_slice(&checksum.to_le_bytes());
            }
        }
        Ok(())
    }

    /// Decodes one whole frame, header included (the checksum covers the header).
    pub fn decode(frame: &[u8]) -> Result<OpMsg> {
        let header = Header::parse(frame)?;
        if header.op_code != OpCode::Msg.as_i32() {
            return Err(WireError::Malformed(format!(
                "{WHAT}: the header names opcode {}",
                header.op_code
            )));
        }
        if usize::try_from(header.message_length).ok() != Some(frame.len()) {
            return Err(WireError::Malformed(format!(
                "{WHAT}: the header says {} bytes but the frame has {}",
                header.message_length,
                frame.len()
            )));
        }
        OpMsg::decode_parts(&header, frame.get(HEADER_LEN..).unwrap_or_default())
    }

    /// Decodes the bytes after the header. `header` is needed because the checksum
    /// covers it: pass the header the bytes arrived with (for a decompressed message,
    /// the header rebuilt from OP_COMPRESSED). The header's length and opcode are not
    /// checked here; [`OpMsg::decode`] does that for a whole frame.
    pub fn decode_parts(header: &Header, body: &[u8]) -> Result<OpMsg> {
        let mut r = WireReader::new(body, WHAT);
        let flags = MsgFlags(r.read_u32("flagBits")?);
        let unsupported = flags.unsupported_required_bits();
        if unsupported != 0 {
            return Err(WireError::UnsupportedRequiredFlags(unsupported));
        }
        let sections = if flags.contains(MsgFlags::CHECKSUM_PRESENT) {
            let Some(split) = body.len().checked_sub(CHECKSUM_LEN).filter(|&s| s >= 4) else {
                return Err(r.error("checksumPresent is set but there is no room for a checksum"));
            };
            let (covered, carried) = body.split_at(split);
            let mut carried_bytes = [0u8; CHECKSUM_LEN];
            carried_bytes.copy_from_slice(carried);
            let expected = u32::from_le_bytes(carried_bytes);
            let computed = crc32c::crc32c_append(crc32c::crc32c(&header.to_bytes()), covered);
            if computed != expected {
                return Err(WireError::ChecksumMismatch { expected, computed });
            }
            covered.get(4..).unwrap_or_default()
        } else {
            body.get(4..).unwrap_or_default()
        };
        decode_sections(flags, sections)
    }
}

fn decode_sections(flags: MsgFlags, bytes: &[u8]) -> Result<OpMsg> {
    let mut r = WireReader::new(bytes, WHAT);
    let mut body = None;
    let mut sequences: Vec<DocumentSequence> = Vec::new();
    // A set, not a scan of the sequences so far: a scan makes decoding quadratic in
    // the number of sequences, which a peer chooses.
    let mut identifiers: HashSet<&str> = HashSet::new();
    if r.is_empty() {
        return Err(r.error("no section"));
    }
    while !r.is_empty() {
        match r.read_u8("payloadType")? {
            KIND_BODY => {
                let doc = r.read_document("body document")?;
                if body.replace(doc).is_some() {
                    return Err(r.error("more than one payload type 0 section"));
                }
            }
            KIND_SEQUENCE => {
                if sequences.len() == MAX_DOCUMENT_SEQUENCES {
                    return Err(r.error(format_args!(
                        "more than {MAX_DOCUMENT_SEQUENCES} document sequences"
                    )));
                }
                let (identifier, documents) = decode_sequence(&mut r)?;
                if !identifiers.insert(identifier) {
                    return Err(r.error(format_args!(
                        "document sequence identifier {identifier:?} appears twice"
                    )));
                }
                sequences.push(DocumentSequence {
                    identifier: identifier.to_owned(),
                    documents,
                });
            }
            other => return Err(r.error(format_args!("unknown payload type {other}"))),
        }
    }
    let Some(body) = body else {
        return Err(r.error("no payload type 0 section (the body)"));
    };
    Ok(OpMsg {
        flags,
        body,
        sequences,
    })
}

fn decode_sequence<'a>(r: &mut WireReader<'a>) -> Result<(&'a str, Documents)> {
    let announced = r.read_i32("document sequence size")?;
    let payload_len = usize::try_from(announced)
        .ok()
        .and_then(|n| n.checked_sub(4))
        .ok_or_else(|| {
            r.error(format_args!(
                "document sequence announces an impossible size {announced}"
            ))
        })?;
    let payload = r.take(payload_len, "document sequence")?;
    let mut s = WireReader::new(payload, WHAT);
    let identifier = s.read_cstring("document sequence identifier")?;
    let documents = s.read_documents_to_end("document sequence")?;
    Ok((identifier, documents))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    fn insert() -> OpMsg {
        OpMsg::new(rawdoc! { "insert": "c", "$db": "db" }).with_sequence(DocumentSequence::new(
            "documents",
            vec![rawdoc! { "_id": 1 }, rawdoc! { "_id": 2, "x": "y" }],
        ))
    }

    fn encode(m: &OpMsg) -> Vec<u8> {
        let mut buf = Vec::new();
        m.encode(7, 3, &mut buf).unwrap();
        assert_eq!(buf.len(), m.encoded_len());
        buf
    }

    /// A frame from raw section bytes, optionally with a valid checksum.
    fn frame(flags: u32, sections: &[u8], checksum: bool) -> Vec<u8> {
        let mut body = flags.to_le_bytes().to_vec();
        body.extend_from_slice(sections);
        let len = HEADER_LEN + body.len() + if checksum { 4 } else { 0 };
        let mut f = Vec::new();
        Header {
            message_length: len as i32,
            request_id: 1,
            response_to: 0,
            op_code: 2013,
        }
        .write_to(&mut f);
        f.extend(body);
        if checksum {
            let c = crc32c::crc32c(&f);
            f.extend_from_slice(&c.to_le_bytes());
        }
        f
    }

    fn body_section(doc: &RawDocumentBuf) -> Vec<u8> {
        let mut s = vec![KIND_BODY];
        s.extend_from_slice(doc.as_bytes());
        s
    }

    fn sequence_section(id: &str, docs: &[RawDocumentBuf]) -> Vec<u8> {
        let mut payload = id.as_bytes().to_vec();
        payload.push(0);
        for d in docs {
            payload.extend_from_slice(d.as_bytes());
        }
        let mut s = vec![KIND_SEQUENCE];
        s.extend_from_slice(&((payload.len() + 4) as i32).to_le_bytes());
        s.extend(payload);
        s
    }

    fn malformed(r: Result<OpMsg>) -> String {
        match r {
            Err(WireError::Malformed(m)) => m,
            other => panic!("expected Malformed, got {other:?}"),
        }
    }

    #[test]
    fn round_trips_with_and_without_sequences_and_flags() {
        let plain = OpMsg::new(rawdoc! { "ping": 1, "$db": "admin" });
        let flagged = insert()
            .with_flags(MsgFlags::MORE_TO_COME | MsgFlags::EXHAUST_ALLOWED | MsgFlags(1 << 31));
        let checked = insert().with_flags(MsgFlags::CHECKSUM_PRESENT);
        let empty_seq = OpMsg::new(rawdoc! { "update": "c" })
            .with_sequence(DocumentSequence::new("updates", vec![]))
            .with_sequence(DocumentSequence::new("", vec![rawdoc! {}]));
        for m in [plain, insert(), flagged, checked, empty_seq] {
            let f = encode(&m);
            let h = Header::parse(&f).unwrap();
            assert_eq!((h.request_id, h.response_to, h.op_code), (7, 3, 2013));
            assert_eq!(OpMsg::decode(&f).unwrap(), m);
        }
    }

    #[test]
    fn the_checksum_is_crc32c_of_everything_before_it() {
        let f = encode(&insert().with_flags(MsgFlags::CHECKSUM_PRESENT));
        let (covered, carried) = f.split_at(f.len() - 4);
        assert_eq!(carried, crc32c::crc32c(covered).to_le_bytes());
    }

    #[test]
    fn a_wrong_checksum_is_refused() {
        let mut f = encode(&insert().with_flags(MsgFlags::CHECKSUM_PRESENT));
        let good = OpMsg::decode(&f).unwrap();
        // A flipped bit anywhere (header, flags, sections, checksum) is caught.
        for at in [5, 20, 30, f.len() - 10, f.len() - 1] {
            f[at] ^= 0x10;
            match OpMsg::decode(&f) {
                Err(WireError::ChecksumMismatch { expected, computed }) => {
                    assert_ne!(expected, computed)
                }
                other => panic!("byte {at}: {other:?}"),
            }
            f[at] ^= 0x10;
        }
        assert_eq!(OpMsg::decode(&f).unwrap(), good);
    }

    #[test]
    fn checksum_flag_without_room_for_it_is_refused() {
        let f = frame(1, &[], false);
        assert!(malformed(OpMsg::decode(&f)).contains("checksum"));
        // Flags plus 3 bytes: not enough for flags and a checksum.
        let f = frame(1, &[0, 0, 0], false);
        assert!(malformed(OpMsg::decode(&f)).contains("checksum"));
    }

    #[test]
    fn a_checksum_with_no_section_is_refused() {
        let f = frame(1, &[], true);
        assert!(malformed(OpMsg::decode(&f)).contains("no section"));
    }

    #[test]
    fn sections_may_come_in_any_order() {
        let doc = rawdoc! { "insert": "c" };
        let mut sections = sequence_section("documents", &[rawdoc! { "a": 1 }]);
        sections.extend(body_section(&doc));
        let m = OpMsg::decode(&frame(0, &sections, false)).unwrap();
        assert_eq!(m.body, doc);
        assert_eq!(m.sequences[0].identifier, "documents");
        assert_eq!(m.command_name(), Some("insert"));
    }

    #[test]
    fn unknown_required_flags_are_refused_and_optional_ones_ignored() {
        let sections = body_section(&rawdoc! { "ok": 1 });
        for bit in 2..16 {
            assert_eq!(
                OpMsg::decode(&frame(1 << bit, &sections, false)),
                Err(WireError::UnsupportedRequiredFlags(1 << bit))
            );
        }
        for bit in 16..32 {
            let m = OpMsg::decode(&frame(1 << bit, &sections, false)).unwrap();
            assert_eq!(m.flags, MsgFlags(1 << bit));
        }
        assert_eq!(
            OpMsg::decode(&frame(0b1110, &sections, false)),
            Err(WireError::UnsupportedRequiredFlags(0b1100))
        );
    }

    #[test]
    fn structural_errors_are_refused() {
        let doc = rawdoc! { "ok": 1 };
        // No section at all.
        assert!(malformed(OpMsg::decode(&frame(0, &[], false))).contains("no section"));
        // Only a sequence: no body.
        let seq = sequence_section("documents", std::slice::from_ref(&doc));
        assert!(malformed(OpMsg::decode(&frame(0, &seq, false))).contains("type 0"));
        // Two bodies.
        let mut two = body_section(&doc);
        two.extend(body_section(&doc));
        assert!(malformed(OpMsg::decode(&frame(0, &two, false))).contains("more than one"));
        // Duplicate identifier.
        let mut dup = body_section(&doc);
        dup.extend(sequence_section("documents", &[]));
        dup.extend(sequence_section("documents", std::slice::from_ref(&doc)));
        assert!(malformed(OpMsg::decode(&frame(0, &dup, false))).contains("twice"));
        // Unknown payload type.
        for kind in [2u8, 3, 0xFF] {
            let mut s = body_section(&doc);
            s.push(kind);
            s.extend_from_slice(doc.as_bytes());
            assert!(malformed(OpMsg::decode(&frame(0, &s, false))).contains("payload type"));
        }
    }

    #[test]
    fn sequence_lengths_are_checked_against_what_is_there() {
        let doc = rawdoc! { "a": 1 };
        let good = {
            let mut s = body_section(&doc);
            s.extend(sequence_section("docs", std::slice::from_ref(&doc)));
            s
        };
        let size_at = body_section(&doc).len() + 1;
        let size = |s: &[u8]| i32::from_le_bytes(s[size_at..size_at + 4].try_into().unwrap());
        assert!(OpMsg::decode(&frame(0, &good, false)).is_ok());
        let real = size(&good);
        // Sizes that are impossible, too long, or cut a document in half.
        for bad in [-1, 0, 3, real + 1, real - 1, real - 6, i32::MAX] {
            let mut s = good.clone();
            s[size_at..size_at + 4].copy_from_slice(&bad.to_le_bytes());
            assert!(OpMsg::decode(&frame(0, &s, false)).is_err(), "size {bad}");
        }
        // A sequence with just the size: no identifier.
        let mut s = body_section(&doc);
        s.extend([KIND_SEQUENCE, 4, 0, 0, 0]);
        assert!(malformed(OpMsg::decode(&frame(0, &s, false))).contains("NUL"));
        // The identifier's NUL lies after the sequence's end.
        let mut s = body_section(&doc);
        s.extend([KIND_SEQUENCE, 6, 0, 0, 0, b'a', b'b', 0]);
        assert!(OpMsg::decode(&frame(0, &s, false)).is_err());
    }

    #[test]
    fn every_truncation_is_an_error() {
        for m in [insert(), insert().with_flags(MsgFlags::CHECKSUM_PRESENT)] {
            let f = encode(&m);
            let header = Header::parse(&f).unwrap();
            // Cutting right after the body leaves a valid message without sequences.
            let after_body = HEADER_LEN + 4 + 1 + m.body.as_bytes().len();
            for n in (HEADER_LEN..f.len()).filter(|&n| n != after_body || m.flags.0 != 0) {
                assert!(
                    OpMsg::decode_parts(&header, &f[HEADER_LEN..n]).is_err(),
                    "{n} bytes decoded"
                );
            }
        }
    }

    #[test]
    fn decode_checks_the_frame_header() {
        let mut f = encode(&insert());
        f.push(0);
        assert!(malformed(OpMsg::decode(&f)).contains("header says"));
        f.pop();
        f[12] = 1;
        assert!(malformed(OpMsg::decode(&f)).contains("opcode"));
        assert!(malformed(OpMsg::decode(&f[..10])).contains("header"));
    }

    #[test]
    fn encode_refuses_what_decode_would_refuse() {
        let mut buf = vec![9];
        let dup = insert().with_sequence(DocumentSequence::new("documents", vec![]));
        assert!(matches!(
            dup.encode(1, 0, &mut buf),
            Err(WireError::InvalidArgument(_))
        ));
        let nul = OpMsg::new(rawdoc! {}).with_sequence(DocumentSequence::new("a\0b", vec![]));
        assert!(matches!(
            nul.encode(1, 0, &mut buf),
            Err(WireError::InvalidArgument(_))
        ));
        let flags = insert().with_flags(MsgFlags(1 << 5));
        assert!(matches!(
            flags.encode(1, 0, &mut buf),
            Err(WireError::InvalidArgument(_))
        ));
        assert_eq!(buf, vec![9]);
    }

    #[test]
    fn command_name_is_the_first_key() {
        assert_eq!(insert().command_name(), Some("insert"));
        assert_eq!(OpMsg::new(rawdoc! {}).command_name(), None);
    }
}
