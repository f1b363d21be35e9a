//! Runs one file's operations against a pool: the main thread, named threads (tokio
//! tasks fed through a channel), labelled connections, and the captured events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mongopool::{Connector, Pool, PooledConnection};

use crate::support::Recorder;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::format::{Op, Operation, SpecFile};
use super::matching::{error_json, event_json, matches};

/// How long `waitForEvent` waits when the file gives no timeout.
const DEFAULT_EVENT_WAIT: Duration = Duration::from_secs(10);

/// What an operation can end with.
#[derive(Debug)]
pub enum OpError {
    /// The pool returned an error: what the file's `error` is matched against.
    Pool(mongopool::Error),
    /// The runner could not do what the file asked: the file fails.
    Runner(String),
}

/// A connection that knows the id its connector was given, so the runner can check that
/// the pool hands out the connection it says it does.
pub trait OwnId {
    fn own_id(&self) -> u64;
}

impl OwnId for mongopool::Connection {
    fn own_id(&self) -> u64 {
        self.id()
    }
}

struct Shared<C: Connector> {
    pool: Pool<C>,
    events: Arc<Recorder>,
    labelled: Mutex<HashMap<String, PooledConnection<C::Connection>>>,
    /// Connections checked out without a label: they stay checked out.
    unlabelled: Mutex<Vec<PooledConnection<C::Connection>>>,
}

struct Thread {
    ops: mpsc::UnboundedSender<Op>,
    task: JoinHandle<Result<(), OpError>>,
}

async fn execute<C: Connector<Connection: OwnId>>(
    shared: &Arc<Shared<C>>,
    op: Op,
) -> Result<(), OpError> {
    match op {
        Op::Wait { ms } => tokio::time::sleep(Duration::from_millis(ms)).await,
        Op::WaitForEvent {
            event,
            count,
            timeout_ms,
        } => {
            let timeout = timeout_ms.map_or(DEFAULT_EVENT_WAIT, Duration::from_millis);
            shared
                .events
                .wait_within(&event, count, timeout)
                .await
                .map_err(OpError::Runner)?;
        }
        Op::CheckOut { label } => {
            let conn = shared.pool.checkout().await.map_err(OpError::Pool)?;
            if conn.own_id() != conn.id() {
                return Err(OpError::Runner(format!(
                    "the pool says connection {} but the connector made connection {}",
                    conn.id(),
                    conn.own_id()
                )));
            }
            match label {
                Some(label) => {
                    shared.labelled.lock().unwrap().insert(label, conn);
                }
                None => shared.unlabelled.lock().unwrap().push(conn),
            }
        }
        Op::CheckIn { connection } => {
            let conn = shared
                .labelled
                .lock()
                .unwrap()
                .remove(&connection)
                .ok_or_else(|| OpError::Runner(format!("checkIn: no connection {connection:?}")))?;
            drop(conn);
        }
        Op::Clear { interrupt_in_use } => shared.pool.clear(None, interrupt_in_use),
        Op::Close => shared.pool.close(),
        Op::Ready => shared.pool.ready(),
        Op::Start { .. } | Op::WaitForThread { .. } => {
            return Err(OpError::Runner(
                "start and waitForThread only run on the main thread".into(),
            ))
        }
    }
    Ok(())
}

/// Runs the operations on the main thread, stopping at the first error, which is
/// returned (thread errors reach the main thread through `waitForThread`).
async fn run_main<C: Connector<Connection: OwnId>>(
    shared: &Arc<Shared<C>>,
    operations: &[Operation],
    threads: &mut HashMap<String, Thread>,
) -> Result<(), OpError> {
    for operation in operations {
        match (&operation.thread, &operation.op) {
            (Some(name), op) => {
                let thread = threads
                    .get(name)
                    .ok_or_else(|| OpError::Runner(format!("thread {name:?} was not started")))?;
                // A thread that already failed drops later operations, as a thread that
                // threw would never run them.
                let _ = thread.ops.send(op.clone());
            }
            (None, Op::Start { target }) => {
                let (tx, mut rx) = mpsc::unbounded_channel::<Op>();
                let shared = shared.clone();
                let task = tokio::spawn(async move {
                    while let Some(op) = rx.recv().await {
                        execute(&shared, op).await?;
                    }
                    Ok(())
                });
                if threads
                    .insert(target.clone(), Thread { ops: tx, task })
                    .is_some()
                {
                    return Err(OpError::Runner(format!("thread {target:?} started twice")));
                }
            }
            (None, Op::WaitForThread { target }) => {
                let thread = threads
                    .remove(target)
                    .ok_or_else(|| OpError::Runner(format!("no thread {target:?} to wait for")))?;
                // Closing the channel lets the thread finish once its queue is done.
                drop(thread.ops);
                match thread.task.await {
                    Ok(result) => result?,
                    Err(e) => {
                        return Err(OpError::Runner(format!("thread {target:?} panicked: {e}")))
                    }
                }
            }
            (None, op) => execute(shared, op.clone()).await?,
        }
    }
    Ok(())
}

/// Runs `file` against `pool` (whose event handler feeds `events`) and checks the
/// error and the events. `Err` says what did not match.
pub async fn run_file<C: Connector<Connection: OwnId>>(
    file: &SpecFile,
    pool: Pool<C>,
    events: Arc<Recorder>,
) -> Result<(), String> {
    let shared = Arc::new(Shared {
        pool,
        events,
        labelled: Mutex::new(HashMap::new()),
        unlabelled: Mutex::new(Vec::new()),
    });
    let mut threads = HashMap::new();
    let outcome = run_main(&shared, &file.operations, &mut threads).await;
    // What the file's operations produced; what teardown produces is not part of it.
    let seen = shared.events.events();

    for thread in threads.into_values() {
        thread.task.abort();
    }
    shared.labelled.lock().unwrap().clear();
    shared.unlabelled.lock().unwrap().clear();
    shared.pool.close();

    match (outcome, &file.error) {
        (Err(OpError::Runner(why)), _) => return Err(why),
        (Ok(()), Some(expected)) => {
            return Err(format!(
                "expected error {}, got none",
                Value::Object(expected.clone())
            ))
        }
        (Err(OpError::Pool(e)), None) => return Err(format!("unexpected error: {e}")),
        (Err(OpError::Pool(e)), Some(expected)) => {
            let actual = error_json(&e);
            matches(&Value::Object(expected.clone()), Some(&actual), "error")
                .map_err(|why| format!("{why} (the error was: {e})"))?;
        }
        (Ok(()), None) => {}
    }

    let actual: Vec<Value> = seen
        .iter()
        .filter(|e| !file.ignore.iter().any(|name| name == e.name()))
        .map(event_json)
        .collect();
    for (i, expected) in file.events.iter().enumerate() {
        matches(
            &Value::Object(expected.clone()),
            actual.get(i),
            &format!("events[{i}]"),
        )
        .map_err(|why| {
            let listed: Vec<String> = actual.iter().map(Value::to_string).collect();
            format!("{why}; actual events:\n    {}", listed.join("\n    "))
        })?;
    }
    Ok(())
}
