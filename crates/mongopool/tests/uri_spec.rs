//! Runs the spec tests of the connection string, URI options and authentication
//! (legacy connection string) specs against `ConnectionString::parse`.
//!
//! Reads every `.json` file under `tests/spec/connection-string`, `tests/spec/uri-options`
//! and `tests/spec/auth` (other spec suites live beside them) and, when `URI_SPEC_DIR`
//! is set, under that directory too. Prints one line per test case (`passed`, `failed: <why>` or
//! `skipped: <reason>`) and totals, and fails on any failed case and on any file or
//! field it does not understand.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use bson::{Bson, Document, RawDocumentBuf};
use mongopool::Acknowledgment;
use mongopool::{ConnectionString, ServerAddress};
use serde_json::{json, Map, Value};

/// A case we do not run as written, with the option it is about and why. A skip is
/// checked (see [`SkipCheck`]), so a skip that stops being true fails.
struct Skip {
    file: &'static str,
    description: &'static str,
    option: &'static str,
    reason: &'static str,
    check: SkipCheck,
}

/// What must hold for a skip to stand.
enum SkipCheck {
    /// The string parses and its only warnings are about the skip's option.
    WarnsAboutOption,
    /// The string is refused (the case expects it to be accepted).
    Refused,
}

const SKIPS: &[Skip] = &[
    Skip {
        file: "tls-options.json",
        description: "tlsDisableCertificateRevocationCheck can be set to false",
        option: "tlsDisableCertificateRevocationCheck",
        reason: "tlsDisableCertificateRevocationCheck=false asks for revocation checks, which \
                 mongopool does not do (rustls without OCSP or CRLs); it parses the option but \
                 warns that false has no effect, and the test expects no warning",
        check: SkipCheck::WarnsAboutOption,
    },
    Skip {
        file: "tls-options.json",
        description: "tlsDisableOCSPEndpointCheck can be set to false",
        option: "tlsDisableOCSPEndpointCheck",
        reason: "tlsDisableOCSPEndpointCheck=false allows contacting OCSP responders, which \
                 mongopool never does; it parses the option but warns that false has no \
                 effect, and the test expects no warning",
        check: SkipCheck::WarnsAboutOption,
    },
    Skip {
        file: "connection-string.json",
        description: "should use username and password if specified (MONGODB-AWS)",
        option: "authMechanism=MONGODB-AWS with user info",
        reason: "outdated case: auth.md (changelog 2025-09-30, 'Obtaining Credentials') says a \
                 driver MUST raise an error when MONGODB-AWS credentials are given in the URI, \
                 as this file's case 'should throw an exception if username and password \
                 provided (MONGODB-AWS)' also expects; mongopool follows the spec text",
        check: SkipCheck::Refused,
    },
    Skip {
        file: "connection-string.json",
        description: "should use username, password and session token if specified (MONGODB-AWS)",
        option: "authMechanism=MONGODB-AWS with user info and AWS_SESSION_TOKEN",
        reason: "outdated case: auth.md (changelog 2025-09-30, 'Obtaining Credentials') says a \
                 driver MUST raise an error when MONGODB-AWS credentials are given in the URI, \
                 as this file's cases 'should throw an exception if username and password \
                 provided' and 'if AWS_SESSION_TOKEN provided (MONGODB-AWS)' also expect; \
                 mongopool follows the spec text",
        check: SkipCheck::Refused,
    },
];

/// Fields of a connection-string or uri-options test case.
const URI_CASE_FIELDS: &[&str] = &[
    "description",
    "uri",
    "valid",
    "warning",
    "hosts",
    "auth",
    "options",
];
/// Fields of an auth (legacy) test case.
const AUTH_CASE_FIELDS: &[&str] = &["description", "uri", "valid", "credential"];

enum Outcome {
    Passed,
    Failed(String),
    Skipped(String),
}

#[derive(Default)]
struct Totals {
    passed: usize,
    skipped: usize,
    failed: usize,
}

