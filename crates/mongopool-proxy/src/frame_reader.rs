//! Whole messages from a client's socket, each length checked before anything is
//! allocated for it.

use mongopool_wire::{check_message_length, Header, HEADER_LEN};
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

/// Reads are buffered: a small request costs one system call.
const READ_BUFFER_BYTES: usize = 16 * 1024;
/// Up to this size a message's buffer is allocated at once; beyond, it grows with
/// the bytes that really arrive (a client announcing 48 MB and sending nothing costs
/// little).
const EAGER_ALLOCATION_BYTES: usize = 1024 * 1024;

pub(crate) struct FrameReader<R> {
    inner: BufReader<R>,
    max_message_size: usize,
}

impl<R: AsyncRead + Unpin> FrameReader<R> {
    pub(crate) fn new(inner: R, max_message_size: usize) -> Self {
        FrameReader {
            inner: BufReader::with_capacity(READ_BUFFER_BYTES, inner),
            max_message_size,
        }
    }

    /// The next whole message, header included; `None` when the client closed the
    /// connection between two messages.
    pub(crate) async fn next_frame(&mut self) -> Result<Option<Vec<u8>>, String> {
        let mut header_bytes = [0u8; HEADER_LEN];
        let first = self.inner.read(&mut header_bytes[..1]).await;
        match first {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(format!("reading a request: {e}")),
        }
        self.inner
            .read_exact(&mut header_bytes[1..])
            .await
            .map_err(|e| format!("reading a request's header: {e}"))?;
        let header = Header::parse(&header_bytes).map_err(|e| e.to_string())?;
        let length = check_message_length(header.message_length, self.max_message_size)
            .map_err(|e| e.to_string())?;
        let mut frame = Vec::with_capacity(length.min(EAGER_ALLOCATION_BYTES));
        frame.extend_from_slice(&header_bytes);
        let remaining = (length - HEADER_LEN) as u64;
        (&mut self.inner)
            .take(remaining)
            .read_to_end(&mut frame)
            .await
            .map_err(|e| format!("reading a request: {e}"))?;
        if frame.len() != length {
            return Err("the client closed the connection in the middle of a request".into());
        }
        Ok(Some(frame))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(len: i32) -> Vec<u8> {
        let mut f = Vec::new();
        Header {
            message_length: len,
            request_id: 1,
            response_to: 0,
            op_code: 2013,
        }
        .write_to(&mut f);
        f.resize(len.max(16) as usize, 0);
        f
    }

    #[tokio::test]
    async fn frames_come_whole_and_eof_between_them_is_clean() {
        let mut bytes = frame(20);
        bytes.extend(frame(16));
        let mut r = FrameReader::new(&bytes[..], 1000);
        assert_eq!(r.next_frame().await.unwrap().unwrap().len(), 20);
        assert_eq!(r.next_frame().await.unwrap().unwrap().len(), 16);
        assert_eq!(r.next_frame().await.unwrap(), None);
    }

    #[tokio::test]
    async fn bad_lengths_and_cut_messages_are_errors() {
        let too_big = frame(2000);
        assert!(FrameReader::new(&too_big[..], 1000)
            .next_frame()
            .await
            .is_err());
        let too_small = frame(8);
        assert!(FrameReader::new(&too_small[..16], 1000)
            .next_frame()
            .await
            .is_err());
        let cut = frame(100);
        assert!(FrameReader::new(&cut[..50], 1000)
            .next_frame()
            .await
            .is_err());
        assert!(FrameReader::new(&cut[..5], 1000)
            .next_frame()
            .await
            .is_err());
    }
}
