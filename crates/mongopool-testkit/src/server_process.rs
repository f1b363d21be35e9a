//! One run of the `secantusd-rs` process: spawn, wait until it serves, kill.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::listening_line::parse_listening_port;
use crate::log_tail::read_log_tail;

/// Between connection attempts while the just-bound listener comes up; the first one
/// normally succeeds because the server prints its port only once bound.
const CONNECT_RETRY_PAUSE: Duration = Duration::from_millis(20);

/// A running `secantusd-rs`, killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Child,
    stdout_drain: Option<JoinHandle<()>>,
    log_path: PathBuf,
    /// Where this run's output starts in the shared log file.
    log_offset: u64,
    reaped: bool,
}

impl ServerProcess {
    /// Starts the server and returns once it accepts TCP connections, with the port it
    /// reported. Its stdout and stderr are appended to `log_path`.
    pub(crate) fn launch(
        binary: &Path,
        args: &[OsString],
        log_path: &Path,
        deadline: Instant,
    ) -> Result<(ServerProcess, u16)> {
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_path)
            .map_err(|err| Error::io(format!("could not open {}", log_path.display()), err))?;
        let log_offset = log
            .metadata()
            .map_err(|err| Error::io(format!("could not stat {}", log_path.display()), err))?
            .len();
        write_start_line(&mut log, binary, args)
            .map_err(|err| Error::io(format!("could not write {}", log_path.display()), err))?;
        let stderr_log = log
            .try_clone()
            .map_err(|err| Error::io("could not duplicate the log file handle", err))?;

        // stderr goes straight to the file (O_APPEND keeps lines whole); stdout goes
        // through a pipe because the port is read from it. A thread drains that pipe
        // for the life of the process so the server never blocks on a full pipe.
        let mut child = Command::new(binary)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr_log))
            .spawn()
            .map_err(|err| Error::io(format!("could not start {}", binary.display()), err))?;
        let stdout = child.stdout.take();
        let mut process = ServerProcess {
            child,
            stdout_drain: None,
            log_path: log_path.to_owned(),
            log_offset,
            reaped: false,
        };
        let stdout = stdout.ok_or_else(|| {
            Error::io(
                "the server's stdout was not captured",
                std::io::Error::other("no stdout pipe"),
            )
        })?;

        let (port_sender, port_receiver) = mpsc::channel();
        let drain = thread::Builder::new()
            .name(format!("secantusd-{}-stdout", process.pid()))
            .spawn(move || drain_stdout(stdout, log, port_sender))
            .map_err(|err| Error::io("could not spawn the log drain thread", err))?;
        process.stdout_drain = Some(drain);

        let waited_since = Instant::now();
        let port =
            match port_receiver.recv_timeout(deadline.saturating_duration_since(waited_since)) {
                Ok(port) => port,
                Err(RecvTimeoutError::Timeout) => {
                    process.kill_and_reap()?;
                    return Err(Error::StartTimeout {
                        waited: waited_since.elapsed(),
                        log_tail: process.log_tail(),
                    });
                }
                // The drain saw end-of-file before a port: the server exited.
                Err(RecvTimeoutError::Disconnected) => {
                    let status = process.kill_and_reap()?;
                    return Err(Error::Exited {
                        status,
                        log_tail: process.log_tail(),
                    });
                }
            };
        process.wait_until_accepting(port, deadline, waited_since)?;
        Ok((process, port))
    }

    /// The operating-system process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server (SIGKILL: like a crash, no clean shutdown) and waits for it to
    /// be gone. Returns its exit status. Safe to call more than once.
    pub(crate) fn kill_and_reap(&mut self) -> Result<ExitStatus> {
        if !self.reaped {
            if let Ok(None) = self.child.try_wait() {
                self.child
                    .kill()
                    .map_err(|err| Error::io(format!("could not kill pid {}", self.pid()), err))?;
            }
        }
        let status = self
            .child
            .wait()
            .map_err(|err| Error::io(format!("could not wait for pid {}", self.pid()), err))?;
        self.reaped = true;
        // The pipe is closed now that the process is gone, so the drain ends.
        if let Some(drain) = self.stdout_drain.take() {
            let _ = drain.join();
        }
        Ok(status)
    }

    /// This run's output, for error messages.
    pub(crate) fn log_tail(&self) -> String {
        read_log_tail(&self.log_path, self.log_offset)
    }

    fn wait_until_accepting(&mut self, port: u16, deadline: Instant, since: Instant) -> Result<()> {
        let address = SocketAddr::from((std::net::Ipv4Addr::LOCALHOST, port));
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                self.kill_and_reap()?;
                return Err(Error::StartTimeout {
                    waited: since.elapsed(),
                    log_tail: self.log_tail(),
                });
            }
            if TcpStream::connect_timeout(&address, remaining.min(Duration::from_secs(1))).is_ok() {
                return Ok(());
            }
            if let Ok(Some(_)) = self.child.try_wait() {
                let status = self.kill_and_reap()?;
                return Err(Error::Exited {
                    status,
                    log_tail: self.log_tail(),
                });
            }
            thread::sleep(CONNECT_RETRY_PAUSE.min(remaining));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.kill_and_reap();
    }
}

fn write_start_line(log: &mut File, binary: &Path, args: &[OsString]) -> std::io::Result<()> {
    let mut line = format!("=== mongopool-testkit: starting {}", binary.display());
    for arg in args {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line.push('\n');
    log.write_all(line.as_bytes())
}

/// Copies the server's stdout into the log until the process closes it, and reports
/// the first port it announces.
fn drain_stdout(stdout: ChildStdout, mut log: File, port_sender: Sender<u16>) {
    let mut reader = BufReader::new(stdout);
    let mut port_sender = Some(port_sender);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        // A failed log write must not stop the draining, or the server could block.
        let _ = log.write_all(&line);
        if let Some(port) = parse_listening_port(&String::from_utf8_lossy(&line)) {
            if let Some(sender) = port_sender.take() {
                let _ = sender.send(port);
            }
        }
    }
}
