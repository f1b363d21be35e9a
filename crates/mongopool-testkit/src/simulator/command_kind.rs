//! Which commands a node answers itself, which it refuses in its role, and which it
//! forwards: mongod's rules for members that are not primary, reduced to what the
//! simulator needs.

use bson::{doc, Bson, Document, RawBsonRef};
use mongopool_wire::{Message, QueryFlags};

use super::view::Role;
use crate::mock::Request;

/// What a request is, as far as the simulator cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CommandKind {
    /// `hello`, or the legacy `isMaster` / `ismaster` (`legacy: true`).
    Hello { legacy: bool },
    /// A command that writes: only a primary (or a mongos) takes it.
    Write,
    /// A read: a secondary takes it only with secondaryOk.
    Read,
    /// Anything else (ping, auth, sessions, ...): every node forwards it.
    Other,
}

/// Commands mongod refuses on a node that is not primary (`secondaryAllowed: never`).
const WRITES: &[&str] = &[
    "insert",
    "update",
    "delete",
    "findandmodify",
    "create",
    "drop",
    "dropdatabase",
    "createindexes",
    "dropindexes",
    "collmod",
    "renamecollection",
    "bulkwrite",
    "applyops",
];

/// Commands a secondary serves only when the client allows secondaries (`optIn`).
const READS: &[&str] = &[
    "find",
    "getmore",
    "aggregate",
    "count",
    "distinct",
    "listcollections",
    "listindexes",
    "dbstats",
    "collstats",
];

pub(crate) fn classify(request: &Request) -> CommandKind {
    let Some(name) = request.command_name() else {
        return CommandKind::Other;
    };
    let lower = name.to_ascii_lowercase();
    match lower.as_str() {
        "hello" => CommandKind::Hello { legacy: false },
        "ismaster" => CommandKind::Hello { legacy: true },
        n if WRITES.contains(&n) => CommandKind::Write,
        n if READS.contains(&n) => CommandKind::Read,
        _ => CommandKind::Other,
    }
}

/// Whether the client allows a secondary to answer: a non-primary `$readPreference`
/// in an OP_MSG, or the SecondaryOk bit of an OP_QUERY.
pub(crate) fn secondary_ok(request: &Request) -> bool {
    if let Message::Query(q) = &request.message {
        if q.flags.contains(QueryFlags::SECONDARY_OK) {
            return true;
        }
    }
    match request.read_preference().map(|rp| rp.get("mode").cloned()) {
        Some(Some(Bson::String(mode))) => mode != "primary",
        _ => false,
    }
}

/// The error a node in `role` answers `kind` with, or `None` when it forwards it.
/// `topology_version` goes into the error, as mongod 4.4+ puts it into state-change
/// errors so drivers can ignore stale ones.
pub(crate) fn refusal(
    role: Role,
    in_config: bool,
    kind: CommandKind,
    secondary_ok: bool,
    topology_version: Option<Document>,
) -> Option<Document> {
    let serving = role == Role::Mongos || (in_config && role == Role::Primary);
    let readable = serving || (in_config && role == Role::Secondary);
    let mut error = match kind {
        CommandKind::Hello { .. } | CommandKind::Other => return None,
        _ if serving => return None,
        CommandKind::Write => error(10107, "NotWritablePrimary", "not primary"),
        CommandKind::Read if readable && secondary_ok => return None,
        CommandKind::Read if readable => error(
            13435,
            "NotPrimaryNoSecondaryOk",
            "not primary and secondaryOk=false",
        ),
        CommandKind::Read => error(
            13436,
            "NotPrimaryOrSecondary",
            "node is not in primary or recovering state",
        ),
    };
    if let Some(tv) = topology_version {
        error.insert("topologyVersion", tv);
    }
    Some(error)
}

fn error(code: i32, code_name: &str, errmsg: &str) -> Document {
    doc! {"ok": 0.0, "errmsg": errmsg, "code": code, "codeName": code_name}
}

