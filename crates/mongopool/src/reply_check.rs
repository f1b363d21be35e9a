//! Turning a server's reply document into success or a typed error.
//!
//! Pure functions over raw documents, shared by `command`, `write_command` and
//! `legacy_write` (whose getLastError reply has its own shape).

use bson::{RawBsonRef, RawDocument, RawDocumentBuf};

use crate::error::{
    Error, ErrorKind, OperationFailure, Result, WriteConcernError, WriteError, WriteFailure,
    DUPLICATE_KEY_CODES, NODE_RECOVERING_CODES, NOT_PRIMARY_CODES,
};

/// A server error that `command` should return as a reply instead of raising.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowableError {
    /// Any error with this code.
    Code(i32),
    /// Any error with exactly this message (PyMongo's form: `"ns not found"`).
    Message(String),
}

impl From<i32> for AllowableError {
    fn from(code: i32) -> Self {
        AllowableError::Code(code)
    }
}

impl From<&str> for AllowableError {
    fn from(message: &str) -> Self {
        AllowableError::Message(message.to_owned())
    }
}

/// Whether `ok` in a reply is truthy (servers send doubles, ints or booleans).
pub fn reply_ok(doc: &RawDocument) -> bool {
    match doc.get("ok") {
        Ok(Some(RawBsonRef::Double(d))) => d == 1.0,
        Ok(Some(RawBsonRef::Int32(i))) => i == 1,
        Ok(Some(RawBsonRef::Int64(i))) => i == 1,
        Ok(Some(RawBsonRef::Boolean(b))) => b,
        _ => false,
    }
}

fn get_i32(doc: &RawDocument, key: &str) -> Option<i32> {
    match doc.get(key) {
        Ok(Some(RawBsonRef::Int32(i))) => Some(i),
        Ok(Some(RawBsonRef::Int64(i))) => i32::try_from(i).ok(),
        Ok(Some(RawBsonRef::Double(d))) if d.fract() == 0.0 => Some(d as i32),
        _ => None,
    }
}

fn get_str<'a>(doc: &'a RawDocument, key: &str) -> Option<&'a str> {
    match doc.get(key) {
        Ok(Some(RawBsonRef::String(s))) => Some(s),
        _ => None,
    }
}

fn labels(doc: &RawDocument) -> Vec<String> {
    let Ok(Some(RawBsonRef::Array(array))) = doc.get("errorLabels") else {
        return Vec::new();
    };
    array
        .into_iter()
        .filter_map(|v| v.ok().and_then(|v| v.as_str().map(str::to_owned)))
        .collect()
}

/// Whether a code or message means "not primary" / "node is recovering".
pub fn is_not_primary(code: i32, message: &str) -> bool {
    NOT_PRIMARY_CODES.contains(&code)
        || NODE_RECOVERING_CODES.contains(&code)
        || (code == 0
            && (message.contains("not master")
                || message.contains("not primary")
                || message.contains("node is recovering")))
}

/// Checks a command reply: `ok: 1` passes; `ok: 0` becomes an operation failure (or
/// not-primary), unless its code or message is allowed.
pub fn check_command_reply(reply: &RawDocument, allowable: &[AllowableError]) -> Result<()> {
    if reply_ok(reply) {
        return Ok(());
    }
    let code = get_i32(reply, "code").unwrap_or(0);
    let message = get_str(reply, "errmsg")
        .or_else(|| get_str(reply, "$err"))
        .unwrap_or("")
        .to_owned();
    let allowed = allowable.iter().any(|a| match a {
        AllowableError::Code(c) => *c == code,
        AllowableError::Message(m) => *m == message,
    });
    if allowed {
        return Ok(());
    }
    let failure = OperationFailure {
        code,
        code_name: get_str(reply, "codeName").map(str::to_owned),
        labels: labels(reply),
        message,
        reply: reply.to_owned(),
    };
    Err(Error::new(if is_not_primary(code, &failure.message) {
        ErrorKind::NotPrimary(failure)
    } else {
        ErrorKind::OperationFailure(failure)
    }))
}

