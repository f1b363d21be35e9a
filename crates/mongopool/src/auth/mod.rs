//! Logging connections in: PyMongo's `authenticate` and `check_auth`, the
//! mechanisms (SCRAM-SHA-1/256, MONGODB-X509, PLAIN, MONGODB-CR), negotiation, and
//! speculative authentication in the handshake.

mod legacy_cr;
mod plain;
pub(crate) mod scram;
mod x509;

use std::collections::BTreeMap;

use bson::raw::cstr;
use bson::{RawDocument, RawDocumentBuf};
use mongopool_wire::scram::ScramMechanism;

use crate::connection::{CommandOptions, Connection};
use crate::credential::{AuthMechanism, Credential};
use crate::error::{Error, ErrorKind, Result};
use scram::ScramStart;

/// Wire versions below this predate SCRAM (MongoDB 3.0): such a server knows only
/// MONGODB-CR, which is used only when the credential names it.
const SCRAM_MIN_WIRE_VERSION: i32 = 3;

pub(crate) fn auth_error(mechanism: &str, code: Option<i32>, message: String) -> Error {
    Error::new(ErrorKind::Authentication {
        mechanism: mechanism.to_owned(),
        code,
        message,
    })
}

/// Runs one authentication command; `ok: 0` becomes an authentication error with
/// the server's code and message. Network errors stay network errors.
pub(crate) async fn auth_command(
    conn: &mut Connection,
    db: &str,
    cmd: &RawDocument,
    mechanism: &str,
) -> Result<RawDocumentBuf> {
    match conn.command(db, cmd, &CommandOptions::default()).await {
        Ok(reply) => Ok(reply),
        Err(e) if e.is_operation_failure() => {
            let message = match e.kind() {
                ErrorKind::OperationFailure(f) | ErrorKind::NotPrimary(f) => f.message.clone(),
                _ => e.to_string(),
            };
            Err(auth_error(mechanism, e.code(), message))
        }
        Err(e) => Err(e),
    }
}

/// What the handshake does for a credential: ask which SASL mechanisms the user
/// has, and start the login inside the hello when possible.
pub(crate) struct HandshakeAuth {
    negotiate_for: Option<String>,
    speculative: Option<Speculative>,
}

enum Speculative {
    Scram(ScramStart),
    X509(RawDocumentBuf),
}

impl HandshakeAuth {
    /// Prepares the hello's auth fields for `credential` (none without one).
    pub(crate) fn prepare(credential: Option<&Credential>) -> Result<HandshakeAuth> {
        let mut auth = HandshakeAuth {
            negotiate_for: None,
            speculative: None,
        };
        let Some(cred) = credential else {
            return Ok(auth);
        };
        let source = cred.resolved_source();
        let user = cred.username.as_deref().unwrap_or("");
        match cred.mechanism {
            None => {
                auth.negotiate_for = Some(format!("{source}.{user}"));
                // The spec: with no mechanism given, speculate with SCRAM-SHA-256.
                let password = cred.password.as_deref().unwrap_or("");
                auth.speculative = ScramStart::new(ScramMechanism::Sha256, user, password, source)
                    .ok()
                    .map(Speculative::Scram);
            }
            Some(AuthMechanism::ScramSha1) | Some(AuthMechanism::ScramSha256) => {
                let mechanism = scram_mechanism(cred.mechanism.as_ref());
                let password = cred.password.as_deref().unwrap_or("");
                auth.speculative = Some(Speculative::Scram(ScramStart::new(
                    mechanism, user, password, source,
                )?));
            }
            Some(AuthMechanism::MongoDbX509) => {
                auth.speculative = Some(Speculative::X509(x509::authenticate_command(cred, true)));
            }
            _ => {}
        }
        Ok(auth)
    }

    /// Adds `saslSupportedMechs` and `speculativeAuthenticate` to the hello.
    pub(crate) fn append_to_hello(&self, hello: &mut RawDocumentBuf) {
        if let Some(user) = &self.negotiate_for {
            hello.append(cstr!("saslSupportedMechs"), user.as_str());
        }
        match &self.speculative {
            Some(Speculative::Scram(start)) => {
                hello.append(cstr!("speculativeAuthenticate"), start.sasl_start(true))
            }
            Some(Speculative::X509(cmd)) => {
                hello.append(cstr!("speculativeAuthenticate"), cmd.clone())
            }
            None => {}
        }
    }

