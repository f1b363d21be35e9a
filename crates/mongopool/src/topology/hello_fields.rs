//! Reads the fields SDAM needs from a hello (or legacy hello) reply into a
//! [`ServerDescription`], checking every type.

use bson::{RawBsonRef, RawDocument};

use super::server_description::ServerDescription;
use super::server_type::ServerType;
use super::topology_version::TopologyVersion;
use crate::address::ServerAddress;
use crate::error::{Error, ErrorKind, OperationFailure, Result};

/// Flags that decide the server type, gathered while reading.
#[derive(Default)]
struct Flags {
    ok: Option<bool>,
    errmsg: Option<String>,
    code: Option<i64>,
    code_name: Option<String>,
    writable_primary: bool,
    secondary: bool,
    arbiter_only: bool,
    hidden: bool,
    mongos: bool,
    is_replica_set: bool,
}

/// Fills `sd` from `hello`. An error means the reply is unusable (not ok, or a field of
/// the wrong type); `sd` is then left partly filled and must be discarded.
pub(crate) fn read(sd: &mut ServerDescription, hello: &RawDocument) -> Result<()> {
    let mut f = Flags::default();
    let from = sd.address.to_string();
    for element in hello {
        let (key, value) = element.map_err(|e| bad(&from, format!("invalid BSON: {e}")))?;
        let key = key.as_str();
        let wrong = |what: &str| bad(&from, format!("field {key:?} is not {what}"));
        match key {
            "ok" => f.ok = Some(truthy(value).ok_or_else(|| wrong("a number or boolean"))?),
            "errmsg" => f.errmsg = value.as_str().map(str::to_owned),
            "code" => f.code = integer(value),
            "codeName" => f.code_name = value.as_str().map(str::to_owned),
            "isWritablePrimary" | "ismaster" => {
                f.writable_primary |= value.as_bool().ok_or_else(|| wrong("a boolean"))?
            }
            "secondary" => f.secondary = value.as_bool().ok_or_else(|| wrong("a boolean"))?,
            "arbiterOnly" => f.arbiter_only = value.as_bool().ok_or_else(|| wrong("a boolean"))?,
            "hidden" => f.hidden = value.as_bool().ok_or_else(|| wrong("a boolean"))?,
            "isreplicaset" => {
                f.is_replica_set = value.as_bool().ok_or_else(|| wrong("a boolean"))?
            }
            "msg" => f.mongos = value.as_str() == Some("isdbgrid"),
            "helloOk" => sd.hello_ok = value.as_bool().ok_or_else(|| wrong("a boolean"))?,
            "iscryptd" => sd.is_cryptd = value.as_bool().ok_or_else(|| wrong("a boolean"))?,
            "minWireVersion" => {
                sd.min_wire_version = Some(int32(value).ok_or_else(|| wrong("an int"))?)
            }
            "maxWireVersion" => {
                sd.max_wire_version = Some(int32(value).ok_or_else(|| wrong("an int"))?)
            }
            "setName" => {
                sd.set_name = Some(value.as_str().ok_or_else(|| wrong("a string"))?.to_owned())
            }
            "setVersion" => {
                sd.set_version = nullable(value, integer).map_err(|()| wrong("an integer"))?
            }
            "electionId" => {
                sd.election_id = nullable(value, |v| match v {
                    RawBsonRef::ObjectId(oid) => Some(oid),
                    _ => None,
                })
                .map_err(|()| wrong("an ObjectId"))?
            }
            "me" => sd.me = Some(address(value).ok_or_else(|| wrong("a host:port string"))?),
            "primary" => {
                sd.primary = nullable(value, address).map_err(|()| wrong("a host:port string"))?
            }
            "hosts" => {
                sd.hosts = addresses(value).ok_or_else(|| wrong("an array of host:port strings"))?
            }
            "passives" => {
                sd.passives =
                    addresses(value).ok_or_else(|| wrong("an array of host:port strings"))?
            }
            "arbiters" => {
                sd.arbiters =
                    addresses(value).ok_or_else(|| wrong("an array of host:port strings"))?
            }
            "tags" => {
                let doc = value.as_document().ok_or_else(|| wrong("a document"))?;
                for e in doc {
                    let (k, v) = e.map_err(|_| wrong("a document of strings"))?;
                    let v = v.as_str().ok_or_else(|| wrong("a document of strings"))?;
                    sd.tags.insert(k.as_str().to_owned(), v.to_owned());
                }
            }
            "lastWrite" => {
                let doc = value.as_document().ok_or_else(|| wrong("a document"))?;
                sd.last_write_date = match doc.get("lastWriteDate") {
                    Ok(Some(RawBsonRef::DateTime(d))) => Some(d.timestamp_millis()),
                    Ok(Some(v)) => Some(
                        integer(v).ok_or_else(|| wrong("a document with a lastWriteDate date"))?,
                    ),
                    Ok(None) => None,
                    Err(_) => return Err(wrong("a valid document")),
                };
                sd.op_time = match doc.get("opTime") {
                    Ok(Some(RawBsonRef::Document(d))) => Some(d.to_owned()),
                    _ => None,
                };
            }
            "logicalSessionTimeoutMinutes" => {
                sd.logical_session_timeout_minutes =
                    nullable(value, integer).map_err(|()| wrong("an integer"))?
            }
            "topologyVersion" => {
                let doc = value.as_document().ok_or_else(|| wrong("a document"))?;
                sd.topology_version = Some(
                    TopologyVersion::from_document(doc)
                        .map_err(|e| bad(&from, format!("invalid topologyVersion: {e}")))?,
                );
            }
            "serviceId" => {
                sd.service_id = match value {
                    RawBsonRef::ObjectId(oid) => Some(oid),
                    _ => return Err(wrong("an ObjectId")),
                }
            }
            _ => {}
        }
    }
    if f.ok != Some(true) {
        let message = f.errmsg.unwrap_or_else(|| "the reply is not ok: 1".into());
        return Err(Error::new(ErrorKind::OperationFailure(OperationFailure {
            code: f.code.and_then(|c| i32::try_from(c).ok()).unwrap_or(0),
            code_name: f.code_name,
            message: format!("hello to {} failed: {message}", sd.address),
            labels: Vec::new(),
            reply: hello.to_owned(),
        })));
    }
    sd.server_type = server_type(&f, sd.set_name.is_some());
    Ok(())
}

