//! Driving the sans-IO SCRAM machine over saslStart / saslContinue.

use bson::raw::cstr;
use bson::spec::BinarySubtype;
use bson::{rawdoc, Binary, RawBinaryRef, RawDocument, RawDocumentBuf};
use mongopool_wire::scram::{ClientFinal, ClientFirst, ScramClient, ScramMechanism};

use super::{auth_command, auth_error};
use crate::auth_policy as policy;
use crate::connection::Connection;
use crate::error::{Error, Result};

/// Servers before 4.4 may want empty saslContinue round trips after the final
/// message; a server that wants more than this many is broken.
const MAX_EMPTY_ROUND_TRIPS: usize = 5;

/// A SCRAM login in progress: the first client message has been built.
pub(crate) struct ScramStart {
    pub(crate) first: ClientFirst,
    pub(crate) source: String,
}

impl ScramStart {
    pub(crate) fn new(
        mechanism: ScramMechanism,
        username: &str,
        password: &str,
        source: &str,
    ) -> Result<ScramStart> {
        let client = ScramClient::new(mechanism, username, password)
            .map_err(|e| auth_error(mechanism.name(), None, e.to_string()))?;
        Ok(ScramStart {
            first: client.start(),
            source: source.to_owned(),
        })
    }

    /// `{saslStart: 1, mechanism, payload, autoAuthorize: 1, options: {skipEmptyExchange: true}}`;
    /// with `db` added when it rides in the hello as speculativeAuthenticate.
    pub(crate) fn sasl_start(&self, speculative: bool) -> RawDocumentBuf {
        let mut cmd = rawdoc! {
            "saslStart": 1_i32,
            "mechanism": self.first.mechanism().name(),
            "payload": binary(self.first.message()),
            "autoAuthorize": 1_i32,
            "options": { "skipEmptyExchange": true },
        };
        if speculative {
            cmd.append(cstr!("db"), self.source.as_str());
        }
        cmd
    }

    /// Runs the conversation to the end. `first_reply` is the server's answer to
    /// saslStart when it already came (speculative authentication in the hello).
    pub(crate) async fn run(
        self,
        conn: &mut Connection,
        first_reply: Option<RawDocumentBuf>,
    ) -> Result<()> {
        let policy = conn.auth_policy();
        let mechanism = self.first.mechanism();
        let name = mechanism.name();
        let reply = match first_reply {
            Some(reply) => reply,
            None => auth_command(conn, &self.source, &self.sasl_start(false), name).await?,
        };
        let (conversation_id, payload, _) = read_sasl_reply(&reply, name)?;
        // PBKDF2 runs here on a cache miss (thousands of HMAC rounds, as many as the
        // server asks up to the ceiling): keep it off the async worker threads. A
        // blocking job cannot be cancelled, so one whose login timed out runs on: the
        // permit it holds bounds how many such jobs exist at once.
        let first = self.first.with_max_iterations(policy.max_scram_iterations);
        let payload = payload.to_vec();
        let permit = policy::pbkdf2_permit().await;
        let cache = policy.key_cache;
        let final_step: ClientFinal = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            first.handle_server_first(&payload, cache)
        })
        .await
        .map_err(|e| auth_error(name, None, format!("key derivation failed: {e}")))?
        .map_err(|e| auth_error(name, None, e.to_string()))?;
        let cmd = sasl_continue(&conversation_id, final_step.message());
        let reply = auth_command(conn, &self.source, &cmd, name).await?;
        let (conversation_id, payload, mut done) = read_sasl_reply(&reply, name)?;
        final_step
            .handle_server_final(payload)
            .map_err(|e| auth_error(name, None, e.to_string()))?;
        // Servers before 4.4 (or that ignore skipEmptyExchange) want one more, empty
        // round trip before they say done.
        let mut rounds = 0;
        while !done {
            rounds += 1;
            if rounds > MAX_EMPTY_ROUND_TRIPS {
                return Err(auth_error(
                    name,
                    None,
                    "the server never ended the SASL conversation".into(),
                ));
            }
            let cmd = sasl_continue(&conversation_id, &[]);
            let reply = auth_command(conn, &self.source, &cmd, name).await?;
            done = read_sasl_reply(&reply, name)?.2;
        }
        Ok(())
    }
}

/// `{saslContinue: 1, conversationId, payload}`, carrying the server's id back as
/// it sent it (any BSON type).
pub(crate) fn sasl_continue(conversation_id: &RawDocumentBuf, payload: &[u8]) -> RawDocumentBuf {
    let mut cmd = rawdoc! { "saslContinue": 1_i32 };
    if let Ok(Some(id)) = conversation_id.get("conversationId") {
        cmd.append(cstr!("conversationId"), id);
    }
    cmd.append(cstr!("payload"), binary(payload));
    cmd
}

fn binary(bytes: &[u8]) -> Binary {
    Binary {
        subtype: BinarySubtype::Generic,
        bytes: bytes.to_vec(),
    }
}

/// Reads `conversationId` (kept as a one-field document), `payload` and `done`.
pub(crate) fn read_sasl_reply<'a>(
    reply: &'a RawDocument,
    mechanism: &str,
) -> Result<(RawDocumentBuf, &'a [u8], bool)> {
    let bad = |what: &str| -> Error {
        auth_error(
            mechanism,
            None,
            format!("the server's SASL reply has no valid {what}"),
        )
    };
    let mut id = RawDocumentBuf::new();
    if let Ok(Some(v)) = reply.get("conversationId") {
        id.append(cstr!("conversationId"), v);
    }
    let payload = match reply.get("payload") {
        Ok(Some(bson::RawBsonRef::Binary(RawBinaryRef { bytes, .. }))) => bytes,
        Ok(Some(bson::RawBsonRef::String(s))) => s.as_bytes(),
        _ => return Err(bad("payload")),
    };
    let done = match reply.get("done") {
        Ok(Some(bson::RawBsonRef::Boolean(b))) => b,
        Ok(None) => false,
        _ => return Err(bad("done flag")),
    };
    Ok((id, payload, done))
}
