//! The same API for code without an async runtime, as the `postgres` crate is to
//! `tokio-postgres`: every method blocks the calling thread until it is done.
//!
//! ```no_run
//! use mongopool::bson::rawdoc;
//!
//! # fn demo() -> mongopool::Result<()> {
//! let client = mongopool::blocking::Client::connect("mongodb://localhost:27017")?;
//! let reply = client.run_command("admin", &rawdoc! { "ping": 1 })?;
//! assert_eq!(reply.get_f64("ok").ok(), Some(1.0));
//! std::thread::scope(|s| {
//!     for _ in 0..4 {
//!         s.spawn(|| client.run_command("admin", &rawdoc! { "ping": 1 }));
//!     }
//! });
//! # Ok(()) }
//! ```
//!
//! # How it runs
//! Each [`Client`], [`Pool`] and [`Connection`] made here owns a current-thread tokio
//! runtime driven by one background thread (`mongopool-driver`), which runs the
//! server monitors and pool maintenance between calls. A call runs its future on the
//! calling thread, so many threads can share one client (it is `Clone + Send + Sync`)
//! and block at once. Calling a blocking method from inside an async runtime is
//! refused with a configuration error (it would stall that runtime); use the async
//! API there.
//!
//! # Closing and dropping
//! - `close()` (on [`Client`] or [`Pool`]) acts on every clone at once: every call in
//!   flight, on any thread, returns a connection error straight away; the connection
//!   it was using is closed, never reused (a reply may still be on its way); later
//!   calls fail; monitors stop and pools close.
//! - Dropping a connection checked out here checks it back in, synchronously; once
//!   the handle is closed it is closed instead.
//! - Dropping the last clone of a handle, and every connection checked out of it,
//!   stops the background thread: its tasks end and every socket is closed. Nothing
//!   outlives the handle. A call in flight holds the handle, so a handle is never
//!   dropped under a call; `close()` is how another thread stops one.
//! - A thread that panics while it holds a checked-out connection drops it while
//!   unwinding: a connection in the middle of a command is closed, not reused.

mod client;
mod connection;
mod pool;
mod runtime;

pub use client::{Client, ClientConnection};
pub use connection::Connection;
pub use pool::{Pool, PooledConnection};

use bson::RawDocumentBuf;
use serde::de::DeserializeOwned;

use crate::error::{Error, ErrorKind, Result};

fn deserialize_reply<T: DeserializeOwned>(reply: &RawDocumentBuf) -> Result<T> {
    bson::deserialize_from_slice(reply.as_bytes()).map_err(|e| {
        Error::with_source(
            ErrorKind::Protocol {
                message: format!("the reply cannot be read as {}", std::any::type_name::<T>()),
            },
            e,
        )
    })
}
