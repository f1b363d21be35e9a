//! The CMAP test format (`cmap-format/README.md`), parsed strictly: any key, operation,
//! option or value this runner does not understand is an error, never skipped.

use serde_json::{Map, Value};

/// Names of every CMAP event as the format spells them.
pub const EVENT_TYPES: &[&str] = &[
    "ConnectionPoolCreated",
    "ConnectionPoolReady",
    "ConnectionPoolCleared",
    "ConnectionPoolClosed",
    "ConnectionCreated",
    "ConnectionReady",
    "ConnectionClosed",
    "ConnectionCheckOutStarted",
    "ConnectionCheckOutFailed",
    "ConnectionCheckedOut",
    "ConnectionCheckedIn",
];

/// Keys an expected event may have.
pub const EVENT_KEYS: &[&str] = &[
    "type",
    "address",
    "connectionId",
    "duration",
    "options",
    "reason",
    "interruptInUseConnections",
    "serviceId",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Unit,
    Integration,
}

#[derive(Debug)]
pub struct SpecFile {
    pub style: Style,
    pub description: String,
    pub pool_options: PoolOptionsSpec,
    pub operations: Vec<Operation>,
    pub error: Option<Map<String, Value>>,
    pub events: Vec<Map<String, Value>>,
    pub ignore: Vec<String>,
    pub run_on: Vec<RunOn>,
    pub fail_point: Option<FailPoint>,
}

#[derive(Debug, Default, Clone)]
pub struct PoolOptionsSpec {
    pub max_pool_size: Option<u32>,
    pub min_pool_size: Option<u32>,
    pub max_idle_time_ms: Option<u64>,
    pub wait_queue_timeout_ms: Option<u64>,
    pub max_connecting: Option<u32>,
    /// PyMongo 3's `waitQueueMultiple` (not in the spec's format; the files in
    /// `cmap-extra/` use it): at most `maxPoolSize × waitQueueMultiple` waiters.
    pub wait_queue_multiple: Option<u32>,
    /// Negative: never run. Positive: milliseconds between runs.
    pub background_thread_interval_ms: Option<i64>,
    pub app_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RunOn {
    pub min_server_version: Option<String>,
    pub max_server_version: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Op {
    Start {
        target: String,
    },
    Wait {
        ms: u64,
    },
    WaitForThread {
        target: String,
    },
    WaitForEvent {
        event: String,
        count: usize,
        timeout_ms: Option<u64>,
    },
    CheckOut {
        label: Option<String>,
    },
    CheckIn {
        connection: String,
    },
    Clear {
        interrupt_in_use: bool,
    },
    Close,
    Ready,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub thread: Option<String>,
    pub op: Op,
}

/// How many times a fail point fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailPointMode {
    AlwaysOn,
    Times(u64),
    Off,
}

/// A `configureFailPoint: "failCommand"` command.
#[derive(Debug, Clone)]
pub struct FailPoint {
    /// The command as the file gives it, for a real server.
    pub raw: Map<String, Value>,
    pub mode: FailPointMode,
    pub fail_commands: Vec<String>,
    pub close_connection: bool,
    pub block_time_ms: Option<u64>,
    pub error_code: Option<i32>,
    pub app_name: Option<String>,
}

type Parse<T> = Result<T, String>;

fn object<'a>(v: &'a Value, what: &str) -> Parse<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| format!("{what} is not an object: {v}"))
}

fn only_keys(m: &Map<String, Value>, allowed: &[&str], what: &str) -> Parse<()> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: field {k:?} is not understood")),
        None => Ok(()),
    }
}

fn string(m: &Map<String, Value>, key: &str, what: &str) -> Parse<Option<String>> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(v) => Err(format!("{what}: {key} must be a string, not {v}")),
    }
}

fn required_string(m: &Map<String, Value>, key: &str, what: &str) -> Parse<String> {
    string(m, key, what)?.ok_or_else(|| format!("{what}: {key} is missing"))
}

fn integer(m: &Map<String, Value>, key: &str, what: &str) -> Parse<Option<i64>> {
    match m.get(key) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("{what}: {key} must be an integer, not {v}")),
    }
}

fn unsigned<T: TryFrom<i64>>(m: &Map<String, Value>, key: &str, what: &str) -> Parse<Option<T>> {
    match integer(m, key, what)? {
        None => Ok(None),
        Some(n) => T::try_from(n)
            .map(Some)
            .map_err(|_| format!("{what}: {key} = {n} is out of range")),
    }
}

fn boolean(m: &Map<String, Value>, key: &str, what: &str) -> Parse<Option<bool>> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(format!("{what}: {key} must be a boolean, not {v}")),
    }
}

fn event_type(name: &str, what: &str) -> Parse<String> {
    if EVENT_TYPES.contains(&name) {
        Ok(name.to_string())
    } else {
        Err(format!("{what}: event type {name:?} is not understood"))
    }
}

