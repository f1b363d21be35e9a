//! Bounds-checked reading of a message body: every read checks that the bytes are
//! there, so no length announced by the peer can make the decoder index past the end
//! or allocate more than it received.

use bson::{RawDocument, RawDocumentBuf};

use crate::documents::Documents;
use crate::error::{Result, WireError};

/// Smallest valid BSON document: an int32 length and the terminating NUL.
const MIN_DOCUMENT_LEN: usize = 5;

/// A cursor over the bytes of one message body.
pub(crate) struct WireReader<'a> {
    bytes: &'a [u8],
    /// The message kind, for error messages ("OP_QUERY").
    what: &'static str,
}

impl<'a> WireReader<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        WireReader { bytes, what }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A `Malformed` error naming the message kind.
    pub(crate) fn error(&self, message: impl std::fmt::Display) -> WireError {
        WireError::Malformed(format!("{}: {message}", self.what))
    }

    /// The next `n` bytes.
    pub(crate) fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        if n > self.bytes.len() {
            return Err(self.error(format_args!(
                "{field} needs {n} bytes but only {} remain",
                self.bytes.len()
            )));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn take_array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let bytes = self.take(N, field)?;
        <[u8; N]>::try_from(bytes).map_err(|_| self.error(format_args!("{field} is truncated")))
    }

    pub(crate) fn read_u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.take_array::<1>(field)?[0])
    }

    pub(crate) fn read_i32(&mut self, field: &str) -> Result<i32> {
        self.take_array(field).map(i32::from_le_bytes)
    }

    pub(crate) fn read_u32(&mut self, field: &str) -> Result<u32> {
        self.take_array(field).map(u32::from_le_bytes)
    }

    pub(crate) fn read_i64(&mut self, field: &str) -> Result<i64> {
        self.take_array(field).map(i64::from_le_bytes)
    }

    /// A NUL-terminated UTF-8 string; the NUL must lie inside the remaining bytes.
    pub(crate) fn read_cstring(&mut self, field: &str) -> Result<&'a str> {
        let Some(nul) = self.bytes.iter().position(|&b| b == 0) else {
            return Err(self.error(format_args!("{field} is not NUL-terminated")));
        };
        let text = self.take(nul, field)?;
        self.take(1, field)?;
        std::str::from_utf8(text).map_err(|_| self.error(format_args!("{field} is not UTF-8")))
    }

    /// A BSON document framed by its own int32 length. The framing (length within
    /// bounds, trailing NUL) is checked here; the elements are checked lazily by
    /// `bson` when the document is read.
    pub(crate) fn read_document(&mut self, field: &str) -> Result<RawDocumentBuf> {
        let bytes = self.read_document_bytes(field)?;
        RawDocumentBuf::from_bytes(bytes.to_vec())
            .map_err(|e| self.error(format_args!("{field}: {e}")))
    }

    /// The bytes of one document, framing checked, without copying them.
    fn read_document_bytes(&mut self, field: &str) -> Result<&'a [u8]> {
        let Some(prefix) = self.bytes.get(..4) else {
            return Err(self.error(format_args!(
                "{field} needs a 4-byte length but only {} bytes remain",
                self.bytes.len()
            )));
        };
        let mut len_bytes = [0u8; 4];
        len_bytes.copy_from_slice(prefix);
        let announced = i32::from_le_bytes(len_bytes);
        let len = match usize::try_from(announced) {
            Ok(len) if len >= MIN_DOCUMENT_LEN => len,
            _ => {
                return Err(self.error(format_args!(
                    "{field} announces an impossible length {announced}"
                )))
            }
        };
        if len > self.bytes.len() {
            return Err(self.error(format_args!(
                "{field} announces {len} bytes but only {} remain",
                self.bytes.len()
            )));
        }
        let bytes = self.take(len, field)?;
        if bytes.last() != Some(&0) {
            return Err(self.error(format_args!("{field} is not NUL-terminated")));
        }
        RawDocument::from_bytes(bytes).map_err(|e| self.error(format_args!("{field}: {e}")))?;
        Ok(bytes)
    }

    /// Documents back to back until the bytes run out, kept in one buffer: memory is
    /// their wire size, however many there are.
    pub(crate) fn read_documents_to_end(&mut self, field: &str) -> Result<Documents> {
        let all = self.bytes;
        let mut count = 0usize;
        while !self.is_empty() {
            self.read_document_bytes(field)?;
            count += 1;
        }
        Ok(Documents::from_checked(all.to_vec(), count))
    }

    /// Fails if any byte is left over.
    pub(crate) fn finish(&self) -> Result<()> {
        if self.bytes.is_empty() {
            Ok(())
        } else {
            Err(self.error(format_args!(
                "{} unexpected bytes after the last field",
                self.bytes.len()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc_bytes() -> Vec<u8> {
        bson::rawdoc! { "a": 1 }.into_bytes()
    }

    #[test]
    fn integers_are_little_endian_and_bounded() {
        let bytes = [1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7];
        let mut r = WireReader::new(&bytes, "T");
        assert_eq!(r.read_i32("a").unwrap(), 1);
        assert_eq!(r.read_i64("b").unwrap(), 2);
        assert_eq!(r.read_u8("c").unwrap(), 7);
        assert!(r.is_empty());
        assert!(r.finish().is_ok());
        assert!(matches!(r.read_u8("d"), Err(WireError::Malformed(_))));
        let mut r = WireReader::new(&bytes[..3], "T");
        assert!(r.read_u32("a").is_err());
    }

    #[test]
    fn cstrings_must_end_inside_the_bytes_and_be_utf8() {
        let mut r = WireReader::new(b"db.coll\0rest", "T");
        assert_eq!(r.read_cstring("name").unwrap(), "db.coll");
        assert_eq!(r.remaining(), 4);
        assert!(r.finish().is_err());
        let mut r = WireReader::new(b"no terminator", "T");
        assert!(r.read_cstring("name").is_err());
        let mut r = WireReader::new(b"\xff\xfe\0", "T");
        assert!(r.read_cstring("name").is_err());
    }

    #[test]
    fn documents_are_framed_by_their_own_length() {
        let mut bytes = doc_bytes();
        bytes.extend(doc_bytes());
        let mut r = WireReader::new(&bytes, "T");
        let docs = r.read_documents_to_end("docs").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs.first().unwrap().get_i32("a").unwrap(), 1);
    }

    #[test]
    fn bad_document_lengths_are_refused() {
        let good = doc_bytes();
        // Longer than what is there.
        let mut long = good.clone();
        long[0] += 1;
        assert!(WireReader::new(&long, "T").read_document("d").is_err());
        // Too short to be a document, zero and negative.
        for len in [0i32, 4, -1, i32::MIN] {
            let mut b = good.clone();
            b[..4].copy_from_slice(&len.to_le_bytes());
            assert!(WireReader::new(&b, "T").read_document("d").is_err());
        }
        // Missing terminator.
        let mut b = good.clone();
        *b.last_mut().unwrap() = 1;
        assert!(WireReader::new(&b, "T").read_document("d").is_err());
        // Fewer than 4 bytes.
        assert!(WireReader::new(&good[..3], "T").read_document("d").is_err());
        // A trailing partial document.
        let mut b = good.clone();
        b.extend_from_slice(&good[..6]);
        assert!(WireReader::new(&b, "T").read_documents_to_end("d").is_err());
    }
}
