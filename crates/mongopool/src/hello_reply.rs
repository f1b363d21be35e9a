//! What the server said about itself in the handshake: the typed hello reply.

use bson::oid::ObjectId;
use bson::{RawBsonRef, RawDocument, RawDocumentBuf};

use crate::error::{Error, Result};
// Used when the reply does not carry a limit.
use mongopool_wire::{
    DEFAULT_MAX_BSON_OBJECT_SIZE, DEFAULT_MAX_MESSAGE_SIZE_BYTES, DEFAULT_MAX_MESSAGE_SIZE_CEILING,
    DEFAULT_MAX_WRITE_BATCH_SIZE,
};

/// The server's answer to `hello` / legacy `isMaster`, typed, plus the raw document.
///
/// Missing limits take the values servers have used since 2.6 (16 MiB documents,
/// 48,000,000-byte messages, 100,000-operation batches), as the drivers do.
#[derive(Debug, Clone)]
pub struct HelloReply {
    /// Oldest wire protocol version the server speaks (`minWireVersion`, default 0).
    pub min_wire_version: i32,
    /// Newest wire protocol version the server speaks (`maxWireVersion`, default 0).
    pub max_wire_version: i32,
    /// Largest BSON document the server accepts (`maxBsonObjectSize`).
    pub max_bson_object_size: usize,
    /// Largest message the server accepts (`maxMessageSizeBytes`).
    pub max_message_size_bytes: usize,
    /// Largest number of operations in one write batch (`maxWriteBatchSize`).
    pub max_write_batch_size: usize,
    /// `isWritablePrimary` (or the legacy `ismaster`).
    pub is_writable_primary: bool,
    /// `secondary`.
    pub secondary: bool,
    /// `arbiterOnly`.
    pub arbiter_only: bool,
    /// `hidden`.
    pub hidden: bool,
    /// The server is a mongos router (`msg: "isdbgrid"`).
    pub is_mongos: bool,
    /// `helloOk`: the server understands the `hello` command name.
    pub hello_ok: bool,
    /// Replica set name (`setName`).
    pub set_name: Option<String>,
    /// Replica set members (`hosts`).
    pub hosts: Vec<String>,
    /// Compressors the server accepts from the client's offer (`compression`), in order.
    pub compression: Vec<String>,
    /// SASL mechanisms the user may use (`saslSupportedMechs`), when asked for.
    pub sasl_supported_mechs: Option<Vec<String>>,
    /// `logicalSessionTimeoutMinutes`.
    pub logical_session_timeout_minutes: Option<i64>,
    /// The server's id for this connection (`connectionId`).
    pub connection_id: Option<i64>,
    /// `topologyVersion`, raw.
    pub topology_version: Option<RawDocumentBuf>,
    /// `serviceId` (load-balanced mode).
    pub service_id: Option<ObjectId>,
    /// The server's answer to `speculativeAuthenticate`, if it gave one.
    pub speculative_authenticate: Option<RawDocumentBuf>,
    /// The whole reply.
    pub raw: RawDocumentBuf,
}

impl HelloReply {
    /// Reads a hello reply. Fields of the wrong type are a protocol error; unknown
    /// fields are kept in `raw` only. The size limits are clamped to
    /// [`DEFAULT_MAX_MESSAGE_SIZE_CEILING`] (see [`HelloReply::parse_with_ceiling`]).
    pub fn parse(raw: RawDocumentBuf) -> Result<HelloReply> {
        HelloReply::parse_with_ceiling(raw, DEFAULT_MAX_MESSAGE_SIZE_CEILING)
    }

    /// [`HelloReply::parse`], believing no `maxMessageSizeBytes` or
    /// `maxBsonObjectSize` above `ceiling`: the server's limits bound how much the
    /// client reads and allocates (frames, `uncompressedSize`), so a server announcing
    /// more gets `ceiling` (the announced values stay in `raw`). A wire version outside
    /// the i32 range is a protocol error.
    pub fn parse_with_ceiling(raw: RawDocumentBuf, ceiling: usize) -> Result<HelloReply> {
        let mut reply = HelloReply::parse_unclamped(raw)?;
        let limits = reply.limits().clamped(ceiling);
        reply.max_message_size_bytes = limits.max_message_size_bytes;
        reply.max_bson_object_size = limits.max_bson_object_size;
        Ok(reply)
    }

