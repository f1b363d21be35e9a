//! Users created in a test server's storage before it starts.

use std::fmt;

use bson::{doc, Bson, Document};

/// A user to create before the server starts with its real options.
///
/// SecantusDB has MongoDB's localhost exception (only the first user can be created
/// without logging in) and no flag to seed users, so the testkit creates all of them
/// on a plain, auth-less instance over the same storage and then restarts it with the
/// requested options (`--auth`, TLS, ...).
#[derive(Clone, PartialEq)]
pub struct SeedUser {
    db: String,
    name: String,
    password: Option<String>,
    roles: Vec<(String, String)>,
    mechanisms: Vec<String>,
}

impl SeedUser {
    /// A password user in `admin` with the `root` role. The server gives it both
    /// SCRAM-SHA-1 and SCRAM-SHA-256 credentials unless [`SeedUser::mechanisms`] narrows
    /// them.
    pub fn scram(name: impl Into<String>, password: impl Into<String>) -> Self {
        SeedUser {
            db: "admin".to_owned(),
            name: name.into(),
            password: Some(password.into()),
            roles: vec![("root".to_owned(), "admin".to_owned())],
            mechanisms: Vec::new(),
        }
    }

    /// An X.509 user in `$external` with the `root` role; `subject` is the client
    /// certificate's subject in RFC 2253 form, e.g. `"O=acme,OU=test,CN=client"`.
    pub fn x509(subject: impl Into<String>) -> Self {
        SeedUser {
            db: "$external".to_owned(),
            name: subject.into(),
            password: None,
            roles: vec![("root".to_owned(), "admin".to_owned())],
            mechanisms: Vec::new(),
        }
    }

    /// The database the user is defined in. Defaults to `admin` (`$external` for X.509).
    pub fn db(mut self, db: impl Into<String>) -> Self {
        self.db = db.into();
        self
    }

    /// The user's roles as `(role, db)` pairs, replacing the default `root` on `admin`.
    pub fn roles<R, D>(mut self, roles: impl IntoIterator<Item = (R, D)>) -> Self
    where
        R: Into<String>,
        D: Into<String>,
    {
        self.roles = roles
            .into_iter()
            .map(|(role, db)| (role.into(), db.into()))
            .collect();
        self
    }

    /// The SCRAM mechanisms to store credentials for, e.g. `["SCRAM-SHA-1"]`. Defaults
    /// to the server's choice (both).
    pub fn mechanisms<M: Into<String>>(mut self, mechanisms: impl IntoIterator<Item = M>) -> Self {
        self.mechanisms = mechanisms.into_iter().map(Into::into).collect();
        self
    }

    /// The database the user is defined in.
    pub fn db_name(&self) -> &str {
        &self.db
    }

    /// The user name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `createUser` command that creates this user (sent to [`SeedUser::db_name`]).
    pub(crate) fn create_user_command(&self) -> Document {
        let mut command = doc! { "createUser": self.name.as_str() };
        if let Some(password) = &self.password {
            command.insert("pwd", password.as_str());
        }
        let roles: Vec<Bson> = self
            .roles
            .iter()
            .map(|(role, db)| Bson::Document(doc! { "role": role.as_str(), "db": db.as_str() }))
            .collect();
        command.insert("roles", roles);
        if !self.mechanisms.is_empty() {
            command.insert("mechanisms", self.mechanisms.clone());
        }
        command
    }
}

impl fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeedUser")
            .field("db", &self.db)
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("roles", &self.roles)
            .field("mechanisms", &self.mechanisms)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scram_user_command() {
        let user = SeedUser::scram("alice", "pw").mechanisms(["SCRAM-SHA-1"]);
        assert_eq!(user.db_name(), "admin");
        assert_eq!(
            user.create_user_command(),
            doc! {
                "createUser": "alice",
                "pwd": "pw",
                "roles": [{ "role": "root", "db": "admin" }],
                "mechanisms": ["SCRAM-SHA-1"],
            }
        );
    }

    #[test]
    fn x509_user_command_has_no_password() {
        let user = SeedUser::x509("CN=client").roles([("readWrite", "test")]);
        assert_eq!(user.db_name(), "$external");
        assert_eq!(
            user.create_user_command(),
            doc! { "createUser": "CN=client", "roles": [{ "role": "readWrite", "db": "test" }] }
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let text = format!("{:?}", SeedUser::scram("alice", "hunter2"));
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("<redacted>"), "{text}");
    }
}
