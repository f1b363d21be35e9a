//! From the `--uri` text to something that connects: the parsed and resolved connection
//! string, with a password asked for on the terminal when the URI names a user and no
//! password.

use std::io::IsTerminal;

use mongopool::AuthMechanism;
use mongopool::ConnectionString;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::BoxError;

/// Everything but the RFC 3986 unreserved characters: a password may hold `@`, `:`,
/// `/` or `%`, which would otherwise end or change the userinfo.
const USERINFO: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Parses and resolves `uri` (printing its warnings), asking for the password first if
/// the URI names a user without one.
pub async fn resolve(uri: &str) -> Result<ConnectionString, BoxError> {
    let mut cs = ConnectionString::parse(uri)?;
    if let Some(user) = user_without_password(&cs) {
        let password = ask_password(&user)?;
        cs = ConnectionString::parse(&with_password(uri, &password)?)?;
    }
    for warning in cs.warnings() {
        eprintln!("mongopool: warning: {warning}");
    }
    Ok(cs.resolve().await?)
}

/// The user name, when the URI names a user, no password, and a mechanism that needs
/// one (SCRAM, PLAIN, MONGODB-CR, or a negotiated one).
fn user_without_password(cs: &ConnectionString) -> Option<String> {
    let credential = cs.credential()?;
    let needs_password = matches!(
        credential.mechanism,
        None | Some(AuthMechanism::ScramSha1)
            | Some(AuthMechanism::ScramSha256)
            | Some(AuthMechanism::Plain)
            | Some(AuthMechanism::MongoDbCr)
    );
    if credential.password.is_some() || !needs_password {
        return None;
    }
    credential.username.clone()
}

/// Reads the password from the terminal, without echo.
fn ask_password(user: &str) -> Result<String, BoxError> {
    // Without a terminal there is nobody to ask: reading a line from a pipe would take
    // the password from whatever data was piped in (a command document, say).
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "the URI names user {user:?} but no password, and stdin is not a terminal to \
             ask for one: put it in the URI (mongodb://{user}:PASSWORD@..., percent-encoded)"
        )
        .into());
    }
    let password = rpassword::prompt_password(format!("password for {user}: "))
        .map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(password)
}

/// `uri` with `:password` (percent-encoded) after the user name.
fn with_password(uri: &str, password: &str) -> Result<String, BoxError> {
    let after_scheme = uri.find("://").ok_or("the URI has no scheme")? + 3;
    // The userinfo ends at the last `@` before the path: a `@` in the user name must
    // be percent-encoded, so the last one is the separator.
    let authority_end = uri[after_scheme..]
        .find(['/', '?'])
        .map_or(uri.len(), |i| after_scheme + i);
    let at = uri[after_scheme..authority_end]
        .rfind('@')
        .map(|i| after_scheme + i)
        .ok_or("the URI names no user")?;
    let encoded = utf8_percent_encode(password, USERINFO);
    Ok(format!("{}:{encoded}{}", &uri[..at], &uri[at..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_goes_into_the_userinfo() {
        let uri = with_password("mongodb://ann@h:1/db?authSource=admin", "p@ss:/%w").unwrap();
        assert_eq!(
            uri,
            "mongodb://ann:p%40ss%3A%2F%25w@h:1/db?authSource=admin"
        );
        let cs = ConnectionString::parse(&uri).unwrap();
        let credential = cs.credential().unwrap();
        assert_eq!(credential.username.as_deref(), Some("ann"));
        assert_eq!(credential.password.as_deref(), Some("p@ss:/%w"));
        // The user's own encoded `@` is not the separator.
        let uri = with_password("mongodb://a%40b@h", "x").unwrap();
        assert_eq!(uri, "mongodb://a%40b:x@h");
    }

    #[test]
    fn only_a_user_without_a_password_is_asked() {
        let ask = |uri: &str| user_without_password(&ConnectionString::parse(uri).unwrap());
        assert_eq!(ask("mongodb://ann@h").as_deref(), Some("ann"));
        assert_eq!(ask("mongodb://ann:pw@h"), None);
        assert_eq!(
            ask("mongodb://ann:@h"),
            None,
            "an empty password is a password"
        );
        assert_eq!(ask("mongodb://h"), None);
        assert_eq!(
            ask("mongodb://CN=ann@h/?authMechanism=MONGODB-X509&tls=true"),
            None
        );
    }
}
