//! Transport tests: TCP, Unix sockets, TLS, liveness probes and timeouts, each against
//! listeners run inside the test on loopback.

mod pki;
mod probe;
mod socket_timeout;
mod tcp;
mod tls;
mod tls_config;
#[cfg(unix)]
mod unix;
