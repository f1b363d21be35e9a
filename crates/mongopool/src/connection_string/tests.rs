//! Unit tests of the whole parser: the tricky corners and redaction. The spec's own
//! cases run in `tests/uri_spec.rs`.

use std::path::PathBuf;
use std::time::Duration;

use mongopool_wire::Compressor;

use super::*;
use crate::read_preference::ReadPreferenceMode;

const SECRET: &str = "Sup3r-S3cret";

fn parse(uri: &str) -> ConnectionString {
    ConnectionString::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

#[test]
fn hosts_of_every_kind() {
    let cs = parse("mongodb://EXAMPLE.com,[::1]:27018,%2Ftmp%2Fm.sock,rel%2Fm.sock,10.0.0.1:1/");
    assert_eq!(
        cs.hosts(),
        [
            ServerAddress::tcp("example.com", 27017),
            ServerAddress::tcp("::1", 27018),
            ServerAddress::Unix {
                path: "/tmp/m.sock".into()
            },
            ServerAddress::Unix {
                path: "rel/m.sock".into()
            },
            ServerAddress::tcp("10.0.0.1", 1),
        ]
    );
    assert!(!cs.is_srv() && !cs.needs_resolution() && !cs.tls_enabled());
    for bad in [
        "mongodb://%2Ftmp%2Fm.socket",
        "mongodb://h,,i",
        "mongodb://h,",
        "mongodb://h:0",
        "mongodb://[::1",
        "mongodb://h%zz",
    ] {
        assert!(ConnectionString::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn databases_are_decoded_and_checked() {
    assert_eq!(
        parse("mongodb://h/my%3Fdb").default_database(),
        Some("my?db")
    );
    assert_eq!(
        parse("mongodb://h/db.coll").default_database(),
        Some("db.coll")
    );
    assert_eq!(parse("mongodb://h/").default_database(), None);
    for bad in [
        "mongodb://h/a b",
        "mongodb://h/a%24b",
        "mongodb://h/a%2Fb",
        "mongodb://h/a\"b",
    ] {
        assert!(ConnectionString::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn credentials_from_the_uri() {
    let cs = parse("mongodb://al%40ice:p%3Aw@h/app?authMechanism=scram-sha-256");
    let c = cs.credential().unwrap();
    assert_eq!(c.username.as_deref(), Some("al@ice"));
    assert_eq!(c.password.as_deref(), Some("p:w"));
    assert_eq!(c.mechanism, Some(AuthMechanism::ScramSha256));
    assert_eq!(c.resolved_source(), "app");
    c.validate().unwrap();

    // A password may be left for the application to supply; validate() wants it.
    let cs = parse("mongodb://alice@h");
    let c = cs.credential().unwrap();
    assert_eq!(c.password, None);
    assert!(c.validate().is_err());

    assert!(parse("mongodb://h/app?authSource=x").credential().is_none());
    let gssapi = parse("mongodb://u%40R@h/?authMechanism=GSSAPI");
    let c = gssapi.credential().unwrap();
    assert_eq!(
        c.mechanism_property("service_name").and_then(Bson::as_str),
        Some("mongodb")
    );
    let err = gssapi.check_supported().unwrap_err();
    assert!(
        err.to_string().contains("not supported by mongopool"),
        "{err}"
    );
    parse("mongodb://u:p@h").check_supported().unwrap();
}

#[test]
fn typed_options() {
    let cs = parse(
        "mongodb://h/?appName=app&maxPoolSize=0&minPoolSize=2&maxIdleTimeMS=1500&\
         maxConnecting=3&waitQueueTimeoutMS=250&connectTimeoutMS=0&socketTimeoutMS=100&\
         compressors=snappy,zlib&zlibCompressionLevel=-1&readPreference=nearest&\
         maxStalenessSeconds=120&w=2&wTimeoutMS=9&journal=true&retryWrites=false&\
         tlsCAFile=%2Fetc%2Fca.pem&heartbeatFrequencyMS=500&localThresholdMS=0&\
         serverSelectionTimeoutMS=1&serverMonitoringMode=poll",
    );
    assert!(cs.warnings().is_empty(), "{:?}", cs.warnings());
    let o = cs.options();
    assert_eq!(o.app_name.as_deref(), Some("app"));
    assert_eq!(o.max_pool_size, Some(0));
    assert_eq!(o.min_pool_size, Some(2));
    assert_eq!(o.max_idle_time, Some(Duration::from_millis(1500)));
    assert_eq!(o.max_connecting, Some(3));
    assert_eq!(o.wait_queue_timeout, Some(Duration::from_millis(250)));
    assert_eq!(o.connect_timeout, Some(Duration::ZERO));
    assert_eq!(o.socket_timeout, Some(Duration::from_millis(100)));
    assert_eq!(
        o.compressors.as_deref(),
        Some(&[Compressor::Snappy, Compressor::Zlib { level: None }][..])
    );
    assert_eq!(o.zlib_compression_level, Some(-1));
    let rp = o.read_preference.as_ref().unwrap();
    assert_eq!(rp.mode, ReadPreferenceMode::Nearest);
    assert_eq!(rp.max_staleness, Some(Duration::from_secs(120)));
    assert_eq!(o.w, Some(Acknowledgment::Nodes(2)));
    assert_eq!(o.w_timeout, Some(Duration::from_millis(9)));
    assert_eq!(o.journal, Some(true));
    assert_eq!(o.retry_writes, Some(false));
    assert_eq!(o.tls_ca_file, Some(PathBuf::from("/etc/ca.pem")));
    assert!(cs.tls_enabled(), "tlsCAFile turns TLS on");
    assert!(!parse("mongodb://h/?tlsCAFile=a&tls=false").tls_enabled());
    assert_eq!(o.heartbeat_frequency, Some(Duration::from_millis(500)));
    assert_eq!(o.server_monitoring_mode, Some(ServerMonitoringMode::Poll));
}

#[test]
fn srv_strings_parse_offline() {
    let cs = parse("mongodb+srv://Cluster0.Example.com/?srvServiceName=custom&srvMaxHosts=2");
    assert_eq!(cs.srv_host(), Some("cluster0.example.com"));
    assert!(cs.needs_resolution() && cs.tls_enabled());
    assert_eq!(
        cs.srv_query_name().as_deref(),
        Some("_custom._tcp.cluster0.example.com")
    );
    assert!(!parse("mongodb+srv://c.example.com/?ssl=false").tls_enabled());
    for bad in [
        "mongodb+srv://a.example.com,b.example.com",
        "mongodb+srv://a.example.com:27017",
        "mongodb+srv://a.example.com/?directConnection=true",
        "mongodb+srv://a.example.com/?srvMaxHosts=1&replicaSet=rs",
        "mongodb+srv://a.example.com/?srvMaxHosts=1&loadBalanced=true",
        "mongodb://a.example.com/?srvServiceName=x",
        "mongodb://a.example.com/?srvMaxHosts=0",
    ] {
        assert!(ConnectionString::parse(bad).is_err(), "{bad}");
    }
    parse("mongodb+srv://a.example.com/?directConnection=false");
    parse("mongodb+srv://a.example.com/?loadBalanced=true");
}

#[test]
fn warnings_are_collected() {
    let cs = parse("mongodb://h/?foo=1&maxPoolSize=x&replicaSet=a&replicaSet=b&journal=");
    let options: Vec<_> = cs.warnings().iter().map(|w| w.option()).collect();
    assert_eq!(
        options,
        [
            Some("foo"),
            Some("maxPoolSize"),
            Some("replicaSet"),
            Some("journal")
        ]
    );
    assert_eq!(cs.options().replica_set.as_deref(), Some("b"));
}

/// Every URI here holds SECRET as a password (or a secret option). Whether parsing
/// fails or succeeds, SECRET must not appear in the error, the warnings or `Debug`.
#[test]
fn secrets_never_leak() {
    let valid = [
        format!("mongodb://alice:{SECRET}@h/db"),
        format!("mongodb://h/?tlsCertificateKeyFilePassword={SECRET}"),
        format!("mongodb://h/?proxyHost=p&proxyUsername=u&proxyPassword={SECRET}"),
        format!("mongodb://h/?unknownSecretOption={SECRET}"),
        format!("mongodb://u%40R:{SECRET}@h/?authMechanism=GSSAPI&authMechanismProperties=SERVICE_REALM:R,x{SECRET}"),
    ];
    let invalid = [
        format!("mongodb://h/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:{SECRET}"),
        format!("mongodb://u:{SECRET}@h/?authMechanism=MONGODB-AWS"),
        format!("mongodb://alice:{SECRET}:x@h"),
        format!("mongodb://alice@{SECRET}:x@h"),
        format!("mongodb://alice:{SECRET}/x@h/db"),
        format!("mongodb://alice:{SECRET}?x@h"),
        format!("mongodb://alice:{SECRET}#@h"),
        format!("mongodb://alice:{SECRET}%zz@h"),
        format!("mongodb://alice:{SECRET}%FF@h"),
        format!("mongodb://alice:{SECRET}@h:0"),
        format!("mongodb://alice:{SECRET}@h/?authMechanism=MONGODB-X509"),
        format!("mongodb://alice:{SECRET}@h/?authMechanism=MONGODB-OIDC&authMechanismProperties=ENVIRONMENT:test"),
        format!("mongodb://alice:{SECRET}@h/?authMechanism=NOPE"),
        format!("mongodb://alice:{SECRET}@h/?tls=true&ssl=false"),
        format!("mongodb://:{SECRET}@h"),
        format!("mongodb+srv://alice:{SECRET}@a.b.c:1"),
        format!("mongodb://h/?proxyPassword={SECRET}"),
        format!("mongodb://h/?proxyHost=p&proxyPassword={SECRET}&proxyPassword={SECRET}"),
    ];
    let uris: Vec<&String> = valid.iter().chain(&invalid).collect();
    let mut failures = 0;
    for uri in uris {
        match ConnectionString::parse(uri) {
            Ok(cs) => {
                let shown = format!("{cs:?} {cs:#?} {:?}", cs.credential());
                assert!(!shown.contains(SECRET), "{uri}: {shown}");
                for w in cs.warnings() {
                    assert!(!w.to_string().contains(SECRET), "{uri}: {w}");
                }
                if let Some(c) = cs.credential() {
                    assert!(!c.to_string().contains(SECRET), "{uri}");
                }
            }
            Err(e) => {
                failures += 1;
                let shown = format!("{e} {e:?}");
                assert!(!shown.contains(SECRET), "{uri}: {shown}");
            }
        }
    }
    assert_eq!(failures, invalid.len());
}
