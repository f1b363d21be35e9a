//! Who logs in and how: the credential of a connection string or of the pool options,
//! with the rules of the authentication spec (`auth.md`) for each mechanism.
//!
//! A credential never shows its password: `Debug` and `Display` redact it, and so do
//! the messages of the errors that [`Credential::validate`] returns.

use std::fmt;

use bson::{Bson, Document};

use crate::error::{Error, Result};

mod mechanism;
mod redaction;

pub use self::mechanism::AuthMechanism;
pub(crate) use self::redaction::Redacted;
use self::redaction::{RedactedProperties, REDACTED};

/// The source of mechanisms whose users live outside MongoDB (X.509, Kerberos, AWS,
/// OIDC, and LDAP through PLAIN).
pub const EXTERNAL_SOURCE: &str = "$external";

/// The source SCRAM and MONGODB-CR use when neither `authSource` nor a database is given.
pub const ADMIN_SOURCE: &str = "admin";

/// The service name GSSAPI uses unless `SERVICE_NAME` says otherwise.
pub const DEFAULT_GSSAPI_SERVICE_NAME: &str = "mongodb";

/// A user, the evidence of who they are, and how to present it to the server.
///
/// Build one with struct syntax and `..Default::default()`, or get it from a
/// connection string ([`crate::ConnectionString::credential`]). A mechanism of `None`
/// means "negotiate": SCRAM-SHA-256 when the server lists it for the user, else
/// SCRAM-SHA-1.
#[derive(Clone, Default, PartialEq)]
pub struct Credential {
    /// The user name. Required by SCRAM, MONGODB-CR, PLAIN and GSSAPI; optional for
    /// MONGODB-X509 (the certificate's subject is used) and MONGODB-OIDC; forbidden for
    /// MONGODB-AWS (whose credentials come from the environment).
    pub username: Option<String>,
    /// The password. Required by SCRAM, MONGODB-CR and PLAIN; optional for GSSAPI;
    /// forbidden for MONGODB-X509, MONGODB-AWS and MONGODB-OIDC. Never printed.
    pub password: Option<String>,
    /// The database that authenticates the user (`authSource`). When `None`, see
    /// [`Credential::resolved_source`].
    pub source: Option<String>,
    /// The mechanism; `None` negotiates SCRAM-SHA-256 or SCRAM-SHA-1.
    pub mechanism: Option<AuthMechanism>,
    /// Mechanism properties (`authMechanismProperties`), e.g. `SERVICE_NAME` for GSSAPI.
    /// Names are compared ignoring ASCII case.
    pub mechanism_properties: Option<Document>,
    /// The database named in the connection string's path. It is only the default
    /// source of SCRAM, MONGODB-CR and PLAIN when `source` is `None`; it never means
    /// "authenticate" by itself.
    pub default_database: Option<String>,
}

impl Credential {
    /// The database to authenticate against: `source` when set; otherwise `$external`
    /// for MONGODB-X509, GSSAPI, MONGODB-AWS and MONGODB-OIDC; the default database or
    /// `$external` for PLAIN (LDAP users live outside MongoDB); the default database
    /// or `admin` for SCRAM, MONGODB-CR and a negotiated mechanism.
    pub fn resolved_source(&self) -> &str {
        if let Some(source) = &self.source {
            return source;
        }
        match self.mechanism {
            Some(m) if m.requires_external_source() => EXTERNAL_SOURCE,
            Some(AuthMechanism::Plain) => {
                self.default_database.as_deref().unwrap_or(EXTERNAL_SOURCE)
            }
            _ => self.default_database.as_deref().unwrap_or(ADMIN_SOURCE),
        }
    }

