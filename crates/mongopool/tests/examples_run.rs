//! Every example in `examples/` runs against SecantusDB: each binary is started with
//! `MONGODB_URI` pointing at a test server (with TLS and a SCRAM user where the
//! example needs them) and must exit 0 and print what it promises.
//!
//! The binaries are the ones cargo builds next to this test (`cargo test -p mongopool
//! --all-features` builds them; `scripts/test` does); a missing one fails with the
//! command that builds it.

mod server_support;

use std::path::PathBuf;
use std::process::Command;

use mongopool_testkit::{SeedUser, TestServer};
use server_support::pki::{Pki, SERVER_NAME};

fn example(name: &str) -> PathBuf {
    // target/<profile>/deps/examples_run-<hash> -> target/<profile>/examples/<name>
    let exe = std::env::current_exe().expect("the test's path");
    let path = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>")
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built: run `cargo build -p mongopool --all-features --examples` first",
        path.display()
    );
    path
}

/// Runs an example with `env`, asserts exit 0, returns its stdout.
fn run(name: &str, env: &[(&str, &str)]) -> String {
    let output = Command::new(example(name))
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| panic!("starting {name}: {e}"));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{name} exited with {}\nstdout:\n{stdout}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn has(name: &str, stdout: &str, line: &str) {
    assert!(
        stdout.contains(line),
        "{name} did not print {line:?}:\n{stdout}"
    );
}

#[test]
fn the_plain_examples_run_against_secantusdb() {
    let server = TestServer::start().expect("start secantusd-rs");
    let uri = server.uri();
    let env = [("MONGODB_URI", uri.as_str())];

    let out = run("pool_command", &env);
    has("pool_command", &out, "ping: ok = 1");
    has("pool_command", &out, "unknown command: code Some(59)");
    has("pool_command", &out, "pool: 1 connection(s), 0 in use");

    let out = run("typed_replies", &env);
    has("typed_replies", &out, "hello: maxWireVersion 27");
    has("typed_replies", &out, "buildInfo: version ");
    has("typed_replies", &out, "the reply cannot be read as");

    let out = run("events_and_stats", &env);
    has(
        "events_and_stats",
        &out,
        "event ConnectionCheckOutStarted: 100",
    );
    has("events_and_stats", &out, "event ConnectionCheckedIn: 100");
    has("events_and_stats", &out, "event PoolReady: 1");
    has("events_and_stats", &out, "in use 0");

    let out = run("blocking", &env);
    has("blocking", &out, "ping: ok = 1");
    has("blocking", &out, "4 threads: 100 pings");
    has("blocking", &out, "server version ");
}

#[cfg(feature = "metrics")]
#[test]
fn the_metrics_example_runs_against_secantusdb() {
    let server = TestServer::start().expect("start secantusd-rs");
    let uri = server.uri();
    let out = run(
        "metrics",
        &[
            ("MONGODB_URI", uri.as_str()),
            ("METRICS_ADDR", "127.0.0.1:0"),
            ("METRICS_HOLD_SECS", "0"),
        ],
    );
    has("metrics", &out, "800 pings done");
}

#[test]
fn the_tls_scram_example_logs_in_over_tls() {
    let pki = Pki::generate();
    let server = TestServer::builder()
        .auth(true)
        .tls(pki.server_files(false))
        .user(SeedUser::scram("example-user", "example-pw").mechanisms(["SCRAM-SHA-256"]))
        .start()
        .expect("start secantusd-rs with TLS and --auth");
    let uri = format!(
        "mongodb://example-user:example-pw@{SERVER_NAME}:{}/?directConnection=true&tls=true&tlsCAFile={}&authMechanism=SCRAM-SHA-256",
        server.port(),
        pki.ca_file().display()
    );
    // directConnection: the server's certificate names localhost, and a replica set
    // member is known by the name the server gives itself (127.0.0.1).
    let out = run("tls_scram", &[("MONGODB_URI", uri.as_str())]);
    has("tls_scram", &out, "tls: true");
    has("tls_scram", &out, "logged in as example-user@admin");
}