/// Checks the reply of a write command (`insert`, `update`, `delete`): first as a
/// command, then for `writeErrors` and `writeConcernError`. A duplicate key is its own
/// kind.
pub fn check_write_reply(reply: &RawDocument) -> Result<()> {
    check_command_reply(reply, &[])?;
    let mut write_errors = Vec::new();
    if let Ok(Some(RawBsonRef::Array(array))) = reply.get("writeErrors") {
        for item in array {
            let item = item.map_err(|e| Error::protocol(format!("bad writeErrors: {e}")))?;
            let Some(e) = item.as_document() else {
                return Err(Error::protocol("writeErrors entry is not a document"));
            };
            write_errors.push(WriteError {
                index: get_i32(e, "index")
                    .and_then(|i| usize::try_from(i).ok())
                    .unwrap_or(0),
                code: get_i32(e, "code").unwrap_or(0),
                message: get_str(e, "errmsg").unwrap_or("").to_owned(),
            });
        }
    }
    let write_concern_error = match reply.get("writeConcernError") {
        Ok(Some(RawBsonRef::Document(wc))) => Some(WriteConcernError {
            code: get_i32(wc, "code").unwrap_or(0),
            code_name: get_str(wc, "codeName").map(str::to_owned),
            message: get_str(wc, "errmsg").unwrap_or("").to_owned(),
        }),
        _ => None,
    };
    if write_errors.is_empty() && write_concern_error.is_none() {
        return Ok(());
    }
    Err(write_failure(
        write_errors,
        write_concern_error,
        labels(reply),
        reply,
    ))
}

fn write_failure(
    write_errors: Vec<WriteError>,
    write_concern_error: Option<WriteConcernError>,
    labels: Vec<String>,
    reply: &RawDocument,
) -> Error {
    let duplicate = write_errors
        .iter()
        .any(|e| DUPLICATE_KEY_CODES.contains(&e.code));
    let failure = WriteFailure {
        write_errors,
        write_concern_error,
        labels,
        reply: reply.to_owned(),
    };
    Error::new(if duplicate {
        ErrorKind::DuplicateKey(failure)
    } else {
        ErrorKind::WriteFailure(failure)
    })
}

/// What an acknowledged legacy write reported through getLastError.
#[derive(Debug, Clone, PartialEq)]
pub struct LegacyWriteResult {
    /// Documents matched / inserted / removed (`n`).
    pub n: i64,
    /// For updates: whether an existing document was updated (`updatedExisting`).
    pub updated_existing: Option<bool>,
    /// For upserts: the `_id` of the inserted document (`upserted`).
    pub upserted: Option<bson::Bson>,
    /// Whether the write concern timed out but the write itself succeeded is never
    /// `true` here: that case is an error. Kept for the raw `wtimeout` field, when the
    /// server reported `wtimeout: false`.
    pub wtimeout: bool,
    /// The whole getLastError reply.
    pub reply: RawDocumentBuf,
}

