//! The one certificate-authority builder of the tests: a self-signed CA made with
//! rcgen that issues server and client certificates, for TLS servers started by the
//! testkit and for the client's TLS tests.

use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

/// A self-signed certificate authority.
pub struct CertificateAuthority {
    /// The CA's certificate (`.pem()` for a CA file, `.der()` for a root store).
    pub cert: Certificate,
    /// The CA's key.
    pub key: KeyPair,
}

/// A certificate issued by a [`CertificateAuthority`], with its key.
pub struct IssuedCertificate {
    /// The certificate.
    pub cert: Certificate,
    /// Its private key (PKCS#8).
    pub key: KeyPair,
}

impl CertificateAuthority {
    /// A new CA whose subject is `CN=<common_name>`.
    ///
    /// # Panics
    /// When rcgen fails to make a key or sign (never with its defaults).
    pub fn new(common_name: &str) -> CertificateAuthority {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let cert = params.self_signed(&key).expect("self-signed CA");
        CertificateAuthority { cert, key }
    }

    /// Signs a certificate made from `params` (for subjects rcgen's defaults cannot
    /// spell), with a new key.
    pub fn issue_with(&self, params: CertificateParams) -> IssuedCertificate {
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.cert, &self.key)
            .expect("signed leaf");
        IssuedCertificate { cert, key }
    }

    /// A certificate for `CN=<common_name>` valid for `names` (DNS names or IP
    /// literals), for `usage`.
    pub fn issue(
        &self,
        common_name: &str,
        names: &[&str],
        usage: ExtendedKeyUsagePurpose,
    ) -> IssuedCertificate {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        self.issue_with(params)
    }

    /// A server certificate (`CN=server`) for `names`.
    pub fn server(&self, names: &[&str]) -> IssuedCertificate {
        self.issue("server", names, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A client certificate (`CN=client`).
    pub fn client(&self) -> IssuedCertificate {
        self.issue("client", &[], ExtendedKeyUsagePurpose::ClientAuth)
    }
}

impl IssuedCertificate {
    /// The PEM of the certificate followed by its key, as `tlsCertificateKeyFile` wants.
    pub fn cert_key_pem(&self) -> String {
        format!("{}{}", self.cert.pem(), self.key.serialize_pem())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_certificates_name_their_issuer() {
        let ca = CertificateAuthority::new("kit CA");
        let leaf = ca.server(&["localhost"]);
        let pem = leaf.cert_key_pem();
        assert!(pem.contains("BEGIN CERTIFICATE") && pem.contains("PRIVATE KEY"));
        assert_ne!(leaf.cert.der(), ca.cert.der());
    }
}
