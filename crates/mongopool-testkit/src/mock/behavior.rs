//! Ready-made server behaviours: a modern server, a legacy one, and per-command
//! overrides on top.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bson::{doc, Bson, Document, RawDocument};
use mongopool_wire::{Compressor, Message};

use super::action::{error_document, Action};
use super::auth::{auth_failed, AuthResponder};
use super::handler::Handler;
use super::hello::{hello_reply, HelloSource};
use super::reply::Reply;
use super::request::Request;

/// The wire version of MongoDB 7.0, which [`Behavior::modern`] reports.
pub const MODERN_WIRE_VERSION: i32 = 21;

/// Wire versions at which servers changed what they accept.
const OP_MSG_WIRE_VERSION: i32 = 6;
/// MongoDB 5.1 dropped the legacy opcodes and OP_QUERY commands other than hello.
const NO_LEGACY_OPCODES_WIRE_VERSION: i32 = 14;

/// An override: the request and the action the behaviour would have taken (already
/// computed, with any state it touches updated) go in, the action to take comes out.
type Override = Arc<dyn Fn(&Request, Action) -> Action + Send + Sync>;

/// A scriptable standalone server: answers the handshake as a server of some wire
/// version, logs users in through [`AuthResponder`]s, accepts legacy writes and
/// answers getLastError from a script, answers any other command with `ok: 1` and
/// an `echo` of the command, and lets tests override any command by name.
///
/// ```no_run
/// # async fn f() -> std::io::Result<()> {
/// use std::time::Duration;
/// use mongopool_testkit::mock::{Action, Behavior, MockServer};
///
/// let server = MockServer::start(
///     Behavior::modern().on("ping", |_, default| default.after(Duration::from_secs(60))),
/// )
/// .await?;
/// # Ok(()) }
/// ```
pub struct Behavior {
    max_wire_version: i32,
    compressors: Vec<String>,
    hello_overrides: Document,
    overrides: HashMap<String, Override>,
    auth: Vec<Arc<dyn AuthResponder>>,
    last_errors: Mutex<VecDeque<Document>>,
    reply_compressor: Option<Compressor>,
}

impl std::fmt::Debug for Behavior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Behavior")
            .field("max_wire_version", &self.max_wire_version)
            .field("compressors", &self.compressors)
            .field("hello_overrides", &self.hello_overrides)
            .field("overrides", &self.overrides.keys().collect::<Vec<_>>())
            .field("auth_responders", &self.auth.len())
            .field("reply_compressor", &self.reply_compressor)
            .finish()
    }
}

impl Behavior {
    /// A MongoDB 7.0 (wire version 21) standalone, writable primary: OP_MSG only
    /// (legacy opcodes make it hang up, OP_QUERY commands other than the hello are
    /// refused with code 352), accepting snappy, zlib, zstd and noop compression.
    pub fn modern() -> Self {
        Behavior::with_wire_version(MODERN_WIRE_VERSION)
    }

    /// A server of `max_wire_version`, behaving as servers of that version do:
    /// below 6 it speaks OP_QUERY only and hangs up on OP_MSG; below 14 (MongoDB
    /// 5.1) it accepts OP_INSERT, OP_UPDATE and OP_DELETE without a word and answers
    /// a following `getlasterror` from the script of [`Behavior::last_error`]; from
    /// 14 on it is [`Behavior::modern`] with another version number. Below 7 the
    /// hello has no `saslSupportedMechs`, below 9 no speculative authentication.
    pub fn legacy(max_wire_version: i32) -> Self {
        Behavior::with_wire_version(max_wire_version)
    }

    fn with_wire_version(max_wire_version: i32) -> Self {
        Behavior {
            max_wire_version,
            compressors: ["snappy", "zlib", "zstd", "noop"]
                .map(str::to_owned)
                .to_vec(),
            hello_overrides: Document::new(),
            overrides: HashMap::new(),
            auth: Vec::new(),
            last_errors: Mutex::new(VecDeque::new()),
            reply_compressor: None,
        }
    }

