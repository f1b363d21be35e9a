//! A running SecantusDB test server that cleans up after itself.

use std::fs::File;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use bson::Document;
use tempfile::TempDir;

use crate::admin_command::run_command;
use crate::binary_location::locate_secantusd;
use crate::builder::TestServerBuilder;
use crate::error::{Error, Result};
use crate::seed_user::SeedUser;
use crate::server_args::{ServerConfig, HOST};
use crate::server_process::ServerProcess;
use crate::tls_files::TlsFiles;

/// Between attempts to re-bind a port that another socket briefly holds.
const REBIND_PAUSE: Duration = Duration::from_millis(100);

/// How long a testkit command waits for its reply.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A `secantusd-rs` process on `127.0.0.1` with its own temporary storage.
///
/// Dropping it kills the process (SIGKILL), waits for it, and deletes the temporary
/// directory (storage and log). When dropped during a panic it first prints the end of
/// the server log to stderr, which the test harness shows with the failure.
#[derive(Debug)]
pub struct TestServer {
    config: ServerConfig,
    port: u16,
    log_path: PathBuf,
    process: Option<ServerProcess>,
    // Declared last: dropped after the process is dead.
    temp_dir: TempDir,
}

impl TestServer {
    /// Options for a new server.
    pub fn builder() -> TestServerBuilder {
        TestServerBuilder::default()
    }

    /// Starts a server with default options (no auth, no TLS, no test commands).
    pub fn start() -> Result<TestServer> {
        TestServerBuilder::default().start()
    }

    pub(crate) fn start_with(builder: TestServerBuilder) -> Result<TestServer> {
        if let Some(tls) = &builder.tls {
            if tls.requires_client_cert() && tls.ca_file().is_none() {
                return Err(Error::InvalidOptions(
                    "require_client_cert needs a client_ca to verify certificates with".to_owned(),
                ));
            }
        }
        let binary = match builder.binary {
            Some(binary) => binary,
            None => locate_secantusd()?,
        };
        let temp_dir = tempfile::Builder::new()
            .prefix("mongopool-secantus-")
            .tempdir()
            .map_err(|err| Error::io("could not create a temporary directory", err))?;
        let log_path = temp_dir.path().join("server.log");
        File::create(&log_path)
            .map_err(|err| Error::io(format!("could not create {}", log_path.display()), err))?;
        let config = ServerConfig {
            binary,
            storage_path: temp_dir.path().join("data"),
            auth: builder.auth,
            test_commands: builder.test_commands,
            standalone: builder.standalone,
            tls: builder.tls,
            extra_args: builder.extra_args,
            startup_timeout: builder.startup_timeout,
        };
        let deadline = Instant::now() + config.startup_timeout;
        if !builder.users.is_empty() {
            seed_users(&config, &log_path, &builder.users, deadline)?;
        }
        let (process, port) =
            ServerProcess::launch(&config.binary, &config.args(0), &log_path, deadline)?;
        Ok(TestServer {
            config,
            port,
            log_path,
            process: Some(process),
            temp_dir,
        })
    }

    /// The TCP port the server listens on; the same across restarts.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host the server listens on: always `"127.0.0.1"`.
    pub fn host(&self) -> &'static str {
        HOST
    }

    /// The socket address the server listens on.
    pub fn address(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `mongodb://127.0.0.1:PORT`, with no options (not even `tls=true` on a TLS server).
    pub fn uri(&self) -> String {
        format!("mongodb://{HOST}:{}", self.port)
    }

    /// The server's process id, or `None` while it is stopped.
    pub fn pid(&self) -> Option<u32> {
        self.process.as_ref().map(ServerProcess::pid)
    }

    /// Whether the server process is running (it may have been stopped by [`stop`](Self::stop)).
    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// The server's storage directory (inside the temporary directory).
    pub fn storage_path(&self) -> &Path {
        &self.config.storage_path
    }

    /// The log file with the server's stdout and stderr across all its runs, each run
    /// preceded by a `=== mongopool-testkit: starting ...` line.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The temporary directory that holds the storage and the log.
    pub fn temp_dir(&self) -> &Path {
        self.temp_dir.path()
    }

    /// The TLS files the server was started with, if any.
    pub fn tls(&self) -> Option<&TlsFiles> {
        self.config.tls.as_ref()
    }

    /// Kills the server (SIGKILL, as in a crash) and waits until the process is gone.
    /// Storage and port are kept for [`restart`](Self::restart). Writes not yet
    /// flushed are lost unless the server runs with `--sync-on-commit`. Does nothing if
    /// the server is already stopped.
    pub fn stop(&mut self) -> Result<()> {
        if let Some(mut process) = self.process.take() {
            process.kill_and_reap()?;
        }
        Ok(())
    }

    /// Stops the server if it runs, then starts it again on the same port with the same
    /// storage and options. Retries while the port is briefly taken by another socket,
    /// until the startup timeout.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        let deadline = Instant::now() + self.config.startup_timeout;
        let args = self.config.args(self.port);
        loop {
            match ServerProcess::launch(&self.config.binary, &args, &self.log_path, deadline) {
                Ok((process, reported)) if reported == self.port => {
                    self.process = Some(process);
                    return Ok(());
                }
                Ok((_wrong_port, reported)) => {
                    return Err(Error::WrongPort {
                        expected: self.port,
                        reported,
                    })
                }
                Err(err) if err.is_address_in_use() && Instant::now() + REBIND_PAUSE < deadline => {
                    thread::sleep(REBIND_PAUSE);
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Runs `command` on database `db` over a new plain-TCP connection and returns the
    /// reply; `ok: 0` is [`Error::CommandFailed`]. For test setup such as
    /// `configureFailPoint`: it does not log in and does not speak TLS.
    pub fn command(&self, db: &str, command: Document) -> Result<Document> {
        if self.process.is_none() {
            return Err(Error::NotRunning);
        }
        if self.config.tls.is_some() {
            return Err(Error::InvalidOptions(
                "TestServer::command speaks plain TCP; this server only accepts TLS".to_owned(),
            ));
        }
        run_command(self.address(), db, &command, COMMAND_TIMEOUT)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- secantusd-rs log ({}), port {} ---\n{}\n--- end of secantusd-rs log ---",
                self.log_path.display(),
                self.port,
                crate::log_tail::read_log_tail(&self.log_path, 0)
            );
        }
        let _ = self.stop();
    }
}

/// Creates `users` in the storage with a short-lived, auth-less, plain-TCP instance
/// (the localhost exception allows only one user; this allows any number, and users
/// for TLS-only servers too).
fn seed_users(
    config: &ServerConfig,
    log_path: &Path,
    users: &[SeedUser],
    deadline: Instant,
) -> Result<()> {
    let (mut process, port) =
        ServerProcess::launch(&config.binary, &config.seeding_args(), log_path, deadline)?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    for user in users {
        run_command(
            address,
            user.db_name(),
            &user.create_user_command(),
            COMMAND_TIMEOUT,
        )?;
    }
    // --sync-on-commit made every createUser durable, so a kill loses nothing.
    process.kill_and_reap()?;
    Ok(())
}
