//! Users created before the server starts with its real options.

use bson::doc;
use mongopool_testkit::{SeedUser, TestServer};

const UNAUTHORIZED: i32 = 13;

#[test]
fn seeded_users_exist_in_the_storage() {
    let server = TestServer::builder()
        .user(SeedUser::scram("alice", "secret"))
        .user(SeedUser::scram("bob", "pw").mechanisms(["SCRAM-SHA-1"]))
        .user(SeedUser::x509("O=mongopool,CN=client"))
        .start()
        .expect("start");

    let users_info = |db: &str| {
        server
            .command(db, doc! { "usersInfo": 1 })
            .expect("usersInfo")
            .get_array("users")
            .expect("users")
            .iter()
            .map(|user| {
                let user = user.as_document().expect("user document");
                user.get_str("user").expect("user name").to_owned()
            })
            .collect::<Vec<_>>()
    };
    let mut admin_users = users_info("admin");
    admin_users.sort();
    assert_eq!(admin_users, ["alice", "bob"]);
    assert_eq!(users_info("$external"), ["O=mongopool,CN=client"]);
}

#[test]
fn auth_is_enforced_and_the_localhost_exception_is_closed() {
    let server = TestServer::builder()
        .auth(true)
        .user(SeedUser::scram("alice", "secret"))
        .start()
        .expect("start");

    // The handshake and ping need no login.
    server.command("admin", doc! { "ping": 1 }).expect("ping");
    let err = server
        .command("admin", doc! { "listDatabases": 1 })
        .expect_err("listDatabases needs a login");
    assert_eq!(err.command_code(), Some(UNAUTHORIZED), "{err}");
    // A user exists, so an anonymous createUser is refused.
    let err = server
        .command(
            "admin",
            doc! { "createUser": "mallory", "pwd": "x", "roles": [] },
        )
        .expect_err("the localhost exception is closed");
    assert_eq!(err.command_code(), Some(UNAUTHORIZED), "{err}");
}

#[test]
fn without_seed_users_the_localhost_exception_is_open() {
    let server = TestServer::builder().auth(true).start().expect("start");
    server
        .command(
            "admin",
            doc! { "createUser": "first", "pwd": "pw", "roles": ["root"] },
        )
        .expect("the first user may be created anonymously");
    let err = server
        .command(
            "admin",
            doc! { "createUser": "second", "pwd": "pw", "roles": ["root"] },
        )
        .expect_err("only the first");
    assert_eq!(err.command_code(), Some(UNAUTHORIZED), "{err}");
}
