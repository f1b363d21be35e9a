//! The connectors the runner plugs into the pool, one per way of running a file.
//!
//! Unit-style files use [`SpecConnector`] with no fail point: connections are made at
//! once. Integration-style files need a server's `failCommand` fail point on the hello
//! handshake; they run against SecantusDB with the real `MongoConnector` (see
//! `real_server`), and when that cannot be done, [`SpecConnector`] emulates the file's
//! fail point in `connect` (the handshake is the only command a pool runs).

use std::sync::Mutex;
use std::time::Duration;

use mongopool::OperationFailure;
use mongopool::{ConnectContext, Connector, Poolable};
use mongopool::{Error, ErrorKind, Result};

use super::executor::OwnId;
use super::format::{FailPoint, FailPointMode};

/// A connection that does no I/O.
#[derive(Debug)]
pub struct MockConnection {
    pub id: u64,
}

impl OwnId for MockConnection {
    fn own_id(&self) -> u64 {
        self.id
    }
}

impl Poolable for MockConnection {
    fn is_usable(&self) -> bool {
        true
    }
}

/// A fail point as the mock server keeps it: what it does and how often it still fires.
#[derive(Debug)]
pub struct EmulatedFailPoint {
    spec: FailPoint,
    remaining: Mutex<Option<u64>>,
}

impl EmulatedFailPoint {
    /// Refuses fail points this emulation cannot honour faithfully.
    pub fn new(spec: FailPoint) -> std::result::Result<Self, String> {
        if !spec
            .fail_commands
            .iter()
            .any(|c| c == "hello" || c == "isMaster")
        {
            return Err(format!(
                "the fail point targets {:?}; only the hello handshake can be emulated",
                spec.fail_commands
            ));
        }
        let remaining = match spec.mode {
            FailPointMode::AlwaysOn => None,
            FailPointMode::Times(n) => Some(n),
            FailPointMode::Off => Some(0),
        };
        Ok(EmulatedFailPoint {
            spec,
            remaining: Mutex::new(remaining),
        })
    }

    /// Whether the handshake of a connection with `app_name` trips the fail point (and
    /// uses up one of its `times`).
    fn fires_for(&self, app_name: Option<&str>) -> bool {
        if let Some(scope) = &self.spec.app_name {
            if app_name != Some(scope.as_str()) {
                return false;
            }
        }
        let mut remaining = self.remaining.lock().unwrap();
        match remaining.as_mut() {
            None => true,
            Some(0) => false,
            Some(n) => {
                *n -= 1;
                true
            }
        }
    }
}

/// Makes [`MockConnection`]s, emulating a fail point on the handshake if given one.
#[derive(Debug)]
pub struct SpecConnector {
    pub app_name: Option<String>,
    pub fail_point: Option<EmulatedFailPoint>,
}

impl Connector for SpecConnector {
    type Connection = MockConnection;

    async fn connect(&self, ctx: ConnectContext) -> Result<MockConnection> {
        let Some(fp) = self
            .fail_point
            .as_ref()
            .filter(|fp| fp.fires_for(self.app_name.as_deref()))
        else {
            return Ok(MockConnection { id: ctx.id });
        };
        if let Some(ms) = fp.spec.block_time_ms {
            // Like a server holding the hello reply; an interrupting clear ends the wait
            // as closing the socket would.
            tokio::select! {
                () = tokio::time::sleep(Duration::from_millis(ms)) => {}
                () = ctx.interrupt.interrupted() => {
                    return Err(Error::connection(format!(
                        "connection {} to {} interrupted during the handshake",
                        ctx.id, ctx.address
                    )));
                }
            }
        }
        if fp.spec.close_connection {
            return Err(Error::connection(format!(
                "{} closed connection {} during the handshake",
                ctx.address, ctx.id
            )));
        }
        if let Some(code) = fp.spec.error_code {
            let failure = OperationFailure {
                code,
                code_name: None,
                message: "Failing command via 'failCommand' failpoint".into(),
                labels: Vec::new(),
                reply: bson::RawDocumentBuf::new(),
            };
            let kind = if mongopool::NOT_PRIMARY_CODES.contains(&code)
                || mongopool::NODE_RECOVERING_CODES.contains(&code)
            {
                ErrorKind::NotPrimary(failure)
            } else {
                ErrorKind::OperationFailure(failure)
            };
            return Err(Error::new(kind));
        }
        Ok(MockConnection { id: ctx.id })
    }
}
