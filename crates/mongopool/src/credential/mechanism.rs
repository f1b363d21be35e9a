//! The authentication mechanisms and their names.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// An authentication mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuthMechanism {
    /// `SCRAM-SHA-1` (RFC 5802).
    ScramSha1,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `MONGODB-X509`: the client certificate's subject is the user.
    MongoDbX509,
    /// `PLAIN` (RFC 4616), usually for LDAP users.
    Plain,
    /// `MONGODB-CR`, the challenge-response of servers before 3.0 (removed in 4.0).
    MongoDbCr,
    /// `GSSAPI` (Kerberos). Not supported by mongopool.
    Gssapi,
    /// `MONGODB-AWS` (AWS IAM). Not supported by mongopool.
    MongoDbAws,
    /// `MONGODB-OIDC` (OpenID Connect). Not supported by mongopool.
    MongoDbOidc,
}

impl AuthMechanism {
    /// Every mechanism, in the order of the enum.
    pub const ALL: [AuthMechanism; 8] = [
        AuthMechanism::ScramSha1,
        AuthMechanism::ScramSha256,
        AuthMechanism::MongoDbX509,
        AuthMechanism::Plain,
        AuthMechanism::MongoDbCr,
        AuthMechanism::Gssapi,
        AuthMechanism::MongoDbAws,
        AuthMechanism::MongoDbOidc,
    ];

    /// The name the server and the `authMechanism` option use (`"SCRAM-SHA-256"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            AuthMechanism::ScramSha1 => "SCRAM-SHA-1",
            AuthMechanism::ScramSha256 => "SCRAM-SHA-256",
            AuthMechanism::MongoDbX509 => "MONGODB-X509",
            AuthMechanism::Plain => "PLAIN",
            AuthMechanism::MongoDbCr => "MONGODB-CR",
            AuthMechanism::Gssapi => "GSSAPI",
            AuthMechanism::MongoDbAws => "MONGODB-AWS",
            AuthMechanism::MongoDbOidc => "MONGODB-OIDC",
        }
    }

    /// Whether mongopool can log in with this mechanism. GSSAPI, MONGODB-AWS and
    /// MONGODB-OIDC are parsed and validated but cannot be used.
    pub fn is_supported(self) -> bool {
        !matches!(
            self,
            AuthMechanism::Gssapi | AuthMechanism::MongoDbAws | AuthMechanism::MongoDbOidc
        )
    }

    /// Whether the source of this mechanism is always `$external`.
    pub fn requires_external_source(self) -> bool {
        matches!(
            self,
            AuthMechanism::MongoDbX509
                | AuthMechanism::Gssapi
                | AuthMechanism::MongoDbAws
                | AuthMechanism::MongoDbOidc
        )
    }
}

impl fmt::Display for AuthMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AuthMechanism {
    type Err = Error;

    /// Parses a mechanism name, ignoring ASCII case (`scram-sha-256` is `SCRAM-SHA-256`).
    fn from_str(s: &str) -> Result<Self> {
        AuthMechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names: Vec<&str> = AuthMechanism::ALL.iter().map(|m| m.name()).collect();
                Error::configuration(format!(
                    "unknown authentication mechanism {s:?}; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}
