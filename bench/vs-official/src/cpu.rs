//! CPU time the client (this process) and the server spend in the measured window.
//!
//! On a shared, oversubscribed machine throughput swings with what else runs, but
//! CPU time per operation hardly does: it says what each operation costs the
//! client, and how much work the client's requests make the server do.

use std::time::Duration;

use tokio::time::{sleep_until, Instant};

use crate::window::Window;

/// `/proc/<pid>/stat` counts in clock ticks of 1/USER_HZ s; USER_HZ is 100 on Linux
/// (it is fixed for the /proc interface, whatever the kernel's HZ).
const TICKS_PER_SEC: u64 = 100;

/// CPU time (user + system, all threads) spent inside a window.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuUse {
    /// This process.
    pub client: Option<Duration>,
    /// The server process.
    pub server: Option<Duration>,
}

/// Reads the CPU time of this process and of `server_pid` when `window` opens and
/// when it closes. `None` where `/proc` cannot be read.
pub async fn measure(window: Window, server_pid: Option<u32>) -> CpuUse {
    let server_stat = server_pid.map(|pid| format!("/proc/{pid}/stat"));
    let read = |path: Option<&str>| path.and_then(process_cpu);
    sleep_until(Instant::from_std(window.start())).await;
    let client_before = read(Some("/proc/self/stat"));
    let server_before = read(server_stat.as_deref());
    sleep_until(Instant::from_std(window.end())).await;
    let client_after = read(Some("/proc/self/stat"));
    let server_after = read(server_stat.as_deref());
    CpuUse {
        client: client_after
            .zip(client_before)
            .map(|(a, b)| a.saturating_sub(b)),
        server: server_after
            .zip(server_before)
            .map(|(a, b)| a.saturating_sub(b)),
    }
}

/// utime + stime of a process, from its `stat` file.
fn process_cpu(stat_path: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(stat_path).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces: count
    // fields from the last ')'. utime and stime are fields 14 and 15 overall.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        (utime + stime) * 1000 / TICKS_PER_SEC,
    ))
}
