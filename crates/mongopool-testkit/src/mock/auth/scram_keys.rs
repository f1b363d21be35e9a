//! The keys and signatures of SCRAM (RFC 5802 section 3), for SHA-1 and SHA-256.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::scram::ScramMechanism;

/// What a server stores for a user: enough to check a client proof and to prove
/// itself, not enough to log in.
pub(crate) struct ScramKeys {
    mechanism: ScramMechanism,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

impl ScramKeys {
    /// Derives the keys from the password the mechanism hashes (for SCRAM-SHA-1,
    /// MongoDB's password digest; for SCRAM-SHA-256, the password itself).
    pub(crate) fn derive(
        mechanism: ScramMechanism,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> ScramKeys {
        let salted = salted_password(mechanism, password, salt, iterations);
        let client_key = hmac(mechanism, &salted, b"Client Key");
        ScramKeys {
            mechanism,
            stored_key: hash(mechanism, &client_key),
            server_key: hmac(mechanism, &salted, b"Server Key"),
        }
    }

    /// Whether `proof` proves knowledge of the password for `auth_message`:
    /// ClientKey = proof XOR HMAC(StoredKey, AuthMessage), and H(ClientKey) must be
    /// StoredKey.
    pub(crate) fn verify_proof(&self, auth_message: &[u8], proof: &[u8]) -> bool {
        let signature = hmac(self.mechanism, &self.stored_key, auth_message);
        if proof.len() != signature.len() {
            return false;
        }
        let client_key: Vec<u8> = proof.iter().zip(&signature).map(|(p, s)| p ^ s).collect();
        hash(self.mechanism, &client_key) == self.stored_key
    }

    /// HMAC(ServerKey, AuthMessage): the server's proof that it knows the user.
    pub(crate) fn server_signature(&self, auth_message: &[u8]) -> Vec<u8> {
        hmac(self.mechanism, &self.server_key, auth_message)
    }
}

fn salted_password(
    mechanism: ScramMechanism,
    password: &[u8],
    salt: &[u8],
    rounds: u32,
) -> Vec<u8> {
    match mechanism {
        ScramMechanism::Sha1 => {
            let mut out = vec![0u8; 20];
            pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, &mut out);
            out
        }
        ScramMechanism::Sha256 => {
            let mut out = vec![0u8; 32];
            pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, &mut out);
            out
        }
    }
}

fn hmac(mechanism: ScramMechanism, key: &[u8], message: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length: new_from_slice cannot fail.
    match mechanism {
        ScramMechanism::Sha1 => {
            let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        ScramMechanism::Sha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
    }
}

fn hash(mechanism: ScramMechanism, data: &[u8]) -> Vec<u8> {
    match mechanism {
        ScramMechanism::Sha1 => Sha1::digest(data).to_vec(),
        ScramMechanism::Sha256 => Sha256::digest(data).to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;

    use super::*;

    /// RFC 7677 section 3: user "user", password "pencil", 4096 iterations.
    #[test]
    fn rfc_7677_example() {
        let salt = BASE64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").unwrap();
        let keys = ScramKeys::derive(ScramMechanism::Sha256, b"pencil", &salt, 4096);
        let auth_message = "n=user,r=rOprNGfwEbeRWgbNEkqO,\
            r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096,\
            c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
        let proof = BASE64
            .decode("dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")
            .unwrap();
        assert!(keys.verify_proof(auth_message.as_bytes(), &proof));
        let mut wrong = proof.clone();
        wrong[0] ^= 1;
        assert!(!keys.verify_proof(auth_message.as_bytes(), &wrong));
        assert_eq!(
            BASE64.encode(keys.server_signature(auth_message.as_bytes())),
            "6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
        );
    }

    /// RFC 5802 section 5: user "user", password "pencil", SHA-1, 4096 iterations.
    #[test]
    fn rfc_5802_example() {
        let salt = BASE64.decode("QSXCR+Q6sek8bf92").unwrap();
        let keys = ScramKeys::derive(ScramMechanism::Sha1, b"pencil", &salt, 4096);
        let auth_message = "n=user,r=fyko+d2lbbFgONRv9qkxdawL,\
            r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096,\
            c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j";
        let proof = BASE64.decode("v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=").unwrap();
        assert!(keys.verify_proof(auth_message.as_bytes(), &proof));
        assert_eq!(
            BASE64.encode(keys.server_signature(auth_message.as_bytes())),
            "rmF9pqV8S7suAoZWja4dJRkFsKQ="
        );
    }
}
