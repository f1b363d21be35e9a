//! The mock server: a listener on the caller's tokio runtime, one task per
//! connection, and everything stopped when it is shut down or dropped.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicI32;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
#[cfg(unix)]
use tokio::net::UnixListener;
use tokio::task::{JoinHandle, JoinSet};

use super::handler::Handler;
use super::journal::Journal;
use super::session::{serve, Shared};

/// First id of the server's own messages (see `Shared::next_reply_id`).
const FIRST_REPLY_ID: i32 = 1_000_000;

/// Where a mock server listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockAddress {
    /// A TCP port on 127.0.0.1.
    Tcp(SocketAddr),
    /// A Unix domain socket.
    Unix(PathBuf),
}

/// A scriptable MongoDB server inside the test process.
///
/// It listens on loopback (or a Unix socket), decodes every request with
/// `mongopool-wire`, records it in its [`Journal`], and does what its [`Handler`]
/// says: reply, reply wrongly, stay silent, hang up, wait. Its tasks run on the
/// runtime that started it, so a paused tokio clock governs its delays too.
///
/// Dropping it (or [`MockServer::shutdown`]) stops listening and closes every
/// connection.
#[derive(Debug)]
pub struct MockServer {
    address: MockAddress,
    journal: Journal,
    accept_task: JoinHandle<()>,
    sessions: Arc<Mutex<JoinSet<()>>>,
}

