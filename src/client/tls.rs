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
            .with_custom_certificate_verifier(Arc::new(insecure::AcceptAny(provider)))
            .with_no_client_auth()
    } else if let Some(path) = cacert {
        let mut roots = rustls::RootCertStore::empty();
        for cert in read_certs(path)? {
            roots.add(cert).map_err(|e| bad_ca(path, &e.to_string()))?;
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    } else {
        let verifier = rustls_platform_verifier::Verifier::new(provider)
            .map_err(|e| Error::new(Exit::Internal, format!("TLS setup: {e}")))?;
        builder.dangerous().with_custom_certificate_verifier(Arc::new(verifier)).with_no_client_auth()
    })
}

/// The certificates of a PEM file (`--cacert`, `--proxy-cacert`); an error names the file.
pub fn read_certs(path: &std::path::Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
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

mod insecure {
    //! `--proxy-insecure`: the proxy's certificate is not checked (signatures still are, so
    //! the handshake itself is sound).
    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::CryptoProvider;
    use rustls::DigitallySignedStruct;
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
    use std::sync::Arc;

    #[derive(Debug)]
    pub struct AcceptAny(pub Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAny {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
        }
        fn verify_tls13_signature(
            &self,
            m: &[u8],
            c: &CertificateDer<'_>,
            d: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}
