//! What a client's request is, read from its bytes: pure functions, no I/O.
//!
//! Every request the proxy forwards is an OP_MSG; a legacy OP_QUERY command is turned
//! into one here (and its reply back into an OP_REPLY by the caller).

use bson::raw::cstr;
use bson::{RawBsonRef, RawDocument, RawDocumentBuf};
use mongopool::{ReadPreference, ReadPreferenceMode};
use mongopool_wire::{MsgFlags, OpMsg, OpQuery};

/// What the proxy does with a command.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Route {
    /// `hello` / `isMaster`: answered by the proxy. `legacy_name` is true for
    /// `isMaster` / `ismaster` (the reply then says `ismaster`, not `isWritablePrimary`).
    Hello { legacy_name: bool },
    /// `saslStart`, `saslContinue`, `authenticate`, `getnonce`: clients do not log in
    /// to the proxy; they get a clear error.
    Auth,
    /// `logout`: the proxy's server connections stay logged in as the proxy; the
    /// client is told ok.
    Logout,
    /// Everything else goes to the server.
    Forward(Forward),
    /// A command the proxy cannot route (its `$readPreference` is malformed): the
    /// client gets this error.
    Invalid(String),
}

/// What the proxy must know about a forwarded command.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Forward {
    /// `getMore`'s cursor id.
    pub(crate) get_more: Option<i64>,
    /// `killCursors`' cursor ids.
    pub(crate) kill_cursors: Vec<i64>,
    /// The transaction the command is part of.
    pub(crate) transaction: Option<Transaction>,
    /// The client asked for no reply (moreToCome).
    pub(crate) more_to_come: bool,
    /// The command may open a cursor (the cursor limit applies to it).
    pub(crate) may_open_cursor: bool,
    /// `$readPreference`: the command is a read that may go where it says. `None`
    /// (no `$readPreference`) means the primary, as for a mongos.
    pub(crate) read_preference: Option<ReadPreference>,
    /// A retryable write: a `txnNumber` outside a transaction.
    pub(crate) retryable_write: bool,
}

/// A command inside a multi-document transaction (`autocommit: false`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transaction {
    /// The session id document, as sent.
    pub(crate) lsid: RawDocumentBuf,
    /// `txnNumber`.
    pub(crate) txn_number: i64,
    /// `startTransaction: true`.
    pub(crate) starts: bool,
    /// `commitTransaction` or `abortTransaction`.
    pub(crate) ends: bool,
    /// `commitTransaction` (its failure is not a transient transaction error).
    pub(crate) commits: bool,
}

/// Commands that return a cursor document.
const CURSOR_COMMANDS: &[&str] = &[
    "find",
    "aggregate",
    "listCollections",
    "listIndexes",
    "listSearchIndexes",
];

/// Where a command goes, and what it carries.
pub(crate) fn route(msg: &OpMsg) -> Route {
    let body = &msg.body;
    let name = msg.command_name().unwrap_or("");
    match name {
        "hello" => return Route::Hello { legacy_name: false },
        "isMaster" | "ismaster" => return Route::Hello { legacy_name: true },
        "saslStart" | "saslContinue" | "authenticate" | "getnonce" => return Route::Auth,
        "logout" => return Route::Logout,
        _ => {}
    }
    let get_more = (name == "getMore")
        .then(|| int64(body, "getMore"))
        .flatten();
    let kill_cursors = if name == "killCursors" {
        match body.get_array("cursors") {
            Ok(ids) => ids
                .into_iter()
                .filter_map(|v| v.ok().and_then(as_int64))
                .collect(),
            Err(_) => Vec::new(),
        }
    } else {
        Vec::new()
    };
    let read_preference = match body.get_document("$readPreference") {
        Ok(doc) => match read_preference(doc) {
            Ok(rp) => Some(rp),
            Err(why) => return Route::Invalid(why),
        },
        Err(_) => None,
    };
    let transaction = transaction(body, name);
    let retryable_write = transaction.is_none() && int64(body, "txnNumber").is_some();
    Route::Forward(Forward {
        read_preference,
        retryable_write,
        get_more,
        kill_cursors,
        transaction,
        more_to_come: msg.flags.contains(MsgFlags::MORE_TO_COME),
        may_open_cursor: CURSOR_COMMANDS.contains(&name),
    })
}