    /// A mechanism property, looked up ignoring the ASCII case of its name.
    pub fn mechanism_property(&self, name: &str) -> Option<&Bson> {
        self.mechanism_properties
            .as_ref()?
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// Checks the rules of the authentication spec for this mechanism: which of user
    /// name and password it needs or forbids, its source, and its mechanism
    /// properties. Errors are [`crate::ErrorKind::Configuration`] and never contain the
    /// password.
    pub fn validate(&self) -> Result<()> {
        self.check(true)
    }

    /// Fails with a configuration error "… is not supported by mongopool" when the
    /// mechanism is GSSAPI, MONGODB-AWS or MONGODB-OIDC. Pool options call this when
    /// they are built, so an unusable credential fails there and never at first use.
    pub fn check_supported(&self) -> Result<()> {
        match self.mechanism {
            Some(m) if !m.is_supported() => Err(Error::configuration(format!(
                "authentication mechanism {m} is not supported by mongopool"
            ))),
            _ => Ok(()),
        }
    }

    /// The rules of [`Credential::validate`]. A connection string may leave the
    /// password of a SCRAM, MONGODB-CR or PLAIN user out for the application to supply
    /// it, so the parser checks with `password_required == false`; pool options check
    /// with `true`.
    pub(crate) fn check(&self, password_required: bool) -> Result<()> {
        if self.username.as_deref() == Some("") {
            return Err(Error::configuration(
                "the user name of a credential is empty",
            ));
        }
        if self.source.as_deref() == Some("") {
            return Err(Error::configuration(
                "the authentication source (authSource) is empty",
            ));
        }
        let label = self.mechanism_label();
        match self.mechanism {
            None
            | Some(AuthMechanism::ScramSha1)
            | Some(AuthMechanism::ScramSha256)
            | Some(AuthMechanism::MongoDbCr)
            | Some(AuthMechanism::Plain) => {
                if self.username.is_none() {
                    return Err(Error::configuration(format!(
                        "{label} requires a user name"
                    )));
                }
                if password_required && self.password.is_none() {
                    return Err(Error::configuration(format!("{label} requires a password")));
                }
                self.forbid_properties(&label)
            }
            Some(AuthMechanism::MongoDbX509) => {
                if self.password.is_some() {
                    return Err(Error::configuration(
                        "MONGODB-X509 does not take a password (the client certificate is the evidence)",
                    ));
                }
                self.require_external_source()?;
                self.forbid_properties(&label)
            }
            Some(AuthMechanism::Gssapi) => self.check_gssapi(),
            Some(AuthMechanism::MongoDbAws) => self.check_aws(),
            Some(AuthMechanism::MongoDbOidc) => self.check_oidc(),
        }
    }

    fn mechanism_label(&self) -> String {
        match self.mechanism {
            Some(m) => m.name().to_owned(),
            None => "the default mechanism (SCRAM)".to_owned(),
        }
    }

    fn has_properties(&self) -> bool {
        self.mechanism_properties
            .as_ref()
            .is_some_and(|d| !d.is_empty())
    }

    fn forbid_properties(&self, label: &str) -> Result<()> {
        if self.has_properties() {
            return Err(Error::configuration(format!(
                "{label} takes no mechanism properties (authMechanismProperties)"
            )));
        }
        Ok(())
    }

    fn require_external_source(&self) -> Result<()> {
        match (&self.source, self.mechanism) {
            (Some(source), Some(m)) if source != EXTERNAL_SOURCE => Err(Error::configuration(
                format!("the source of {m} must be {EXTERNAL_SOURCE}, not {source:?}"),
            )),
            _ => Ok(()),
        }
    }

    /// Fails on a property this mechanism does not know, and on a known one whose value
    /// is not a string (values are not echoed: some are secrets).
    fn check_property_names(&self, allowed: &[&str]) -> Result<()> {
        let Some(props) = &self.mechanism_properties else {
            return Ok(());
        };
        let label = self.mechanism_label();
        for (name, value) in props {
            if !allowed.iter().any(|a| a.eq_ignore_ascii_case(name)) {
                return Err(Error::configuration(format!(
                    "{label} does not take the mechanism property {name:?}; it takes {}",
                    allowed.join(", ")
                )));
            }
            let is_bool_canonicalize =
                name.eq_ignore_ascii_case("CANONICALIZE_HOST_NAME") && value.as_bool().is_some();
            if value.as_str().is_none() && !is_bool_canonicalize {
                return Err(Error::configuration(format!(
                    "the mechanism property {name} of {label} must be a string"
                )));
            }
        }
        Ok(())
    }

    fn property_str(&self, name: &str) -> Option<&str> {
        self.mechanism_property(name).and_then(Bson::as_str)
    }

    fn check_gssapi(&self) -> Result<()> {
        if self.username.is_none() {
            return Err(Error::configuration("GSSAPI requires a user name"));
        }
        self.require_external_source()?;
        self.check_property_names(&[
            "SERVICE_NAME",
            "CANONICALIZE_HOST_NAME",
            "SERVICE_REALM",
            "SERVICE_HOST",
        ])?;
        match self.mechanism_property("CANONICALIZE_HOST_NAME") {
            None | Some(Bson::Boolean(_)) => Ok(()),
            Some(v) => {
                let valid = ["none", "forward", "forwardAndReverse", "true", "false"];
                match v.as_str() {
                    Some(s) if valid.iter().any(|x| x.eq_ignore_ascii_case(s)) => Ok(()),
                    _ => Err(Error::configuration(format!(
                        "CANONICALIZE_HOST_NAME must be one of {}",
                        valid.join(", ")
                    ))),
                }
            }
        }
    }

    fn check_aws(&self) -> Result<()> {
        self.require_external_source()?;
        // auth.md (2025-09-30): the credentials come from the environment or the AWS
        // SDK; "if credentials are provided in the URI or client options, the driver
        // MUST raise an error".
        if self.username.is_some()
            || self.password.is_some()
            || self.mechanism_property("AWS_SESSION_TOKEN").is_some()
        {
            return Err(Error::configuration(
                "MONGODB-AWS takes no user name, password or AWS_SESSION_TOKEN: its credentials \
                 come from the environment",
            ));
        }
        self.check_property_names(&[])
    }

    fn check_oidc(&self) -> Result<()> {
        if self.password.is_some() {
            return Err(Error::configuration(
                "MONGODB-OIDC does not take a password",
            ));
        }
        self.require_external_source()?;
        self.check_property_names(&["ENVIRONMENT", "TOKEN_RESOURCE"])?;
        // mongopool has no OIDC callbacks, so a built-in environment is the only way
        // to obtain a token.
        let environment = self.property_str("ENVIRONMENT").ok_or_else(|| {
            Error::configuration(
                "MONGODB-OIDC requires the ENVIRONMENT mechanism property (test, azure, gcp or k8s)",
            )
        })?;
        let needs_resource = match environment {
            "test" | "k8s" => false,
            "azure" | "gcp" => true,
            other => {
                return Err(Error::configuration(format!(
                    "unknown MONGODB-OIDC ENVIRONMENT {other:?}; expected test, azure, gcp or k8s"
                )))
            }
        };
        let has_resource = self.mechanism_property("TOKEN_RESOURCE").is_some();
        if needs_resource && !has_resource {
            return Err(Error::configuration(format!(
                "MONGODB-OIDC ENVIRONMENT:{environment} requires TOKEN_RESOURCE"
            )));
        }
        if !needs_resource && has_resource {
            return Err(Error::configuration(format!(
                "MONGODB-OIDC ENVIRONMENT:{environment} does not take TOKEN_RESOURCE"
            )));
        }
        if environment == "test" && self.username.is_some() {
            return Err(Error::configuration(
                "MONGODB-OIDC ENVIRONMENT:test does not take a user name",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Credential");
        d.field("username", &self.username);
        d.field("password", &self.password.as_ref().map(|_| Redacted));
        d.field("source", &self.source);
        d.field("mechanism", &self.mechanism);
        d.field(
            "mechanism_properties",
            &self.mechanism_properties.as_ref().map(RedactedProperties),
        );
        d.field("default_database", &self.default_database);
        d.finish()
    }
}

impl fmt::Display for Credential {
    /// `SCRAM-SHA-256 credential for user "alice" on "admin"`; never the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.mechanism {
            Some(m) => write!(f, "{m} credential")?,
            None => f.write_str("credential (mechanism negotiated)")?,
        }
        if let Some(user) = &self.username {
            write!(f, " for user {user:?}")?;
        }
        write!(f, " on {:?}", self.resolved_source())?;
        if self.password.is_some() {
            write!(f, " with password {REDACTED}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
