//! TLS for connections: what the user asks for ([`TlsOptions`]) and the prepared rustls
//! client configuration built from it once ([`TlsConfig`]).

mod config;
mod options;
mod verifier;

pub use config::TlsConfig;
pub use options::TlsOptions;
