//! PLAIN (LDAP proxy authentication): the password goes to the server as is, so it
//! belongs on TLS connections only.

use bson::rawdoc;
use bson::spec::BinarySubtype;
use bson::Binary;

use super::auth_command;
use crate::connection::Connection;
use crate::error::Result;

const MECHANISM: &str = "PLAIN";

/// One saslStart carrying `\0user\0password`.
pub(super) async fn authenticate(
    conn: &mut Connection,
    source: &str,
    user: &str,
    password: &str,
) -> Result<()> {
    let payload = Binary {
        subtype: BinarySubtype::Generic,
        bytes: mongopool_wire::plain::payload(user, password)?,
    };
    let cmd = rawdoc! {
        "saslStart": 1_i32,
        "mechanism": MECHANISM,
        "payload": payload,
        "autoAuthorize": 1_i32,
    };
    auth_command(conn, source, &cmd, MECHANISM).await?;
    Ok(())
}
