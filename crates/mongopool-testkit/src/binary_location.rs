//! Where the `secantusd-rs` binary is found.

use std::env;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// The environment variable that names the `secantusd-rs` binary; `scripts/test` sets it.
pub const SECANTUSD_ENV: &str = "MONGOPOOL_SECANTUSD";

/// The pinned version lives in one file, shared with `scripts/install-test-server`.
const VERSION_FILE: &str = include_str!("../../../scripts/secantus-version");

/// The SecantusDB version the test scripts install (from `scripts/secantus-version`).
pub fn secantus_version() -> &'static str {
    VERSION_FILE.trim()
}

/// Where `scripts/install-test-server` puts the binary:
/// `~/.cache/mongopool/secantus-<version>/bin/secantusd-rs`. `None` without a home
/// directory.
pub fn default_secantusd_path() -> Option<PathBuf> {
    let home = env::var_os("HOME").filter(|home| !home.is_empty())?;
    let mut path = PathBuf::from(home);
    path.push(".cache");
    path.push("mongopool");
    path.push(format!("secantus-{}", secantus_version()));
    path.push("bin");
    path.push("secantusd-rs");
    Some(path)
}

/// The binary to run: `$MONGOPOOL_SECANTUSD` if set, else the install cache path.
///
/// A set but wrong `MONGOPOOL_SECANTUSD` is an error rather than a silent fallback, so a
/// misconfigured CI cannot test against some other binary.
pub fn locate_secantusd() -> Result<PathBuf> {
    if let Some(from_env) = env::var_os(SECANTUSD_ENV).filter(|value| !value.is_empty()) {
        let path = PathBuf::from(from_env);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::BinaryFromEnvMissing { path })
        };
    }
    let tried: Vec<PathBuf> = default_secantusd_path().into_iter().collect();
    match tried.iter().find(|path| path.is_file()) {
        Some(path) => Ok(path.clone()),
        None => Err(Error::BinaryNotFound { tried }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_pinned_and_clean() {
        let version = secantus_version();
        assert!(!version.is_empty());
        assert!(!version.contains(char::is_whitespace));
        assert!(version.starts_with(|c: char| c.is_ascii_digit()));
    }

    #[test]
    fn default_path_ends_with_versioned_binary() {
        if let Some(path) = default_secantusd_path() {
            let text = path.to_string_lossy().into_owned();
            assert!(text.ends_with(&format!(
                ".cache/mongopool/secantus-{}/bin/secantusd-rs",
                secantus_version()
            )));
        }
    }

    #[test]
    fn not_found_message_tells_how_to_install() {
        let message = Error::BinaryNotFound {
            tried: vec![PathBuf::from("/nowhere/secantusd-rs")],
        }
        .to_string();
        assert!(message.contains("/nowhere/secantusd-rs"), "{message}");
        assert!(message.contains("scripts/install-test-server"), "{message}");
        assert!(message.contains(SECANTUSD_ENV), "{message}");
    }
}