fn main() -> ExitCode {
    if std::env::args().any(|a| a == "--list") {
        // `cargo test -- --list`: this runner is one test.
        println!("uri_spec: test");
        return ExitCode::SUCCESS;
    }
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/spec");
    let mut roots: Vec<PathBuf> = ["connection-string", "uri-options", "auth"]
        .iter()
        .map(|suite| spec.join(suite))
        .collect();
    if let Some(extra) = std::env::var_os("URI_SPEC_DIR") {
        roots.push(PathBuf::from(extra));
    }
    let mut totals = Totals::default();
    for root in &roots {
        let mut files = Vec::new();
        if let Err(e) = collect_json(root, &mut files) {
            println!("{}: failed: cannot list: {e}", root.display());
            totals.failed += 1;
            continue;
        }
        if files.is_empty() {
            println!("{}: failed: no .json files", root.display());
            totals.failed += 1;
        }
        files.sort();
        for file in files {
            let name = file
                .strip_prefix(root)
                .unwrap_or(&file)
                .display()
                .to_string();
            run_file(&file, &name, &mut totals);
        }
    }
    println!(
        "uri spec: {} passed, {} skipped, {} failed",
        totals.passed, totals.skipped, totals.failed
    );
    if totals.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn run_file(path: &Path, name: &str, totals: &mut Totals) {
    let cases = match load_cases(path) {
        Ok(cases) => cases,
        Err(why) => {
            println!("{name}: failed: {why}");
            totals.failed += 1;
            return;
        }
    };
    let file_name = path
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    for (i, case) in cases.iter().enumerate() {
        let description = case
            .get("description")
            .and_then(Value::as_str)
            .map_or_else(|| format!("case {i}"), str::to_owned);
        let outcome = match case.as_object() {
            Some(case) => run_case(file_name, &description, case),
            None => Outcome::Failed("a test case is not an object".into()),
        };
        match outcome {
            Outcome::Passed => {
                totals.passed += 1;
                println!("{name}: {description}: passed");
            }
            Outcome::Skipped(reason) => {
                totals.skipped += 1;
                println!("{name}: {description}: skipped: {reason}");
            }
            Outcome::Failed(why) => {
                totals.failed += 1;
                println!("{name}: {description}: failed: {why}");
            }
        }
    }
}

fn load_cases(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))?;
    let top = json.as_object().ok_or("the file is not a JSON object")?;
    if let Some(unknown) = top.keys().find(|k| *k != "tests") {
        return Err(format!("unknown top-level field {unknown:?}"));
    }
    match top.get("tests") {
        Some(Value::Array(cases)) => Ok(cases.clone()),
        _ => Err("no \"tests\" array".into()),
    }
}

fn run_case(file: &str, description: &str, case: &Map<String, Value>) -> Outcome {
    match check_case(file, description, case) {
        Ok(outcome) => outcome,
        Err(why) => Outcome::Failed(why),
    }
}

fn check_case(file: &str, description: &str, case: &Map<String, Value>) -> Result<Outcome, String> {
    let is_auth_case = case.contains_key("credential");
    let fields = if is_auth_case {
        AUTH_CASE_FIELDS
    } else {
        URI_CASE_FIELDS
    };
    if let Some(unknown) = case.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(format!("unknown field {unknown:?}"));
    }
    let uri = case
        .get("uri")
        .and_then(Value::as_str)
        .ok_or("no \"uri\" string")?;
    let valid = case
        .get("valid")
        .and_then(Value::as_bool)
        .ok_or("no \"valid\" boolean")?;
    if let Some(skip) = SKIPS
        .iter()
        .find(|s| s.file == file && s.description == description)
    {
        return check_skip(skip, uri);
    }
    let cs = match (ConnectionString::parse(uri), valid) {
        (Err(_), false) => return Ok(Outcome::Passed),
        (Ok(_), false) => return Err("parsed, but the test expects an error".into()),
        (Err(e), true) => return Err(format!("refused: {e}")),
        (Ok(cs), true) => cs,
    };
    match case.get("warning") {
        None | Some(Value::Null) => {}
        Some(Value::Bool(expected)) => {
            if *expected == cs.warnings().is_empty() {
                let got: Vec<String> = cs.warnings().iter().map(ToString::to_string).collect();
                return Err(format!("expected warning={expected}, got {got:?}"));
            }
        }
        Some(other) => return Err(format!("\"warning\" is not a boolean: {other}")),
    }
    if let Some(hosts) = case.get("hosts").filter(|h| !h.is_null()) {
        check_hosts(&cs, hosts)?;
    }
    if let Some(auth) = case.get("auth").filter(|a| !a.is_null()) {
        check_auth(&cs, auth)?;
    }
    if let Some(options) = case.get("options").filter(|o| !o.is_null()) {
        check_options(&cs, options)?;
    }
    if is_auth_case {
        check_credential(&cs, &case["credential"])?;
    }
    Ok(Outcome::Passed)
}

