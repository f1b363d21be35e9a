//! TCP keepalive, set as the official MongoDB drivers set it.
//!
//! Idle connections sit in a pool for a long time, often behind firewalls and load
//! balancers that silently drop flows idle for a few minutes. Probing after two minutes
//! keeps such flows alive and finds dead peers long before the operating systems'
//! default of two hours.

use std::io;
use std::time::Duration;

use socket2::{SockRef, TcpKeepalive};

/// Idle time before the first keepalive probe: 120 seconds, or the system's default
/// (`net.ipv4.tcp_keepalive_time` on Linux) when that is lower.
///
/// The system's defaults are read from the new socket itself (`getsockopt` of
/// `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT` before anything is set), as PyMongo
/// does: on Linux an unset socket reports the `/proc/sys/net/ipv4/tcp_keepalive_*`
/// values of its network namespace, and the same code works on the BSDs and macOS.
/// Where those options cannot be read (Windows, OpenBSD), only the idle time is set, to
/// 120 seconds.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(120);

/// Time between keepalive probes: 10 seconds, or the system's default when lower.
pub const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// Unanswered probes before the connection is dropped: 9, or the system's default when
/// lower.
pub const KEEPALIVE_RETRIES: u32 = 9;

/// Turns keepalive on with the settings above.
pub(super) fn enable(socket: &SockRef<'_>) -> io::Result<()> {
    socket.set_tcp_keepalive(&settings(socket))
}

#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "dragonfly",
    target_os = "illumos",
))]
fn settings(socket: &SockRef<'_>) -> TcpKeepalive {
    TcpKeepalive::new()
        .with_time(no_higher(socket.tcp_keepalive_time(), KEEPALIVE_IDLE))
        .with_interval(no_higher(
            socket.tcp_keepalive_interval(),
            KEEPALIVE_INTERVAL,
        ))
        .with_retries(no_higher(socket.tcp_keepalive_retries(), KEEPALIVE_RETRIES))
}

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "macos",
    target_os = "ios",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "dragonfly",
    target_os = "illumos",
)))]
fn settings(_socket: &SockRef<'_>) -> TcpKeepalive {
    TcpKeepalive::new().with_time(KEEPALIVE_IDLE)
}

/// Ours, or the system's when it is lower (and makes sense: zero would be rejected).
#[cfg_attr(
    not(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "dragonfly",
        target_os = "illumos",
    )),
    allow(dead_code)
)]
fn no_higher<T: Ord + Default>(system: io::Result<T>, ours: T) -> T {
    match system {
        Ok(value) if value > T::default() && value < ours => value,
        _ => ours,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lower_positive_value_wins() {
        assert_eq!(no_higher(Ok(5u32), 9), 5);
        assert_eq!(no_higher(Ok(20u32), 9), 9);
        assert_eq!(no_higher(Ok(0u32), 9), 9);
        assert_eq!(no_higher::<u32>(Err(io::Error::other("unsupported")), 9), 9);
        assert_eq!(
            no_higher(Ok(Duration::from_secs(60)), KEEPALIVE_IDLE),
            Duration::from_secs(60)
        );
    }
}
