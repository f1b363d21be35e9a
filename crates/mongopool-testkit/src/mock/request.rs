//! One request as the mock server received it, with accessors for what tests check.

use bson::{Document, RawBsonRef, RawDocument};
use mongopool_wire::{Compressor, Message, MsgFlags, OpCode, QueryFlags};

/// A request the mock server received and decoded (OP_COMPRESSED already unwrapped).
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Which connection it came on: connections are numbered from 0 in the order the
    /// server accepted them.
    pub connection: usize,
    /// The request's `requestID`.
    pub request_id: i32,
    /// The request's `responseTo` (0 for a client request).
    pub response_to: i32,
    /// The compressor, when the request came wrapped in OP_COMPRESSED.
    pub compressor: Option<Compressor>,
    /// The decoded message, with every field (flags, namespace, documents).
    pub message: Message,
}

impl Request {
    /// The opcode of the message (before compression: a compressed OP_MSG is `Msg`).
    pub fn op_code(&self) -> OpCode {
        self.message.op_code()
    }

    /// The raw flag bits of the message (OP_MSG `flagBits`, OP_QUERY, OP_INSERT,
    /// OP_UPDATE and OP_DELETE flags); 0 for messages without flags.
    pub fn flags(&self) -> u32 {
        match &self.message {
            Message::Msg(m) => m.flags.bits(),
            Message::Query(q) => q.flags.bits(),
            Message::Insert(i) => i.flags.bits(),
            Message::Update(u) => u.flags.bits(),
            Message::Delete(d) => d.flags.bits(),
            Message::Reply(r) => r.flags.bits(),
            Message::GetMore(_) | Message::KillCursors(_) => 0,
        }
    }

    /// The OP_MSG flags, for an OP_MSG.
    pub fn msg_flags(&self) -> Option<MsgFlags> {
        match &self.message {
            Message::Msg(m) => Some(m.flags),
            _ => None,
        }
    }

    /// The OP_QUERY flags, for an OP_QUERY.
    pub fn query_flags(&self) -> Option<QueryFlags> {
        match &self.message {
            Message::Query(q) => Some(q.flags),
            _ => None,
        }
    }

    /// Whether the client said it sends no reply is wanted (OP_MSG moreToCome).
    pub fn more_to_come(&self) -> bool {
        self.msg_flags()
            .is_some_and(|f| f.contains(MsgFlags::MORE_TO_COME))
    }

    /// The full collection name of a legacy message (`<db>.$cmd` for an OP_QUERY
    /// command); `None` for OP_MSG and OP_KILL_CURSORS.
    pub fn namespace(&self) -> Option<&str> {
        match &self.message {
            Message::Query(q) => Some(&q.full_collection_name),
            Message::Insert(i) => Some(&i.full_collection_name),
            Message::Update(u) => Some(&u.full_collection_name),
            Message::Delete(d) => Some(&d.full_collection_name),
            Message::GetMore(g) => Some(&g.full_collection_name),
            Message::Msg(_) | Message::Reply(_) | Message::KillCursors(_) => None,
        }
    }

    /// The database the request is for: `$db` of an OP_MSG, else the part of the
    /// namespace before the first dot.
    pub fn db(&self) -> Option<&str> {
        match &self.message {
            Message::Msg(m) => m.body.get_str("$db").ok(),
            _ => self.namespace().and_then(|ns| ns.split('.').next()),
        }
    }

    /// The command this request carries: the OP_MSG body, or the query of an OP_QUERY
    /// on `<db>.$cmd` with a `$query` wrapper (sent to a mongos) taken off. `None`
    /// for everything else.
    pub fn command(&self) -> Option<&RawDocument> {
        match &self.message {
            Message::Msg(m) => Some(&m.body),
            Message::Query(q) if q.full_collection_name.ends_with(".$cmd") => {
                match q.query.get("$query") {
                    Ok(Some(RawBsonRef::Document(inner))) => Some(inner),
                    _ => Some(&q.query),
                }
            }
            _ => None,
        }
    }

    /// [`Request::command`] as an owned, comparable document.
    pub fn command_document(&self) -> Option<Document> {
        self.command().and_then(|c| Document::try_from(c).ok())
    }

    /// The command's name (its first key, as sent: `isMaster`, `saslStart`, ...).
    pub fn command_name(&self) -> Option<&str> {
        self.command()?
            .iter()
            .next()
            .and_then(|e| e.ok())
            .map(|(k, _)| k.as_str())
    }

    /// Whether the command's name is `name`, ignoring ASCII case.
    pub fn is_command(&self, name: &str) -> bool {
        self.command_name()
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }

    /// Whether this is an OP_QUERY command wrapped as `{$query, $readPreference}`.
    pub fn has_query_wrapper(&self) -> bool {
        match &self.message {
            Message::Query(q) => matches!(q.query.get("$query"), Ok(Some(_))),
            _ => false,
        }
    }

    /// The `$readPreference` the request carries: in the OP_MSG body, or next to
    /// `$query` in an OP_QUERY wrapper.
    pub fn read_preference(&self) -> Option<Document> {
        let holder: &RawDocument = match &self.message {
            Message::Msg(m) => &m.body,
            Message::Query(q) => &q.query,
            _ => return None,
        };
        match holder.get("$readPreference") {
            Ok(Some(RawBsonRef::Document(rp))) => Document::try_from(rp).ok(),
            _ => None,
        }
    }

    /// Whether the client waits for a reply to this message: OP_QUERY and
    /// OP_GET_MORE always, OP_MSG unless moreToCome is set, the legacy writes and
    /// OP_KILL_CURSORS never.
    pub fn expects_reply(&self) -> bool {
        match &self.message {
            Message::Query(_) | Message::GetMore(_) => true,
            Message::Msg(_) => !self.more_to_come(),
            _ => false,
        }
    }
}
