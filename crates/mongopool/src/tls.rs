//! TLS for connections: what the user asks for ([`TlsOptions`]) and the prepared rustls
//! client configuration built from it once ([`TlsConfig`]).

mod cert_key_file;
mod config;
mod encrypted_key;
mod options;
mod pem_file;
mod verifier;

pub use config::TlsConfig;
pub use options::{TlsOptions, TlsOptionsBuilder};
