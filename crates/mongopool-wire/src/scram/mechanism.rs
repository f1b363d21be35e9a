//! The two SCRAM variants MongoDB speaks, and the hash primitives each one uses.

use std::fmt;

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::{Result, WireError};

/// A SCRAM mechanism: which hash function the conversation runs on.
///
/// The two also differ in how the password is prepared before key derivation: SCRAM-SHA-1
/// uses MongoDB's MD5 pre-hash of `user:mongo:password`, SCRAM-SHA-256 uses SASLprep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramMechanism {
    /// SCRAM-SHA-1 (RFC 5802), with MongoDB's pre-hashed password.
    Sha1,
    /// SCRAM-SHA-256 (RFC 7677), with a SASLprep'd password.
    Sha256,
}

impl ScramMechanism {
    /// The mechanism name as MongoDB spells it in `saslStart` and `saslSupportedMechs`:
    /// `"SCRAM-SHA-1"` or `"SCRAM-SHA-256"`.
    pub fn name(self) -> &'static str {
        match self {
            ScramMechanism::Sha1 => "SCRAM-SHA-1",
            ScramMechanism::Sha256 => "SCRAM-SHA-256",
        }
    }

    /// Parses a mechanism name as returned by [`name`](Self::name).
    ///
    /// Matching is exact (mechanism names are case-sensitive in MongoDB); anything else,
    /// including other mechanisms such as `"PLAIN"`, is `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "SCRAM-SHA-1" => Some(ScramMechanism::Sha1),
            "SCRAM-SHA-256" => Some(ScramMechanism::Sha256),
            _ => None,
        }
    }

    /// `Hi()` of RFC 5802: PBKDF2 with HMAC of this mechanism's hash.
    pub(crate) fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramMechanism::Sha1 => {
                let mut out = vec![0u8; 20];
                pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut out);
                out
            }
            ScramMechanism::Sha256 => {
                let mut out = vec![0u8; 32];
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
                out
            }
        }
    }

    /// `HMAC(key, data)` with this mechanism's hash.
    pub(crate) fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha1 => hmac_with::<Hmac<Sha1>>(key, data),
            ScramMechanism::Sha256 => hmac_with::<Hmac<Sha256>>(key, data),
        }
    }

    /// `H(data)` with this mechanism's hash.
    pub(crate) fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramMechanism::Sha1 => Sha1::digest(data).to_vec(),
            ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
        }
    }
}

fn hmac_with<M: Mac + hmac::digest::KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC hashes long keys and pads short ones: no key length is invalid.
    let mut mac =
        <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

impl fmt::Display for ScramMechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for ScramMechanism {
    type Err = WireError;

    fn from_str(s: &str) -> Result<Self> {
        Self::from_name(s).ok_or_else(|| {
            WireError::InvalidArgument(format!("{s:?} is not a SCRAM mechanism name"))
        })
    }
}