    fn parse_unclamped(raw: RawDocumentBuf) -> Result<HelloReply> {
        let doc: &RawDocument = &raw;
        let mut reply = HelloReply {
            min_wire_version: 0,
            max_wire_version: 0,
            max_bson_object_size: DEFAULT_MAX_BSON_OBJECT_SIZE,
            max_message_size_bytes: DEFAULT_MAX_MESSAGE_SIZE_BYTES,
            max_write_batch_size: DEFAULT_MAX_WRITE_BATCH_SIZE,
            is_writable_primary: false,
            secondary: false,
            arbiter_only: false,
            hidden: false,
            is_mongos: false,
            hello_ok: false,
            set_name: None,
            hosts: Vec::new(),
            compression: Vec::new(),
            sasl_supported_mechs: None,
            logical_session_timeout_minutes: None,
            connection_id: None,
            topology_version: None,
            service_id: None,
            speculative_authenticate: None,
            raw: RawDocumentBuf::new(),
        };
        for element in doc {
            let (key, value) = element.map_err(|e| bad("hello reply", e))?;
            let key = key.as_str();
            match key {
                "minWireVersion" => reply.min_wire_version = wire_version(key, value)?,
                "maxWireVersion" => reply.max_wire_version = wire_version(key, value)?,
                "maxBsonObjectSize" => reply.max_bson_object_size = size(key, value)?,
                "maxMessageSizeBytes" => reply.max_message_size_bytes = size(key, value)?,
                "maxWriteBatchSize" => reply.max_write_batch_size = size(key, value)?,
                "isWritablePrimary" | "ismaster" => {
                    reply.is_writable_primary |= boolean(key, value)?
                }
                "secondary" => reply.secondary = boolean(key, value)?,
                "arbiterOnly" => reply.arbiter_only = boolean(key, value)?,
                "hidden" => reply.hidden = boolean(key, value)?,
                "helloOk" => reply.hello_ok = boolean(key, value)?,
                "msg" => reply.is_mongos = value.as_str() == Some("isdbgrid"),
                "setName" => reply.set_name = Some(string(key, value)?.to_owned()),
                "hosts" => reply.hosts = strings(key, value)?,
                "compression" => reply.compression = strings(key, value)?,
                "saslSupportedMechs" => reply.sasl_supported_mechs = Some(strings(key, value)?),
                "logicalSessionTimeoutMinutes" => {
                    reply.logical_session_timeout_minutes = match value {
                        RawBsonRef::Null => None,
                        v => Some(int(key, v)?),
                    }
                }
                "connectionId" => reply.connection_id = Some(int(key, value)?),
                "topologyVersion" => {
                    reply.topology_version = Some(document(key, value)?.to_owned())
                }
                "serviceId" => match value {
                    RawBsonRef::ObjectId(oid) => reply.service_id = Some(oid),
                    _ => return Err(wrong_type(key, "an ObjectId")),
                },
                "speculativeAuthenticate" => {
                    reply.speculative_authenticate = Some(document(key, value)?.to_owned())
                }
                _ => {}
            }
        }
        reply.raw = raw;
        Ok(reply)
    }

    /// The wire-protocol limits this server announced.
    pub fn limits(&self) -> mongopool_wire::Limits {
        mongopool_wire::Limits {
            max_bson_object_size: self.max_bson_object_size,
            max_message_size_bytes: self.max_message_size_bytes,
            max_write_batch_size: self.max_write_batch_size,
        }
    }

    /// Whether the server speaks OP_MSG (wire version 6, MongoDB 3.6, and later).
    pub fn supports_op_msg(&self) -> bool {
        self.max_wire_version >= 6
    }

    /// Whether the server still accepts OP_INSERT / OP_UPDATE / OP_DELETE and
    /// getLastError. MongoDB 5.1 (wire version 14) removed them, so do we.
    pub fn supports_legacy_writes(&self) -> bool {
        self.max_wire_version < 14
    }

    /// The `"major.minor"` server version implied by maxWireVersion, for display.
    pub fn server_version_hint(&self) -> &'static str {
        match self.max_wire_version {
            i32::MIN..=0 => "<2.6",
            1 | 2 => "2.6",
            3 => "3.0",
            4 => "3.2",
            5 => "3.4",
            6 => "3.6",
            7 => "4.0",
            8 => "4.2",
            9 => "4.4",
            13 => "5.0",
            14 => "5.1",
            17 => "6.0",
            21 => "7.0",
            25 => "8.0",
            26 => "8.1",
            27 => "8.2",
            _ => "unknown",
        }
    }
}

fn bad(what: &str, e: impl std::fmt::Display) -> Error {
    Error::protocol(format!("invalid BSON in {what}: {e}"))
}

fn wrong_type(key: &str, expected: &str) -> Error {
    Error::protocol(format!("hello reply field {key:?} is not {expected}"))
}

fn int(key: &str, value: RawBsonRef<'_>) -> Result<i64> {
    match value {
        RawBsonRef::Int32(i) => Ok(i64::from(i)),
        RawBsonRef::Int64(i) => Ok(i),
        RawBsonRef::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Ok(d as i64),
        _ => Err(wrong_type(key, "an integer")),
    }
}

/// A wire version: an integer in the i32 range (a larger one is not truncated into
/// some other version).
fn wire_version(key: &str, value: RawBsonRef<'_>) -> Result<i32> {
    let n = int(key, value)?;
    i32::try_from(n).map_err(|_| wrong_type(key, "an integer in the 32-bit range"))
}

fn size(key: &str, value: RawBsonRef<'_>) -> Result<usize> {
    let n = int(key, value)?;
    usize::try_from(n).map_err(|_| wrong_type(key, "a non-negative integer"))
}

