//! What the integration tests share: one test connector and one event recorder. Each
//! test binary uses a different part of it.
#![allow(dead_code, unused_imports)]

pub mod event_recorder;
pub mod test_connector;

pub use event_recorder::Recorder;