/// `topologyVersion` and `maxAwaitTimeMS` of a hello, if there.
pub(crate) fn await_fields(request: &Request) -> (Option<Document>, Option<i64>) {
    let Some(command) = request.command() else {
        return (None, None);
    };
    let tv = match command.get("topologyVersion") {
        Ok(Some(RawBsonRef::Document(d))) => Document::try_from(d).ok(),
        _ => None,
    };
    let max = match command.get("maxAwaitTimeMS") {
        Ok(Some(RawBsonRef::Int32(v))) => Some(i64::from(v)),
        Ok(Some(RawBsonRef::Int64(v))) => Some(v),
        // Some clients send a double; mongod accepts a whole number.
        Ok(Some(RawBsonRef::Double(v))) if v.fract() == 0.0 => Some(v as i64),
        Ok(Some(_)) => Some(-1),
        _ => None,
    };
    (tv, max)
}

#[cfg(test)]
mod tests {
    use bson::rawdoc;
    use mongopool_wire::{OpMsg, OpQuery};

    use super::*;

    fn msg(body: bson::RawDocumentBuf) -> Request {
        Request {
            connection: 0,
            request_id: 1,
            response_to: 0,
            compressor: None,
            message: Message::Msg(OpMsg::new(body)),
        }
    }

    #[test]
    fn kinds() {
        let insert = msg(rawdoc! {"insert": "c", "$db": "d"});
        assert_eq!(classify(&insert), CommandKind::Write);
        let fam = msg(rawdoc! {"findAndModify": "c", "$db": "d"});
        assert_eq!(classify(&fam), CommandKind::Write);
        assert_eq!(classify(&msg(rawdoc! {"find": "c"})), CommandKind::Read);
        assert_eq!(
            classify(&msg(rawdoc! {"isMaster": 1})),
            CommandKind::Hello { legacy: true }
        );
        assert_eq!(classify(&msg(rawdoc! {"ping": 1})), CommandKind::Other);
    }

    #[test]
    fn secondaries_refuse_writes_and_reads_without_secondary_ok() {
        let write = refusal(Role::Secondary, true, CommandKind::Write, true, None).unwrap();
        assert_eq!(write.get_i32("code").ok(), Some(10107));
        assert_eq!(write.get_str("errmsg").ok(), Some("not primary"));
        let read = refusal(Role::Secondary, true, CommandKind::Read, false, None).unwrap();
        assert_eq!(read.get_i32("code").ok(), Some(13435));
        assert!(refusal(Role::Secondary, true, CommandKind::Read, true, None).is_none());
        let arbiter = refusal(Role::Arbiter, true, CommandKind::Read, true, None).unwrap();
        assert_eq!(arbiter.get_i32("code").ok(), Some(13436));
        let removed = refusal(Role::Primary, false, CommandKind::Write, true, None).unwrap();
        assert_eq!(removed.get_i32("code").ok(), Some(10107));
        assert!(refusal(Role::Primary, true, CommandKind::Write, false, None).is_none());
        assert!(refusal(Role::Mongos, true, CommandKind::Write, false, None).is_none());
        let tv = doc! {"counter": 3_i64};
        let with_tv = refusal(
            Role::Secondary,
            true,
            CommandKind::Write,
            false,
            Some(tv.clone()),
        );
        assert_eq!(
            with_tv.unwrap().get_document("topologyVersion").ok(),
            Some(&tv)
        );
    }

    #[test]
    fn secondary_ok_from_read_preference_or_query_flag() {
        let primary = msg(rawdoc! {"find": "c", "$readPreference": {"mode": "primary"}});
        assert!(!secondary_ok(&primary));
        let nearest = msg(rawdoc! {"find": "c", "$readPreference": {"mode": "nearest"}});
        assert!(secondary_ok(&nearest));
        assert!(!secondary_ok(&msg(rawdoc! {"find": "c"})));
        let mut query = OpQuery::command("d", rawdoc! {"find": "c"});
        query.flags.insert(QueryFlags::SECONDARY_OK);
        let legacy = Request {
            message: Message::Query(query),
            ..msg(rawdoc! {})
        };
        assert!(secondary_ok(&legacy));
    }
}