/// A `$readPreference` document: `mode`, `tags`, `maxStalenessSeconds` (-1: none).
pub(crate) fn read_preference(doc: &RawDocument) -> Result<ReadPreference, String> {
    let mode = doc
        .get_str("mode")
        .map_err(|_| "$readPreference needs a string 'mode'".to_owned())?;
    let mode = ReadPreferenceMode::parse(mode).map_err(|e| e.to_string())?;
    let mut rp = ReadPreference::with_mode(mode);
    if let Ok(tags) = doc.get_array("tags") {
        for tag_set in tags {
            match tag_set {
                Ok(RawBsonRef::Document(d)) => rp.tag_sets.push(d.to_owned()),
                _ => return Err("$readPreference.tags must hold documents".into()),
            }
        }
    }
    let staleness = doc
        .get("maxStalenessSeconds")
        .ok()
        .flatten()
        .and_then(|v| match v {
            RawBsonRef::Double(f) => Some(f as i64),
            other => as_int64(other),
        });
    if let Some(secs) = staleness.filter(|s| *s >= 0) {
        rp.max_staleness = Some(std::time::Duration::from_secs(secs as u64));
    }
    // A primary with only the empty tag set ([{}]) is what some drivers send.
    if rp.tag_sets.iter().all(|t| t.is_empty()) {
        rp.tag_sets.clear();
    }
    rp.validate().map_err(|e| e.to_string())?;
    Ok(rp)
}

fn transaction(body: &RawDocument, name: &str) -> Option<Transaction> {
    // Drivers send autocommit: false on every command of a transaction, and only there.
    if body.get_bool("autocommit").ok() != Some(false) {
        return None;
    }
    let lsid = body.get_document("lsid").ok()?.to_owned();
    let txn_number = int64(body, "txnNumber")?;
    let commits = name == "commitTransaction";
    Some(Transaction {
        lsid,
        txn_number,
        starts: body.get_bool("startTransaction").ok() == Some(true),
        ends: commits || name == "abortTransaction",
        commits,
    })
}

fn int64(doc: &RawDocument, key: &str) -> Option<i64> {
    doc.get(key).ok().flatten().and_then(as_int64)
}

fn as_int64(v: RawBsonRef<'_>) -> Option<i64> {
    match v {
        RawBsonRef::Int64(n) => Some(n),
        RawBsonRef::Int32(n) => Some(i64::from(n)),
        _ => None,
    }
}

/// The open cursor a reply reports: `cursor.id` (non-zero) and `cursor.ns`.
pub(crate) fn open_cursor(reply: &RawDocument) -> Option<(i64, String)> {
    let cursor = reply.get_document("cursor").ok()?;
    let id = int64(cursor, "id")?;
    let ns = cursor.get_str("ns").ok()?;
    (id != 0).then(|| (id, ns.to_owned()))
}

/// Whether a `getMore` reply says its cursor is finished (or gone).
pub(crate) fn cursor_finished(reply: &RawDocument) -> bool {
    match reply.get_document("cursor") {
        Ok(cursor) => int64(cursor, "id") == Some(0),
        // An error: the cursor is dead or unknown to the server.
        Err(_) => reply.get_f64("ok").ok() != Some(1.0) && reply.get_i32("ok").ok() != Some(1),
    }
}

/// A legacy OP_QUERY command as the OP_MSG the server understands: the `$query`
/// wrapper (with its `$readPreference`) unwrapped, `$db` from `<db>.$cmd`. `None` if it
/// is not a command or its document is unusable.
pub(crate) fn query_as_msg(query: &OpQuery) -> Option<OpMsg> {
    let db = query.full_collection_name.strip_suffix(".$cmd")?;
    let wrapped = query.query.get_document("$query").ok();
    let mut body = match wrapped {
        Some(inner) => inner.to_owned(),
        None => query.query.clone(),
    };
    if wrapped.is_some() {
        if let Ok(Some(rp)) = query.query.get("$readPreference") {
            body.append(cstr!("$readPreference"), bson::RawBson::from(rp));
        }
    }
    if body.get("$db").ok().flatten().is_none() {
        body.append(cstr!("$db"), db);
    }
    Some(OpMsg::new(body))
}

