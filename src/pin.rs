//! The refusal of `--pinnedpubkey` and `--proxy-pinnedpubkey`: a server (or an `https://` proxy)
//! whose public key is not a pinned one. One error type, raised by the certificate verifier
//! (`client::tls`) inside the TLS handshake's error, and told apart there by the client (an
//! origin's, exit 90) and by the relay (a proxy's, `Unreached::PinnedKey`), as curl tells
//! `CURLE_SSL_PINNEDPUBKEYNOTMATCH` from other TLS failures.

/// The server's key is not one of the pinned ones.
#[derive(Debug)]
pub struct PinMismatch;

impl std::fmt::Display for PinMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the server's public key does not match the pinned one")
    }
}

impl std::error::Error for PinMismatch {}

/// The error the verifier returns for it.
pub fn refusal() -> rustls::Error {
    rustls::Error::InvalidCertificate(rustls::CertificateError::Other(rustls::OtherError(
        std::sync::Arc::new(PinMismatch),
    )))
}

/// Whether a TLS error is that refusal.
pub fn is_mismatch(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidCertificate(rustls::CertificateError::Other(o)) if o.0.downcast_ref::<PinMismatch>().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_refusal_is_told_apart_from_other_certificate_errors() {
        assert!(is_mismatch(&refusal()));
        assert!(!is_mismatch(&rustls::Error::InvalidCertificate(rustls::CertificateError::Expired)));
        assert!(!is_mismatch(&rustls::Error::General("x".into())));
    }
}
