//! `--enable-test-commands` turns on configureFailPoint.

use bson::doc;
use mongopool_testkit::TestServer;

const COMMAND_NOT_FOUND: i32 = 59;

#[test]
fn fail_command_fails_the_next_ping_once() {
    let server = TestServer::builder()
        .test_commands(true)
        .start()
        .expect("start");
    server
        .command(
            "admin",
            doc! {
                "configureFailPoint": "failCommand",
                "mode": { "times": 1 },
                "data": { "failCommands": ["ping"], "errorCode": 91 },
            },
        )
        .expect("configureFailPoint");
    let err = server
        .command("admin", doc! { "ping": 1 })
        .expect_err("the fail point fires");
    assert_eq!(err.command_code(), Some(91), "{err}");
    server
        .command("admin", doc! { "ping": 1 })
        .expect("only once");
}

#[test]
fn without_the_flag_there_are_no_fail_points() {
    let server = TestServer::start().expect("start");
    let err = server
        .command(
            "admin",
            doc! { "configureFailPoint": "failCommand", "mode": "off" },
        )
        .expect_err("test commands are off");
    assert_eq!(err.command_code(), Some(COMMAND_NOT_FOUND), "{err}");
}
