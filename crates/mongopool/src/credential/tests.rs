//! The credential rules of the auth spec, one mechanism at a time, and redaction.

use super::*;
use bson::doc;

fn scram(password: Option<&str>) -> Credential {
    Credential {
        username: Some("alice".into()),
        password: password.map(Into::into),
        ..Default::default()
    }
}

#[test]
fn mechanism_names_round_trip_ignoring_case() {
    for m in AuthMechanism::ALL {
        assert_eq!(m.name().parse::<AuthMechanism>().unwrap(), m);
        assert_eq!(
            m.name()
                .to_ascii_lowercase()
                .parse::<AuthMechanism>()
                .unwrap(),
            m
        );
    }
    let err = "SCRAM-SHA-512".parse::<AuthMechanism>().unwrap_err();
    assert!(err.is_configuration());
    assert!(err.to_string().contains("SCRAM-SHA-512"));
}

#[test]
fn default_sources_follow_the_mechanism() {
    let mut c = scram(Some("pw"));
    assert_eq!(c.resolved_source(), "admin");
    c.default_database = Some("app".into());
    assert_eq!(c.resolved_source(), "app");
    c.mechanism = Some(AuthMechanism::Plain);
    assert_eq!(c.resolved_source(), "app");
    c.default_database = None;
    assert_eq!(c.resolved_source(), "$external");
    c.default_database = Some("app".into());
    for m in [
        AuthMechanism::MongoDbX509,
        AuthMechanism::Gssapi,
        AuthMechanism::MongoDbAws,
        AuthMechanism::MongoDbOidc,
    ] {
        c.mechanism = Some(m);
        assert_eq!(c.resolved_source(), "$external", "{m}");
    }
    c.source = Some("other".into());
    assert_eq!(c.resolved_source(), "other");
}

#[test]
fn scram_needs_a_user_and_a_password() {
    scram(Some("")).validate().unwrap();
    assert!(scram(None).validate().is_err());
    scram(None).check(false).unwrap();
    let no_user = Credential {
        password: Some("pw".into()),
        ..Default::default()
    };
    assert!(no_user.validate().is_err());
    let mut props = scram(Some("pw"));
    props.mechanism_properties = Some(doc! {"SERVICE_NAME": "x"});
    assert!(props.validate().is_err());
    props.mechanism_properties = Some(Document::new());
    props.validate().unwrap();
}

#[test]
fn x509_rules() {
    let mut c = Credential {
        mechanism: Some(AuthMechanism::MongoDbX509),
        ..Default::default()
    };
    c.validate().unwrap();
    c.source = Some("admin".into());
    assert!(c.validate().is_err());
    c.source = Some("$external".into());
    c.validate().unwrap();
    c.password = Some("pw".into());
    assert!(c.validate().is_err());
}

#[test]
fn gssapi_rules() {
    let mut c = Credential {
        username: Some("u@REALM".into()),
        mechanism: Some(AuthMechanism::Gssapi),
        mechanism_properties: Some(doc! {"service_name": "other", "CANONICALIZE_HOST_NAME": true}),
        ..Default::default()
    };
    c.validate().unwrap();
    assert_eq!(
        c.mechanism_property("SERVICE_NAME").and_then(Bson::as_str),
        Some("other")
    );
    c.mechanism_properties = Some(doc! {"CANONICALIZE_HOST_NAME": "sideways"});
    assert!(c.validate().is_err());
    c.mechanism_properties = Some(doc! {"AWS_SESSION_TOKEN": "t"});
    assert!(c.validate().is_err());
    c.mechanism_properties = None;
    c.username = None;
    assert!(c.validate().is_err());
}

#[test]
fn aws_rules() {
    let mut c = Credential {
        mechanism: Some(AuthMechanism::MongoDbAws),
        ..Default::default()
    };
    c.validate().unwrap();
    c.source = Some("admin".into());
    assert!(c.validate().is_err());
    c.source = None;
    for (user, password, token) in [
        (Some("AKID"), None, None),
        (Some("AKID"), Some("secret"), None),
        (None, None, Some("token")),
        (Some("AKID"), Some("secret"), Some("token")),
    ] {
        c.username = user.map(Into::into);
        c.password = password.map(Into::into);
        c.mechanism_properties = token.map(|t| doc! {"AWS_SESSION_TOKEN": t});
        assert!(c.validate().is_err(), "{user:?} {password:?} {token:?}");
    }
}

#[test]
fn oidc_rules() {
    let mut c = Credential {
        mechanism: Some(AuthMechanism::MongoDbOidc),
        ..Default::default()
    };
    assert!(c.validate().is_err(), "no environment");
    c.mechanism_properties = Some(doc! {"ENVIRONMENT": "k8s"});
    c.validate().unwrap();
    c.mechanism_properties = Some(doc! {"ENVIRONMENT": "azure"});
    assert!(c.validate().is_err(), "azure needs TOKEN_RESOURCE");
    c.mechanism_properties = Some(doc! {"ENVIRONMENT": "gcp", "TOKEN_RESOURCE": "r"});
    c.validate().unwrap();
    c.mechanism_properties = Some(doc! {"ENVIRONMENT": "test", "TOKEN_RESOURCE": "r"});
    assert!(c.validate().is_err());
    c.mechanism_properties = Some(doc! {"ENVIRONMENT": "test"});
    c.username = Some("u".into());
    assert!(c.validate().is_err());
}

#[test]
fn unsupported_mechanisms_fail_check_supported() {
    for m in AuthMechanism::ALL {
        let c = Credential {
            mechanism: Some(m),
            ..Default::default()
        };
        match c.check_supported() {
            Ok(()) => assert!(m.is_supported()),
            Err(e) => {
                assert!(!m.is_supported());
                assert!(e.is_configuration());
                assert!(
                    e.to_string().contains("is not supported by mongopool"),
                    "{e}"
                );
                assert!(e.to_string().contains(m.name()));
            }
        }
    }
    assert!(Credential::default().check_supported().is_ok());
}

#[test]
fn the_password_is_never_printed() {
    let secret = "s3cr3t-Pa55";
    let c = Credential {
        username: Some("alice".into()),
        password: Some(secret.into()),
        mechanism: Some(AuthMechanism::MongoDbAws),
        mechanism_properties: Some(doc! {"AWS_SESSION_TOKEN": secret, "aws_custom": secret}),
        ..Default::default()
    };
    let debug = format!("{c:?} {c:#?}");
    let display = c.to_string();
    assert!(!debug.contains(secret), "{debug}");
    assert!(!display.contains(secret), "{display}");
    assert!(debug.contains("<redacted>") && display.contains("<redacted>"));
    let err = c.validate().unwrap_err();
    assert!(!format!("{err} {err:?}").contains(secret));
    // The password of a mechanism that forbids one is not echoed either.
    let x509 = Credential {
        password: Some(secret.into()),
        mechanism: Some(AuthMechanism::MongoDbX509),
        ..Default::default()
    };
    let err = x509.validate().unwrap_err();
    assert!(!format!("{err} {err:?}").contains(secret));
}