fn check_skip(skip: &Skip, uri: &str) -> Result<Outcome, String> {
    let parsed = ConnectionString::parse(uri);
    match (&skip.check, parsed) {
        (SkipCheck::WarnsAboutOption, Ok(cs)) => {
            let warnings = cs.warnings();
            if warnings.is_empty() || warnings.iter().any(|w| w.option() != Some(skip.option)) {
                return Err(format!(
                    "skip no longer accurate: expected only warnings about {}, got {:?}",
                    skip.option,
                    warnings.iter().map(ToString::to_string).collect::<Vec<_>>()
                ));
            }
        }
        (SkipCheck::WarnsAboutOption, Err(e)) => {
            return Err(format!("skip no longer accurate: refused: {e}"))
        }
        (SkipCheck::Refused, Ok(_)) => {
            return Err("skip no longer accurate: the string is accepted".into())
        }
        (SkipCheck::Refused, Err(_)) => {}
    }
    Ok(Outcome::Skipped(format!(
        "{}: {}",
        skip.option, skip.reason
    )))
}

fn check_hosts(cs: &ConnectionString, expected: &Value) -> Result<(), String> {
    let expected = expected.as_array().ok_or("\"hosts\" is not an array")?;
    let actual = cs.hosts();
    if expected.len() != actual.len() {
        return Err(format!("expected {} hosts, got {actual:?}", expected.len()));
    }
    for (want, got) in expected.iter().zip(actual) {
        let want = want.as_object().ok_or("a host is not an object")?;
        if let Some(unknown) = want
            .keys()
            .find(|k| !["type", "host", "port"].contains(&k.as_str()))
        {
            return Err(format!("unknown host field {unknown:?}"));
        }
        let (kind, host, port) = describe_host(got);
        let got_json = json!({"type": kind, "host": host, "port": port});
        for field in ["type", "host", "port"] {
            match want.get(field) {
                // A null port means "no assertion": a driver may fill in 27017.
                None | Some(Value::Null) if field != "host" => {}
                Some(w) if *w == got_json[field] => {}
                other => {
                    return Err(format!("host: expected {field} {other:?}, got {got_json}"));
                }
            }
        }
    }
    Ok(())
}

fn describe_host(address: &ServerAddress) -> (&'static str, String, Value) {
    match address {
        ServerAddress::Unix { path } => ("unix", path.display().to_string(), Value::Null),
        ServerAddress::Tcp { host, port } => {
            let kind = if host.contains(':') {
                "ip_literal"
            } else if host.parse::<Ipv4Addr>().is_ok() {
                "ipv4"
            } else {
                "hostname"
            };
            (kind, host.clone(), json!(port))
        }
    }
}

