//! The control plane's certificates, generated at start with `rcgen` (ECDSA P-256): one CA that
//! signs the apiserver's serving certificate and every client certificate, and the
//! service-account signing key pair. Nothing is reused between runs.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};

/// A certificate and its private key, PEM (the key is PKCS#8).
#[derive(Clone)]
pub struct Pem {
    pub certificate: String,
    pub key: String,
}

/// The CA of one control plane.
pub struct Authority {
    pub ca: Pem,
}

fn named(common_name: &str, organizations: &[&str]) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    for o in organizations {
        dn.push(DnType::OrganizationName, *o);
    }
    dn.push(DnType::CommonName, common_name);
    dn
}

impl Authority {
    /// A new self-signed CA.
    pub fn new() -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.distinguished_name = named("pgplane envtest CA", &[]);
        let certificate = params.self_signed(&key)?;
        Ok(Self {
            ca: Pem {
                certificate: certificate.pem(),
                key: key.serialize_pem(),
            },
        })
    }

    fn sign(&self, params: CertificateParams) -> Result<Pem, rcgen::Error> {
        let ca_key = KeyPair::from_pem(&self.ca.key)?;
        let issuer = Issuer::from_ca_cert_pem(&self.ca.certificate, ca_key)?;
        let key = KeyPair::generate()?;
        let certificate = params.signed_by(&key, &issuer)?;
        Ok(Pem {
            certificate: certificate.pem(),
            key: key.serialize_pem(),
        })
    }

    /// The apiserver's serving certificate, for `127.0.0.1` and `localhost`.
    pub fn serving(&self) -> Result<Pem, rcgen::Error> {
        let mut params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
        params.distinguished_name = named("kube-apiserver", &[]);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        self.sign(params)
    }

    /// A client certificate: Kubernetes reads the user from the CN and the groups from O.
    pub fn client(&self, user: &str, groups: &[&str]) -> Result<Pem, rcgen::Error> {
        let mut params = CertificateParams::new(Vec::<String>::new())?;
        params.distinguished_name = named(user, groups);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        self.sign(params)
    }
}

/// The service-account token signing key pair: (private key PEM, public key PEM).
pub fn service_account_keys() -> Result<(String, String), rcgen::Error> {
    let key = KeyPair::generate()?;
    Ok((key.serialize_pem(), key.public_key_pem()))
}
