//! MONGODB-CR, the challenge-response login of servers before 3.0 (removed in 4.0):
//! `getnonce`, then `authenticate` with `{user, nonce, key}`.
//!
//! Its password digest lives on as the password of SCRAM-SHA-1.

use md5::{Digest, Md5};

/// The mechanism name, as in the `mechanism` field of `authenticate`.
pub const MECHANISM: &str = "MONGODB-CR";

/// MongoDB's password digest: lowercase hex of `md5("<user>:mongo:<password>")`, over
/// the UTF-8 bytes, with neither part normalized.
pub fn password_digest(user: &str, password: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(user.as_bytes());
    md5.update(b":mongo:");
    md5.update(password.as_bytes());
    lower_hex(&md5.finalize())
}

/// The `key` of the `authenticate` command: lowercase hex of
/// `md5(<nonce> + <user> + password_digest(user, password))`, where `nonce` is what the
/// server returned from `getnonce`.
pub fn auth_key(nonce: &str, user: &str, password: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(nonce.as_bytes());
    md5.update(user.as_bytes());
    md5.update(password_digest(user, password).as_bytes());
    lower_hex(&md5.finalize())
}

fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}
