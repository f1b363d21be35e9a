//! A loopback TCP proxy between a client and a server that records every MongoDB
//! frame it forwards, in both directions, so that tests can see what really went over
//! the wire (which opcode, compressed or not, how many round trips).
//!
//! Its frame parsing is written here on purpose instead of reusing the library's: a
//! witness must not share the bugs of what it watches. Only decoding a command's body
//! (for assertions on its fields) borrows `mongopool_wire`.
//!
//! It can also adapt what goes by, to show the client behaviours SecantusDB lacks (see
//! [`Rewrite`] and `proxy_rewrites.rs`).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bson::RawDocumentBuf;
use mongopool::ServerAddress;
use mongopool_wire::{Message, DEFAULT_MAX_MESSAGE_SIZE_BYTES};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

use super::proxy_rewrites::ConnectionRewriter;
pub use super::proxy_rewrites::Rewrite;

/// OP_MSG's opcode.
pub const OP_MSG: i32 = 2013;
/// OP_COMPRESSED's opcode.
pub const OP_COMPRESSED: i32 = 2012;

pub(super) const HEADER_LEN: usize = 16;
/// Frames larger than this are not MongoDB messages (the server's maxMessageSizeBytes).
const MAX_FRAME_LEN: usize = 48_000_000;

/// Which way a frame went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// From the client to the server.
    ToServer,
    /// From the server to the client.
    ToClient,
}

/// What the header of an OP_COMPRESSED says about its content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompressedHeader {
    /// The opcode of the message inside.
    pub original_op_code: i32,
    /// The size of the message inside, without its header.
    pub uncompressed_size: i32,
    /// 1 snappy, 2 zlib, 3 zstd.
    pub compressor_id: u8,
}

/// One whole message seen by the proxy.
#[derive(Debug, Clone)]
pub struct Frame {
    /// The proxied connection it went over, numbered from 0 in order of arrival.
    pub connection: usize,
    /// Which way it went.
    pub direction: Direction,
    /// The opcode in its header.
    pub op_code: i32,
    /// For OP_COMPRESSED, what its header says.
    pub compressed: Option<CompressedHeader>,
    /// The whole frame, header included.
    pub bytes: Vec<u8>,
}

fn le_i32(bytes: &[u8], at: usize) -> Option<i32> {
    let field: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
    Some(i32::from_le_bytes(field))
}

impl Frame {
    pub(super) fn new(connection: usize, direction: Direction, bytes: Vec<u8>) -> Frame {
        let op_code = le_i32(&bytes, 12).unwrap_or(-1);
        let compressed = if op_code == OP_COMPRESSED {
            match (le_i32(&bytes, 16), le_i32(&bytes, 20), bytes.get(24)) {
                (Some(original_op_code), Some(uncompressed_size), Some(&compressor_id)) => {
                    Some(CompressedHeader {
                        original_op_code,
                        uncompressed_size,
                        compressor_id,
                    })
                }
                _ => None,
            }
        } else {
            None
        };
        Frame {
            connection,
            direction,
            op_code,
            compressed,
            bytes,
        }
    }

    /// The body document of an OP_MSG (also inside OP_COMPRESSED), if it is one.
    pub fn body(&self) -> Option<RawDocumentBuf> {
        match Message::decode(&self.bytes, DEFAULT_MAX_MESSAGE_SIZE_BYTES)
            .ok()?
            .message
        {
            Message::Msg(msg) => Some(msg.body),
            _ => None,
        }
    }

    /// The command name of a request (the first key of its body).
    pub fn command_name(&self) -> Option<String> {
        let body = self.body()?;
        let first = body.iter().next()?.ok()?;
        Some(first.0.as_str().to_owned())
    }

    /// `requestID` of the header.
    pub fn request_id(&self) -> i32 {
        le_i32(&self.bytes, 4).unwrap_or(-1)
    }

    /// `responseTo` of the header.
    pub fn response_to(&self) -> i32 {
        le_i32(&self.bytes, 8).unwrap_or(-1)
    }

    /// Whether an uncompressed OP_MSG has the moreToCome flag.
    pub fn more_to_come(&self) -> bool {
        self.op_code == OP_MSG && le_i32(&self.bytes, HEADER_LEN).is_some_and(|f| f & 2 != 0)
    }
}

/// A running proxy; it stops (and drops every proxied connection) when dropped.
pub struct RecordingProxy {
    port: u16,
    frames: Arc<Mutex<Vec<Frame>>>,
    task: JoinHandle<()>,
}

