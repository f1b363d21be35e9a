//! What SecantusDB's `failCommand` fail point really does on the hello handshake, found
//! out by trying it before any file relies on it.
//!
//! Each probe configures a fail point scoped to a probe appName, opens connections with
//! the real handshake and compares what happens with what a MongoDB server does. A
//! feature whose probe fails is reported with what was observed, and a file that needs
//! it runs on the emulation instead (saying why).

use std::time::{Duration, Instant};

use bson::{doc, Document};
use mongopool::{Connection, ConnectionOptions, ServerAddress};
use mongopool_testkit::TestServer;

use super::format::{FailPoint, FailPointMode};

/// The appName the probe fail points are scoped to.
const PROBE_APP: &str = "mongopool-cmap-runner-probe";
/// Another appName, which a scoped fail point must leave alone.
const BYSTANDER_APP: &str = "mongopool-cmap-runner-bystander";
/// How long the blocking probe asks the server to hold the hello reply.
const PROBE_BLOCK: Duration = Duration::from_millis(250);
/// How long one probe handshake may take before the probe counts as failed.
const PROBE_CONNECT_LIMIT: Duration = Duration::from_secs(10);
/// The error code the probes ask for (ShutdownInProgress, as the spec files use).
const PROBE_CODE: i32 = 91;

/// What a probe handshake should end with.
#[derive(Debug, Clone, Copy)]
enum Expect {
    Connected,
    /// Connected, but not before the server held the reply this long.
    ConnectedAfter(Duration),
    /// The server answered the hello with this error code.
    Code(i32),
    /// The server closed the connection during the hello.
    Closed,
}

/// One handshake of a probe: with which appName, and what should happen.
struct Step {
    app: &'static str,
    expect: Expect,
}

struct Probe {
    feature: &'static str,
    mode: bson::Bson,
    data: Document,
    steps: Vec<Step>,
}

/// The result of each probe: `Err` says what SecantusDB did instead.
#[derive(Debug)]
pub struct FailPointSupport {
    error_code_times_app_name: Result<(), String>,
    block_connection: Result<(), String>,
    close_connection: Result<(), String>,
    always_on: Result<(), String>,
}

fn step(app: &'static str, expect: Expect) -> Step {
    Step { app, expect }
}

fn probes() -> [Probe; 4] {
    let hello = || vec!["isMaster", "hello"];
    [
        Probe {
            feature: "errorCode with times and appName scoping",
            mode: doc! {"times": 2}.into(),
            data: doc! {"failCommands": hello(), "errorCode": PROBE_CODE, "appName": PROBE_APP},
            steps: vec![
                step(BYSTANDER_APP, Expect::Connected),
                step(PROBE_APP, Expect::Code(PROBE_CODE)),
                step(PROBE_APP, Expect::Code(PROBE_CODE)),
                step(PROBE_APP, Expect::Connected),
            ],
        },
        Probe {
            feature: "blockConnection",
            mode: doc! {"times": 2}.into(),
            data: doc! {
                "failCommands": hello(),
                "blockConnection": true,
                "blockTimeMS": PROBE_BLOCK.as_millis() as i64,
                "appName": PROBE_APP,
            },
            steps: vec![
                step(PROBE_APP, Expect::ConnectedAfter(PROBE_BLOCK)),
                step(PROBE_APP, Expect::ConnectedAfter(PROBE_BLOCK)),
            ],
        },
        Probe {
            feature: "closeConnection",
            mode: doc! {"times": 2}.into(),
            data: doc! {"failCommands": hello(), "closeConnection": true, "appName": PROBE_APP},
            steps: vec![
                step(PROBE_APP, Expect::Closed),
                step(PROBE_APP, Expect::Closed),
                step(PROBE_APP, Expect::Connected),
            ],
        },
        Probe {
            feature: "mode alwaysOn",
            mode: "alwaysOn".into(),
            data: doc! {"failCommands": hello(), "errorCode": PROBE_CODE, "appName": PROBE_APP},
            steps: vec![
                step(PROBE_APP, Expect::Code(PROBE_CODE)),
                step(PROBE_APP, Expect::Code(PROBE_CODE)),
                step(PROBE_APP, Expect::Code(PROBE_CODE)),
            ],
        },
    ]
}

