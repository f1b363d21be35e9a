//! Transport tests: TCP, Unix sockets, TLS, liveness probes and timeouts, each against
//! listeners run inside the test on loopback.

#[path = "transport/pki.rs"]
mod pki;
#[path = "transport/probe.rs"]
mod probe;
#[path = "transport/socket_timeout.rs"]
mod socket_timeout;
#[path = "transport/tcp.rs"]
mod tcp;
#[path = "transport/tls.rs"]
mod tls;
#[path = "transport/tls_config.rs"]
mod tls_config;
#[cfg(unix)]
#[path = "transport/unix.rs"]
mod unix;
