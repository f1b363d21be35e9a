//! A scriptable MongoDB server inside the test process, for what a real server will
//! not do on demand: hang up mid-reply, reply slowly, reply garbage or to the wrong
//! request, answer legacy opcodes, or answer as a server from before OP_MSG.
//!
//! - [`MockServer`] listens on loopback or a Unix socket, on the caller's runtime.
//! - For each request it asks a [`Handler`] for an [`Action`]: a [`Reply`] (as
//!   OP_MSG or OP_REPLY, optionally compressed, with any `responseTo`), raw bytes,
//!   nothing, a hang-up, half a reply then a hang-up, a delay, several replies.
//! - [`Behavior`] is the ready-made handler: [`Behavior::modern`] and
//!   [`Behavior::legacy`], per-command overrides, and logins through
//!   [`ScramServer`], [`MongoCrServer`] and [`PlainServer`].
//! - The [`Journal`] records every request and connection event; tests assert on it
//!   and wait on it instead of sleeping.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! use mongopool_testkit::mock::{Action, Behavior, MockServer};
//!
//! let server = MockServer::start(
//!     Behavior::legacy(5).on("ping", |_, _| Action::HangUp),
//! )
//! .await?;
//! // ... connect to 127.0.0.1:{server.port()} and ping ...
//! let pings = server.journal().count("ping");
//! # Ok(()) }
//! ```

mod action;
mod auth;
mod behavior;
mod handler;
pub(crate) mod hello;
mod journal;
mod reply;
mod request;
mod server;
mod session;

pub use action::{error_document, Action};
pub use auth::{
    auth_failed, AuthResponder, MongoCrServer, PlainServer, ScramMechanism, ScramServer, ScramStats,
};
pub use behavior::{Behavior, MODERN_WIRE_VERSION};
pub use handler::Handler;
pub use journal::{ClosedBy, ConnectionEvent, Entries, Journal};
pub use reply::{Reply, ResponseTo};
pub use request::Request;
pub use server::{MockAddress, MockServer};
