//! The `mongopool` binary as a user runs it: arguments, exit codes, output; the ones that
//! need a server run against SecantusDB.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use mongopool_testkit::TestServer;

fn mongopool(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mongopool"));
    cmd.args(args)
        .env_remove("MONGODB_URI")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn version_and_help_state_the_defaults() {
    let out = run(&mut mongopool(&["--version"]));
    assert!(out.status.success());
    assert_eq!(
        text(&out.stdout).trim(),
        format!("mongopool {}", env!("CARGO_PKG_VERSION"))
    );

    let out = run(&mut mongopool(&["bench", "--help"]));
    assert!(out.status.success());
    let help = text(&out.stdout);
    for default in [
        "[default: 64]",
        "[default: 8]",
        "[default: ping]",
        "[env: MONGODB_URI]",
        "[default: mongodb://localhost:27017]",
    ] {
        assert!(help.contains(default), "no {default} in:\n{help}");
    }
}

#[test]
fn help_never_shows_the_uri_from_the_environment() {
    let out = run(mongopool(&["ping", "--help"]).env("MONGODB_URI", "mongodb://u:secret@h"));
    assert!(out.status.success());
    assert!(
        !text(&out.stdout).contains("secret"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn an_unknown_command_says_so() {
    let out = run(&mut mongopool(&["pnig"]));
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("unrecognized subcommand 'pnig'"), "{err}");
    assert!(err.contains("ping"), "suggests the near one: {err}");
}

#[test]
fn a_user_without_password_and_no_terminal_is_a_clear_error() {
    let out = run(&mut mongopool(&[
        "ping",
        "--uri",
        "mongodb://ann@127.0.0.1:1/",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("no password"), "{err}");
    assert!(err.contains("not a terminal"), "{err}");
}

#[test]
fn ping_run_command_and_logs_against_a_server() {
    let server = TestServer::start().expect("start SecantusDB");
    let uri = server.uri();

    // The URI from the environment, JSON out.
    let out = run(mongopool(&["ping", "--count", "2", "--json"]).env("MONGODB_URI", &uri));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        report["rtt_ms"].as_array().map(Vec::len),
        Some(2),
        "{report}"
    );
    assert!(report["max_wire_version"].as_i64() >= Some(6), "{report}");

    // The command document from stdin.
    let mut child = mongopool(&["run-command", "--uri", &uri, "--json", "--db", "test", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"insert": "cli", "documents": [{"_id": 7}]}"#)
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(reply["n"], 1, "{reply}");

    // A failing command: one line on stderr, exit 1.
    let out = run(&mut mongopool(&[
        "run-command",
        "--uri",
        &uri,
        r#"{"nosuchcommand": 1}"#,
    ]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim().lines().count(),
        1,
        "{}",
        text(&out.stderr)
    );

    // -vv turns on debug logs (the handshake's), on stderr only.
    let quiet = run(&mut mongopool(&["ping", "--uri", &uri]));
    assert!(quiet.stderr.is_empty(), "{}", text(&quiet.stderr));
    let loud = run(&mut mongopool(&["-vv", "ping", "--uri", &uri]));
    assert!(loud.status.success());
    assert!(
        text(&loud.stderr).contains("DEBUG"),
        "{}",
        text(&loud.stderr)
    );
}

#[test]
fn bench_prints_json_and_draws_both_curves() {
    let server = TestServer::start().expect("start SecantusDB");
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("bench.svg");
    let out = run(&mut mongopool(&[
        "bench",
        "--uri",
        &server.uri(),
        "--workload",
        "mixed",
        "--documents",
        "50",
        "--tasks",
        "4",
        "--pool-size",
        "2",
        "--warmup",
        "0.2",
        "--duration",
        "1.5",
        "--json",
        "--plot",
        svg.to_str().unwrap(),
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON only");
    let ops = report["operations"].as_u64().unwrap();
    assert!(ops > 0, "{report}");
    assert_eq!(report["errors"], 0, "{report}");
    let rate = report["ops_per_sec"].as_f64().unwrap();
    let seconds = report["seconds"].as_f64().unwrap();
    assert!((rate * seconds - ops as f64).abs() < 1.0, "{report}");
    let l = &report["latency_us"];
    assert!(l["p50"].as_u64() <= l["p99"].as_u64(), "{report}");
    assert!(l["p99"].as_u64() <= l["max"].as_u64(), "{report}");
    assert!(
        report["timeline"].as_array().unwrap().len() >= 4,
        "{report}"
    );
    assert!(report["pool"]["created"].as_u64().unwrap() <= 2, "{report}");

    let drawn = std::fs::read_to_string(&svg).expect("the plot was written");
    assert!(
        drawn.contains("p99") && drawn.contains("throughput"),
        "legends"
    );
    // One polyline per curve: p50, p99 and throughput.
    assert!(drawn.matches("<polyline").count() >= 3, "{drawn}");
}

#[test]
fn bench_counts_operations() {
    let server = TestServer::start().expect("start SecantusDB");
    let out = run(&mut mongopool(&[
        "bench",
        "--uri",
        &server.uri(),
        "--workload",
        "insert",
        "--tasks",
        "3",
        "--warmup",
        "0",
        "--count",
        "200",
        "--json",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["operations"], 200, "{report}");
    let count = run(&mut mongopool(&[
        "run-command",
        "--uri",
        &server.uri(),
        "--db",
        "mongopool_bench",
        "--json",
        r#"{"count": "bench"}"#,
    ]));
    let reply: serde_json::Value = serde_json::from_slice(&count.stdout).expect("JSON");
    assert_eq!(reply["n"], 200, "every counted insert landed: {reply}");
}

#[test]
fn topology_lists_the_discovered_server_with_its_type_and_pool() {
    // SecantusDB's default is a one-node replica set named "secantus".
    let server = TestServer::start().expect("start SecantusDB");
    let out = run(&mut mongopool(&[
        "--json",
        "topology",
        "--uri",
        &server.uri(),
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["topology_type"], "ReplicaSetWithPrimary", "{report}");
    assert_eq!(report["set_name"], "secantus", "{report}");
    let servers = report["servers"].as_array().expect("servers");
    assert_eq!(servers.len(), 1, "{report}");
    assert_eq!(servers[0]["type"], "RSPrimary", "{report}");
    assert!(servers[0]["rtt_ms"].as_f64().is_some(), "{report}");
    assert!(servers[0]["pool"]["idle"].as_u64().is_some(), "{report}");

    let plain = run(&mut mongopool(&["topology", "--uri", &server.uri()]));
    assert!(plain.status.success(), "{}", text(&plain.stderr));
    let plain = text(&plain.stdout);
    assert!(
        plain.contains("RSPrimary") && plain.contains("set secantus"),
        "{plain}"
    );
}

#[test]
fn ping_with_a_read_preference_no_server_matches_times_out_naming_the_server() {
    let server = TestServer::start().expect("start SecantusDB");
    let uri = format!("{}/?serverSelectionTimeoutMS=1500", server.uri());
    let out = run(&mut mongopool(&[
        "ping",
        "--uri",
        &uri,
        "--read-preference",
        "secondary",
    ]));
    assert!(!out.status.success(), "a one-node set has no secondary");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("server selection"), "{stderr}");
    assert!(
        stderr.contains(&server.uri()["mongodb://".len()..]),
        "{stderr}"
    );
    assert!(stderr.contains("RSPrimary"), "{stderr}");

    // The same server answers a ping that may go to the primary.
    let out = run(&mut mongopool(&[
        "ping",
        "--uri",
        &uri,
        "--read-preference",
        "primaryPreferred",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn bench_reads_go_where_read_preference_says() {
    let server = TestServer::start().expect("start SecantusDB");
    // A one-node replica set: secondaryPreferred reads are served by the primary...
    let out = run(&mut mongopool(&[
        "bench",
        "--uri",
        &server.uri(),
        "--read-preference",
        "secondaryPreferred",
        "--warmup",
        "0",
        "--count",
        "20",
        "--json",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON only");
    assert_eq!(report["operations"], 20, "{report}");
    // ...and a secondary read finds no server: the selection error, not a hang.
    let uri = format!("{}/?serverSelectionTimeoutMS=300", server.uri());
    let out = run(&mut mongopool(&[
        "bench",
        "--uri",
        &uri,
        "--read-preference",
        "secondary",
        "--warmup",
        "0",
        "--count",
        "3",
    ]));
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ReadPreference secondary"), "{stderr}");
    // A mode that does not exist is refused by the argument parser.
    let out = run(&mut mongopool(&["bench", "--read-preference", "closest"]));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("closest"),
        "{}",
        text(&out.stderr)
    );
}
