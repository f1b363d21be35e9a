//! One client connection: read a request, answer it (the proxy itself, or the server
//! through a pooled connection), write the reply; one request at a time, as drivers
//! send them. A client that sends bytes that are not a MongoDB message is closed; no
//! other client notices.

use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::Instant as StdInstant;

use bson::rawdoc;
use mongopool_wire::{
    may_compress, Compressor, Decoded, Message, MsgFlags, OpMsg, OpReply, ReplyFlags,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, trace, warn};

use crate::cleanup;
use crate::client_auth::{self, ClientUsers, LoginState};
use crate::cursors::ClientId;
use crate::exhaust::{self, ExhaustRequest};
use crate::forward::{forward, Outcome};
use crate::frame_reader::FrameReader;
use crate::replies::{auth_refused, bad_request, hello, ErrorReply};
use crate::request::{database, query_as_msg, route, Route};
use crate::shared::Shared;
use crate::stats::bump;
use crate::telemetry::{self, Rejection, RequestOutcome};

/// Request ids of the replies the proxy writes (clients match on `responseTo` only).
static NEXT_REPLY_ID: AtomicI32 = AtomicI32::new(1);

/// Serves `stream` until the client leaves or the proxy shuts down, then cleans up
/// what the client left pinned.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    client: ClientId,
    mut shutdown: watch::Receiver<Option<Instant>>,
) {
    // Replies are single writes of whole messages: Nagle would only delay them.
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.into_split();
    let mut reader = FrameReader::new(read, shared.facts.max_message_size_bytes);
    let mut out = Vec::new();
    let mut login = LoginState::default();
    loop {
        // In-flight requests finish at shutdown; waiting for the next one stops.
        let frame = tokio::select! {
            biased;
            _ = crate::shared::stopping(&mut shutdown) => break,
            frame = reader.next_frame() => frame,
        };
        let frame = match frame {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                bump(&shared.counters.clients_broken);
                debug!(client, error = %e, "closing a client: reading its request failed");
                break;
            }
        };
        let decoded = match Message::decode(&frame, shared.facts.max_message_size_bytes) {
            Ok(decoded) => decoded,
            Err(e) => {
                bump(&shared.counters.clients_broken);
                warn!(client, error = %e, "closing a client that sent an unreadable message");
                break;
            }
        };
        out.clear();
        let decoded = match exhaust_stream(decoded) {
            Ok(request) => {
                let streamed =
                    exhaust::stream(&shared, client, request, &NEXT_REPLY_ID, &mut write).await;
                if let Err(why) = streamed {
                    debug!(client, why, "closing a client during an exhaust stream");
                    break;
                }
                continue;
            }
            Err(decoded) => decoded,
        };
        if let Err(why) = answer(&shared, client, &mut login, decoded, &mut out).await {
            bump(&shared.counters.clients_broken);
            warn!(client, why, "closing a client");
            break;
        }
        if !out.is_empty() && write.write_all(&out).await.is_err() {
            break;
        }
    }
    cleanup::client_gone(&shared, client).await;
}

/// The request as an exhaust `getMore`, or back as it came if it is not one.
fn exhaust_stream(decoded: Decoded) -> Result<ExhaustRequest, Decoded> {
    let Decoded {
        header,
        compressor,
        message,
    } = decoded;
    match message {
        // Only the flag is looked at for every request; routing only for flagged ones.
        Message::Msg(msg) if msg.flags.contains(MsgFlags::EXHAUST_ALLOWED) => match route(&msg) {
            Route::Forward(f) if exhaust::starts_stream(&msg, &f) => Ok(ExhaustRequest {
                msg,
                forward: f,
                request_id: header.request_id,
                compressor,
            }),
            _ => Err(Decoded {
                header,
                compressor,
                message: Message::Msg(msg),
            }),
        },
        message => Err(Decoded {
            header,
            compressor,
            message,
        }),
    }
}

/// Appends the reply to `decoded` (none for moreToCome) to `out`; `Err` closes the
/// client.
async fn answer(
    shared: &Shared,
    client: ClientId,
    login: &mut LoginState,
    decoded: Decoded,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let request_id = decoded.header.request_id;
    match decoded.message {
        Message::Msg(msg) => {
            // Replies are compressed when the request was, unless the command is one
            // that must never be (hello, auth).
            let compressor = decoded
                .compressor
                .filter(|_| msg.command_name().is_none_or(may_compress));
            if let Some(reply) = respond(shared, client, login, msg).await {
                encode(&reply, request_id, compressor.as_ref(), out)?;
            }
            Ok(())
        }
        Message::Query(query) => {
            let Some(msg) = query_as_msg(&query) else {
                let failure = OpReply {
                    flags: ReplyFlags::QUERY_FAILURE,
                    cursor_id: 0,
                    starting_from: 0,
                    number_returned: 1,
                    documents: vec![rawdoc! {
                        "$err": "mongopool proxy: OP_QUERY is only accepted for commands; \
                                 use OP_MSG",
                        "code": 352,
                    }]
                    .into(),
                };
                return encode(&Message::Reply(failure), request_id, None, out);
            };
            let reply = match respond(shared, client, login, msg).await {
                Some(Message::Msg(m)) => m.body,
                Some(Message::Reply(r)) => {
                    return encode(&Message::Reply(r), request_id, None, out)
                }
                Some(other) => {
                    return Err(format!("the server answered with {:?}", other.op_code()))
                }
                None => return Ok(()),
            };
            let reply = OpReply::new(vec![reply]).map_err(|e| e.to_string())?;
            encode(&Message::Reply(reply), request_id, None, out)
        }
        other => Err(format!(
            "it sent {:?}: legacy opcodes other than OP_QUERY commands are not supported",
            other.op_code()
        )),
    }
}