/// Reads a getLastError reply, as PyMongo did (`helpers._check_gle_response`):
/// `ok: 0` is an operation failure; `err` set is a write error (duplicate key has its
/// own kind, not-primary its own); `wtimeout: true` is a write concern error.
pub fn check_gle_reply(reply: &RawDocument) -> Result<LegacyWriteResult> {
    check_command_reply(reply, &[])?;
    let err = get_str(reply, "err");
    let code = get_i32(reply, "code").unwrap_or(0);
    let wtimeout = matches!(reply.get("wtimeout"), Ok(Some(RawBsonRef::Boolean(true))));
    if let Some(message) = err {
        if is_not_primary(code, message) {
            return Err(Error::new(ErrorKind::NotPrimary(OperationFailure {
                code,
                code_name: get_str(reply, "codeName").map(str::to_owned),
                message: message.to_owned(),
                labels: labels(reply),
                reply: reply.to_owned(),
            })));
        }
        if wtimeout {
            let wc = WriteConcernError {
                code: if code == 0 { 64 } else { code },
                code_name: get_str(reply, "codeName").map(str::to_owned),
                message: message.to_owned(),
            };
            return Err(write_failure(Vec::new(), Some(wc), labels(reply), reply));
        }
        let e = WriteError {
            index: 0,
            code,
            message: message.to_owned(),
        };
        return Err(write_failure(vec![e], None, labels(reply), reply));
    }
    let n = match reply.get("n") {
        Ok(Some(RawBsonRef::Int32(i))) => i64::from(i),
        Ok(Some(RawBsonRef::Int64(i))) => i,
        Ok(Some(RawBsonRef::Double(d))) => d as i64,
        _ => 0,
    };
    let updated_existing = match reply.get("updatedExisting") {
        Ok(Some(RawBsonRef::Boolean(b))) => Some(b),
        _ => None,
    };
    let upserted = match reply.get("upserted") {
        Ok(Some(v)) => bson::Bson::try_from(v).ok(),
        _ => None,
    };
    Ok(LegacyWriteResult {
        n,
        updated_existing,
        upserted,
        wtimeout,
        reply: reply.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    #[test]
    fn command_failures_carry_everything() {
        let r = rawdoc! {"ok": 0.0, "errmsg": "no such command: 'x'", "code": 59_i32,
        "codeName": "CommandNotFound", "errorLabels": ["L"]};
        let e = check_command_reply(&r, &[]).unwrap_err();
        assert!(e.is_operation_failure() && !e.is_not_primary());
        assert_eq!(e.code(), Some(59));
        assert!(e.has_label("L"));
        let ErrorKind::OperationFailure(f) = e.kind() else {
            panic!("{e:?}")
        };
        assert_eq!(f.code_name.as_deref(), Some("CommandNotFound"));
        assert!(check_command_reply(&r, &[59.into()]).is_ok());
        assert!(check_command_reply(&r, &["no such command: 'x'".into()]).is_ok());
        assert!(check_command_reply(&r, &["other".into()]).is_err());
        assert!(check_command_reply(&rawdoc! {"ok": 1_i32}, &[]).is_ok());
        assert!(check_command_reply(&rawdoc! {"ok": true}, &[]).is_ok());
        assert!(check_command_reply(&rawdoc! {}, &[]).is_err());
    }

    #[test]
    fn not_primary_has_its_own_kind() {
        for r in [
            rawdoc! {"ok": 0, "code": 10107_i32, "errmsg": "not primary"},
            rawdoc! {"ok": 0, "code": 11600_i32, "errmsg": "interrupted at shutdown"},
            rawdoc! {"ok": 0, "errmsg": "not master"},
        ] {
            assert!(check_command_reply(&r, &[]).unwrap_err().is_not_primary());
        }
    }

    #[test]
    fn write_errors_and_duplicate_keys() {
        let r = rawdoc! {"ok": 1, "n": 1_i32, "writeErrors": [
        {"index": 1_i32, "code": 11000_i32, "errmsg": "E11000 duplicate key"}]};
        let e = check_write_reply(&r).unwrap_err();
        assert!(e.is_duplicate_key() && e.is_write_failure());
        let ErrorKind::DuplicateKey(w) = e.kind() else {
            panic!()
        };
        assert_eq!(w.write_errors[0].index, 1);
        let r = rawdoc! {"ok": 1, "n": 1_i32, "writeConcernError": {"code": 64_i32, "errmsg": "waiting for replication timed out"}};
        let e = check_write_reply(&r).unwrap_err();
        assert!(e.is_write_failure() && !e.is_duplicate_key());
        assert_eq!(e.code(), Some(64));
        assert!(check_write_reply(&rawdoc! {"ok": 1, "n": 2_i32}).is_ok());
    }

    #[test]
    fn get_last_error_replies() {
        let ok = check_gle_reply(&rawdoc! {"ok": 1.0, "err": null, "n": 0_i32}).unwrap();
        assert_eq!(ok.n, 0);
        let up = check_gle_reply(&rawdoc! {"ok": 1.0, "err": null, "n": 1_i32,
        "updatedExisting": false, "upserted": 5_i32})
        .unwrap();
        assert_eq!(up.updated_existing, Some(false));
        assert_eq!(up.upserted, Some(bson::Bson::Int32(5)));
        let dup = check_gle_reply(
            &rawdoc! {"ok": 1.0, "err": "E11000 duplicate key error", "code": 11000_i32, "n": 0_i32},
        );
        assert!(dup.unwrap_err().is_duplicate_key());
        let wt =
            check_gle_reply(&rawdoc! {"ok": 1.0, "err": "timeout", "wtimeout": true, "n": 1_i32})
                .unwrap_err();
        assert!(wt.is_write_failure());
        assert_eq!(wt.code(), Some(64));
        let np = check_gle_reply(&rawdoc! {"ok": 1.0, "err": "not master", "code": 10058_i32});
        assert!(np.unwrap_err().is_not_primary());
    }
}