    /// Finishes the login after the hello: continues the speculative conversation
    /// when the server answered it, else runs the whole conversation of the
    /// negotiated mechanism.
    pub(crate) async fn finish(
        self,
        conn: &mut Connection,
        credential: Option<&Credential>,
    ) -> Result<()> {
        let Some(cred) = credential else {
            return Ok(());
        };
        let answer = conn.hello().speculative_authenticate.clone();
        let mechanism = resolve_mechanism(cred, conn)?;
        let span = auth_span(&mechanism, cred, answer.is_some());
        crate::spans::run_in(span, self.log_in(conn, cred, mechanism, answer)).await
    }

    async fn log_in(
        self,
        conn: &mut Connection,
        cred: &Credential,
        mechanism: AuthMechanism,
        answer: Option<bson::RawDocumentBuf>,
    ) -> Result<()> {
        match (self.speculative, answer) {
            (Some(Speculative::Scram(start)), Some(answer))
                if mechanism == scram_auth_mechanism(start.first.mechanism()) =>
            {
                start.run(conn, Some(answer)).await?;
            }
            // X.509 succeeded inside the hello: nothing left to do.
            (Some(Speculative::X509(_)), Some(_)) => {}
            _ => run_mechanism(conn, cred, &mechanism).await?,
        }
        conn.authset_mut()
            .insert(cred.resolved_source().to_owned(), cred.clone());
        Ok(())
    }
}

fn scram_mechanism(mechanism: Option<&AuthMechanism>) -> ScramMechanism {
    match mechanism {
        Some(AuthMechanism::ScramSha1) => ScramMechanism::Sha1,
        _ => ScramMechanism::Sha256,
    }
}

fn scram_auth_mechanism(mechanism: ScramMechanism) -> AuthMechanism {
    match mechanism {
        ScramMechanism::Sha1 => AuthMechanism::ScramSha1,
        ScramMechanism::Sha256 => AuthMechanism::ScramSha256,
    }
}

/// The mechanism to use: the credential's, else SCRAM-SHA-256 when the server
/// listed it for the user, else SCRAM-SHA-1.
fn resolve_mechanism(cred: &Credential, conn: &Connection) -> Result<AuthMechanism> {
    if let Some(m) = &cred.mechanism {
        return Ok(*m);
    }
    let hello = conn.hello();
    refuse_downgrade(hello.max_wire_version)?;
    Ok(match &hello.sasl_supported_mechs {
        Some(mechs) if mechs.iter().any(|m| m == ScramMechanism::Sha256.name()) => {
            AuthMechanism::ScramSha256
        }
        _ => AuthMechanism::ScramSha1,
    })
}

/// A server that claims to predate SCRAM would get MONGODB-CR (an MD5 challenge) if
/// the client chose it by itself; anyone in the middle of a non-TLS connection can
/// make that claim. So the client never does: MONGODB-CR only when asked for.
fn refuse_downgrade(max_wire_version: i32) -> Result<()> {
    if max_wire_version < SCRAM_MIN_WIRE_VERSION {
        return Err(auth_error(
            "SCRAM-SHA-1",
            None,
            format!(
                "the server says it predates SCRAM (maxWireVersion {max_wire_version}); \
                 MONGODB-CR is never chosen automatically: ask for it with \
                 authMechanism=MONGODB-CR if this server really is that old"
            ),
        ));
    }
    Ok(())
}

async fn run_mechanism(
    conn: &mut Connection,
    cred: &Credential,
    mechanism: &AuthMechanism,
) -> Result<()> {
    let source = cred.resolved_source();
    let user = cred.username.as_deref().unwrap_or("");
    let password = cred.password.as_deref().unwrap_or("");
    match mechanism {
        AuthMechanism::ScramSha1 | AuthMechanism::ScramSha256 => {
            let m = scram_mechanism(Some(mechanism));
            ScramStart::new(m, user, password, source)?
                .run(conn, None)
                .await
        }
        AuthMechanism::MongoDbX509 => x509::authenticate(conn, cred).await,
        AuthMechanism::Plain => {
            conn.auth_policy().check_plain(conn.is_tls())?;
            plain::authenticate(conn, source, user, password).await
        }
        AuthMechanism::MongoDbCr => legacy_cr::authenticate(conn, source, user, password).await,
        other => Err(Error::configuration(format!(
            "authentication mechanism {} is not supported by mongopool",
            other.name()
        ))),
    }
}

