//! Documents back to back in one buffer, as they lie on the wire.
//!
//! A peer can fill a 48 MB message with millions of 5-byte documents. Holding each
//! one in its own heap buffer (a `Vec<RawDocumentBuf>`) costs about 10 times the wire
//! size (a 24-byte `Vec` header plus an allocation per document); holding them in one
//! buffer costs the wire size. Documents are found again by walking their length
//! prefixes, which were checked when the buffer was filled.

use std::fmt;

use bson::{RawDocument, RawDocumentBuf};

/// Documents stored back to back in one buffer, in order.
///
/// Memory is the documents' own bytes plus a constant, whatever their number: a
/// decoded reply of `n` wire bytes holds at most `n` bytes of documents.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Documents {
    /// The documents' bytes, each framed by its own length (checked on the way in).
    bytes: Vec<u8>,
    count: usize,
}

impl Documents {
    /// No documents.
    pub fn new() -> Self {
        Documents::default()
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether there is no document.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Appends a copy of `document`.
    pub fn push(&mut self, document: &RawDocument) {
        self.bytes.extend_from_slice(document.as_bytes());
        self.count += 1;
    }

    /// The documents, in order.
    pub fn iter(&self) -> DocumentsIter<'_> {
        DocumentsIter {
            rest: &self.bytes,
            remaining: self.count,
        }
    }

    /// The first document, if any.
    pub fn first(&self) -> Option<&RawDocument> {
        self.iter().next()
    }

    /// The document at `index` (walks the documents before it: O(index)).
    pub fn get(&self, index: usize) -> Option<&RawDocument> {
        self.iter().nth(index)
    }

    /// All documents' bytes, back to back, as they go on the wire.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Each document in its own buffer.
    pub fn to_vec(&self) -> Vec<RawDocumentBuf> {
        self.iter().map(RawDocument::to_owned).collect()
    }

    /// `bytes` must be `count` documents whose framing the caller has checked.
    pub(crate) fn from_checked(bytes: Vec<u8>, count: usize) -> Self {
        Documents { bytes, count }
    }
}

impl fmt::Debug for Documents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Vec<RawDocumentBuf>> for Documents {
    fn from(documents: Vec<RawDocumentBuf>) -> Self {
        documents.into_iter().collect()
    }
}

impl FromIterator<RawDocumentBuf> for Documents {
    fn from_iter<I: IntoIterator<Item = RawDocumentBuf>>(iter: I) -> Self {
        let mut documents = Documents::new();
        for d in iter {
            documents.push(&d);
        }
        documents
    }
}

impl<'a> FromIterator<&'a RawDocument> for Documents {
    fn from_iter<I: IntoIterator<Item = &'a RawDocument>>(iter: I) -> Self {
        let mut documents = Documents::new();
        for d in iter {
            documents.push(d);
        }
        documents
    }
}

impl<'a> IntoIterator for &'a Documents {
    type Item = &'a RawDocument;
    type IntoIter = DocumentsIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl PartialEq<Vec<RawDocumentBuf>> for Documents {
    fn eq(&self, other: &Vec<RawDocumentBuf>) -> bool {
        self.len() == other.len() && self.iter().zip(other).all(|(a, b)| a == b.as_ref())
    }
}

/// The documents of a [`Documents`], in order.
#[derive(Debug, Clone)]
pub struct DocumentsIter<'a> {
    rest: &'a [u8],
    remaining: usize,
}

impl<'a> Iterator for DocumentsIter<'a> {
    type Item = &'a RawDocument;

    fn next(&mut self) -> Option<&'a RawDocument> {
        if self.remaining == 0 {
            return None;
        }
        // The framing was checked when the buffer was filled; should it ever be
        // wrong, the walk ends instead of panicking.
        let prefix: [u8; 4] = self.rest.get(..4)?.try_into().ok()?;
        let len = usize::try_from(i32::from_le_bytes(prefix)).ok()?;
        let (head, tail) = self.rest.split_at_checked(len)?;
        let document = RawDocument::from_bytes(head).ok()?;
        self.rest = tail;
        self.remaining -= 1;
        Some(document)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    #[test]
    fn holds_documents_in_order_in_one_buffer() {
        let docs = vec![rawdoc! { "a": 1 }, rawdoc! {}, rawdoc! { "b": "x" }];
        let held = Documents::from(docs.clone());
        assert_eq!(held.len(), 3);
        assert_eq!(held, docs);
        assert_eq!(held.first(), Some(docs[0].as_ref()));
        assert_eq!(held.get(2), Some(docs[2].as_ref()));
        assert_eq!(held.get(3), None);
        assert_eq!(held.to_vec(), docs);
        let total: usize = docs.iter().map(|d| d.as_bytes().len()).sum();
        assert_eq!(held.as_bytes().len(), total);
        assert_eq!(format!("{held:?}").matches("RawDocument").count(), 3);
        assert!(Documents::new().is_empty());
        assert_eq!(Documents::new().first(), None);
    }
}