impl RecordingProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`
    /// as it is.
    pub async fn start(upstream: SocketAddr) -> RecordingProxy {
        RecordingProxy::start_with(upstream, Rewrite::None).await
    }

    /// Listens on a free loopback port and forwards every connection to `upstream`,
    /// adapted by `rewrite`.
    pub async fn start_with(upstream: SocketAddr, rewrite: Rewrite) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let frames = Arc::new(Mutex::new(Vec::new()));
        let task = tokio::spawn(accept_loop(listener, upstream, frames.clone(), rewrite));
        RecordingProxy { port, frames, task }
    }

    /// Where clients connect.
    pub fn address(&self) -> ServerAddress {
        ServerAddress::tcp("127.0.0.1", self.port)
    }

    /// Every frame forwarded so far, in the order the proxy read them.
    pub fn frames(&self) -> Vec<Frame> {
        self.frames.lock().expect("frames lock").clone()
    }

    /// The frames of one direction.
    pub fn frames_to(&self, direction: Direction) -> Vec<Frame> {
        self.frames()
            .into_iter()
            .filter(|f| f.direction == direction)
            .collect()
    }

    /// Forgets the frames recorded so far.
    pub fn clear(&self) {
        self.frames.lock().expect("frames lock").clear();
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        // The accept task owns the JoinSet of connection tasks: aborting it drops
        // the set, which aborts them all.
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    frames: Arc<Mutex<Vec<Frame>>>,
    rewrite: Rewrite,
) {
    let mut connections = JoinSet::new();
    let mut next_id = 0;
    while let Ok((client, _)) = listener.accept().await {
        let id = next_id;
        next_id += 1;
        let frames = frames.clone();
        connections.spawn(async move {
            let Ok(server) = TcpStream::connect(upstream).await else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            let (from_client, to_client) = client.into_split();
            let (from_server, to_server) = server.into_split();
            let rewriter = Arc::new(Mutex::new(ConnectionRewriter::new(rewrite)));
            let to_server_side = Recorder {
                connection: id,
                direction: Direction::ToServer,
                frames: frames.clone(),
                rewriter: rewriter.clone(),
            };
            let to_client_side = Recorder {
                connection: id,
                direction: Direction::ToClient,
                frames,
                rewriter,
            };
            tokio::join!(
                pump(from_client, to_server, to_server_side),
                pump(from_server, to_client, to_client_side),
            );
        });
        while connections.try_join_next().is_some() {}
    }
}

/// Where one direction of a proxied connection records its frames.
struct Recorder {
    connection: usize,
    direction: Direction,
    frames: Arc<Mutex<Vec<Frame>>>,
    rewriter: Arc<Mutex<ConnectionRewriter>>,
}

impl Recorder {
    /// Records what the rewrite says the client exchanged, and returns the frames to
    /// send on.
    fn relay(&self, bytes: Vec<u8>) -> Vec<Vec<u8>> {
        let frame = Frame::new(self.connection, self.direction, bytes);
        let relay = self.rewriter.lock().expect("rewriter lock").relay(frame);
        self.frames
            .lock()
            .expect("frames lock")
            .extend(relay.record);
        relay.send
    }
}

/// Forwards whole frames from `from` to `to`, recording each before it is sent on.
/// At the end of the input (or on any error) it shuts `to` down, as a plain TCP
/// relay would.
async fn pump(
    mut from: impl AsyncRead + Unpin,
    mut to: impl AsyncWrite + Unpin,
    recorder: Recorder,
) {
    'frames: loop {
        let mut header = [0u8; HEADER_LEN];
        if from.read_exact(&mut header).await.is_err() {
            break;
        }
        let length = usize::try_from(i32::from_le_bytes([
            header[0], header[1], header[2], header[3],
        ]))
        .ok()
        .filter(|len| (HEADER_LEN..=MAX_FRAME_LEN).contains(len));
        let Some(length) = length else {
            // Not a MongoDB frame: relay the rest as it comes, unrecorded.
            if to.write_all(&header).await.is_ok() {
                let _ = tokio::io::copy(&mut from, &mut to).await;
            }
            break;
        };
        let mut bytes = vec![0u8; length];
        bytes[..HEADER_LEN].copy_from_slice(&header);
        if from.read_exact(&mut bytes[HEADER_LEN..]).await.is_err() {
            break;
        }
        for bytes in recorder.relay(bytes) {
            if to.write_all(&bytes).await.is_err() {
                break 'frames;
            }
        }
    }
    let _ = to.shutdown().await;
}
