//! TLS settings toll makes itself: for an `https://` proxy (the platform's roots, only
//! `--proxy-cacert`'s, or none with `--proxy-insecure`), for origins reached through a tunnel
//! (`tunnel`: the same choices reqwest makes from `--cacert`/`-k`), and the PEM files of
//! `--cacert`.

use crate::config::{HttpVersion, ProxyConfig, RequestConfig};
use crate::error::{Error, Exit, Result};
use std::sync::Arc;

/// TLS settings for `https://` proxies: the platform's roots, or only `--proxy-cacert`'s, or no
/// verification with `--proxy-insecure`.
pub(super) fn proxy_tls(cfg: &ProxyConfig) -> Result<Arc<rustls::ClientConfig>> {
    let mut config = verifying(cfg.proxy_insecure, cfg.proxy_cacert.as_deref())?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// TLS settings for an origin reached through a tunnel (`tunnel`), as reqwest builds them for
/// the same request (`build_client`): only `--cacert`'s roots, or no certificate check with
/// `-k` (signatures still checked), or the platform verifier; ALPN h2 and http/1.1, or only
/// http/1.1 with `--http1.1`.
pub(super) fn origin_tls(req: &RequestConfig) -> Result<Arc<rustls::ClientConfig>> {
    let mut config = verifying(req.insecure, req.cacert.as_deref())?;
    config.alpn_protocols = match req.curl.http_version {
        HttpVersion::Http11 => vec![b"http/1.1".to_vec()],
        _ => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    };
    Ok(Arc::new(config))
}

/// reqwest's TLS settings as toll's own for the same request ([`origin_tls`], whose platform
/// verifier reads the system's CA bundle only when a certificate is to be checked), when the two
/// mean the same thing; `None` leaves reqwest to build its own, which it must for what only its
/// setup carries out (`--tlsv1.x`/`--tls-max`, `--capath`, `-E`) or where its ALPN differs
/// (`--http1.0`, `--http2-prior-knowledge`).
pub(super) fn reqwest_tls(req: &RequestConfig) -> Result<Option<rustls::ClientConfig>> {
    let c = &req.curl.conn;
    if c.tls_min.is_some()
        || c.tls_max.is_some()
        || c.capath.is_some()
        || c.client_cert.is_some()
        || c.http10
        || req.curl.http_version == HttpVersion::Http2PriorKnowledge
    {
        return Ok(None);
    }
    Ok(Some((*origin_tls(req)?).clone()))
}

/// A client config that checks nothing (`insecure`: signatures still are), or trusts only the
/// PEM file `cacert`, or the platform's verifier.
fn verifying(insecure: bool, cacert: Option<&std::path::Path>) -> Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::new(Exit::Internal, format!("TLS setup: {e}")))?;
    Ok(if insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(verify::accept_any(provider))
            .with_no_client_auth()
    } else if let Some(path) = cacert {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| bad_ca(path, &e.to_string()))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        builder.dangerous().with_custom_certificate_verifier(verify::platform(provider)).with_no_client_auth()
    })
}

/// The certificates of a PEM file (`--cacert`, `--proxy-cacert`); an error names the file. A
/// file is read once per process: the HTTP client, the tunnel's TLS and the proxy's may all
/// ask for the same one (a system bundle is ~150 certificates to decode).
pub fn read_certs(path: &std::path::Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use std::collections::HashMap;
    use std::sync::Mutex;
    type Read = Vec<rustls_pki_types::CertificateDer<'static>>;
    static READ: Mutex<Option<HashMap<std::path::PathBuf, Read>>> = Mutex::new(None);
    if let Some(certs) = READ.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert_default().get(path) {
        return Ok(certs.clone());
    }
    let certs = read_certs_from_file(path)?;
    READ.lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert_default()
        .insert(path.to_path_buf(), certs.clone());
    Ok(certs)
}

fn read_certs_from_file(path: &std::path::Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let certs: Vec<_> = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| bad_ca(path, &e.to_string()))?
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| bad_ca(path, &e.to_string()))?;
    if certs.is_empty() {
        return Err(bad_ca(path, "no PEM certificate in it"));
    }
    Ok(certs)
}

pub(super) fn bad_ca(path: &std::path::Path, why: &str) -> Error {
    Error::new(Exit::CaCert, format!("cannot use CA file {}: {why}", path.display()))
        .hint("give a PEM file with one or more CERTIFICATE blocks")
}

mod verify {
    //! The two certificate checks toll makes itself, sharing the signature checks (always made,
    //! with the crypto provider's algorithms, as the platform verifier makes them too):
    //! - [`Check::Platform`]: the platform's verifier, made on the first certificate it is asked
    //!   to check — on Linux it reads and parses the whole system CA bundle (~150 certificates,
    //!   ~1 ms of CPU), which an http:// transfer never needs. One per process, shared by every
    //!   TLS config toll makes;
    //! - [`Check::AcceptAny`]: `-k`/`--proxy-insecure`, the certificate is not checked.
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::DigitallySignedStruct;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use std::sync::{Arc, OnceLock};

    #[derive(Debug)]
    pub enum Check {
        Platform(OnceLock<Result<rustls_platform_verifier::Verifier, rustls::Error>>),
        AcceptAny,
    }

    #[derive(Debug)]
    pub struct Verifier {
        provider: Arc<CryptoProvider>,
        check: Check,
    }

    /// The process's platform verifier (the first caller's provider: toll has one, ring).
    pub fn platform(provider: Arc<CryptoProvider>) -> Arc<Verifier> {
        static SHARED: OnceLock<Arc<Verifier>> = OnceLock::new();
        SHARED
            .get_or_init(|| Arc::new(Verifier { provider, check: Check::Platform(OnceLock::new()) }))
            .clone()
    }

    /// No certificate check (signatures still are, so the handshake itself is sound).
    pub fn accept_any(provider: Arc<CryptoProvider>) -> Arc<Verifier> {
        Arc::new(Verifier { provider, check: Check::AcceptAny })
    }

    impl ServerCertVerifier for Verifier {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            intermediates: &[CertificateDer<'_>],
            server_name: &ServerName<'_>,
            ocsp: &[u8],
            now: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            match &self.check {
                Check::AcceptAny => Ok(ServerCertVerified::assertion()),
                Check::Platform(made) => made
                    .get_or_init(|| rustls_platform_verifier::Verifier::new(self.provider.clone()))
                    .as_ref()
                    .map_err(Clone::clone)?
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            }
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(m, c, d, &self.provider.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(m, c, d, &self.provider.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.provider.signature_verification_algorithms.supported_schemes()
        }
    }
}
