//! Unix domain sockets.

use mongopool::{connect, ConnectOptions, Liveness, ServerAddress, TlsConfig, TlsOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixListener;

#[tokio::test]
async fn connects_to_a_unix_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mongodb-test.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let address = ServerAddress::parse(path.to_str().unwrap()).unwrap();
    assert!(matches!(address, ServerAddress::Unix { .. }));

    let options = ConnectOptions::default();
    let (stream, accepted) = tokio::join!(connect(&address, &options), listener.accept());
    let mut stream = stream.unwrap();
    let (mut server, _) = accepted.unwrap();
    assert!(stream.is_unix() && !stream.is_tls());
    assert_eq!(stream.probe(), Liveness::Open);

    stream.write_all(b"hi").await.unwrap();
    let mut got = [0u8; 2];
    server.read_exact(&mut got).await.unwrap();
    assert_eq!(&got, b"hi");

    drop(server);
    let mut rest = Vec::new();
    stream.read_to_end(&mut rest).await.unwrap();
    assert!(rest.is_empty());
    assert_eq!(stream.probe(), Liveness::Closed);
}

#[tokio::test]
async fn a_missing_socket_file_is_a_connection_failure_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nobody.sock");
    let address = ServerAddress::Unix { path: path.clone() };
    let err = connect(&address, &ConnectOptions::default())
        .await
        .unwrap_err();
    assert!(err.is_network() && !err.is_timeout(), "{err:?}");
    assert!(err.to_string().contains(path.to_str().unwrap()), "{err}");
}

#[tokio::test]
async fn tls_over_a_unix_socket_is_refused() {
    let address = ServerAddress::Unix {
        path: "/tmp/never-used.sock".into(),
    };
    let options = {
        let mut o = ConnectOptions::default();
        o.tls = Some(
            TlsConfig::new(&{
                let mut o = TlsOptions::default();
                o.allow_invalid_certificates = true;
                o
            })
            .unwrap(),
        );
        o
    };
    let err = connect(&address, &options).await.unwrap_err();
    assert!(err.is_configuration(), "{err:?}");
}
