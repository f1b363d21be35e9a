//! Options for starting a [`TestServer`](crate::TestServer).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::seed_user::SeedUser;
use crate::test_server::TestServer;
use crate::tls_files::TlsFiles;

/// How long a server gets to start before the testkit gives up. Generous because CI
/// machines run many servers and compilers at once; a healthy start takes well under
/// a second.
const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds a [`TestServer`]. Every option defaults to off.
#[derive(Debug, Clone)]
#[must_use = "call start() to run the server"]
pub struct TestServerBuilder {
    pub(crate) binary: Option<PathBuf>,
    pub(crate) auth: bool,
    pub(crate) test_commands: bool,
    pub(crate) standalone: bool,
    pub(crate) tls: Option<TlsFiles>,
    pub(crate) users: Vec<SeedUser>,
    pub(crate) extra_args: Vec<OsString>,
    pub(crate) startup_timeout: Duration,
}

impl Default for TestServerBuilder {
    fn default() -> Self {
        TestServerBuilder {
            binary: None,
            auth: false,
            test_commands: false,
            standalone: false,
            tls: None,
            users: Vec::new(),
            extra_args: Vec::new(),
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
        }
    }
}

impl TestServerBuilder {
    /// The `secantusd-rs` to run. Defaults to [`locate_secantusd`](crate::locate_secantusd)
    /// (`$MONGOPOOL_SECANTUSD`, else the install cache).
    pub fn binary(mut self, path: impl Into<PathBuf>) -> Self {
        self.binary = Some(path.into());
        self
    }

    /// Require SCRAM authentication for everything but the handshake (`--auth`).
    /// Defaults to false. Combine with [`TestServerBuilder::user`].
    pub fn auth(mut self, auth: bool) -> Self {
        self.auth = auth;
        self
    }

    /// Enable `configureFailPoint` (`failCommand`) with `--enable-test-commands`.
    /// Defaults to false.
    pub fn test_commands(mut self, enabled: bool) -> Self {
        self.test_commands = enabled;
        self
    }

    /// Answer hello as a standalone instead of a one-node replica set named
    /// `secantus` (`--standalone`). Defaults to false.
    pub fn standalone(mut self, standalone: bool) -> Self {
        self.standalone = standalone;
        self
    }

    /// Serve TLS only, with these files. Defaults to plain TCP.
    pub fn tls(mut self, files: TlsFiles) -> Self {
        self.tls = Some(files);
        self
    }

    /// A user to create before the server starts; may be called repeatedly.
    pub fn user(mut self, user: SeedUser) -> Self {
        self.users.push(user);
        self
    }

    /// More command-line arguments, appended last (a repeated flag's last value wins).
    pub fn extra_args<A: Into<OsString>>(mut self, args: impl IntoIterator<Item = A>) -> Self {
        self.extra_args.extend(args.into_iter().map(Into::into));
        self
    }

    /// How long each start (and restart) may take. Defaults to 60 seconds.
    pub fn startup_timeout(mut self, timeout: Duration) -> Self {
        self.startup_timeout = timeout;
        self
    }

    /// Starts the server and returns once it accepts connections.
    pub fn start(self) -> Result<TestServer> {
        TestServer::start_with(self)
    }
}
