//! MONGODB-X509: the TLS client certificate is the credential.

use bson::{rawdoc, RawDocumentBuf};

use super::auth_command;
use crate::connection::Connection;
use crate::credential::Credential;
use crate::error::Result;

const MECHANISM: &str = "MONGODB-X509";

/// `{authenticate: 1, mechanism: "MONGODB-X509"[, user]}`; `db: "$external"` is
/// added when it rides in the hello. The user name is optional: servers from 3.4 on
/// take it from the certificate.
pub(super) fn authenticate_command(cred: &Credential, speculative: bool) -> RawDocumentBuf {
    let mut cmd = rawdoc! { "authenticate": 1_i32, "mechanism": MECHANISM };
    if let Some(user) = &cred.username {
        cmd.append(bson::raw::cstr!("user"), user.as_str());
    }
    if speculative {
        cmd.append(bson::raw::cstr!("db"), "$external");
    }
    cmd
}

/// Runs the one-step X.509 login on `$external`.
pub(super) async fn authenticate(conn: &mut Connection, cred: &Credential) -> Result<()> {
    let cmd = authenticate_command(cred, false);
    auth_command(conn, "$external", &cmd, MECHANISM).await?;
    Ok(())
}