    /// The wire version it reports.
    pub fn max_wire_version(&self) -> i32 {
        self.max_wire_version
    }

    /// Sets a field of every hello reply (after everything else, replacing what is
    /// there): `maxBsonObjectSize`, `setName`, ...
    pub fn hello_field(mut self, key: &str, value: impl Into<Bson>) -> Self {
        self.hello_overrides.insert(key, value.into());
        self
    }

    /// A secondary: not a writable primary (`ismaster` and `isWritablePrimary`
    /// false, `secondary` true).
    pub fn not_writable(self) -> Self {
        self.hello_field("ismaster", false)
            .hello_field("isWritablePrimary", false)
            .hello_field("secondary", true)
    }

    /// A mongos router: `msg: "isdbgrid"` in the hello.
    pub fn mongos(self) -> Self {
        self.hello_field("msg", "isdbgrid")
    }

    /// The compressors it accepts, by name. Defaults to snappy, zlib, zstd and noop.
    pub fn compressors(mut self, names: &[&str]) -> Self {
        self.compressors = names.iter().map(|n| (*n).to_owned()).collect();
        self
    }

    /// Wraps every reply in OP_COMPRESSED with `compressor`, the hello's too,
    /// whatever the request was (unless a reply says otherwise).
    pub fn compress_replies(mut self, compressor: Compressor) -> Self {
        self.reply_compressor = Some(compressor);
        self
    }

    /// Overrides the command `name` (ignoring ASCII case; `isMaster` and `hello` are
    /// separate names): `f` gets the request and the action the behaviour would have
    /// taken, and returns the action to take.
    pub fn on(
        mut self,
        name: &str,
        f: impl Fn(&Request, Action) -> Action + Send + Sync + 'static,
    ) -> Self {
        self.overrides
            .insert(name.to_ascii_lowercase(), Arc::new(f));
        self
    }

    /// Adds a user's login (SCRAM, MONGODB-CR, PLAIN): asked, in the order added, to
    /// answer authentication commands, `saslSupportedMechs` and
    /// `speculativeAuthenticate`.
    pub fn auth(mut self, responder: impl AuthResponder) -> Self {
        self.auth.push(Arc::new(responder));
        self
    }

    /// Queues the reply to the next `getlasterror` (without it:
    /// `{ok: 1, err: null, n: 0}`).
    pub fn last_error(self, reply: Document) -> Self {
        self.last_errors
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back(reply);
        self
    }

    fn speaks_op_msg(&self) -> bool {
        self.max_wire_version >= OP_MSG_WIRE_VERSION
    }

    fn accepts_legacy_opcodes(&self) -> bool {
        self.max_wire_version < NO_LEGACY_OPCODES_WIRE_VERSION
    }

    /// What the behaviour does for `request`, before overrides and compression.
    fn default_action(&self, request: &Request) -> Action {
        match &request.message {
            Message::Msg(_) if !self.speaks_op_msg() => Action::HangUp,
            Message::Msg(_) if request.more_to_come() => Action::Nothing,
            Message::Insert(_)
            | Message::Update(_)
            | Message::Delete(_)
            | Message::KillCursors(_) => {
                if self.accepts_legacy_opcodes() {
                    Action::Nothing
                } else {
                    Action::HangUp
                }
            }
            Message::Reply(_) => Action::HangUp,
            Message::GetMore(_) => Action::Reply(
                Reply::new(doc! { "$err": "cursor not found", "code": 43 }).query_failure(),
            ),
            Message::Msg(_) | Message::Query(_) => match request.command() {
                Some(command) => self.command_action(request, command),
                None => Action::Reply(
                    Reply::new(doc! {
                        "$err": "the mock server answers commands only, not queries",
                        "code": 2,
                    })
                    .query_failure(),
                ),
            },
        }
    }

