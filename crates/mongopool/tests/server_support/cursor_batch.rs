//! The documents of cursor replies.

use bson::RawDocumentBuf;

/// The documents of a cursor reply's first or next batch.
pub fn batch(reply: &RawDocumentBuf) -> Vec<RawDocumentBuf> {
    let cursor = reply.get_document("cursor").expect("cursor");
    let batch = cursor
        .get_array("firstBatch")
        .or_else(|_| cursor.get_array("nextBatch"))
        .expect("a batch");
    batch
        .into_iter()
        .map(|doc| {
            doc.expect("element")
                .as_document()
                .expect("document")
                .to_owned()
        })
        .collect()
}

pub fn ids(docs: &[RawDocumentBuf]) -> Vec<i32> {
    docs.iter()
        .map(|d| d.get_i32("_id").expect("_id"))
        .collect()
}