fn boolean(key: &str, value: RawBsonRef<'_>) -> Result<bool> {
    match value {
        RawBsonRef::Boolean(b) => Ok(b),
        _ => Err(wrong_type(key, "a boolean")),
    }
}

fn string<'a>(key: &str, value: RawBsonRef<'a>) -> Result<&'a str> {
    value.as_str().ok_or_else(|| wrong_type(key, "a string"))
}

fn document<'a>(key: &str, value: RawBsonRef<'a>) -> Result<&'a RawDocument> {
    value
        .as_document()
        .ok_or_else(|| wrong_type(key, "a document"))
}

fn strings(key: &str, value: RawBsonRef<'_>) -> Result<Vec<String>> {
    let array = value
        .as_array()
        .ok_or_else(|| wrong_type(key, "an array of strings"))?;
    let mut out = Vec::new();
    for item in array {
        let item = item.map_err(|e| bad(key, e))?;
        out.push(
            item.as_str()
                .ok_or_else(|| wrong_type(key, "an array of strings"))?
                .to_owned(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    #[test]
    fn reads_a_modern_reply() {
        let raw = rawdoc! {
            "helloOk": true, "isWritablePrimary": true, "topologyVersion": {"processId": 1_i32, "counter": 0_i64},
            "maxBsonObjectSize": 16777216_i32, "maxMessageSizeBytes": 48000000_i32,
            "maxWriteBatchSize": 100000_i32, "localTime": bson::DateTime::from_millis(0),
            "logicalSessionTimeoutMinutes": 30_i32, "connectionId": 7_i32,
            "minWireVersion": 0_i32, "maxWireVersion": 27_i32, "readOnly": false,
            "compression": ["zstd"], "saslSupportedMechs": ["SCRAM-SHA-256"], "ok": 1.0,
        };
        let r = HelloReply::parse(raw).unwrap();
        assert_eq!(r.max_wire_version, 27);
        assert!(r.is_writable_primary && r.hello_ok && !r.is_mongos);
        assert_eq!(r.compression, vec!["zstd"]);
        assert_eq!(
            r.sasl_supported_mechs.clone().unwrap(),
            vec!["SCRAM-SHA-256"]
        );
        assert_eq!(r.connection_id, Some(7));
        assert_eq!(r.logical_session_timeout_minutes, Some(30));
        assert!(r.supports_op_msg() && !r.supports_legacy_writes());
        assert_eq!(r.server_version_hint(), "8.2");
    }

    #[test]
    fn reads_a_legacy_mongos_reply_with_defaults() {
        let raw = rawdoc! { "ismaster": true, "msg": "isdbgrid", "maxWireVersion": 5_i32, "ok": 1 };
        let r = HelloReply::parse(raw).unwrap();
        assert!(r.is_mongos && r.is_writable_primary);
        assert_eq!(r.max_bson_object_size, 16 * 1024 * 1024);
        assert_eq!(r.max_message_size_bytes, 48_000_000);
        assert!(!r.supports_op_msg() && r.supports_legacy_writes());
    }

    #[test]
    fn absurd_limits_are_clamped_and_wire_versions_must_fit_i32() {
        let absurd = rawdoc! {
            "maxWireVersion": 21_i32, "maxMessageSizeBytes": i64::MAX,
            "maxBsonObjectSize": 1_i64 << 40, "maxWriteBatchSize": 5_i32, "ok": 1,
        };
        let r = HelloReply::parse(absurd.clone()).unwrap();
        assert_eq!(r.max_message_size_bytes, 48_000_000);
        assert_eq!(r.max_bson_object_size, 48_000_000);
        assert_eq!(r.max_write_batch_size, 5);
        assert_eq!(r.raw, absurd);
        let r = HelloReply::parse_with_ceiling(absurd, 1_000_000).unwrap();
        assert_eq!(r.limits().max_message_size_bytes, 1_000_000);
        // A smaller announced limit stays as it is.
        let small = rawdoc! { "maxMessageSizeBytes": 1000_i32, "ok": 1 };
        assert_eq!(
            HelloReply::parse(small).unwrap().max_message_size_bytes,
            1000
        );
        // 2^32 + 21 would truncate to 21 as i32.
        for key in ["maxWireVersion", "minWireVersion"] {
            for v in [(1_i64 << 32) + 21, i64::from(i32::MIN) - 1] {
                let mut raw = rawdoc! { "ok": 1 };
                raw.append(<&bson::raw::CStr>::try_from(key).unwrap(), v);
                let err = HelloReply::parse(raw).unwrap_err();
                assert!(err.is_protocol(), "{key} {v}: {err}");
                assert!(err.to_string().contains(key), "{err}");
            }
        }
    }

    #[test]
    fn wrong_types_are_protocol_errors() {
        for raw in [
            rawdoc! {"maxWireVersion": "x"},
            rawdoc! {"maxBsonObjectSize": -1_i32},
            rawdoc! {"hosts": [1_i32]},
            rawdoc! {"isWritablePrimary": 1_i32},
        ] {
            assert!(HelloReply::parse(raw).unwrap_err().is_protocol());
        }
    }
}