/// The database a command runs on (`$db`), for logs.
pub(crate) fn database(msg: &OpMsg) -> &str {
    msg.body.get_str("$db").unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    fn msg(body: RawDocumentBuf) -> OpMsg {
        OpMsg::new(body)
    }

    #[test]
    fn hello_and_auth_are_not_forwarded() {
        assert_eq!(
            route(&msg(rawdoc! {"hello": 1, "$db": "admin"})),
            Route::Hello { legacy_name: false }
        );
        assert_eq!(
            route(&msg(rawdoc! {"isMaster": 1})),
            Route::Hello { legacy_name: true }
        );
        assert_eq!(route(&msg(rawdoc! {"saslStart": 1})), Route::Auth);
        assert_eq!(route(&msg(rawdoc! {"logout": 1})), Route::Logout);
        assert!(matches!(
            route(&msg(rawdoc! {"ping": 1})),
            Route::Forward(_)
        ));
    }

    #[test]
    fn cursors_are_read_from_get_more_and_kill_cursors() {
        let Route::Forward(f) = route(&msg(rawdoc! {"getMore": 42_i64, "collection": "c"})) else {
            panic!("forwarded")
        };
        assert_eq!(f.get_more, Some(42));
        let Route::Forward(f) = route(&msg(
            rawdoc! {"killCursors": "c", "cursors": [1_i64, 2_i64]},
        )) else {
            panic!("forwarded")
        };
        assert_eq!(f.kill_cursors, vec![1, 2]);
        let Route::Forward(f) = route(&msg(rawdoc! {"find": "c"})) else {
            panic!("forwarded")
        };
        assert!(f.may_open_cursor);
    }

    #[test]
    fn transactions_need_autocommit_false() {
        let lsid = rawdoc! {"id": 1};
        let start = rawdoc! {"insert": "c", "lsid": lsid.clone(), "txnNumber": 3_i64,
        "autocommit": false, "startTransaction": true};
        let Route::Forward(f) = route(&msg(start)) else {
            panic!()
        };
        let t = f.transaction.expect("a transaction");
        assert_eq!((t.txn_number, t.starts, t.ends), (3, true, false));
        let commit = rawdoc! {"commitTransaction": 1, "lsid": lsid.clone(), "txnNumber": 3_i64,
        "autocommit": false};
        let Route::Forward(f) = route(&msg(commit)) else {
            panic!()
        };
        let t = f.transaction.expect("a transaction");
        assert!(t.ends && t.commits && !t.starts);
        // A retryable write has a txnNumber but no autocommit: not a transaction.
        let retryable = rawdoc! {"insert": "c", "lsid": lsid, "txnNumber": 4_i64};
        let Route::Forward(f) = route(&msg(retryable)) else {
            panic!()
        };
        assert_eq!(f.transaction, None);
        assert!(f.retryable_write);
    }

    #[test]
    fn read_preferences_are_read_and_bad_ones_refused() {
        let Route::Forward(f) = route(&msg(rawdoc! {"find": "c",
        "$readPreference": {"mode": "secondary", "tags": [{"dc": "east"}, {}],
        "maxStalenessSeconds": 120}})) else {
            panic!("forwarded")
        };
        let rp = f.read_preference.expect("a read preference");
        assert_eq!(rp.mode, ReadPreferenceMode::Secondary);
        assert_eq!(rp.tag_sets.len(), 2);
        assert_eq!(rp.max_staleness, Some(std::time::Duration::from_secs(120)));
        let Route::Forward(f) = route(&msg(rawdoc! {"find": "c"})) else {
            panic!("forwarded")
        };
        assert_eq!(f.read_preference, None);
        for bad in [
            rawdoc! {"find": "c", "$readPreference": {"mode": "sideways"}},
            rawdoc! {"find": "c", "$readPreference": {"tags": []}},
            rawdoc! {"find": "c", "$readPreference": {"mode": "primary", "tags": [{"a": "b"}]}},
        ] {
            assert!(matches!(route(&msg(bad)), Route::Invalid(_)));
        }
    }

    #[test]
    fn replies_report_cursors() {
        let open = rawdoc! {"cursor": {"id": 7_i64, "ns": "db.c", "firstBatch": []}, "ok": 1.0};
        assert_eq!(open_cursor(&open), Some((7, "db.c".to_owned())));
        let done = rawdoc! {"cursor": {"id": 0_i64, "ns": "db.c", "nextBatch": []}, "ok": 1.0};
        assert_eq!(open_cursor(&done), None);
        assert!(cursor_finished(&done));
        assert!(!cursor_finished(&open));
        assert!(cursor_finished(&rawdoc! {"ok": 0.0, "code": 43}));
    }

    #[test]
    fn legacy_commands_become_op_msg() {
        let q = OpQuery::command(
            "db",
            rawdoc! {"$query": {"count": "c"}, "$readPreference": {"mode": "secondary"}},
        );
        let m = query_as_msg(&q).expect("a command");
        assert_eq!(
            m.body,
            rawdoc! {"count": "c", "$readPreference": {"mode": "secondary"}, "$db": "db"}
        );
        let mut not_a_command = q.clone();
        not_a_command.full_collection_name = "db.c".into();
        assert_eq!(query_as_msg(&not_a_command), None);
    }
}
