//! The connection to the real server behind a client connection: raw frames out, raw
//! frames back.
//!
//! Each client connection has its own backend connection, so the client's request
//! goes out byte for byte (its `requestID` and any OP_MSG checksum intact) and the
//! reply's `responseTo` already names the client's request.

use std::io;
use std::net::SocketAddr;

use mongopool_wire::{
    Header, Message, MessageDecoder, MsgFlags, OpCode, DEFAULT_MAX_MESSAGE_SIZE_BYTES,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One connection to the real server.
#[derive(Debug)]
pub(crate) struct Backend {
    stream: TcpStream,
    decoder: MessageDecoder,
}

impl Backend {
    pub(crate) async fn connect(address: SocketAddr) -> io::Result<Backend> {
        let stream = TcpStream::connect(address).await?;
        let _ = stream.set_nodelay(true);
        Ok(Backend {
            stream,
            decoder: MessageDecoder::new(DEFAULT_MAX_MESSAGE_SIZE_BYTES),
        })
    }

    pub(crate) async fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.stream.write_all(frame).await
    }

    /// The next reply frame, and whether the server will send another without a
    /// request (moreToCome: an exhaust cursor).
    pub(crate) async fn next_reply(&mut self) -> io::Result<(Vec<u8>, bool)> {
        let frame = read_frame(&mut self.stream, &mut self.decoder)
            .await?
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "the backend hung up"))?;
        let more = more_to_come(&frame)?;
        Ok((frame, more))
    }
}

/// Reads until `decoder` has a whole frame; `None` on a clean end of stream.
pub(crate) async fn read_frame(
    stream: &mut TcpStream,
    decoder: &mut MessageDecoder,
) -> io::Result<Option<Vec<u8>>> {
    let mut buf = [0u8; 16 * 1024];
    loop {
        match decoder.next_frame() {
            Ok(Some(frame)) => return Ok(Some(frame)),
            Ok(None) => {}
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        decoder.push(buf.get(..n).unwrap_or_default());
    }
}

/// Whether a reply frame has OP_MSG's moreToCome set (looking inside OP_COMPRESSED).
fn more_to_come(frame: &[u8]) -> io::Result<bool> {
    let invalid = |e| io::Error::new(io::ErrorKind::InvalidData, e);
    let header = Header::parse(frame).map_err(invalid)?;
    match OpCode::try_from(header.op_code) {
        Ok(OpCode::Msg) | Ok(OpCode::Compressed) => {
            let decoded =
                Message::decode(frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES).map_err(invalid)?;
            Ok(
                matches!(decoded.message, Message::Msg(m) if m.flags.contains(MsgFlags::MORE_TO_COME)),
            )
        }
        _ => Ok(false),
    }
}
