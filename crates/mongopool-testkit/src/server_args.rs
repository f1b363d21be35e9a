//! The `secantusd-rs` command line for a test server.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::tls_files::TlsFiles;

/// The loopback address every test server binds.
pub(crate) const HOST: &str = "127.0.0.1";

/// The server's default WiredTiger cache is 4 GiB; tests run many servers at once.
const CACHE_SIZE: &str = "128M";

/// WiredTiger allocates each log file in full (128 MB by default), per server.
const LOG_FILE_MAX: &str = "8MB";

/// Everything needed to (re)start one test server.
#[derive(Debug, Clone)]
pub(crate) struct ServerConfig {
    pub(crate) binary: PathBuf,
    pub(crate) storage_path: PathBuf,
    pub(crate) auth: bool,
    pub(crate) test_commands: bool,
    pub(crate) standalone: bool,
    pub(crate) tls: Option<TlsFiles>,
    pub(crate) extra_args: Vec<OsString>,
    pub(crate) startup_timeout: Duration,
}

impl ServerConfig {
    /// The command line with all requested options, listening on `port` (0: any).
    pub(crate) fn args(&self, port: u16) -> Vec<OsString> {
        let mut args = self.storage_args(port);
        if self.auth {
            args.push("--auth".into());
        }
        if self.test_commands {
            // Not listed by `--help`, but accepted: enables configureFailPoint.
            args.push("--enable-test-commands".into());
        }
        if self.standalone {
            args.push("--standalone".into());
        }
        if let Some(tls) = &self.tls {
            args.push("--tls-cert-file".into());
            args.push(tls.cert_file().into());
            args.push("--tls-key-file".into());
            args.push(tls.key_file().into());
            if let Some(ca_file) = tls.ca_file() {
                args.push("--tls-ca-file".into());
                args.push(ca_file.into());
            }
            if tls.requires_client_cert() {
                args.push("--tls-require-client-cert".into());
            }
        }
        args.extend(self.extra_args.iter().cloned());
        args
    }

    /// The command line of the instance that creates the seed users: same storage,
    /// plain TCP, no auth, and every commit synced so that killing it loses nothing.
    /// `extra_args` stay because some of them (e.g. `--block-compressor`) only take
    /// effect when the storage is created.
    pub(crate) fn seeding_args(&self) -> Vec<OsString> {
        let mut args = self.storage_args(0);
        args.push("--sync-on-commit".into());
        args.extend(self.extra_args.iter().cloned());
        args
    }

    fn storage_args(&self, port: u16) -> Vec<OsString> {
        vec![
            "--host".into(),
            HOST.into(),
            "--port".into(),
            port.to_string().into(),
            "--storage-path".into(),
            self.storage_path.clone().into(),
            "--cache-size".into(),
            CACHE_SIZE.into(),
            "--log-file-max".into(),
            LOG_FILE_MAX.into(),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ServerConfig {
        ServerConfig {
            binary: PathBuf::from("/bin/secantusd-rs"),
            storage_path: PathBuf::from("/tmp/x/data"),
            auth: false,
            test_commands: false,
            standalone: false,
            tls: None,
            extra_args: Vec::new(),
            startup_timeout: Duration::from_secs(60),
        }
    }

    fn joined(args: &[OsString]) -> String {
        args.iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn plain_server() {
        assert_eq!(
            joined(&config().args(0)),
            "--host 127.0.0.1 --port 0 --storage-path /tmp/x/data --cache-size 128M --log-file-max 8MB"
        );
    }

    #[test]
    fn every_option_on_a_fixed_port() {
        let mut config = config();
        config.auth = true;
        config.test_commands = true;
        config.standalone = true;
        config.tls = Some(
            TlsFiles::new("/c/server.pem", "/c/server.key")
                .client_ca("/c/ca.pem")
                .require_client_cert(true),
        );
        config.extra_args = vec!["--checkpoint-seconds".into(), "5".into()];
        let args = joined(&config.args(40000));
        assert!(args.starts_with("--host 127.0.0.1 --port 40000 "), "{args}");
        assert!(
            args.ends_with(
                " --auth --enable-test-commands --standalone \
                 --tls-cert-file /c/server.pem --tls-key-file /c/server.key \
                 --tls-ca-file /c/ca.pem --tls-require-client-cert --checkpoint-seconds 5"
            ),
            "{args}"
        );
    }

    #[test]
    fn seeding_instance_drops_auth_and_tls_but_keeps_extra_args() {
        let mut config = config();
        config.auth = true;
        config.tls = Some(TlsFiles::new("/c/server.pem", "/c/server.key"));
        config.extra_args = vec!["--block-compressor".into(), "zlib".into()];
        let args = joined(&config.seeding_args());
        assert!(args.contains("--port 0 "), "{args}");
        assert!(
            args.ends_with(" --sync-on-commit --block-compressor zlib"),
            "{args}"
        );
        assert!(!args.contains("--auth"), "{args}");
        assert!(!args.contains("--tls"), "{args}");
    }
}
