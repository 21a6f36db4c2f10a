//! The test PKI: one CA per test process and a server certificate for `127.0.0.1`, `::1` and
//! `localhost` signed by it. The CA's PEM is written to a file for toll's `--cacert`.

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub struct TestPki {
    ca_path: PathBuf,
    pub server_config: Arc<rustls::ServerConfig>,
    /// The server certificate's public key (SubjectPublicKeyInfo), PEM, for `--pinnedpubkey`.
    pub server_key_pem: String,
    /// Its SHA-256 as `--pinnedpubkey` takes it: `sha256//BASE64`.
    pub server_key_pin: String,
}

impl TestPki {
    /// Path of the CA certificate (PEM), for `--cacert`.
    pub fn ca_arg(&self) -> String {
        self.ca_path.display().to_string()
    }
}

pub fn pki() -> &'static TestPki {
    static PKI: OnceLock<TestPki> = OnceLock::new();
    PKI.get_or_init(make_pki)
}

fn make_pki() -> TestPki {
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.distinguished_name.push(DnType::CommonName, "toll integration-test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_cert = ca_params.self_signed(&ca_key).expect("CA cert");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "::1".to_string(), "localhost".to_string()])
            .expect("server params");
    server_params.distinguished_name.push(DnType::CommonName, "toll test origin");
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    server_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params.signed_by(&server_key, &issuer).expect("server cert");

    let dir = tempfile::Builder::new().prefix("toll-it-pki-").tempdir().expect("tempdir").keep();
    crate::cleanup::register_dir(dir.clone());
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca_cert.pem()).expect("write CA");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain =
        vec![CertificateDer::from(server_cert.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server config");
    let server_key_pin = {
        use sha2::Digest;
        format!(
            "sha256//{}",
            crate::base64(&sha2::Sha256::digest(rcgen::PublicKeyData::subject_public_key_info(&server_key)))
        )
    };
    TestPki {
        ca_path,
        server_config: Arc::new(server_config),
        server_key_pem: server_key.public_key_pem(),
        server_key_pin,
    }
}