    fn command_action(&self, request: &Request, command: &RawDocument) -> Action {
        let name = request.command_name().unwrap_or("");
        let lower = name.to_ascii_lowercase();
        let is_hello = lower == "hello" || lower == "ismaster";
        if matches!(request.message, Message::Query(_))
            && !self.accepts_legacy_opcodes()
            && !is_hello
        {
            return Action::error(
                352,
                "UnsupportedOpQueryCommand",
                &format!("Unsupported OP_QUERY command: {name}. The client driver may require an upgrade."),
            );
        }
        let db = request.db().unwrap_or("");
        match lower.as_str() {
            "hello" | "ismaster" => {
                let source = HelloSource {
                    max_wire_version: self.max_wire_version,
                    compressors: &self.compressors,
                    auth: &self.auth,
                    overrides: &self.hello_overrides,
                };
                Action::reply(hello_reply(&source, request.connection, name, command))
            }
            "getlasterror" => Action::reply(
                self.last_errors
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .pop_front()
                    .unwrap_or_else(|| doc! { "ok": 1.0, "err": Bson::Null, "n": 0 }),
            ),
            "saslstart" | "authenticate" => Action::reply(
                self.answer_auth(request.connection, db, command)
                    .unwrap_or_else(auth_failed),
            ),
            "saslcontinue" => Action::reply(
                self.answer_auth(request.connection, db, command)
                    .unwrap_or_else(|| {
                        error_document(17, "ProtocolError", "No SASL session state found")
                    }),
            ),
            "getnonce" => Action::reply(
                self.answer_auth(request.connection, db, command)
                    .unwrap_or_else(|| {
                        error_document(59, "CommandNotFound", "no such command: 'getnonce'")
                    }),
            ),
            "buildinfo" => Action::reply(build_info(self.max_wire_version)),
            _ => {
                let echo = Document::try_from(command).unwrap_or_default();
                Action::reply(doc! { "ok": 1.0, "echo": echo })
            }
        }
    }

    fn answer_auth(&self, connection: usize, db: &str, command: &RawDocument) -> Option<Document> {
        self.auth
            .iter()
            .find_map(|r| r.answer(connection, db, command))
    }
}

impl Handler for Behavior {
    fn handle(&self, request: &Request) -> Action {
        let default = self.default_action(request);
        let action = match request
            .command_name()
            .and_then(|n| self.overrides.get(&n.to_ascii_lowercase()))
        {
            Some(f) => f(request, default),
            None => default,
        };
        match self.reply_compressor {
            Some(c) => compress_replies(action, c),
            None => action,
        }
    }
}

/// Every reply in `action`, compressed with `compressor` unless it says otherwise.
fn compress_replies(action: Action, compressor: Compressor) -> Action {
    match action {
        Action::Reply(r) => Action::Reply(r.compressed_by_default(compressor)),
        Action::HalfThenHangUp(r) => Action::HalfThenHangUp(r.compressed_by_default(compressor)),
        Action::Delay(d, a) => Action::Delay(d, Box::new(compress_replies(*a, compressor))),
        Action::Sequence(v) => Action::Sequence(
            v.into_iter()
                .map(|a| compress_replies(a, compressor))
                .collect(),
        ),
        other => other,
    }
}

/// `{version, versionArray, maxWireVersion, ok: 1}`, with a version of the right era
/// for the wire version.
fn build_info(v: i32) -> Document {
    let (version, array) = match v {
        i32::MIN..=2 => ("2.6.12", [2, 6, 12]),
        3 => ("3.0.15", [3, 0, 15]),
        4 => ("3.2.22", [3, 2, 22]),
        5 => ("3.4.24", [3, 4, 24]),
        6 => ("3.6.23", [3, 6, 23]),
        7 => ("4.0.28", [4, 0, 28]),
        8 => ("4.2.25", [4, 2, 25]),
        9..=12 => ("4.4.29", [4, 4, 29]),
        13 => ("5.0.30", [5, 0, 30]),
        14..=16 => ("5.3.2", [5, 3, 2]),
        17..=20 => ("6.0.19", [6, 0, 19]),
        21..=24 => ("7.0.16", [7, 0, 16]),
        _ => ("8.0.4", [8, 0, 4]),
    };
    doc! {
        "version": version,
        "versionArray": [array[0], array[1], array[2], 0],
        "maxWireVersion": v,
        "ok": 1.0,
    }
}