impl Connection {
    /// Logs this connection in with `credential` and records its source in the
    /// connection's auth set (PyMongo's `authenticate`). Errors are connection
    /// failures, or authentication failures with the server's code and message.
    pub async fn authenticate(&mut self, credential: &Credential) -> Result<()> {
        credential.validate()?;
        credential.check_supported()?;
        let mechanism = match credential.mechanism {
            Some(mechanism) => mechanism,
            None => self.negotiate_mechanism(credential).await?,
        };
        let span = auth_span(&mechanism, credential, false);
        crate::spans::run_in(span, run_mechanism(self, credential, &mechanism)).await?;
        self.authset_mut()
            .insert(credential.resolved_source().to_owned(), credential.clone());
        Ok(())
    }

    /// Brings this connection's logins up to date with `all_credentials` (source →
    /// credential), as PyMongo's `check_auth`: logs out of sources no longer
    /// wanted (or closes the connection when the server refuses `logout`, so a pool
    /// replaces it) and logs in to sources it lacks or whose credential changed.
    pub async fn check_auth(
        &mut self,
        all_credentials: &BTreeMap<String, Credential>,
    ) -> Result<()> {
        let stale: Vec<String> = self
            .auth_sources()
            .filter(|source| {
                all_credentials
                    .get(*source)
                    .is_none_or(|wanted| Some(wanted) != self.authset_get(source))
            })
            .map(str::to_owned)
            .collect();
        for source in stale {
            let logout = bson::rawdoc! { "logout": 1_i32 };
            match self
                .command(&source, &logout, &CommandOptions::default())
                .await
            {
                Ok(_) => {
                    self.authset_mut().remove(&source);
                }
                Err(e) if e.is_operation_failure() => {
                    // The server no longer knows logout (removed in 5.0 / 6.0): the
                    // only way to drop the login is to drop the connection.
                    self.close();
                    return Err(Error::with_source(
                        ErrorKind::ConnectionFailure {
                            message: format!(
                                "closed the connection to {} to log out of {source:?}: the \
                                 server refused logout",
                                self.address()
                            ),
                        },
                        e,
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        for (source, cred) in all_credentials {
            if self.authset_get(source).is_none() {
                self.authenticate(cred).await?;
            }
        }
        Ok(())
    }

    /// The mechanism for a credential without one, asked of the server for this
    /// user: the handshake's `saslSupportedMechs` was about the handshake's user
    /// (or nobody), not necessarily this one.
    async fn negotiate_mechanism(&mut self, credential: &Credential) -> Result<AuthMechanism> {
        refuse_downgrade(self.hello().max_wire_version)?;
        let user = format!(
            "{}.{}",
            credential.resolved_source(),
            credential.username.as_deref().unwrap_or("")
        );
        let mut hello = RawDocumentBuf::new();
        if self.hello().hello_ok {
            hello.append(cstr!("hello"), 1_i32);
        } else {
            hello.append(cstr!("isMaster"), 1_i32);
        }
        hello.append(cstr!("saslSupportedMechs"), user.as_str());
        let reply = self
            .command("admin", &hello, &CommandOptions::default())
            .await?;
        let lists_sha256 = match reply.get_array("saslSupportedMechs") {
            Ok(mechs) => mechs
                .into_iter()
                .any(|m| matches!(m, Ok(m) if m.as_str() == Some(ScramMechanism::Sha256.name()))),
            Err(_) => false,
        };
        Ok(if lists_sha256 {
            AuthMechanism::ScramSha256
        } else {
            AuthMechanism::ScramSha1
        })
    }

    fn authset_get(&self, source: &str) -> Option<&Credential> {
        self.authset().get(source)
    }
}

/// The span of one login: the mechanism and the source database, never the user
/// name, the password or any of the conversation.
fn auth_span(
    mechanism: &AuthMechanism,
    credential: &Credential,
    speculative: bool,
) -> tracing::Span {
    tracing::info_span!(
        target: crate::spans::TARGET,
        "authenticate",
        mechanism = mechanism.name(),
        source = credential.resolved_source(),
        speculative,
        durationMS = tracing::field::Empty,
        outcome = tracing::field::Empty,
        failure = tracing::field::Empty,
    )
}
