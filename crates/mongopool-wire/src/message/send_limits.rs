//! The limits a message must respect before it is sent: the server's document,
//! batch and message sizes, with the allowance a command body gets.

use bson::RawDocument;

use crate::documents::Documents;
use crate::error::{Result, WireError};
use crate::limits::Limits;
use crate::limits::COMMAND_OVERHEAD_BYTES;

use super::Message;

impl Message {
    /// Checks the message against the server's limits before it is sent:
    /// - a command body (OP_MSG body, OP_QUERY on `<db>.$cmd`, OP_REPLY documents)
    ///   may be `max_bson_object_size + COMMAND_OVERHEAD_BYTES`;
    /// - every other document (sequences, inserts, update and delete documents,
    ///   non-command queries) at most `max_bson_object_size`;
    ///
    /// all failing with [`WireError::DocumentTooLarge`];
    /// - a document sequence or an OP_INSERT holds at most `max_write_batch_size`
    ///   documents ([`WireError::TooManyDocuments`]);
    /// - the whole uncompressed message is at most `max_message_size_bytes`
    ///   ([`WireError::DocumentTooLarge`] with the message size).
    pub fn check_limits(&self, limits: &Limits) -> Result<()> {
        let command_max = limits
            .max_bson_object_size
            .saturating_add(COMMAND_OVERHEAD_BYTES);
        let doc_max = limits.max_bson_object_size;
        match self {
            Message::Msg(m) => {
                check_document(&m.body, command_max)?;
                for s in &m.sequences {
                    check_documents(&s.documents, doc_max)?;
                    check_count(s.documents.len(), limits.max_write_batch_size)?;
                }
            }
            Message::Query(q) => {
                check_document(&q.query, if q.is_command() { command_max } else { doc_max })?;
                if let Some(fields) = &q.return_fields_selector {
                    check_document(fields, doc_max)?;
                }
            }
            Message::Reply(r) => check_documents(&r.documents, command_max)?,
            Message::Insert(i) => {
                check_documents(&i.documents, doc_max)?;
                check_count(i.documents.len(), limits.max_write_batch_size)?;
            }
            Message::Update(u) => {
                check_document(&u.selector, doc_max)?;
                check_document(&u.update, doc_max)?;
            }
            Message::Delete(d) => check_document(&d.selector, doc_max)?,
            Message::GetMore(_) | Message::KillCursors(_) => {}
        }
        let size = self.encoded_len();
        if size > limits.max_message_size_bytes {
            return Err(WireError::DocumentTooLarge {
                size,
                max: limits.max_message_size_bytes,
            });
        }
        Ok(())
    }
}

fn check_document(doc: &RawDocument, max: usize) -> Result<()> {
    let size = doc.as_bytes().len();
    if size > max {
        return Err(WireError::DocumentTooLarge { size, max });
    }
    Ok(())
}

fn check_documents(docs: &Documents, max: usize) -> Result<()> {
    docs.iter().try_for_each(|d| check_document(d, max))
}

fn check_count(count: usize, max: usize) -> Result<()> {
    if count > max {
        return Err(WireError::TooManyDocuments { count, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::op_delete::{DeleteFlags, OpDelete};
    use crate::op_insert::{InsertFlags, OpInsert};
    use crate::op_msg::{DocumentSequence, OpMsg};
    use crate::op_query::OpQuery;
    use crate::op_update::{OpUpdate, UpdateFlags};
    use bson::{rawdoc, RawDocumentBuf};

    fn doc_of_size(size: usize) -> RawDocumentBuf {
        // {"s": "<n chars>"}: 4 + (1 + 2 + 4 + n + 1) + 1 bytes.
        let s = "x".repeat(size - 13);
        let d = rawdoc! { "s": s };
        assert_eq!(d.as_bytes().len(), size);
        d
    }

    #[test]
    fn limits_allow_the_command_overhead_only_on_command_bodies() {
        let limits = Limits {
            max_bson_object_size: 100,
            max_message_size_bytes: 10_000,
            max_write_batch_size: 3,
        };
        let at_bson_max = doc_of_size(100);
        let over_bson_max = doc_of_size(101);
        let at_command_max = doc_of_size(100 + COMMAND_OVERHEAD_BYTES);
        let over_command_max = doc_of_size(101 + COMMAND_OVERHEAD_BYTES);
        let big = Limits {
            max_message_size_bytes: 1 << 20,
            ..limits
        };

        let msg = |body: RawDocumentBuf, seq: Vec<RawDocumentBuf>| -> Message {
            OpMsg::new(body)
                .with_sequence(DocumentSequence::new("documents", seq))
                .into()
        };
        assert!(msg(at_command_max.clone(), vec![at_bson_max.clone()])
            .check_limits(&big)
            .is_ok());
        assert_eq!(
            msg(over_command_max.clone(), vec![]).check_limits(&big),
            Err(WireError::DocumentTooLarge {
                size: 101 + COMMAND_OVERHEAD_BYTES,
                max: 100 + COMMAND_OVERHEAD_BYTES
            })
        );
        assert_eq!(
            msg(rawdoc! {}, vec![over_bson_max.clone()]).check_limits(&big),
            Err(WireError::DocumentTooLarge {
                size: 101,
                max: 100
            })
        );
        assert_eq!(
            msg(rawdoc! {}, vec![rawdoc! {}; 4]).check_limits(&big),
            Err(WireError::TooManyDocuments { count: 4, max: 3 })
        );

        let command = OpQuery::command("db", at_command_max.clone());
        assert!(Message::from(command).check_limits(&big).is_ok());
        let mut query = OpQuery::command("db", over_bson_max.clone());
        query.full_collection_name = "db.c".into();
        assert!(matches!(
            Message::from(query).check_limits(&big),
            Err(WireError::DocumentTooLarge {
                size: 101,
                max: 100
            })
        ));

        let insert = |docs: Vec<RawDocumentBuf>| -> Message {
            OpInsert {
                flags: InsertFlags::EMPTY,
                full_collection_name: "db.c".into(),
                documents: docs.into(),
            }
            .into()
        };
        assert!(insert(vec![at_bson_max.clone(); 3])
            .check_limits(&big)
            .is_ok());
        assert!(insert(vec![over_bson_max.clone()])
            .check_limits(&big)
            .is_err());
        assert_eq!(
            insert(vec![rawdoc! {}; 4]).check_limits(&big),
            Err(WireError::TooManyDocuments { count: 4, max: 3 })
        );
        let update: Message = OpUpdate {
            full_collection_name: "db.c".into(),
            flags: UpdateFlags::EMPTY,
            selector: rawdoc! {},
            update: over_bson_max.clone(),
        }
        .into();
        assert!(update.check_limits(&big).is_err());
        let delete: Message = OpDelete {
            full_collection_name: "db.c".into(),
            flags: DeleteFlags::EMPTY,
            selector: over_bson_max,
        }
        .into();
        assert!(delete.check_limits(&big).is_err());

        // The whole message against maxMessageSizeBytes.
        let whole = msg(rawdoc! {}, vec![at_bson_max.clone(); 3]);
        let size = whole.encoded_len();
        let tight = Limits {
            max_message_size_bytes: size,
            ..limits
        };
        assert!(whole.check_limits(&tight).is_ok());
        let tighter = Limits {
            max_message_size_bytes: size - 1,
            ..limits
        };
        assert_eq!(
            whole.check_limits(&tighter),
            Err(WireError::DocumentTooLarge {
                size,
                max: size - 1
            })
        );
    }
}
