//! MONGODB-CR, the challenge-response login of servers before 3.0 (removed in 4.0):
//! `getnonce`, then `authenticate` with md5(nonce + user + md5("user:mongo:password")).

use bson::rawdoc;

use super::{auth_command, auth_error};
use crate::connection::Connection;
use crate::error::Result;

const MECHANISM: &str = "MONGODB-CR";

pub(super) async fn authenticate(
    conn: &mut Connection,
    source: &str,
    user: &str,
    password: &str,
) -> Result<()> {
    let reply = auth_command(conn, source, &rawdoc! { "getnonce": 1_i32 }, MECHANISM).await?;
    let nonce = reply
        .get_str("nonce")
        .map_err(|_| auth_error(MECHANISM, None, "getnonce returned no nonce".into()))?;
    let key = mongopool_wire::mongodb_cr::auth_key(nonce, user, password);
    let cmd = rawdoc! {
        "authenticate": 1_i32,
        "user": user,
        "nonce": nonce,
        "key": key,
    };
    auth_command(conn, source, &cmd, MECHANISM).await?;
    Ok(())
}
