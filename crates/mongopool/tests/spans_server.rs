//! Tracing spans against SecantusDB, seen by a small capturing layer: checkout,
//! connect, handshake, authenticate and every command appear with the command
//! logging and monitoring spec's fields, and nothing of a SCRAM login (password,
//! proof, payload) appears in any field of any span or event.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bson::rawdoc;
use mongopool::{AuthMechanism, Client, Connection, ConnectionOptions, Credential, ServerAddress};
use mongopool_testkit::{SeedUser, TestServer};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

const USER: &str = "span-user";
const PASSWORD: &str = "Pa55-w0rd-that-must-not-show";

/// One span: its name and every field recorded on it, as text.
#[derive(Debug, Clone, Default)]
struct Recorded {
    name: String,
    fields: BTreeMap<String, String>,
}

#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<BTreeMap<u64, Recorded>>>,
    /// Every field value of every event (log line) too.
    event_values: Arc<Mutex<Vec<String>>>,
}

struct FieldText<'a>(&'a mut BTreeMap<String, String>);

impl Visit for FieldText<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, _: Context<'_, S>) {
        let mut recorded = Recorded {
            name: attrs.metadata().name().to_owned(),
            ..Recorded::default()
        };
        attrs.record(&mut FieldText(&mut recorded.fields));
        self.spans.lock().unwrap().insert(id.into_u64(), recorded);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _: Context<'_, S>) {
        if let Some(recorded) = self.spans.lock().unwrap().get_mut(&id.into_u64()) {
            values.record(&mut FieldText(&mut recorded.fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut FieldText(&mut fields));
        self.event_values
            .lock()
            .unwrap()
            .extend(fields.into_values());
    }
}

impl Capture {
    fn spans(&self) -> Vec<Recorded> {
        self.spans.lock().unwrap().values().cloned().collect()
    }

    fn named(&self, name: &str) -> Vec<Recorded> {
        self.spans()
            .into_iter()
            .filter(|s| s.name == name)
            .collect()
    }
}

fn has_fields(span: &Recorded, names: &[&str]) {
    for name in names {
        assert!(
            span.fields.contains_key(*name),
            "span {} lacks {name}: {:?}",
            span.name,
            span.fields
        );
    }
}

#[tokio::test]
async fn spans_carry_the_spec_fields_and_never_a_credential() {
    let server = tokio::task::spawn_blocking(|| {
        TestServer::builder()
            .auth(true)
            .user(SeedUser::scram(USER, PASSWORD).mechanisms(["SCRAM-SHA-256"]))
            .start()
            .expect("start secantusd-rs with --auth")
    })
    .await
    .unwrap();
    let capture = Capture::default();
    // This thread only: the test's runtime is current-thread, so every task
    // (connection establishment included) runs here.
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));

    // Through the front door: checkout, connect, handshake, a speculative login.
    let uri = format!(
        "mongodb://{USER}:{PASSWORD}@{}:{}/?authMechanism=SCRAM-SHA-256",
        server.host(),
        server.port()
    );
    let client = Client::connect(&uri).await.unwrap();
    client
        .run_command("admin", &rawdoc! { "ping": 1 })
        .await
        .unwrap();
    let failed = client
        .run_command("admin", &rawdoc! { "noSuchCommand": 1, "secret": PASSWORD })
        .await;
    assert!(failed.is_err());
    client.close().await;

    // A login that is not speculative: saslStart and saslContinue as commands.
    let address = ServerAddress::tcp(server.host(), server.port());
    let mut conn = Connection::connect(&address, &ConnectionOptions::default(), 0, 0)
        .await
        .unwrap();
    let credential = Credential {
        username: Some(USER.into()),
        password: Some(PASSWORD.into()),
        mechanism: Some(AuthMechanism::ScramSha256),
        ..Credential::default()
    };
    conn.authenticate(&credential).await.unwrap();

    let commands = capture.named("command");
    let command = |name: &str| {
        commands
            .iter()
            .find(|s| s.fields.get("commandName").map(String::as_str) == Some(name))
            .unwrap_or_else(|| panic!("no command span for {name}: {commands:#?}"))
            .clone()
    };
    let ping = command("ping");
    has_fields(
        &ping,
        &[
            "databaseName",
            "requestId",
            "driverConnectionId",
            "serverConnectionId",
            "serverHost",
            "serverPort",
            "durationMS",
        ],
    );
    assert_eq!(ping.fields["databaseName"], "admin");
    assert_eq!(ping.fields["serverHost"], server.host());
    assert_eq!(ping.fields["serverPort"], server.port().to_string());
    assert_eq!(ping.fields["outcome"], "succeeded");
    assert!(ping.fields["requestId"].parse::<i32>().is_ok(), "{ping:?}");
    let bad = command("noSuchCommand");
    assert_eq!(bad.fields["outcome"], "failed", "{bad:?}");
    assert!(bad.fields["failure"].contains("ok: 0"), "{bad:?}");
    command("saslStart");
    command("saslContinue");

    let checkout = capture.named("checkout");
    assert!(!checkout.is_empty(), "no checkout span");
    for span in &checkout {
        has_fields(span, &["serverHost", "serverPort", "durationMS", "outcome"]);
        assert_eq!(span.fields["outcome"], "succeeded", "{span:?}");
        has_fields(span, &["driverConnectionId"]);
    }
    let connects = capture.named("connect");
    assert!(connects
        .iter()
        .any(|s| s.fields.get("outcome").map(String::as_str) == Some("succeeded")));
    let handshake = capture.named("handshake");
    assert!(
        handshake
            .iter()
            .any(|s| s.fields.contains_key("maxWireVersion")),
        "{handshake:?}"
    );
    let logins = capture.named("authenticate");
    assert!(
        logins.len() >= 2,
        "a speculative and a plain login: {logins:?}"
    );
    for login in &logins {
        assert_eq!(login.fields["mechanism"], "SCRAM-SHA-256");
        assert_eq!(login.fields["outcome"], "succeeded", "{login:?}");
    }
    // Whether the server took the speculative login is its choice: the field is there.
    assert!(logins.iter().all(|l| l.fields.contains_key("speculative")));

    // Nothing of the login anywhere: not the password, not the user name, not a
    // SCRAM message (client-first "n,,n=", client-final "c=biws,r=...,p=..."), not
    // a payload. (Replies logged at debug level, a heartbeat's say, are not secret.)
    let mut values: Vec<String> = capture
        .spans()
        .into_iter()
        .flat_map(|s| s.fields.into_values())
        .collect();
    values.extend(capture.event_values.lock().unwrap().iter().cloned());
    assert!(values.len() > 20, "too little was recorded: {values:?}");
    for value in &values {
        for secret in [PASSWORD, USER, "n,,n=", "c=biws", ",p=", "payload"] {
            assert!(
                !value.contains(secret),
                "{secret:?} appears in a field: {value}"
            );
        }
    }
}