impl RunOn {
    pub fn describe(&self) -> String {
        match (&self.min_server_version, &self.max_server_version) {
            (Some(min), Some(max)) => format!("{min}..={max}"),
            (Some(min), None) => format!(">={min}"),
            (None, Some(max)) => format!("<={max}"),
            (None, None) => "any".to_string(),
        }
    }
}

impl SpecFile {
    pub fn parse(text: &str) -> Parse<SpecFile> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let root = object(&root, "the file")?;
        only_keys(
            root,
            &[
                "version",
                "style",
                "description",
                "poolOptions",
                "operations",
                "error",
                "events",
                "ignore",
                "runOn",
                "failPoint",
            ],
            "the file",
        )?;
        match integer(root, "version", "the file")? {
            Some(1) => {}
            other => return Err(format!("unsupported format version {other:?}")),
        }
        let style = match required_string(root, "style", "the file")?.as_str() {
            "unit" => Style::Unit,
            "integration" => Style::Integration,
            other => return Err(format!("style {other:?} is not understood")),
        };
        let description = required_string(root, "description", "the file")?;
        let pool_options = match root.get("poolOptions") {
            None => PoolOptionsSpec::default(),
            Some(v) => PoolOptionsSpec::parse(object(v, "poolOptions")?)?,
        };
        let operations = root
            .get("operations")
            .ok_or("operations are missing")?
            .as_array()
            .ok_or("operations must be an array")?
            .iter()
            .map(Operation::parse)
            .collect::<Parse<Vec<_>>>()?;
        let error = match root.get("error") {
            None => None,
            Some(v) => {
                let e = object(v, "error")?;
                only_keys(e, &["type", "message", "address"], "error")?;
                Some(e.clone())
            }
        };
        let events = match root.get("events") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .ok_or("events must be an array")?
                .iter()
                .map(|e| {
                    let e = object(e, "an event")?;
                    only_keys(e, EVENT_KEYS, "an expected event")?;
                    event_type(&required_string(e, "type", "an event")?, "events")?;
                    Ok(e.clone())
                })
                .collect::<Parse<Vec<_>>>()?,
        };
        let ignore = match root.get("ignore") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .ok_or("ignore must be an array")?
                .iter()
                .map(|n| event_type(n.as_str().ok_or("ignore holds a non-string")?, "ignore"))
                .collect::<Parse<Vec<_>>>()?,
        };
        let run_on = match root.get("runOn") {
            None => Vec::new(),
            Some(v) => v
                .as_array()
                .ok_or("runOn must be an array")?
                .iter()
                .map(|r| {
                    let r = object(r, "runOn")?;
                    only_keys(r, &["minServerVersion", "maxServerVersion"], "runOn")?;
                    Ok(RunOn {
                        min_server_version: string(r, "minServerVersion", "runOn")?,
                        max_server_version: string(r, "maxServerVersion", "runOn")?,
                    })
                })
                .collect::<Parse<Vec<_>>>()?,
        };
        let fail_point = match root.get("failPoint") {
            None => None,
            Some(v) => Some(FailPoint::parse(object(v, "failPoint")?)?),
        };
        if style == Style::Unit && fail_point.is_some() {
            return Err("a unit-style file has a failPoint".into());
        }
        Ok(SpecFile {
            style,
            description,
            pool_options,
            operations,
            error,
            events,
            ignore,
            run_on,
            fail_point,
        })
    }
}

impl PoolOptionsSpec {
    fn parse(m: &Map<String, Value>) -> Parse<Self> {
        const WHAT: &str = "poolOptions";
        only_keys(
            m,
            &[
                "maxPoolSize",
                "minPoolSize",
                "maxIdleTimeMS",
                "waitQueueTimeoutMS",
                "maxConnecting",
                "waitQueueMultiple",
                "backgroundThreadIntervalMS",
                "appName",
            ],
            WHAT,
        )?;
        let background = integer(m, "backgroundThreadIntervalMS", WHAT)?;
        if background == Some(0) {
            return Err("backgroundThreadIntervalMS must not be 0".into());
        }
        Ok(PoolOptionsSpec {
            max_pool_size: unsigned(m, "maxPoolSize", WHAT)?,
            min_pool_size: unsigned(m, "minPoolSize", WHAT)?,
            max_idle_time_ms: unsigned(m, "maxIdleTimeMS", WHAT)?,
            wait_queue_timeout_ms: unsigned(m, "waitQueueTimeoutMS", WHAT)?,
            max_connecting: unsigned(m, "maxConnecting", WHAT)?,
            wait_queue_multiple: unsigned(m, "waitQueueMultiple", WHAT)?,
            background_thread_interval_ms: background,
            app_name: string(m, "appName", WHAT)?,
        })
    }
}