/// The reply to one command, or `None` when the client asked for none.
async fn respond(
    shared: &Shared,
    client: ClientId,
    login: &mut LoginState,
    msg: OpMsg,
) -> Option<Message> {
    let more_to_come = msg.flags.contains(MsgFlags::MORE_TO_COME);
    let local = |doc| {
        bump(&shared.counters.requests_answered);
        telemetry::request(RequestOutcome::Answered, None);
        (!more_to_come).then(|| Message::Msg(OpMsg::new(doc)))
    };
    let route = route(&msg);
    let needs_login = !shared.users.is_empty()
        && !matches!(login, LoginState::LoggedIn(_))
        && matches!(route, Route::Forward(_) | Route::Invalid(_));
    if needs_login {
        bump(&shared.counters.requests_rejected);
        telemetry::rejected(Rejection::Unauthenticated);
        let name = msg.command_name().unwrap_or("");
        let e = ErrorReply::new(
            13,
            "Unauthorized",
            format!("mongopool proxy: command {name} requires authentication"),
        );
        return error_reply(command_name(&msg), e, more_to_come);
    }
    match route {
        Route::Hello { legacy_name } => {
            let doc = hello(
                &msg.body,
                legacy_name,
                &shared.facts,
                &shared.compressors,
                client as i64,
            );
            local(with_sasl_mechanisms(doc, &msg.body, &shared.users))
        }
        Route::Auth if shared.users.is_empty() => local(auth_refused().to_document()),
        Route::Auth => {
            let name = msg.command_name().unwrap_or("");
            match client_auth::step(&shared.users, login, name, &msg.body) {
                Ok(doc) => {
                    if let LoginState::LoggedIn(user) = &*login {
                        debug!(client, user, "client logged in");
                    }
                    local(doc)
                }
                Err(message) => {
                    bump(&shared.counters.requests_rejected);
                    telemetry::rejected(Rejection::Unauthenticated);
                    warn!(client, "a client failed to log in");
                    let e = ErrorReply::new(18, "AuthenticationFailed", message);
                    error_reply(command_name(&msg), e, more_to_come)
                }
            }
        }
        Route::Logout => {
            *login = LoginState::Anonymous;
            local(rawdoc! {"ok": 1.0})
        }
        Route::Invalid(why) => {
            bump(&shared.counters.requests_rejected);
            telemetry::rejected(Rejection::BadRequest);
            let name = msg.command_name().unwrap_or("");
            error_reply(
                name,
                bad_request(format!("mongopool proxy: {why}")),
                more_to_come,
            )
        }
        Route::Forward(f) => {
            let started = StdInstant::now();
            // Names are copied for the log only when it is on: two allocations per
            // request otherwise.
            let traced = tracing::enabled!(tracing::Level::TRACE)
                .then(|| (command_name(&msg), database(&msg).to_owned()));
            let error_name = command_name(&msg);
            let outcome = forward(shared, client, msg, f).await;
            if let Some((name, db)) = traced {
                trace!(client, command = %name, db = %db, elapsed = ?started.elapsed(), "forwarded");
            }
            if !matches!(outcome, Outcome::Error(_)) {
                telemetry::request(RequestOutcome::Forwarded, Some(started.elapsed()));
            }
            match outcome {
                Outcome::Reply(reply) => Some(reply),
                Outcome::NoReply => None,
                Outcome::Error(e) => error_reply(error_name, e, more_to_come),
            }
        }
    }
}

/// The hello reply, with `saslSupportedMechs` when the client asks about a user the
/// proxy knows (drivers then pick SCRAM-SHA-256).
fn with_sasl_mechanisms(
    mut doc: bson::RawDocumentBuf,
    request: &bson::RawDocument,
    users: &ClientUsers,
) -> bson::RawDocumentBuf {
    let asked = request.get_str("saslSupportedMechs").ok();
    let user = asked.and_then(|u| u.split_once('.')).map(|(_, user)| user);
    if user.is_some_and(|u| users.knows(u)) {
        let mut mechanisms = bson::RawArrayBuf::new();
        mechanisms.push(client_auth::MECHANISM);
        doc.append(bson::raw::cstr!("saslSupportedMechs"), mechanisms);
    }
    doc
}

/// The command's name for logs: a static name for the common ones (no allocation).
fn command_name(msg: &OpMsg) -> &'static str {
    const KNOWN: &[&str] = &[
        "find",
        "getMore",
        "insert",
        "update",
        "delete",
        "aggregate",
        "ping",
        "count",
        "findAndModify",
        "killCursors",
        "commitTransaction",
        "abortTransaction",
        "endSessions",
        "bulkWrite",
        "distinct",
        "listCollections",
        "listIndexes",
    ];
    let name = msg.command_name().unwrap_or("");
    KNOWN
        .iter()
        .copied()
        .find(|k| *k == name)
        .unwrap_or("command")
}

fn error_reply(name: &str, e: ErrorReply, more_to_come: bool) -> Option<Message> {
    debug!(command = name, code = e.code, error = %e.message, "answering with an error");
    (!more_to_come).then(|| Message::Msg(OpMsg::new(e.to_document())))
}

/// Encodes `reply` as the answer to `request_id`.
fn encode(
    reply: &Message,
    request_id: i32,
    compressor: Option<&Compressor>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let id = NEXT_REPLY_ID.fetch_add(1, Ordering::Relaxed);
    let encoded = match compressor {
        Some(c) => reply.encode_compressed(id, request_id, c, out),
        None => reply.encode(id, request_id, out),
    };
    encoded.map_err(|e| format!("its reply could not be encoded: {e}"))
}
