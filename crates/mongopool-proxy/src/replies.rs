//! The replies the proxy writes itself: its hello, and server-style errors.

use bson::raw::cstr;
use bson::{RawArrayBuf, RawDocument, RawDocumentBuf};
use mongopool::HelloReply;
use mongopool_wire::Compressor;

/// What clients are told about the server behind the proxy (from its hello).
#[derive(Debug, Clone)]
pub(crate) struct ServerFacts {
    pub(crate) min_wire_version: i32,
    pub(crate) max_wire_version: i32,
    pub(crate) max_bson_object_size: usize,
    pub(crate) max_message_size_bytes: usize,
    pub(crate) max_write_batch_size: usize,
    pub(crate) logical_session_timeout_minutes: Option<i64>,
}

impl ServerFacts {
    pub(crate) fn from_hello(hello: &HelloReply) -> Self {
        ServerFacts {
            min_wire_version: hello.min_wire_version,
            max_wire_version: hello.max_wire_version,
            max_bson_object_size: hello.max_bson_object_size,
            max_message_size_bytes: hello.max_message_size_bytes,
            max_write_batch_size: hello.max_write_batch_size,
            logical_session_timeout_minutes: hello.logical_session_timeout_minutes,
        }
    }
}

/// The proxy's hello: a mongos (`msg: "isdbgrid"`).
///
/// Why a mongos and not a standalone or a replica-set member: a driver that sees a
/// mongos sends its read preference along (`$readPreference`) instead of choosing a
/// member itself, never tries to discover or monitor other members (the proxy hides
/// them), pins a transaction to "the mongos" rather than to a connection (the proxy
/// pins it to one server connection), and still uses sessions, retryable writes and
/// transactions, which a standalone would not get. No `topologyVersion` is sent, so
/// drivers poll hello instead of streaming it (there is nothing to stream).
///
/// `compression` lists the compressors of the client's request that the proxy offers,
/// in the client's order.
pub(crate) fn hello(
    request: &RawDocument,
    legacy_name: bool,
    facts: &ServerFacts,
    offered: &[Compressor],
    connection_id: i64,
) -> RawDocumentBuf {
    let mut reply = RawDocumentBuf::new();
    if legacy_name {
        reply.append(cstr!("ismaster"), true);
    } else {
        reply.append(cstr!("isWritablePrimary"), true);
    }
    if request.get_bool("helloOk").ok() == Some(true) {
        reply.append(cstr!("helloOk"), true);
    }
    reply.append(cstr!("msg"), "isdbgrid");
    reply.append(
        cstr!("maxBsonObjectSize"),
        clamp_i32(facts.max_bson_object_size),
    );
    reply.append(
        cstr!("maxMessageSizeBytes"),
        clamp_i32(facts.max_message_size_bytes),
    );
    reply.append(
        cstr!("maxWriteBatchSize"),
        clamp_i32(facts.max_write_batch_size),
    );
    reply.append(cstr!("localTime"), bson::DateTime::now());
    if let Some(minutes) = facts.logical_session_timeout_minutes {
        reply.append(cstr!("logicalSessionTimeoutMinutes"), minutes);
    }
    reply.append(cstr!("connectionId"), connection_id);
    reply.append(cstr!("minWireVersion"), facts.min_wire_version);
    reply.append(cstr!("maxWireVersion"), facts.max_wire_version);
    reply.append(cstr!("readOnly"), false);
    let agreed = negotiate(request, offered);
    if !agreed.is_empty() {
        let mut names = RawArrayBuf::new();
        for c in &agreed {
            names.push(c.name());
        }
        reply.append(cstr!("compression"), names);
    }
    reply.append(cstr!("ok"), 1.0);
    reply
}

/// The compressors both sides know, in the client's order of preference.
pub(crate) fn negotiate(request: &RawDocument, offered: &[Compressor]) -> Vec<Compressor> {
    let Ok(asked) = request.get_array("compression") else {
        return Vec::new();
    };
    let mut agreed: Vec<Compressor> = Vec::new();
    for name in asked.into_iter().filter_map(|v| v.ok()?.as_str()) {
        if let Some(c) = offered.iter().find(|c| c.name().eq_ignore_ascii_case(name)) {
            if !agreed.iter().any(|a| a.id() == c.id()) {
                agreed.push(*c);
            }
        }
    }
    agreed
}

fn clamp_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A server-style error: the client's driver reads it as the server's own.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ErrorReply {
    pub(crate) code: i32,
    pub(crate) code_name: &'static str,
    pub(crate) message: String,
    pub(crate) labels: Vec<&'static str>,
}