impl Operation {
    fn parse(v: &Value) -> Parse<Operation> {
        let m = object(v, "an operation")?;
        let name = required_string(m, "name", "an operation")?;
        let what = format!("operation {name}");
        let what = what.as_str();
        let allow = |extra: &[&str]| {
            let mut keys = vec!["name", "thread"];
            keys.extend_from_slice(extra);
            only_keys(m, &keys, what)
        };
        let op = match name.as_str() {
            "start" => {
                allow(&["target"])?;
                Op::Start {
                    target: required_string(m, "target", what)?,
                }
            }
            "wait" => {
                allow(&["ms"])?;
                Op::Wait {
                    ms: unsigned(m, "ms", what)?.ok_or("wait: ms is missing")?,
                }
            }
            "waitForThread" => {
                allow(&["target"])?;
                Op::WaitForThread {
                    target: required_string(m, "target", what)?,
                }
            }
            "waitForEvent" => {
                allow(&["event", "count", "timeout"])?;
                Op::WaitForEvent {
                    event: event_type(&required_string(m, "event", what)?, what)?,
                    count: unsigned(m, "count", what)?.ok_or("waitForEvent: count is missing")?,
                    timeout_ms: unsigned(m, "timeout", what)?,
                }
            }
            "checkOut" => {
                allow(&["label"])?;
                Op::CheckOut {
                    label: string(m, "label", what)?,
                }
            }
            "checkIn" => {
                allow(&["connection"])?;
                Op::CheckIn {
                    connection: required_string(m, "connection", what)?,
                }
            }
            "clear" => {
                allow(&["interruptInUseConnections"])?;
                Op::Clear {
                    interrupt_in_use: boolean(m, "interruptInUseConnections", what)?
                        .unwrap_or(false),
                }
            }
            "close" => {
                allow(&[])?;
                Op::Close
            }
            "ready" => {
                allow(&[])?;
                Op::Ready
            }
            other => return Err(format!("operation {other:?} is not understood")),
        };
        Ok(Operation {
            thread: string(m, "thread", what)?,
            op,
        })
    }
}

impl FailPoint {
    fn parse(m: &Map<String, Value>) -> Parse<Self> {
        const WHAT: &str = "failPoint";
        only_keys(m, &["configureFailPoint", "mode", "data"], WHAT)?;
        match required_string(m, "configureFailPoint", WHAT)?.as_str() {
            "failCommand" => {}
            other => return Err(format!("fail point {other:?} is not understood")),
        }
        let mode = match m.get("mode") {
            Some(Value::String(s)) if s == "alwaysOn" => FailPointMode::AlwaysOn,
            Some(Value::String(s)) if s == "off" => FailPointMode::Off,
            Some(Value::Object(o)) => {
                only_keys(o, &["times"], "failPoint mode")?;
                FailPointMode::Times(
                    unsigned(o, "times", "failPoint mode")?
                        .ok_or("failPoint mode: times is missing")?,
                )
            }
            other => return Err(format!("failPoint mode {other:?} is not understood")),
        };
        let data = object(
            m.get("data").ok_or("failPoint: data is missing")?,
            "failPoint data",
        )?;
        const DATA: &str = "failPoint data";
        only_keys(
            data,
            &[
                "failCommands",
                "closeConnection",
                "blockConnection",
                "blockTimeMS",
                "errorCode",
                "appName",
            ],
            DATA,
        )?;
        let fail_commands = data
            .get("failCommands")
            .and_then(Value::as_array)
            .ok_or("failPoint data: failCommands must be an array")?
            .iter()
            .map(|c| {
                c.as_str()
                    .map(str::to_string)
                    .ok_or("failCommands holds a non-string")
            })
            .collect::<Result<Vec<_>, _>>()?;
        let block = boolean(data, "blockConnection", DATA)?.unwrap_or(false);
        let block_time_ms = unsigned(data, "blockTimeMS", DATA)?;
        if block && block_time_ms.is_none() {
            return Err("failPoint data: blockConnection without blockTimeMS".into());
        }
        Ok(FailPoint {
            raw: m.clone(),
            mode,
            fail_commands,
            close_connection: boolean(data, "closeConnection", DATA)?.unwrap_or(false),
            block_time_ms: if block { block_time_ms } else { None },
            error_code: integer(data, "errorCode", DATA)?
                .map(|c| i32::try_from(c).map_err(|_| format!("errorCode {c} is out of range")))
                .transpose()?,
            app_name: string(data, "appName", DATA)?,
        })
    }

    /// A short description for the runner's output.
    pub fn describe(&self) -> String {
        let mut what = Vec::new();
        if let Some(ms) = self.block_time_ms {
            what.push(format!("blockConnection {ms} ms"));
        }
        if let Some(code) = self.error_code {
            what.push(format!("errorCode {code}"));
        }
        if self.close_connection {
            what.push("closeConnection".to_string());
        }
        let mode = match self.mode {
            FailPointMode::AlwaysOn => "alwaysOn".to_string(),
            FailPointMode::Times(n) => format!("times {n}"),
            FailPointMode::Off => "off".to_string(),
        };
        let scope = match &self.app_name {
            Some(app) => format!(", appName {app}"),
            None => String::new(),
        };
        format!(
            "{} on {}, {mode}{scope}",
            what.join(" + "),
            self.fail_commands.join("/")
        )
    }
}
