//! MONGODB-CR digests and keys, and PLAIN payloads, against values computed
//! independently with Python 3's hashlib:
//!
//! ```text
//! python3 -c "import hashlib; d = hashlib.md5(b'user:mongo:pencil').hexdigest(); \
//!   print(d, hashlib.md5(('2375531c32080ae8' + 'user' + d).encode()).hexdigest())"
//! python3 -c "import hashlib; d = hashlib.md5('Ünïcødé:mongo:pa:ss,wörd'.encode()).hexdigest(); \
//!   print(d, hashlib.md5(('abcdef0123456789' + 'Ünïcødé' + d).encode()).hexdigest())"
//! ```

use mongopool_wire::{mongodb_cr, plain};

#[test]
fn mongodb_cr_password_digest() {
    assert_eq!(
        mongodb_cr::password_digest("user", "pencil"),
        "1c33006ec1ffd90f9cadcbcc0e118200"
    );
    assert_eq!(
        mongodb_cr::password_digest("Ünïcødé", "pa:ss,wörd"),
        "96f1e87b50e4a78ef0a0023f381c340c"
    );
}

#[test]
fn mongodb_cr_auth_key() {
    assert_eq!(
        mongodb_cr::auth_key("2375531c32080ae8", "user", "pencil"),
        "21742f26431831d5cfca035a08c5bdf6"
    );
    assert_eq!(
        mongodb_cr::auth_key("abcdef0123456789", "Ünïcødé", "pa:ss,wörd"),
        "00905dfe191632150b876e82441b1011"
    );
    // The nonce is part of the key.
    assert_ne!(
        mongodb_cr::auth_key("2375531c32080ae9", "user", "pencil"),
        "21742f26431831d5cfca035a08c5bdf6"
    );
}

#[test]
fn mechanism_names() {
    assert_eq!(mongodb_cr::MECHANISM, "MONGODB-CR");
    assert_eq!(plain::MECHANISM, "PLAIN");
}

#[test]
fn plain_payload_matches_the_spec_example() {
    // auth.md, PLAIN: payload BinData(0, "AHVzZXIAcGVuY2ls") for user / pencil.
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD
        .decode("AHVzZXIAcGVuY2ls")
        .unwrap();
    assert_eq!(plain::payload("user", "pencil").unwrap(), expected);
}
