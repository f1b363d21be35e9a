//! The mock's answer to `hello` / `isMaster`: what a standalone server of a given
//! wire version says, the compressors it accepts, and the auth fields.

use bson::{Bson, DateTime, Document, RawBsonRef, RawDocument};

use super::auth::AuthResponder;

/// What the hello reply is made from.
pub(crate) struct HelloSource<'a> {
    pub(crate) max_wire_version: i32,
    /// Compressors the server supports, by name.
    pub(crate) compressors: &'a [String],
    pub(crate) auth: &'a [std::sync::Arc<dyn AuthResponder>],
    /// Set last, replacing what is there.
    pub(crate) overrides: &'a Document,
}

/// Wire versions at which servers started to say things in their hello.
const SESSIONS_WIRE_VERSION: i32 = 6;
const COMPRESSION_WIRE_VERSION: i32 = 5;
const SASL_SUPPORTED_MECHS_WIRE_VERSION: i32 = 7;
const SPECULATIVE_AUTH_WIRE_VERSION: i32 = 9;

/// The reply to `command` (a hello or legacy isMaster) on connection `connection`.
pub(crate) fn hello_reply(
    source: &HelloSource<'_>,
    connection: usize,
    name: &str,
    command: &RawDocument,
) -> Document {
    let v = source.max_wire_version;
    let mut reply = Document::new();
    if name.eq_ignore_ascii_case("hello") {
        reply.insert("isWritablePrimary", true);
    } else {
        reply.insert("ismaster", true);
    }
    if v >= SPECULATIVE_AUTH_WIRE_VERSION && command.get_bool("helloOk").unwrap_or(false) {
        reply.insert("helloOk", true);
    }
    reply.insert("maxBsonObjectSize", 16 * 1024 * 1024);
    reply.insert("maxMessageSizeBytes", 48_000_000);
    reply.insert(
        "maxWriteBatchSize",
        if v >= SESSIONS_WIRE_VERSION {
            100_000
        } else {
            1000
        },
    );
    reply.insert("localTime", DateTime::now());
    if v >= SESSIONS_WIRE_VERSION {
        reply.insert("logicalSessionTimeoutMinutes", 30);
    }
    reply.insert(
        "connectionId",
        i32::try_from(connection + 1).unwrap_or(i32::MAX),
    );
    reply.insert("minWireVersion", 0);
    reply.insert("maxWireVersion", v);
    reply.insert("readOnly", false);
    if v >= COMPRESSION_WIRE_VERSION {
        let agreed = agreed_compressors(command, source.compressors);
        if !agreed.is_empty() {
            reply.insert("compression", agreed);
        }
    }
    if v >= SASL_SUPPORTED_MECHS_WIRE_VERSION {
        if let Some(mechs) = sasl_supported_mechs(command, source.auth) {
            reply.insert("saslSupportedMechs", mechs);
        }
    }
    if v >= SPECULATIVE_AUTH_WIRE_VERSION {
        if let Some(answer) = speculative_answer(command, connection, source.auth) {
            reply.insert("speculativeAuthenticate", answer);
        }
    }
    reply.insert("ok", 1.0);
    for (key, value) in source.overrides {
        reply.insert(key.clone(), value.clone());
    }
    reply
}

/// The client's offer, in its order, less what the server does not support.
fn agreed_compressors(command: &RawDocument, supported: &[String]) -> Vec<Bson> {
    let Ok(offered) = command.get_array("compression") else {
        return Vec::new();
    };
    offered
        .into_iter()
        .filter_map(|v| v.ok().and_then(|v| v.as_str()))
        .filter(|name| supported.iter().any(|s| s.eq_ignore_ascii_case(name)))
        .map(|name| Bson::String(name.to_owned()))
        .collect()
}

/// `saslSupportedMechs: "<db>.<user>"` → the mechanisms the responders know for
/// that user; `None` when none does (servers then leave the field out).
fn sasl_supported_mechs(
    command: &RawDocument,
    auth: &[std::sync::Arc<dyn AuthResponder>],
) -> Option<Vec<Bson>> {
    let (db, user) = command
        .get_str("saslSupportedMechs")
        .ok()?
        .split_once('.')?;
    let mut mechs: Vec<String> = Vec::new();
    for responder in auth {
        for m in responder.mechanisms_for(db, user) {
            if !mechs.contains(&m) {
                mechs.push(m);
            }
        }
    }
    (!mechs.is_empty()).then(|| mechs.into_iter().map(Bson::String).collect())
}

/// The first responder's successful answer to `speculativeAuthenticate`, without
/// its `ok`. A failed or unanswered speculative login is left out of the reply, as
/// servers do; the client then logs in the ordinary way.
fn speculative_answer(
    command: &RawDocument,
    connection: usize,
    auth: &[std::sync::Arc<dyn AuthResponder>],
) -> Option<Document> {
    let Ok(Some(RawBsonRef::Document(speculative))) = command.get("speculativeAuthenticate") else {
        return None;
    };
    let mut answer = auth
        .iter()
        .find_map(|r| r.answer_speculative(connection, speculative))?;
    let ok = matches!(answer.get("ok"), Some(Bson::Double(d)) if *d == 1.0);
    if !ok {
        return None;
    }
    answer.remove("ok");
    Some(answer)
}