fn check_auth(cs: &ConnectionString, expected: &Value) -> Result<(), String> {
    let expected = expected.as_object().ok_or("\"auth\" is not an object")?;
    let credential = cs.credential();
    for (field, want) in expected {
        let got = match field.as_str() {
            "username" => json!(credential.and_then(|c| c.username.as_deref())),
            "password" => json!(credential.and_then(|c| c.password.as_deref())),
            "db" => json!(cs.default_database()),
            other => return Err(format!("unknown auth field {other:?}")),
        };
        if *want != got {
            return Err(format!("auth {field}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

fn check_options(cs: &ConnectionString, expected: &Value) -> Result<(), String> {
    let expected = expected.as_object().ok_or("\"options\" is not an object")?;
    for (key, want) in expected {
        let got = option_value(cs, &key.to_ascii_lowercase())?;
        if !json_equal(want, &got) {
            return Err(format!("option {key}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

fn credential_value(cs: &ConnectionString, field: &str) -> Value {
    let Some(c) = cs.credential() else {
        return Value::Null;
    };
    match field {
        "mechanism" => json!(c.mechanism.map(|m| m.name())),
        "properties" => c
            .mechanism_properties
            .as_ref()
            .map_or(Value::Null, document_json),
        _ => Value::Null,
    }
}

/// Mechanism properties as JSON (their values are strings or booleans).
fn document_json(doc: &Document) -> Value {
    let map = doc
        .iter()
        .map(|(k, v)| {
            let v = match v {
                Bson::String(s) => json!(s),
                Bson::Boolean(b) => json!(b),
                other => json!(other.to_string()),
            };
            (k.clone(), v)
        })
        .collect();
    Value::Object(map)
}

/// A tag set as JSON (its values are strings).
fn raw_document_json(doc: &RawDocumentBuf) -> Value {
    let map = doc
        .iter()
        .map(|item| match item {
            Ok((k, v)) => (k.to_string(), json!(v.as_str())),
            Err(e) => ("<invalid>".to_string(), json!(e.to_string())),
        })
        .collect();
    Value::Object(map)
}

fn ms(d: Option<Duration>) -> Value {
    json!(d.map(|d| d.as_millis() as u64))
}

/// The parsed value of an option, as the tests write it. Fails for an option the
/// runner does not know, so new upstream options are noticed.
fn option_value(cs: &ConnectionString, key: &str) -> Result<Value, String> {
    let o = cs.options();
    let rp = o.read_preference.as_ref();
    let proxy = o.proxy.as_ref();
    let path = |p: &Option<PathBuf>| json!(p.as_ref().map(|p| p.display().to_string()));
    Ok(match key {
        "appname" => json!(o.app_name),
        "authmechanism" => credential_value(cs, "mechanism"),
        "authmechanismproperties" => credential_value(cs, "properties"),
        "authsource" => json!(o.auth_source),
        "compressors" => json!(o
            .compressors
            .as_ref()
            .map(|c| c.iter().map(|c| c.name()).collect::<Vec<_>>())),
        "zlibcompressionlevel" => json!(o.zlib_compression_level),
        "connecttimeoutms" => ms(o.connect_timeout),
        "sockettimeoutms" => ms(o.socket_timeout),
        "timeoutms" => ms(o.timeout),
        "serverselectiontimeoutms" => ms(o.server_selection_timeout),
        "serverselectiontryonce" => json!(o.server_selection_try_once),
        "heartbeatfrequencyms" => ms(o.heartbeat_frequency),
        "localthresholdms" => ms(o.local_threshold),
        "servermonitoringmode" => json!(o.server_monitoring_mode.map(|m| m.name())),
        "maxpoolsize" => json!(o.max_pool_size),
        "minpoolsize" => json!(o.min_pool_size),
        "maxidletimems" => ms(o.max_idle_time),
        "maxconnecting" => json!(o.max_connecting),
        "waitqueuetimeoutms" => ms(o.wait_queue_timeout),
        "directconnection" => json!(o.direct_connection),
        "loadbalanced" => json!(o.load_balanced),
        "replicaset" => json!(o.replica_set),
        "readpreference" => json!(rp.map(|r| r.mode.name())),
        "readpreferencetags" => {
            json!(rp.map(|r| r.tag_sets.iter().map(raw_document_json).collect::<Vec<_>>()))
        }
        "maxstalenessseconds" => {
            json!(rp.map(|r| r.max_staleness.map_or(-1, |s| s.as_secs() as i64)))
        }
        "readconcernlevel" => json!(o.read_concern_level),
        "w" => match &o.w {
            None => Value::Null,
            Some(Acknowledgment::Nodes(n)) => json!(n),
            Some(Acknowledgment::Majority) => json!("majority"),
            Some(Acknowledgment::Tag(t)) => json!(t),
        },
        "wtimeoutms" => ms(o.w_timeout),
        "journal" => json!(o.journal),
        "retryreads" => json!(o.retry_reads),
        "retrywrites" => json!(o.retry_writes),
        "maxadaptiveretries" => json!(o.max_adaptive_retries),
        "enableoverloadretargeting" => json!(o.enable_overload_retargeting),
        "tls" | "ssl" => json!(o.tls),
        "tlscafile" => path(&o.tls_ca_file),
        "tlscertificatekeyfile" => path(&o.tls_certificate_key_file),
        "tlscertificatekeyfilepassword" => json!(o.tls_certificate_key_file_password),
        "tlsallowinvalidcertificates" => json!(o.tls_allow_invalid_certificates),
        "tlsallowinvalidhostnames" => json!(o.tls_allow_invalid_hostnames),
        "tlsinsecure" => json!(o.tls_insecure),
        "tlsdisableocspendpointcheck" => json!(o.tls_disable_ocsp_endpoint_check),
        "tlsdisablecertificaterevocationcheck" => {
            json!(o.tls_disable_certificate_revocation_check)
        }
        "srvservicename" => json!(o.srv_service_name),
        "srvmaxhosts" => json!(o.srv_max_hosts),
        "proxyhost" => json!(proxy.map(|p| &p.host)),
        "proxyport" => json!(proxy.map(|p| p.port)),
        "proxyusername" => json!(proxy.and_then(|p| p.username.as_deref())),
        "proxypassword" => json!(proxy.and_then(|p| p.password.as_deref())),
        other => return Err(format!("the runner does not know option {other:?}")),
    })
}

fn check_credential(cs: &ConnectionString, expected: &Value) -> Result<(), String> {
    let Some(expected) = expected.as_object() else {
        return match (expected, cs.credential()) {
            (Value::Null, None) => Ok(()),
            (Value::Null, Some(c)) => Err(format!("expected no credential, got {c:?}")),
            (other, _) => Err(format!(
                "\"credential\" is neither null nor an object: {other}"
            )),
        };
    };
    let c = cs.credential().ok_or("expected a credential, got none")?;
    for (field, want) in expected {
        let got = match field.as_str() {
            "username" => json!(c.username),
            "password" => json!(c.password),
            "source" => json!(c.resolved_source()),
            "mechanism" => json!(c.mechanism.map(|m| m.name())),
            "mechanism_properties" => {
                let props = c
                    .mechanism_properties
                    .as_ref()
                    .filter(|d| !d.is_empty())
                    .map(document_json);
                match (want, props) {
                    (Value::Null, None) => continue,
                    (Value::Object(want), Some(Value::Object(got))) => {
                        // A subset: other properties may be present.
                        let mut missing = String::new();
                        for (k, v) in want {
                            if got.get(k) != Some(v) {
                                let _ = write!(missing, " {k}={v}");
                            }
                        }
                        if missing.is_empty() {
                            continue;
                        }
                        return Err(format!(
                            "mechanism_properties: missing{missing}, got {got:?}"
                        ));
                    }
                    (want, got) => {
                        return Err(format!(
                            "mechanism_properties: expected {want}, got {got:?}"
                        ))
                    }
                }
            }
            other => return Err(format!("unknown credential field {other:?}")),
        };
        if *want != got {
            return Err(format!("credential {field}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

/// JSON equality where numbers compare by value (`5` equals `5.0`) and objects ignore
/// key order.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| json_equal(x, y))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}