/// The spec's type table; the order of the tests matters (a hidden secondary is
/// RSOther, a replica set ghost has no set name).
fn server_type(f: &Flags, has_set_name: bool) -> ServerType {
    if f.mongos {
        ServerType::Mongos
    } else if f.is_replica_set {
        ServerType::RsGhost
    } else if has_set_name {
        if f.writable_primary {
            ServerType::RsPrimary
        } else if f.hidden {
            ServerType::RsOther
        } else if f.secondary {
            ServerType::RsSecondary
        } else if f.arbiter_only {
            ServerType::RsArbiter
        } else {
            ServerType::RsOther
        }
    } else {
        ServerType::Standalone
    }
}

fn bad(from: &str, what: String) -> Error {
    Error::protocol(format!("hello reply from {from}: {what}"))
}

fn truthy(v: RawBsonRef<'_>) -> Option<bool> {
    match v {
        RawBsonRef::Boolean(b) => Some(b),
        RawBsonRef::Int32(n) => Some(n == 1),
        RawBsonRef::Int64(n) => Some(n == 1),
        RawBsonRef::Double(d) => Some(d == 1.0),
        _ => None,
    }
}

/// An integer, also from a double with no fraction (servers and tests use both).
pub(crate) fn integer(v: RawBsonRef<'_>) -> Option<i64> {
    match v {
        RawBsonRef::Int32(n) => Some(i64::from(n)),
        RawBsonRef::Int64(n) => Some(n),
        RawBsonRef::Double(d) if d.fract() == 0.0 && d.abs() < 9.0e15 => Some(d as i64),
        _ => None,
    }
}

fn int32(v: RawBsonRef<'_>) -> Option<i32> {
    integer(v).and_then(|n| i32::try_from(n).ok())
}

