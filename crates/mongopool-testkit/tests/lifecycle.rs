//! Stop, restart on the same port and storage, and cleanup on drop.

mod support;

use std::io::Write;
use std::net::TcpStream;

use bson::doc;
use mongopool_testkit::{Error, TestServer};
use support::{is_master_op_query, is_ok, read_op_reply};

#[test]
fn stop_then_restart_keeps_port_and_storage() {
    let mut server = TestServer::builder()
        .extra_args(["--sync-on-commit"])
        .start()
        .expect("start");
    let port = server.port();
    let first_pid = server.pid().expect("running");
    assert!(server.storage_path().is_dir());
    server
        .command(
            "test",
            doc! { "insert": "kept", "documents": [{ "_id": 1 }] },
        )
        .expect("insert");

    server.stop().expect("stop");
    assert!(!server.is_running());
    assert_eq!(server.pid(), None);
    assert!(
        !process_exists(first_pid),
        "pid {first_pid} still exists after stop"
    );
    assert!(
        TcpStream::connect(server.address()).is_err(),
        "port still accepts"
    );
    assert!(matches!(
        server.command("admin", doc! { "ping": 1 }),
        Err(Error::NotRunning)
    ));
    server.stop().expect("stopping twice is fine");

    server.restart().expect("restart");
    assert_eq!(server.port(), port);
    let second_pid = server.pid().expect("running again");
    assert_ne!(second_pid, first_pid);

    let mut stream = TcpStream::connect(server.address()).expect("connect after restart");
    stream.write_all(&is_master_op_query(1)).unwrap();
    assert!(is_ok(&read_op_reply(&mut stream, 1)));

    let found = server
        .command("test", doc! { "find": "kept", "filter": { "_id": 1 } })
        .expect("find");
    let batch = found
        .get_document("cursor")
        .and_then(|cursor| cursor.get_array("firstBatch"))
        .expect("firstBatch");
    assert_eq!(
        batch.len(),
        1,
        "document written before the restart: {found}"
    );

    let log = std::fs::read_to_string(server.log_path()).expect("log");
    assert_eq!(
        log.matches("=== mongopool-testkit: starting").count(),
        2,
        "{log}"
    );
    assert_eq!(log.matches("listening on").count(), 2, "{log}");
}

#[test]
fn restart_of_a_running_server_replaces_the_process() {
    let mut server = TestServer::start().expect("start");
    let first_pid = server.pid().unwrap();
    server.restart().expect("restart");
    assert!(!process_exists(first_pid));
    assert!(server.command("admin", doc! { "ping": 1 }).is_ok());
}

#[test]
fn drop_kills_the_process_and_removes_the_directory() {
    let server = TestServer::start().expect("start");
    let pid = server.pid().unwrap();
    let temp_dir = server.temp_dir().to_owned();
    assert!(process_exists(pid));
    assert!(server.log_path().starts_with(&temp_dir));
    assert!(server.storage_path().starts_with(&temp_dir));

    drop(server);
    assert!(!process_exists(pid), "pid {pid} survived drop");
    assert!(!temp_dir.exists(), "{} survived drop", temp_dir.display());
}

#[test]
fn drop_during_a_panic_still_kills_the_process() {
    let pid = std::panic::catch_unwind(|| {
        let server = TestServer::start().expect("start");
        let pid = server.pid().unwrap();
        std::panic::panic_any(pid);
    })
    .expect_err("the closure panics")
    .downcast::<u32>()
    .expect("the panic carries the pid");
    assert!(!process_exists(*pid), "pid {pid} survived the panic");
}

#[test]
fn bad_arguments_fail_fast_with_the_server_message() {
    let err = TestServer::builder()
        .extra_args(["--no-such-flag"])
        .start()
        .expect_err("the server rejects the flag");
    match &err {
        Error::Exited { status, log_tail } => {
            assert!(!status.success());
            assert!(
                log_tail.contains("unknown argument: --no-such-flag"),
                "{log_tail}"
            );
        }
        other => panic!("expected Exited, got {other:?}"),
    }
}

#[test]
fn missing_binary_is_a_clear_error() {
    let err = TestServer::builder()
        .binary("/nonexistent/secantusd-rs")
        .start()
        .expect_err("no such binary");
    assert!(
        err.to_string().contains("/nonexistent/secantusd-rs"),
        "{err}"
    );
}

/// Whether a process with this pid exists (Linux: it has a /proc entry; a reaped
/// process has none).
fn process_exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}
