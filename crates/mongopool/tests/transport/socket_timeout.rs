//! Bounding reads and writes with the socket timeout.

use std::time::Duration;

use mongopool::{connect, with_socket_timeout, ConnectOptions, ServerAddress, Stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn connected() -> (Stream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let address = ServerAddress::tcp("127.0.0.1", port);
    let options = ConnectOptions::default();
    let (stream, accepted) = tokio::join!(connect(&address, &options), listener.accept());
    (stream.unwrap(), accepted.unwrap().0)
}

#[tokio::test(start_paused = true)]
async fn a_read_that_never_completes_times_out() {
    let (mut stream, _silent_server) = connected().await;
    let started = tokio::time::Instant::now();
    let mut buf = [0u8; 16];
    let err = with_socket_timeout(
        Some(Duration::from_secs(30)),
        || "reading a reply from 127.0.0.1".to_string(),
        stream.read_exact(&mut buf),
    )
    .await
    .unwrap_err();
    assert!(err.is_timeout() && err.closes_connection(), "{err:?}");
    assert_eq!(started.elapsed(), Duration::from_secs(30));
    assert_eq!(
        err.to_string(),
        "network timeout: reading a reply from 127.0.0.1"
    );
}

#[tokio::test(start_paused = true)]
async fn a_read_that_completes_in_time_returns_its_value() {
    let (mut stream, mut server) = connected().await;
    server.write_all(b"four").await.unwrap();
    let mut buf = [0u8; 4];
    let n = with_socket_timeout(
        Some(Duration::from_secs(1)),
        || unreachable!("no error, so no message"),
        stream.read_exact(&mut buf),
    )
    .await
    .unwrap();
    assert_eq!((n, &buf), (4, b"four"));
}

#[tokio::test(start_paused = true)]
async fn zero_and_none_mean_no_limit() {
    let (mut stream, mut server) = connected().await;
    for timeout in [None, Some(Duration::ZERO)] {
        let started = tokio::time::Instant::now();
        let mut buf = [0u8; 1];
        let read = with_socket_timeout(timeout, String::new, stream.read_exact(&mut buf));
        let reply = async {
            // Far beyond any limit: only "no limit" lets the read wait for this.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            server.write_all(b"!").await.unwrap();
        };
        let (read, ()) = tokio::join!(read, reply);
        read.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(3600));
    }
}

#[tokio::test]
async fn an_io_error_is_a_connection_failure() {
    let (mut stream, server) = connected().await;
    drop(server);
    let mut buf = [0u8; 4];
    let err = with_socket_timeout(
        Some(Duration::from_secs(30)),
        || "reading a reply from 127.0.0.1".to_string(),
        stream.read_exact(&mut buf),
    )
    .await
    .unwrap_err();
    assert!(err.is_network() && !err.is_timeout(), "{err:?}");
    assert_eq!(
        err.to_string(),
        "connection failure: reading a reply from 127.0.0.1"
    );
}