/// Opens one connection as the pool would and says how it differs from `expect`.
async fn handshake(address: &ServerAddress, app: &str, expect: Expect) -> Result<(), String> {
    let options = ConnectionOptions::builder()
        .app_name(Some(app.to_string()))
        .build()
        .map_err(|e| format!("connection options: {e}"))?;
    let started = Instant::now();
    let outcome = tokio::time::timeout(
        PROBE_CONNECT_LIMIT,
        Connection::connect(address, &options, 0, 0),
    )
    .await;
    let took = started.elapsed();
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(_) => return Err(format!("the handshake did not end within {took:?}")),
    };
    match (expect, &outcome) {
        (Expect::Connected, Ok(_)) => Ok(()),
        (Expect::ConnectedAfter(held), Ok(_)) if took >= held => Ok(()),
        (Expect::ConnectedAfter(held), Ok(_)) => Err(format!(
            "the hello reply came after {took:?}, not held for {held:?}"
        )),
        (Expect::Code(code), Err(e)) if e.code() == Some(code) => Ok(()),
        (Expect::Closed, Err(e)) if e.is_network() => Ok(()),
        (expect, Ok(_)) => Err(format!("expected {expect:?}, the handshake succeeded")),
        (expect, Err(e)) => Err(format!(
            "expected {expect:?}, the handshake failed with: {e}"
        )),
    }
}

fn configure(server: &TestServer, mode: bson::Bson, data: Option<Document>) -> Result<(), String> {
    let mut command = doc! {"configureFailPoint": "failCommand", "mode": mode};
    if let Some(data) = data {
        command.insert("data", data);
    }
    server
        .command("admin", command)
        .map(|_| ())
        .map_err(|e| format!("configureFailPoint failed: {e}"))
}

/// Runs one probe; the fail point is off afterwards whatever happened.
fn run_probe(
    server: &TestServer,
    runtime: &tokio::runtime::Runtime,
    probe: Probe,
) -> Result<(), String> {
    let address = ServerAddress::tcp(server.host(), server.port());
    configure(server, probe.mode.clone(), Some(probe.data.clone()))?;
    let observed = runtime.block_on(async {
        for (i, s) in probe.steps.iter().enumerate() {
            handshake(&address, s.app, s.expect)
                .await
                .map_err(|why| format!("handshake {} of {}: {why}", i + 1, probe.steps.len()))?;
        }
        Ok::<(), String>(())
    });
    configure(server, "off".into(), None)?;
    let turned_off = runtime.block_on(handshake(&address, PROBE_APP, Expect::Connected));
    let what = format!(
        "{} on hello (mode {}, data {})",
        probe.feature, probe.mode, probe.data
    );
    observed.map_err(|why| format!("{what}: {why}"))?;
    turned_off.map_err(|why| format!("{what}: after mode off: {why}"))
}

impl FailPointSupport {
    /// Probes `server` (started with test commands). `Err` only if probing itself
    /// could not be done.
    pub fn probe(server: &TestServer) -> Result<FailPointSupport, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("no runtime for the probes: {e}"))?;
        let [error_code, block, close, always_on] =
            probes().map(|probe| run_probe(server, &runtime, probe));
        Ok(FailPointSupport {
            error_code_times_app_name: error_code,
            block_connection: block,
            close_connection: close,
            always_on,
        })
    }

    /// Why SecantusDB cannot give `fp` the behaviour the file expects, if it cannot.
    pub fn unsupported(&self, fp: &FailPoint) -> Option<String> {
        let needed = [
            (true, &self.error_code_times_app_name),
            (fp.block_time_ms.is_some(), &self.block_connection),
            (fp.close_connection, &self.close_connection),
            (fp.mode == FailPointMode::AlwaysOn, &self.always_on),
        ];
        needed
            .into_iter()
            .filter(|(needed, _)| *needed)
            .find_map(|(_, support)| support.as_ref().err())
            .map(|why| format!("SecantusDB's failCommand fails a probe: {why}"))
    }

    /// One line per probe, for the runner's header.
    pub fn describe(&self) -> Vec<String> {
        [
            ("errorCode/times/appName", &self.error_code_times_app_name),
            ("blockConnection", &self.block_connection),
            ("closeConnection", &self.close_connection),
            ("alwaysOn", &self.always_on),
        ]
        .into_iter()
        .map(|(name, support)| match support {
            Ok(()) => format!("{name}: works"),
            Err(why) => format!("{name}: NOT as specified: {why}"),
        })
        .collect()
    }
}
