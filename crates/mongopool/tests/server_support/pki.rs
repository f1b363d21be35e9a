//! Certificates for the TLS tests, made with rcgen and written as PEM files: a CA the
//! client trusts, a stranger CA it does not, a server certificate for `localhost`
//! only, and a client certificate whose subject is an X.509 user (also with its key
//! encrypted, PKCS#8 PBES2, for `tlsCertificateKeyFilePassword`).

use std::path::{Path, PathBuf};

use mongopool_testkit::{CertificateAuthority, TlsFiles};
use pkcs8::pkcs5::pbes2;
use pkcs8::{LineEnding, PrivateKeyInfo};
use rcgen::{CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyPair};
use tempfile::TempDir;

/// The client certificate's subject as the server names the X.509 user (RFC 2253:
/// the last RDN of the certificate first).
pub const CLIENT_SUBJECT: &str = "CN=client,OU=tests,O=mongopool";

/// The password of [`Pki::encrypted_client_cert_key_file`]; it has characters that a
/// connection string must percent-encode.
pub const CLIENT_KEY_PASSWORD: &str = "s3cret p@ss&word=%/+;";

/// The only name in the server certificate.
pub const SERVER_NAME: &str = "localhost";

/// The PEM files of one test PKI, deleted when this is dropped.
pub struct Pki {
    dir: TempDir,
}

impl Pki {
    /// Makes the CAs and certificates and writes them to a temporary directory.
    pub fn generate() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("mongopool-pki-")
            .tempdir()
            .expect("temporary directory");
        let ca = CertificateAuthority::new("mongopool test CA");
        let stranger = CertificateAuthority::new("mongopool stranger CA");

        let mut server = CertificateParams::new(vec![SERVER_NAME.to_owned()]).expect("params");
        server.distinguished_name.push(DnType::CommonName, "server");
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server = ca.issue_with(server);

        // In certificate order (rcgen's default CN is dropped so that it does not come
        // first); RFC 2253 prints them reversed, as in CLIENT_SUBJECT.
        let mut client = CertificateParams::new(Vec::<String>::new()).expect("params");
        client.distinguished_name = DistinguishedName::new();
        client
            .distinguished_name
            .push(DnType::OrganizationName, "mongopool");
        client
            .distinguished_name
            .push(DnType::OrganizationalUnitName, "tests");
        client.distinguished_name.push(DnType::CommonName, "client");
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client = ca.issue_with(client);

        // A client certificate for a subject that is no user.
        let mut nobody = CertificateParams::new(Vec::<String>::new()).expect("params");
        nobody.distinguished_name.push(DnType::CommonName, "nobody");
        nobody.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let nobody = ca.issue_with(nobody);

        let write = |name: &str, pem: String| {
            std::fs::write(dir.path().join(name), pem).expect("write a PEM file");
        };
        write("ca.pem", ca.cert.pem());
        write("stranger-ca.pem", stranger.cert.pem());
        write("server.pem", server.cert.pem());
        write("server.key", server.key.serialize_pem());
        write(
            "client.pem",
            format!("{}{}", client.cert.pem(), client.key.serialize_pem()),
        );
        write(
            "client-encrypted.pem",
            format!(
                "{}{}",
                client.cert.pem(),
                encrypted_key_pem(&client.key, CLIENT_KEY_PASSWORD)
            ),
        );
        write(
            "nobody.pem",
            format!("{}{}", nobody.cert.pem(), nobody.key.serialize_pem()),
        );
        Pki { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The CA that issued every certificate here.
    pub fn ca_file(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// A CA that issued nothing here.
    pub fn stranger_ca_file(&self) -> PathBuf {
        self.path("stranger-ca.pem")
    }

    /// The client certificate and its key ([`CLIENT_SUBJECT`]).
    pub fn client_cert_key_file(&self) -> PathBuf {
        self.path("client.pem")
    }

    /// The client certificate ([`CLIENT_SUBJECT`]) and its key encrypted with
    /// [`CLIENT_KEY_PASSWORD`].
    pub fn encrypted_client_cert_key_file(&self) -> PathBuf {
        self.path("client-encrypted.pem")
    }

    /// A client certificate and key for `CN=nobody`, a subject that is no user.
    pub fn nobody_cert_key_file(&self) -> PathBuf {
        self.path("nobody.pem")
    }

    /// The server's files; client certificates are verified against the CA and are
    /// optional unless `require_client_cert`.
    pub fn server_files(&self, require_client_cert: bool) -> TlsFiles {
        TlsFiles::new(self.path("server.pem"), self.path("server.key"))
            .client_ca(self.ca_file())
            .require_client_cert(require_client_cert)
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// `key` as an `ENCRYPTED PRIVATE KEY` PEM block, encrypted as `openssl pkcs8 -topk8 -v2
/// aes-256-cbc` does (PBKDF2-HMAC-SHA256, 2048 iterations, AES-256-CBC).
fn encrypted_key_pem(key: &KeyPair, password: &str) -> String {
    let der = key.serialize_der();
    let info = PrivateKeyInfo::try_from(der.as_slice()).expect("rcgen writes PKCS#8");
    let salt: [u8; 16] = rand::random();
    let iv: [u8; 16] = rand::random();
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv).expect("params");
    info.encrypt_with_params(params, password)
        .expect("encrypt the key")
        .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .expect("PEM")
        .to_string()
}
