//! The end of a server log, for error messages.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Enough to hold the server's error message and the testkit's start line.
const TAIL_BYTES: u64 = 4096;

/// The last few KiB of `path` written at or after byte `from`, lossily decoded.
/// Errors reading the log become the text of the tail: this only feeds diagnostics.
pub(crate) fn read_log_tail(path: &Path, from: u64) -> String {
    match read_tail(path, from) {
        Ok(text) if text.trim().is_empty() => "(the server wrote nothing)".to_owned(),
        Ok(text) => text,
        Err(err) => format!("(could not read {}: {err})", path.display()),
    }
}

fn read_tail(path: &Path, from: u64) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let start = from.max(len.saturating_sub(TAIL_BYTES)).min(len);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(TAIL_BYTES).read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn keeps_only_what_follows_the_offset() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut file = File::create(&path).unwrap();
        file.write_all(b"old run\nnew run: failed to bind\n")
            .unwrap();
        assert_eq!(read_log_tail(&path, 8), "new run: failed to bind\n");
    }

    #[test]
    fn keeps_only_the_last_bytes_of_a_long_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let mut file = File::create(&path).unwrap();
        file.write_all(&vec![b'x'; 10_000]).unwrap();
        file.write_all(b"END").unwrap();
        let tail = read_log_tail(&path, 0);
        assert_eq!(tail.len(), TAIL_BYTES as usize);
        assert!(tail.ends_with("END"));
    }

    #[test]
    fn reports_missing_and_empty_logs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        assert!(read_log_tail(&path, 0).starts_with("(could not read"));
        File::create(&path).unwrap();
        assert_eq!(read_log_tail(&path, 0), "(the server wrote nothing)");
    }
}