impl MockServer {
    /// Starts a server on `127.0.0.1` on a free port. Must be called within a tokio
    /// runtime.
    pub async fn start(handler: impl Handler) -> io::Result<MockServer> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let address = MockAddress::Tcp(listener.local_addr()?);
        let (shared, sessions) = shared_state(Box::new(handler));
        let journal = shared.journal.clone();
        let tasks = sessions.clone();
        let accept_task = tokio::spawn(async move {
            let mut index = 0;
            // An accept error (e.g. out of file descriptors) ends the server; tests
            // then see connections refused.
            while let Ok((stream, _)) = listener.accept().await {
                // Replies go out whole; no reason to wait for more bytes to batch.
                let _ = stream.set_nodelay(true);
                spawn_session(&tasks, serve(stream, index, shared.clone()));
                index += 1;
            }
        });
        Ok(MockServer {
            address,
            journal,
            accept_task,
            sessions,
        })
    }

    /// Starts a server on a Unix domain socket at `path` (which must not exist; put
    /// it in a temporary directory). The socket file is removed on shutdown.
    #[cfg(unix)]
    pub async fn start_unix(
        path: impl AsRef<Path>,
        handler: impl Handler,
    ) -> io::Result<MockServer> {
        let path = path.as_ref().to_path_buf();
        let listener = UnixListener::bind(&path)?;
        let (shared, sessions) = shared_state(Box::new(handler));
        let journal = shared.journal.clone();
        let tasks = sessions.clone();
        let accept_task = tokio::spawn(async move {
            let mut index = 0;
            while let Ok((stream, _)) = listener.accept().await {
                spawn_session(&tasks, serve(stream, index, shared.clone()));
                index += 1;
            }
        });
        Ok(MockServer {
            address: MockAddress::Unix(path),
            journal,
            accept_task,
            sessions,
        })
    }

    /// Where it listens.
    pub fn address(&self) -> &MockAddress {
        &self.address
    }

    /// The TCP port (0 for a Unix socket server).
    pub fn port(&self) -> u16 {
        match &self.address {
            MockAddress::Tcp(a) => a.port(),
            MockAddress::Unix(_) => 0,
        }
    }

    /// `host:port` for TCP, the socket path for a Unix socket: what a connection
    /// string or `ServerAddress::parse` takes.
    pub fn host_string(&self) -> String {
        match &self.address {
            MockAddress::Tcp(a) => a.to_string(),
            MockAddress::Unix(p) => p.display().to_string(),
        }
    }

    /// Everything the server has seen so far, and ways to wait for more.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// Stops listening, closes every connection and waits until they are closed.
    pub async fn shutdown(self) {
        self.accept_task.abort();
        let mut sessions = std::mem::take(&mut *lock(&self.sessions));
        sessions.abort_all();
        while sessions.join_next().await.is_some() {}
        // `self` drops here: the listener task is already aborted, the set is empty.
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept_task.abort();
        lock(&self.sessions).abort_all();
        if let MockAddress::Unix(path) = &self.address {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn lock(sessions: &Mutex<JoinSet<()>>) -> std::sync::MutexGuard<'_, JoinSet<()>> {
    sessions.lock().unwrap_or_else(|p| p.into_inner())
}

fn shared_state(handler: Box<dyn Handler>) -> (Arc<Shared>, Arc<Mutex<JoinSet<()>>>) {
    let shared = Arc::new(Shared {
        handler,
        journal: Journal::default(),
        next_reply_id: AtomicI32::new(FIRST_REPLY_ID),
    });
    (shared, Arc::new(Mutex::new(JoinSet::new())))
}

fn spawn_session(
    sessions: &Mutex<JoinSet<()>>,
    session: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let mut set = lock(sessions);
    // Reap finished sessions so a long test does not accumulate them.
    while set.try_join_next().is_some() {}
    set.spawn(session);
}

#[cfg(test)]
mod tests {
    use bson::{doc, rawdoc};
    use mongopool_wire::{Message, OpMsg, DEFAULT_MAX_MESSAGE_SIZE_BYTES};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::*;
    use crate::mock::{Action, ClosedBy, Request};

    async fn client(server: &MockServer) -> TcpStream {
        TcpStream::connect(("127.0.0.1", server.port()))
            .await
            .unwrap()
    }

    async fn send_ping(stream: &mut TcpStream, request_id: i32) {
        let mut bytes = Vec::new();
        Message::Msg(OpMsg::new(rawdoc! {"ping": 1, "$db": "admin"}))
            .encode(request_id, 0, &mut bytes)
            .unwrap();
        stream.write_all(&bytes).await.unwrap();
    }

    async fn read_reply(stream: &mut TcpStream) -> mongopool_wire::Decoded {
        let mut header = [0u8; 16];
        stream.read_exact(&mut header).await.unwrap();
        let len = usize::try_from(i32::from_le_bytes(header[..4].try_into().unwrap())).unwrap();
        let mut frame = header.to_vec();
        frame.resize(len, 0);
        stream.read_exact(&mut frame[16..]).await.unwrap();
        Message::decode(&frame, DEFAULT_MAX_MESSAGE_SIZE_BYTES).unwrap()
    }

    #[tokio::test]
    async fn records_requests_and_answers_them() {
        let server = MockServer::start(|r: &Request| Action::ok(doc! {"id": r.request_id}))
            .await
            .unwrap();
        let mut stream = client(&server).await;
        send_ping(&mut stream, 41).await;
        let reply = read_reply(&mut stream).await;
        assert_eq!(reply.header.response_to, 41);
        let Message::Msg(msg) = reply.message else {
            panic!()
        };
        assert_eq!(msg.body.get_i32("id").unwrap(), 41);
        let requests = server.journal().wait_for_requests(1).await;
        assert_eq!((requests[0].connection, requests[0].request_id), (0, 41));
        assert!(requests[0].is_command("ping"));
        drop(stream);
        assert_eq!(server.journal().wait_for_close(0).await, ClosedBy::Client);
    }

    #[tokio::test]
    async fn a_panicking_handler_is_recorded_as_a_failure() {
        let server = MockServer::start(|_: &Request| -> Action { panic!("boom") })
            .await
            .unwrap();
        let mut stream = client(&server).await;
        send_ping(&mut stream, 1).await;
        let by = server.journal().wait_for_close(0).await;
        assert_eq!(by, ClosedBy::Failure("the handler panicked: boom".into()));
        let mut rest = Vec::new();
        stream.read_to_end(&mut rest).await.unwrap();
        assert!(rest.is_empty());
    }

    #[tokio::test]
    async fn shutdown_closes_every_connection() {
        let server = MockServer::start(|_: &Request| Action::Nothing)
            .await
            .unwrap();
        let mut a = client(&server).await;
        let mut b = client(&server).await;
        server
            .journal()
            .wait_until(|e| (e.connections() == 2).then_some(()))
            .await;
        server.shutdown().await;
        for stream in [&mut a, &mut b] {
            let mut rest = Vec::new();
            // End of stream or a reset: either way, closed.
            let _ = stream.read_to_end(&mut rest).await;
            assert!(rest.is_empty());
        }
    }
}
