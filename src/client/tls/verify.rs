//! The certificate checks toll makes itself, sharing the signature checks (always made,
//! with the crypto provider's algorithms, as the platform verifier makes them too):
//! - [`Check::Platform`]: the platform's verifier, made on the first certificate it is asked
//!   to check — on Linux it reads and parses the whole system CA bundle (~150 certificates,
//!   ~1 ms of CPU), which an http:// transfer never needs. One per process, shared by every
//!   TLS config toll makes without a pin;
//! - [`Check::AcceptAny`]: `-k`/`--proxy-insecure`, the certificate is not checked;
//! - [`Check::Roots`]: `--cacert`'s and `--capath`'s roots, and where webpki refuses what
//!   curl with OpenSSL takes from them ([`AsOpenSsl`]): one of those certificates presented as
//!   the server's own (a self-signed certificate made with `openssl req -x509` says it is a
//!   CA, which webpki refuses as an end entity, yet is what `--cacert self.pem` is meant to
//!   trust), and a certificate without subjectAltName names, whose common name curl then
//!   compares (`openssl req -x509 -subj /CN=host` makes one) — its dates and chain still
//!   checked, and the handshake's signature with its key; and an X.509 **version 1**
//!   certificate (what `openssl x509 -req` makes without `-extfile` under OpenSSL 3.0), which
//!   webpki does not parse at all: one of the roots itself, or signed by one of them
//!   ([`v1`]), checked by its dates and common name;
//! - [`Check::Crl`]: `--crlfile`, `--cacert`'s roots or the system's, and the CRLs.
//!
//! Then, with `--pinnedpubkey`, the end entity's SubjectPublicKeyInfo, or its SHA-256, must
//! be one of the [`Pins`] (curl checks the pin with `-k` too).
use super::Crls;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::DigitallySignedStruct;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use std::sync::{Arc, OnceLock};

#[derive(Debug)]
pub enum Check {
    Platform(OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>),
    AcceptAny,
    /// The roots' verifier, and what curl with OpenSSL takes besides.
    Roots(Arc<rustls::client::WebPkiServerVerifier>, AsOpenSsl),
    /// `--crlfile`: roots and CRLs ([`Crls::verifier`]), and the CRLs' thisUpdate.
    Crl(Arc<rustls::client::WebPkiServerVerifier>, Crls),
}

#[derive(Debug)]
pub struct Verifier {
    provider: Arc<CryptoProvider>,
    check: Check,
    pins: Option<Pins>,
    key_curves: bool,
}

/// The process's platform verifier (the first caller's provider: toll has one, ring).
pub fn platform(provider: Arc<CryptoProvider>) -> Arc<Verifier> {
    static SHARED: OnceLock<Arc<Verifier>> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            Arc::new(Verifier {
                provider,
                check: Check::Platform(OnceLock::new()),
                pins: None,
                key_curves: false,
            })
        })
        .clone()
}

/// No certificate check (signatures still are, so the handshake itself is sound).
pub fn accept_any(provider: Arc<CryptoProvider>) -> Arc<Verifier> {
    Arc::new(Verifier { provider, check: Check::AcceptAny, pins: None, key_curves: false })
}

/// `check`, then the pin if any; with `key_curves`, a TLS 1.2 server's ECDSA key must be on
/// one of the provider's groups (`--curves`).
pub fn checked(
    provider: Arc<CryptoProvider>,
    check: Check,
    pins: Option<Pins>,
    key_curves: bool,
) -> Arc<Verifier> {
    Arc::new(Verifier { provider, check, pins, key_curves })
}

/// `--pinnedpubkey`'s keys (DER SubjectPublicKeyInfo) and digests (SHA-256 of one).
#[derive(Debug)]
pub struct Pins {
    pub digests: Vec<[u8; 32]>,
    pub keys: Vec<Vec<u8>>,
}

impl Pins {
    fn hold(&self, end_entity: &CertificateDer<'_>) -> bool {
        use sha2::Digest;
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(end_entity) else { return false };
        let spki = cert.tbs_certificate.subject_pki.raw;
        let digest: [u8; 32] = sha2::Sha256::digest(spki).into();
        self.keys.iter().any(|k| k.as_slice() == spki) || self.digests.contains(&digest)
    }
}

/// What curl with OpenSSL trusts in `--cacert`'s and `--capath`'s roots that webpki does
/// not: one of them as the server's own certificate, and a certificate without names in a
/// subjectAltName checked by its common name.
#[derive(Debug)]
pub struct AsOpenSsl {
    pub roots: Arc<rustls::RootCertStore>,
    pub anchors: Vec<CertificateDer<'static>>,
}

