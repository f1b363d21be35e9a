//! The liveness probe on plain and TLS streams.

use std::mem::MaybeUninit;
use std::time::Duration;

use mongopool::{connect, ConnectOptions, Liveness, ServerAddress, Stream, TlsConfig, TlsOptions};
use socket2::SockRef;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio_rustls::TlsAcceptor;

use crate::pki::{server_config, ClientFiles};
use mongopool_testkit::CertificateAuthority;

/// A raw client socket and the server's end of it.
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (client, accepted) = tokio::join!(
        TcpStream::connect(listener.local_addr().unwrap()),
        listener.accept()
    );
    (client.unwrap(), accepted.unwrap().0)
}

#[tokio::test]
async fn an_idle_connection_is_open() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let address = ServerAddress::tcp("127.0.0.1", port);
    let options = ConnectOptions::default();
    let (stream, accepted) = tokio::join!(connect(&address, &options), listener.accept());
    let mut stream = stream.unwrap();
    let _server = accepted.unwrap();
    assert_eq!(stream.probe(), Liveness::Open);
    assert!(!stream.is_peer_closed());
}

#[tokio::test]
async fn a_closed_peer_is_seen() {
    let (client, server) = tcp_pair().await;
    drop(server);
    // Readable is the FIN arriving.
    client.readable().await.unwrap();
    let mut stream = Stream::from(client);
    assert_eq!(stream.probe(), Liveness::Closed);
    assert!(stream.is_peer_closed());
}

#[tokio::test]
async fn a_reset_is_seen() {
    let (client, server) = tcp_pair().await;
    // Linger 0 makes close send a RST instead of a FIN.
    SockRef::from(&server)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(server);
    client.readable().await.unwrap();
    let mut stream = Stream::from(client);
    assert_eq!(stream.probe(), Liveness::Closed);
}

#[tokio::test]
async fn unexpected_bytes_are_seen_and_left_in_place() {
    let (client, mut server) = tcp_pair().await;
    server.write_all(b"x").await.unwrap();
    client.readable().await.unwrap();
    let mut stream = Stream::from(client);
    assert_eq!(stream.probe(), Liveness::UnexpectedData);
    assert!(!stream.probe().is_usable());
    let mut byte = [0u8; 1];
    stream.read_exact(&mut byte).await.unwrap();
    assert_eq!(&byte, b"x");
    assert_eq!(stream.probe(), Liveness::Open);
}

/// Bytes waiting in the kernel under `stream` (for TLS: encrypted records).
fn raw_bytes_waiting(stream: &Stream) -> bool {
    let mut byte = [MaybeUninit::<u8>::uninit()];
    matches!(SockRef::from(stream).peek(&mut byte), Ok(n) if n > 0)
}

/// Polls `done` every millisecond for at most five seconds. Loopback delivery is
/// practically immediate, but nothing signals its arrival to a stream we cannot wait on.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..5000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    panic!("{what} did not happen within 5 s");
}

enum Action {
    /// Send application data nobody asked for.
    Blurt,
    /// Answer `ping` with `pong`.
    Pong,
    /// Send close_notify and close.
    Close,
}

/// A TLS connection through `connect`, and a channel to tell the server what to do.
async fn tls_pair() -> (Stream, mpsc::UnboundedSender<Action>) {
    let ca = CertificateAuthority::new("probe CA");
    let server = ca.server(&["localhost"]);
    let files = ClientFiles::new(&ca, &ca.client());
    let acceptor = TlsAcceptor::from(server_config(&server, &ca));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (actions, mut orders) = mpsc::unbounded_channel();
    let (ready, handshake_done) = oneshot::channel();
    tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        ready.send(()).unwrap();
        while let Some(action) = orders.recv().await {
            match action {
                Action::Blurt => tls.write_all(b"unasked").await.unwrap(),
                Action::Pong => {
                    let mut ping = [0u8; 4];
                    tls.read_exact(&mut ping).await.unwrap();
                    tls.write_all(b"pong").await.unwrap();
                }
                Action::Close => {
                    tls.shutdown().await.unwrap();
                    return;
                }
            }
            tls.flush().await.unwrap();
        }
    });
    let options = {
        let mut o = ConnectOptions::default();
        o.tls = Some(
            TlsConfig::new(&{
                let mut o = TlsOptions::default();
                o.ca_file = Some(files.ca_file.clone());
                o
            })
            .unwrap(),
        );
        o
    };
    let stream = connect(&ServerAddress::tcp("localhost", port), &options)
        .await
        .unwrap();
    handshake_done.await.unwrap();
    (stream, actions)
}

#[tokio::test]
async fn tls_session_tickets_are_not_mistaken_for_data() {
    let (mut stream, actions) = tls_pair().await;
    // A TLS 1.3 server sends session tickets right after the handshake: encrypted
    // records waiting in the socket that are not application data.
    eventually("the session tickets arriving", || {
        raw_bytes_waiting(&stream)
    })
    .await;
    assert_eq!(stream.probe(), Liveness::Open);
    assert!(!raw_bytes_waiting(&stream), "the probe left records unread");

    // The records the probe read went into the session: the stream still works.
    actions.send(Action::Pong).unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut pong = [0u8; 4];
    stream.read_exact(&mut pong).await.unwrap();
    assert_eq!(&pong, b"pong");
    assert_eq!(stream.probe(), Liveness::Open);
}

#[tokio::test]
async fn tls_unexpected_data_is_seen() {
    let (mut stream, actions) = tls_pair().await;
    actions.send(Action::Blurt).unwrap();
    eventually("the unasked data arriving", || {
        stream.probe() == Liveness::UnexpectedData
    })
    .await;
}

#[tokio::test]
async fn tls_close_is_seen() {
    let (mut stream, actions) = tls_pair().await;
    assert_eq!(stream.probe(), Liveness::Open);
    actions.send(Action::Close).unwrap();
    eventually("the close arriving", || stream.is_peer_closed()).await;
}
