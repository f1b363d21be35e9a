//! Plain TCP: IPv4, IPv6, names, socket options, refused and unanswered connects.

use std::error::Error as _;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use mongopool::{connect, ConnectOptions, ServerAddress, Stream};
use mongopool::{KEEPALIVE_IDLE, KEEPALIVE_INTERVAL, KEEPALIVE_RETRIES};
use socket2::{Domain, SockRef, Socket, Type};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Writes `hello` and expects the peer (which echoes) to send it back.
async fn round_trip(stream: &mut Stream, server: &mut TcpStream) {
    stream.write_all(b"hello").await.unwrap();
    let mut got = [0u8; 5];
    server.read_exact(&mut got).await.unwrap();
    server.write_all(&got).await.unwrap();
    let mut echoed = [0u8; 5];
    stream.read_exact(&mut echoed).await.unwrap();
    assert_eq!(&echoed, b"hello");
}

/// What keepalive settings a socket should have: ours, or the system's when lower.
#[cfg(target_os = "linux")]
fn expected_keepalive() -> (Duration, Duration, u32) {
    fn sysctl(name: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/sys/net/ipv4/{name}"))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    }
    let idle = Duration::from_secs(sysctl("tcp_keepalive_time")).min(KEEPALIVE_IDLE);
    let interval = Duration::from_secs(sysctl("tcp_keepalive_intvl")).min(KEEPALIVE_INTERVAL);
    let retries = u32::try_from(sysctl("tcp_keepalive_probes"))
        .unwrap()
        .min(KEEPALIVE_RETRIES);
    (idle, interval, retries)
}

fn assert_socket_options(stream: &Stream) {
    let socket = SockRef::from(stream);
    assert!(socket.tcp_nodelay().unwrap(), "TCP_NODELAY is off");
    assert!(socket.keepalive().unwrap(), "SO_KEEPALIVE is off");
    #[cfg(target_os = "linux")]
    {
        let (idle, interval, retries) = expected_keepalive();
        assert_eq!(socket.tcp_keepalive_time().unwrap(), idle);
        assert_eq!(socket.tcp_keepalive_interval().unwrap(), interval);
        assert_eq!(socket.tcp_keepalive_retries().unwrap(), retries);
    }
}

async fn connect_and_check(listener: TcpListener, address: ServerAddress) {
    let options = ConnectOptions::default();
    let (stream, accepted) = tokio::join!(connect(&address, &options), listener.accept());
    let mut stream = stream.unwrap();
    let (mut server, _) = accepted.unwrap();
    assert!(!stream.is_tls());
    assert!(!stream.is_unix());
    assert_socket_options(&stream);
    round_trip(&mut stream, &mut server).await;
}

#[tokio::test]
async fn connects_over_ipv4_with_nodelay_and_keepalive() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    connect_and_check(listener, ServerAddress::tcp("127.0.0.1", port)).await;
}

#[tokio::test]
async fn connects_over_ipv6_when_the_machine_has_it() {
    let listener = match TcpListener::bind("[::1]:0").await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("skipped: no IPv6 loopback here ({e})");
            return;
        }
    };
    let port = listener.local_addr().unwrap().port();
    connect_and_check(listener, ServerAddress::tcp("::1", port)).await;
}

#[tokio::test]
async fn connects_to_a_name_through_the_resolver() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // localhost may resolve to ::1 first, where nobody listens: the next address is tried.
    connect_and_check(listener, ServerAddress::tcp("localhost", port)).await;
}

/// A port nobody listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_refused_connect_is_a_connection_failure_naming_the_address() {
    let port = closed_port().await;
    let err = connect(
        &ServerAddress::tcp("127.0.0.1", port),
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    assert!(err.is_network() && !err.is_timeout(), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("connection failure: connecting to 127.0.0.1:{port}")
    );
    let source = err.source().unwrap().downcast_ref::<io::Error>().unwrap();
    assert_eq!(source.kind(), io::ErrorKind::ConnectionRefused);
}

#[tokio::test]
async fn a_refused_name_lists_the_addresses_tried() {
    let port = closed_port().await;
    let err = connect(
        &ServerAddress::tcp("localhost", port),
        &ConnectOptions::default(),
    )
    .await
    .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "connection failure: connecting to localhost:{port} (tried "
        )),
        "{message}"
    );
    assert!(message.contains(&format!("127.0.0.1:{port}")), "{message}");
}

#[tokio::test]
async fn an_unresolvable_name_fails_at_resolution() {
    let options = {
        let mut o = ConnectOptions::default();
        o.connect_timeout = Some(Duration::from_secs(3));
        o
    };
    let err = connect(&ServerAddress::tcp("nonexistent.invalid", 27017), &options)
        .await
        .unwrap_err();
    assert!(err.is_network(), "{err:?}");
    assert!(
        err.to_string()
            .contains("resolving nonexistent.invalid:27017"),
        "{err}"
    );
}

#[tokio::test]
async fn a_connect_that_gets_no_answer_times_out() {
    // Linux drops the SYNs for a listener whose accept queue is full, so connects to it
    // hang. A backlog of 0 holds one connection; fill it (on the real clock) until a
    // connect hangs.
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener
        .bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
        .unwrap();
    listener.listen(0).unwrap();
    let target = listener.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    let mut hung = false;
    for _ in 0..16 {
        match tokio::time::timeout(Duration::from_millis(300), TcpStream::connect(target)).await {
            Ok(connected) => fillers.push(connected.unwrap()),
            Err(_) => {
                hung = true;
                break;
            }
        }
    }
    assert!(hung, "the accept queue never filled");

    tokio::time::pause();
    let options = {
        let mut o = ConnectOptions::default();
        o.connect_timeout = Some(Duration::from_secs(7));
        o
    };
    let started = tokio::time::Instant::now();
    let err = connect(&ServerAddress::tcp("127.0.0.1", target.port()), &options)
        .await
        .unwrap_err();
    assert!(err.is_timeout(), "{err:?}");
    assert!(started.elapsed() >= Duration::from_secs(7));
    assert_eq!(
        err.to_string(),
        format!("network timeout: connecting to {target}")
    );
    assert!(err.source().unwrap().to_string().contains("7s"), "{err:?}");
    drop(fillers);
}

#[test]
fn default_options() {
    let options = ConnectOptions::default();
    assert_eq!(options.connect_timeout, Some(Duration::from_secs(10)));
    assert_eq!(options.socket_timeout, None);
    assert!(options.tls.is_none());
}
