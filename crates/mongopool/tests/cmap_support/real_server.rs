//! The SecantusDB server integration-style files run against: started once per run with
//! test commands enabled, probed for what its fail point does, and told to turn each
//! file's fail point on before the file and off after it.

use bson::{doc, Bson, Document};
use mongopool::ServerAddress;
use mongopool_testkit::{locate_secantusd, TestServer};
use serde_json::{Map, Value};

use super::fail_point_support::FailPointSupport;
use super::format::{RunOn, SpecFile};

pub struct RealServer {
    server: TestServer,
    /// From `buildInfo`: the MongoDB version it claims, e.g. "8.2.11".
    version: String,
    /// From `buildInfo`: its own version.
    secantus_version: String,
    support: FailPointSupport,
}

/// A version as `major.minor.patch` numbers; missing parts are 0, so that "4.4" is
/// "4.4.0".
fn version_numbers(text: &str) -> Result<[u64; 3], String> {
    let mut numbers = [0u64; 3];
    let mut parts = text.split(['.', '-']);
    for n in &mut numbers {
        match parts.next() {
            None => break,
            Some(part) => {
                *n = part
                    .parse()
                    .map_err(|_| format!("version {text:?} is not numeric"))?;
            }
        }
    }
    Ok(numbers)
}

/// The file's JSON as BSON the way drivers read the spec files (relaxed extended JSON:
/// integers that fit are int32).
fn to_bson(value: &Value) -> Result<Bson, String> {
    Ok(match value {
        Value::Null => Bson::Null,
        Value::Bool(b) => Bson::Boolean(*b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i32::try_from(i).map_or(Bson::Int64(i), Bson::Int32),
            (None, Some(f)) => Bson::Double(f),
            (None, None) => return Err(format!("number {n} does not fit")),
        },
        Value::String(s) => Bson::String(s.clone()),
        Value::Array(items) => Bson::Array(items.iter().map(to_bson).collect::<Result<_, _>>()?),
        Value::Object(m) => Bson::Document(to_document(m)?),
    })
}

fn to_document(m: &Map<String, Value>) -> Result<Document, String> {
    m.iter()
        .map(|(k, v)| Ok((k.clone(), to_bson(v)?)))
        .collect()
}

impl RealServer {
    /// Starts and probes the server; `Err` says why integration files cannot use one.
    pub fn start() -> Result<RealServer, String> {
        let binary = locate_secantusd().map_err(|e| format!("no SecantusDB binary ({e})"))?;
        let server = TestServer::builder()
            .binary(binary)
            .test_commands(true)
            .start()
            .map_err(|e| format!("SecantusDB did not start: {e}"))?;
        let info = server
            .command("admin", doc! {"buildInfo": 1})
            .map_err(|e| format!("SecantusDB refused buildInfo: {e}"))?;
        let version = info
            .get_str("version")
            .map_err(|e| format!("SecantusDB's buildInfo has no version: {e}"))?
            .to_string();
        version_numbers(&version)?;
        let secantus_version = info
            .get_str("secantusVersion")
            .unwrap_or("(unknown)")
            .to_string();
        let support = FailPointSupport::probe(&server)?;
        Ok(RealServer {
            server,
            version,
            secantus_version,
            support,
        })
    }

    /// The header lines the runner prints about the server.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "SecantusDB {} (server version {}) on {}, test commands on",
            self.secantus_version,
            self.version,
            self.server.address()
        )];
        lines.extend(
            self.support
                .describe()
                .into_iter()
                .map(|l| format!("  failCommand {l}")),
        );
        lines
    }

    pub fn address(&self) -> ServerAddress {
        ServerAddress::tcp(self.server.host(), self.server.port())
    }

    /// Why `file` cannot run on this server, if it cannot: outside its `runOn`, or a
    /// fail point feature that does not work as the file needs.
    pub fn unsuitable_for(&self, file: &SpecFile) -> Result<Option<String>, String> {
        if !file.run_on.is_empty() {
            let have = version_numbers(&self.version)?;
            let mut fits = false;
            for r in &file.run_on {
                fits |= self.within(have, r)?;
            }
            if !fits {
                let wanted: Vec<String> = file.run_on.iter().map(RunOn::describe).collect();
                return Ok(Some(format!(
                    "SecantusDB reports server version {}, outside runOn {}",
                    self.version,
                    wanted.join(" or ")
                )));
            }
        }
        Ok(file
            .fail_point
            .as_ref()
            .and_then(|fp| self.support.unsupported(fp)))
    }

    fn within(&self, have: [u64; 3], r: &RunOn) -> Result<bool, String> {
        if let Some(min) = &r.min_server_version {
            if have < version_numbers(min)? {
                return Ok(false);
            }
        }
        if let Some(max) = &r.max_server_version {
            if have > version_numbers(max)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Runs the file's `configureFailPoint` command as written.
    pub fn enable_fail_point(&self, raw: &Map<String, Value>) -> Result<(), String> {
        let command = to_document(raw)?;
        self.server
            .command("admin", command)
            .map(|_| ())
            .map_err(|e| format!("SecantusDB refused the file's failPoint: {e}"))
    }

    pub fn disable_fail_point(&self) -> Result<(), String> {
        self.server
            .command(
                "admin",
                doc! {"configureFailPoint": "failCommand", "mode": "off"},
            )
            .map(|_| ())
            .map_err(|e| format!("SecantusDB did not turn the fail point off: {e}"))
    }
}
