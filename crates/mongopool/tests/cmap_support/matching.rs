//! The format's MATCH function, and the JSON form of what the pool produced.

use mongopool::events::{CmapEvent, PoolCreatedOptions};
use mongopool::{Error, ErrorKind};
use serde_json::{json, Map, Value};

/// `actual` MATCHES `expected`: `expected` is a subset of `actual`, with `42` and `"42"`
/// standing for "any value that exists". Returns where they differ.
pub fn matches(expected: &Value, actual: Option<&Value>, path: &str) -> Result<(), String> {
    let placeholder =
        matches!(expected, Value::String(s) if s == "42") || expected.as_f64() == Some(42.0);
    let actual = match actual {
        Some(Value::Null) | None => {
            return Err(format!("{path}: expected {expected}, found nothing"))
        }
        Some(actual) => actual,
    };
    if placeholder {
        return Ok(());
    }
    match (expected, actual) {
        (Value::Array(e), Value::Array(a)) => {
            for (i, item) in e.iter().enumerate() {
                matches(item, a.get(i), &format!("{path}[{i}]"))?;
            }
            Ok(())
        }
        (Value::Object(e), Value::Object(a)) => {
            for (k, item) in e {
                matches(item, a.get(k), &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        (Value::Number(e), Value::Number(a)) if e.as_f64() == a.as_f64() => Ok(()),
        (e, a) if e == a => Ok(()),
        (e, a) => Err(format!("{path}: expected {e}, found {a}")),
    }
}

fn millis(d: std::time::Duration) -> Value {
    json!(d.as_secs_f64() * 1000.0)
}

fn options_json(o: &PoolCreatedOptions) -> Value {
    let mut m = Map::new();
    m.insert("maxPoolSize".into(), json!(o.max_pool_size));
    m.insert("minPoolSize".into(), json!(o.min_pool_size));
    m.insert("maxConnecting".into(), json!(o.max_connecting));
    if let Some(d) = o.max_idle_time {
        m.insert("maxIdleTimeMS".into(), json!(d.as_millis() as u64));
    }
    if let Some(d) = o.wait_queue_timeout {
        m.insert("waitQueueTimeoutMS".into(), json!(d.as_millis() as u64));
    }
    Value::Object(m)
}

/// The event as the test format describes events.
pub fn event_json(event: &CmapEvent) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(event.name()));
    m.insert("address".into(), json!(event.address().to_string()));
    if let Some(id) = event.connection_id() {
        m.insert("connectionId".into(), json!(id));
    }
    match event {
        CmapEvent::PoolCreated(e) => {
            m.insert("options".into(), options_json(&e.options));
        }
        CmapEvent::PoolCleared(e) => {
            m.insert(
                "interruptInUseConnections".into(),
                json!(e.interrupt_in_use_connections),
            );
            if let Some(id) = e.service_id {
                m.insert("serviceId".into(), json!(id.to_hex()));
            }
        }
        CmapEvent::ConnectionReady(e) => {
            m.insert("duration".into(), millis(e.duration));
        }
        CmapEvent::ConnectionClosed(e) => {
            m.insert("reason".into(), json!(e.reason.as_str()));
        }
        CmapEvent::ConnectionCheckOutFailed(e) => {
            m.insert("reason".into(), json!(e.reason.as_str()));
            m.insert("duration".into(), millis(e.duration));
        }
        CmapEvent::ConnectionCheckedOut(e) => {
            m.insert("duration".into(), millis(e.duration));
        }
        _ => {}
    }
    Value::Object(m)
}

/// The error as the test format describes errors. The format's `message` is the spec's
/// fixed message for the error type; this pool's messages carry more (the address, the
/// time waited, the clear's cause), so the type's fixed message stands in for it, and
/// the file's message is checked to be that fixed message.
pub fn error_json(error: &Error) -> Value {
    let (kind, message, address) = match error.kind() {
        ErrorKind::WaitQueueTimeout { address, .. } => (
            "WaitQueueTimeoutError",
            "Timed out while checking out a connection from connection pool",
            Some(address),
        ),
        ErrorKind::PoolClosed { address } => (
            "PoolClosedError",
            "Attempted to check out a connection from closed connection pool",
            Some(address),
        ),
        // Not a spec error: PyMongo 3's name for it.
        ErrorKind::ExceededMaxWaiters { address, .. } => (
            "ExceededMaxWaitersError",
            "Exceeded maximum number of waiters",
            Some(address),
        ),
        ErrorKind::PoolCleared { address, .. } => (
            "PoolClearedError",
            "Connection pool was cleared",
            Some(address),
        ),
        _ => ("ConnectionError", "", None),
    };
    let mut m = Map::new();
    m.insert("type".into(), json!(kind));
    let message = if message.is_empty() {
        error.to_string()
    } else {
        message.to_string()
    };
    m.insert("message".into(), json!(message));
    if let Some(address) = address {
        m.insert("address".into(), json!(address));
    }
    Value::Object(m)
}

/// Checks the matcher itself (it must be able to fail), before any file is trusted to it.
pub fn self_check() -> Result<(), String> {
    let actual = json!({"type": "A", "connectionId": 3, "extra": true});
    let must_pass = [
        json!({"type": "A", "connectionId": 42}),
        json!({"connectionId": "42"}),
    ];
    let must_fail = [
        json!({"connectionId": 4}),
        json!({"missing": 42}),
        json!({"type": 1}),
        json!({"type": "B"}),
    ];
    for e in &must_pass {
        matches(e, Some(&actual), "self-check")?;
    }
    for e in &must_fail {
        if matches(e, Some(&actual), "self-check").is_ok() {
            return Err(format!("the matcher accepted {e} against {actual}"));
        }
    }
    Ok(())
}
