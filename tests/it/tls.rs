//! The test PKI: one CA per test process and a server certificate for `127.0.0.1`, `::1` and
//! `localhost` signed by it. The CA's PEM is written to a file for toll's `--cacert`, and CRLs
//! (PEM files, for `--crlfile`) of that CA and of another one.

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
    /// The server's chain (its certificate, the CA) and key, for servers with other settings.
    pub server_chain: Vec<CertificateDer<'static>>,
    pub server_key_der: Vec<u8>,
    dir: PathBuf,
}

/// The CRLs [`TestPki::crl`] writes, each signed by the test CA unless said otherwise.
#[derive(Clone, Copy, Debug)]
pub enum Crl {
    /// Revokes the server's certificate.
    RevokesServer,
    /// Revokes another serial number: the server's certificate is good.
    RevokesOther,
    /// Another CA's (revoking nothing): the server's issuer has no CRL in the file.
    OtherCa,
    /// Revokes nothing, and its nextUpdate is past.
    Expired,
    /// Revokes nothing, and its thisUpdate is to come.
    NotYetValid,
    /// The test CA's name, signed by another key.
    WrongKey,
}

/// The server certificate's serial number, as the CRLs revoke it.
const SERVER_SERIAL: u64 = 0x7011_0001;

impl TestPki {
    /// Path of the CA certificate (PEM), for `--cacert`.
    pub fn ca_arg(&self) -> String {
        self.ca_path.display().to_string()
    }

    /// Path of a CRL file (PEM), written on first use.
    pub fn crl(&self, which: Crl) -> String {
        let path = self.dir.join(format!("{which:?}.crl"));
        if !path.exists() {
            let tmp = self.dir.join(format!("{which:?}.{:?}.tmp", std::thread::current().id()));
            std::fs::write(&tmp, make_crl(which)).expect("write CRL");
            std::fs::rename(&tmp, &path).expect("rename CRL");
        }
        path.display().to_string()
    }

    /// A server config with this PKI's certificate, `provider`'s suites and groups only, and
    /// `versions`.
    pub fn server_config_with(
        &self,
        provider: rustls::crypto::CryptoProvider,
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.server_key_der.clone()));
        Arc::new(
            rustls::ServerConfig::builder_with_provider(Arc::new(provider))
                .with_protocol_versions(versions)
                .expect("protocol versions")
                .with_no_client_auth()
                .with_single_cert(self.server_chain.clone(), key)
                .expect("server config"),
        )
    }
}

/// The CA's key and parameters, to sign CRLs with (rcgen signs with a key and the issuer's
/// name; the same key gives the same CA).
static CA: OnceLock<(String, CertificateParams)> = OnceLock::new();

fn make_crl(which: Crl) -> String {
    use rcgen::{
        date_time_ymd, CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber,
    };
    let (ca_key_pem, ca_params) = CA.get().expect("the PKI is made first");
    let other_key = KeyPair::generate().expect("other CA key");
    let mut other_params = CertificateParams::new(Vec::<String>::new()).expect("other CA params");
    other_params.distinguished_name.push(DnType::CommonName, "toll integration-test other CA");
    other_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    other_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let (key, params) = match which {
        Crl::OtherCa => (other_key, other_params),
        Crl::WrongKey => (other_key, ca_params.clone()),
        _ => (KeyPair::from_pem(ca_key_pem).expect("CA key"), ca_params.clone()),
    };
    let revoked = |serial: u64| RevokedCertParams {
        serial_number: SerialNumber::from(serial),
        revocation_time: date_time_ymd(2024, 1, 1),
        reason_code: Some(rcgen::RevocationReason::KeyCompromise),
        invalidity_date: None,
    };
    let (this_update, next_update, revoked_certs) = match which {
        Crl::RevokesServer => {
            (date_time_ymd(2024, 1, 1), date_time_ymd(4000, 1, 1), vec![revoked(SERVER_SERIAL)])
        }
        Crl::RevokesOther => {
            (date_time_ymd(2024, 1, 1), date_time_ymd(4000, 1, 1), vec![revoked(SERVER_SERIAL + 1)])
        }
        Crl::OtherCa | Crl::WrongKey => (date_time_ymd(2024, 1, 1), date_time_ymd(4000, 1, 1), vec![]),
        Crl::Expired => (date_time_ymd(2024, 1, 1), date_time_ymd(2024, 2, 1), vec![]),
        Crl::NotYetValid => (date_time_ymd(3999, 1, 1), date_time_ymd(4000, 1, 1), vec![]),
    };
    let crl = CertificateRevocationListParams {
        this_update,
        next_update,
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    crl.signed_by(&Issuer::new(params, key)).expect("CRL").pem().expect("CRL PEM")
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
    let _ = CA.set((ca_key.serialize_pem(), ca_params.clone()));
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().expect("server key");
    let mut server_params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "::1".to_string(), "localhost".to_string()])
            .expect("server params");
    server_params.distinguished_name.push(DnType::CommonName, "toll test origin");
    server_params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    server_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    server_params.serial_number = Some(rcgen::SerialNumber::from(SERVER_SERIAL));
    let server_cert = server_params.signed_by(&server_key, &issuer).expect("server cert");

    let dir = tempfile::Builder::new().prefix("toll-it-pki-").tempdir().expect("tempdir").keep();
    crate::cleanup::register_dir(dir.clone());
    let ca_path = dir.join("ca.pem");
    std::fs::write(&ca_path, ca_cert.pem()).expect("write CA");

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain =
        vec![CertificateDer::from(server_cert.der().to_vec()), CertificateDer::from(ca_cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    let server_key_der = server_key.serialize_der();
    let server_config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(chain.clone(), key)
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
        server_chain: chain,
        server_key_der,
        dir,
    }
}

/// An https server on 127.0.0.1 with the test certificate, offering `alpn`: each connection,
/// once TLS is up, goes to `serve` on the server's own thread (one tokio runtime). Returns the
/// port.
pub fn serve_tls<F, Fut>(alpn: &[&[u8]], serve: F) -> u16
where
    F: Fn(tokio_rustls::server::TlsStream<tokio::net::TcpStream>) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let mut cfg = (*pki().server_config).clone();
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let serve = Arc::new(serve);
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            loop {
                let Ok((tcp, _)) = listener.accept().await else { continue };
                let (acceptor, serve) = (acceptor.clone(), serve.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else { return };
                    serve(tls).await;
                });
            }
        });
    });
    port
}