impl ErrorReply {
    pub(crate) fn new(code: i32, code_name: &'static str, message: impl Into<String>) -> Self {
        ErrorReply {
            code,
            code_name,
            message: message.into(),
            labels: Vec::new(),
        }
    }

    pub(crate) fn with_label(mut self, label: &'static str) -> Self {
        self.labels.push(label);
        self
    }

    /// `{ok: 0, errmsg, code, codeName, errorLabels}`.
    pub(crate) fn to_document(&self) -> RawDocumentBuf {
        let mut doc = RawDocumentBuf::new();
        doc.append(cstr!("ok"), 0.0);
        doc.append(cstr!("errmsg"), self.message.as_str());
        doc.append(cstr!("code"), self.code);
        doc.append(cstr!("codeName"), self.code_name);
        if !self.labels.is_empty() {
            let mut labels = RawArrayBuf::new();
            for l in &self.labels {
                labels.push(*l);
            }
            doc.append(cstr!("errorLabels"), labels);
        }
        doc
    }
}

/// The reply to `saslStart` and friends.
pub(crate) fn auth_refused() -> ErrorReply {
    ErrorReply::new(
        18,
        "AuthenticationFailed",
        "mongopool proxy: clients connect without authentication; the proxy logs in to the \
         server with the credentials of its own URI. Remove the credentials from the client's \
         connection string.",
    )
}

/// Waiting for a server connection took too long, or too many requests wait already.
/// Code 89 is one drivers retry.
pub(crate) fn overloaded(message: impl Into<String>) -> ErrorReply {
    ErrorReply::new(89, "NetworkInterfaceExceededTimeLimit", message)
}

/// The server could not be reached, or the connection to it failed mid-request.
pub(crate) fn server_unreachable(message: impl Into<String>) -> ErrorReply {
    ErrorReply::new(6, "HostUnreachable", message)
}

/// A request the proxy cannot forward as it is.
pub(crate) fn bad_request(message: impl Into<String>) -> ErrorReply {
    ErrorReply::new(2, "BadValue", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::rawdoc;

    fn facts() -> ServerFacts {
        ServerFacts {
            min_wire_version: 0,
            max_wire_version: 21,
            max_bson_object_size: 16 << 20,
            max_message_size_bytes: 48_000_000,
            max_write_batch_size: 100_000,
            logical_session_timeout_minutes: Some(30),
        }
    }

    #[test]
    fn the_hello_is_a_mongos_with_the_servers_limits() {
        let offered = [Compressor::Snappy, Compressor::Zstd { level: None }];
        let r = hello(
            &rawdoc! {"hello": 1, "compression": ["zlib", "zstd", "snappy"]},
            false,
            &facts(),
            &offered,
            9,
        );
        assert_eq!(r.get_str("msg").unwrap(), "isdbgrid");
        assert!(r.get_bool("isWritablePrimary").unwrap());
        assert!(r.get("ismaster").unwrap().is_none());
        assert_eq!(r.get_i32("maxWireVersion").unwrap(), 21);
        assert_eq!(r.get_i64("logicalSessionTimeoutMinutes").unwrap(), 30);
        assert_eq!(r.get_i64("connectionId").unwrap(), 9);
        let names: Vec<_> = r
            .get_array("compression")
            .unwrap()
            .into_iter()
            .map(|v| v.unwrap().as_str().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["zstd", "snappy"]);
        assert!(r.get("topologyVersion").unwrap().is_none());
    }

    #[test]
    fn legacy_hello_says_ismaster_and_no_compression_unless_asked() {
        let r = hello(
            &rawdoc! {"isMaster": 1, "helloOk": true},
            true,
            &facts(),
            &[],
            1,
        );
        assert!(r.get_bool("ismaster").unwrap());
        assert!(r.get_bool("helloOk").unwrap());
        assert!(r.get("compression").unwrap().is_none());
    }

    #[test]
    fn error_replies_look_like_the_servers() {
        let d = overloaded("slow")
            .with_label("RetryableError")
            .to_document();
        assert_eq!(d.get_f64("ok").unwrap(), 0.0);
        assert_eq!(d.get_i32("code").unwrap(), 89);
        assert_eq!(
            d.get_str("codeName").unwrap(),
            "NetworkInterfaceExceededTimeLimit"
        );
        assert_eq!(d.get_str("errmsg").unwrap(), "slow");
        assert_eq!(d.get_array("errorLabels").unwrap().into_iter().count(), 1);
    }
}