/// `Ok(None)` for null, `Err` for a value `read` cannot take.
fn nullable<T>(
    v: RawBsonRef<'_>,
    read: impl Fn(RawBsonRef<'_>) -> Option<T>,
) -> std::result::Result<Option<T>, ()> {
    match v {
        RawBsonRef::Null => Ok(None),
        v => read(v).map(Some).ok_or(()),
    }
}

fn address(v: RawBsonRef<'_>) -> Option<ServerAddress> {
    ServerAddress::parse(v.as_str()?).ok()
}

fn addresses(v: RawBsonRef<'_>) -> Option<Vec<ServerAddress>> {
    let mut out = Vec::new();
    for item in v.as_array()? {
        let a = address(item.ok()?)?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bson::rawdoc;

    use super::*;

    fn sd(hello: &RawDocument) -> ServerDescription {
        ServerDescription::from_hello(
            ServerAddress::tcp("a", 27017),
            hello,
            Duration::from_millis(3),
            7,
        )
    }

    #[test]
    fn types_from_replies() {
        let cases = [
            (rawdoc! {"ok": 1, "msg": "isdbgrid"}, ServerType::Mongos),
            (rawdoc! {"ok": 1, "isreplicaset": true}, ServerType::RsGhost),
            (
                rawdoc! {"ok": 1, "setName": "s", "ismaster": true},
                ServerType::RsPrimary,
            ),
            (
                rawdoc! {"ok": 1, "setName": "s", "secondary": true, "hidden": true},
                ServerType::RsOther,
            ),
            (
                rawdoc! {"ok": 1, "setName": "s", "secondary": true},
                ServerType::RsSecondary,
            ),
            (
                rawdoc! {"ok": 1, "setName": "s", "arbiterOnly": true},
                ServerType::RsArbiter,
            ),
            (rawdoc! {"ok": 1, "setName": "s"}, ServerType::RsOther),
            (rawdoc! {"ok": 1}, ServerType::Standalone),
            (rawdoc! {"ok": 0, "errmsg": "no"}, ServerType::Unknown),
            (rawdoc! {}, ServerType::Unknown),
        ];
        for (doc, t) in cases {
            assert_eq!(sd(&doc).server_type, t, "{doc:?}");
        }
    }

    #[test]
    fn bad_types_give_unknown_with_a_reason() {
        for doc in [
            rawdoc! {"ok": 1, "hosts": "a:1"},
            rawdoc! {"ok": 1, "hosts": ["a:0"]},
            rawdoc! {"ok": 1, "setVersion": "1"},
            rawdoc! {"ok": 1, "electionId": 3},
            rawdoc! {"ok": 1, "tags": {"a": 1}},
            rawdoc! {"ok": 1, "topologyVersion": {"processId": 1, "counter": 1}},
            rawdoc! {"ok": "yes"},
        ] {
            let d = sd(&doc);
            assert_eq!(d.server_type, ServerType::Unknown, "{doc:?}");
            assert!(d
                .error
                .unwrap()
                .to_string()
                .contains("hello reply from a:27017"));
            assert_eq!(d.round_trip_time, None);
        }
    }

    #[test]
    fn fields_are_read_and_lowercased() {
        let d = sd(&rawdoc! {
            "ok": 1.0, "setName": "rs", "secondary": true, "hosts": ["A:1", "b:2"],
            "me": "A:1", "primary": "b:2", "tags": {"dc": "ny"}, "setVersion": 2,
            "lastWrite": {"lastWriteDate": bson::DateTime::from_millis(55)},
            "logicalSessionTimeoutMinutes": 30, "maxWireVersion": 21
        });
        assert_eq!(d.server_type, ServerType::RsSecondary);
        assert_eq!(d.hosts[0], ServerAddress::tcp("a", 1));
        assert_eq!(d.me, Some(ServerAddress::tcp("a", 1)));
        assert_eq!(d.last_write_date, Some(55));
        assert_eq!(d.set_version, Some(2));
        assert_eq!(d.logical_session_timeout_minutes, Some(30));
        assert_eq!(d.max_wire_version, Some(21));
        assert_eq!(d.round_trip_time, Some(Duration::from_millis(3)));
        assert_eq!(d.last_update_time, Some(7));
        assert!(d.matches_tag_set(&rawdoc! {"dc": "ny"}));
        assert!(!d.matches_tag_set(&rawdoc! {"dc": "sf"}));
    }
}