impl AsOpenSsl {
    /// After webpki `refused` the certificate (returned when this check refuses it too): a
    /// root itself, valid now, or a chain to a root; then its subjectAltName names, or
    /// without any, its common name.
    fn verify(
        &self,
        provider: &CryptoProvider,
        cert: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
        refused: rustls::Error,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Ok((_, x509)) = x509_parser::parse_x509_certificate(cert) else { return Err(refused) };
        if x509.version() == x509_parser::x509::X509Version::V1 {
            return v1::verify(&self.anchors, provider, cert, &x509, server_name, now);
        }
        let parsed = rustls::server::ParsedCertificate::try_from(cert)?;
        if self.anchors.contains(cert) {
            valid_at(&x509, now)?;
        } else {
            let algorithms = provider.signature_verification_algorithms.all;
            let chain = rustls::client::verify_server_cert_signed_by_trust_anchor(
                &parsed,
                &self.roots,
                intermediates,
                now,
                algorithms,
            );
            if chain.is_err() {
                return Err(refused);
            }
        }
        match rustls::client::verify_server_name(&parsed, server_name) {
            Ok(()) => Ok(ServerCertVerified::assertion()),
            Err(_) if !has_names(&x509) && common_name_matches(&x509, server_name) => {
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }
}

/// The certificate's dates hold `now` (webpki checks them on a chain it verifies).
fn valid_at(
    x509: &x509_parser::certificate::X509Certificate<'_>,
    now: UnixTime,
) -> Result<(), rustls::Error> {
    let at =
        i64::try_from(now.as_secs()).ok().and_then(|t| x509_parser::time::ASN1Time::from_timestamp(t).ok());
    match at {
        Some(at) if x509.validity().is_valid_at(at) => Ok(()),
        Some(at) if at < x509.validity().not_before => {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidYet))
        }
        _ => Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)),
    }
}

/// Whether a subjectAltName holds a DNS name or an IP address (then the common name is not
/// looked at, as curl does not look at it).
fn has_names(x509: &x509_parser::certificate::X509Certificate<'_>) -> bool {
    use x509_parser::extensions::GeneralName;
    let Ok(Some(san)) = x509.subject_alternative_name() else { return false };
    san.value.general_names.iter().any(|n| matches!(n, GeneralName::DNSName(_) | GeneralName::IPAddress(_)))
}

/// curl's check of the last common name against the host it connected to: equal ignoring
/// case, or for a DNS name a `*.` wildcard standing for its whole first label.
fn common_name_matches(
    x509: &x509_parser::certificate::X509Certificate<'_>,
    server_name: &ServerName<'_>,
) -> bool {
    let Some(cn) = x509.subject().iter_common_name().last().and_then(|a| a.as_str().ok()) else {
        return false;
    };
    let (host, dns) = match server_name {
        ServerName::DnsName(d) => (d.as_ref().to_string(), true),
        ServerName::IpAddress(ip) => (std::net::IpAddr::from(*ip).to_string(), false),
        _ => return false,
    };
    let cn = cn.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if cn == host {
        return true;
    }
    match (cn.strip_prefix("*."), host.split_once('.')) {
        (Some(rest), Some((first, tail))) => dns && !first.is_empty() && rest == tail && rest.contains('.'),
        _ => false,
    }
}

pub(super) mod v1;

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verified = match &self.check {
            Check::AcceptAny => ServerCertVerified::assertion(),
            Check::Platform(made) => made
                .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
                .as_ref()
                .map_err(Clone::clone)?
                .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?,
            Check::Roots(v, also) => {
                match v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                    Ok(verified) => verified,
                    Err(e) => also.verify(&self.provider, end_entity, intermediates, server_name, now, e)?,
                }
            }
            Check::Crl(v, crls) => {
                let verified = v.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)?;
                if crls.not_yet_valid(end_entity, now) {
                    return Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
                        rustls::OtherError(Arc::new(super::tls_tuning::CrlNotYetValid)),
                    )));
                }
                verified
            }
        };
        match &self.pins {
            Some(pins) if !pins.hold(end_entity) => Err(crate::pin::refusal()),
            _ => Ok(verified),
        }
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        if self.key_curves {
            super::tls_tuning::tls12_key_curve(c, &self.provider.kx_groups)?;
        }
        let algorithms = &self.provider.signature_verification_algorithms;
        match v1::key(c) {
            Some(spki) => v1::tls12_signature(m, &spki, d.scheme, d.signature(), algorithms),
            None => rustls::crypto::verify_tls12_signature(m, c, d, algorithms),
        }
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        match v1::key(c) {
            Some(spki) => rustls::crypto::verify_tls13_signature_with_raw_key(m, &spki, d, algorithms),
            None => rustls::crypto::verify_tls13_signature(m, c, d, algorithms),
        }
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}
