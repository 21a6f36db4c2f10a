//! How a request that did not get through the upstream proxy is described: the step that
//! failed ([`Unreached`]), what the proxy said ([`FailureKind`]), and the whole [`Failure`] the
//! app turns into a message and an exit code (and `toll serve` into a `Proxy-Status`).

use http::StatusCode;
use std::time::Duration;

/// Why the relay could not get a request through the upstream proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// DNS, TCP or TLS to the proxy failed: what happened, and which step it was.
    Unreachable(String, Unreached),
    /// 407 without any `Proxy-Authenticate` challenge.
    NoChallenge,
    /// 407 offering only schemes toll cannot answer (or the user did not allow); `unusable`
    /// says why offered schemes failed here (e.g. "Negotiate: no Kerberos ticket").
    NoUsableScheme { unusable: Vec<String> },
    /// 407 and no credential source had anything; `incomplete` says what was half-configured.
    NoCredentials { incomplete: Vec<String> },
    /// Every available credential was refused; the labels of their sources.
    Rejected { sources: Vec<String> },
    /// A credential that worked earlier in this run got a 407 for this destination.
    RestrictedDestination { user: String },
    /// The proxy answered 403 (CONNECT, or its own error page on a request).
    Denied,
    /// Anything else: other statuses on CONNECT, a broken conversation.
    ProxyError(String),
    /// The connection to the proxy (TCP, TLS) did not complete within `--connect-timeout`.
    Timeout(String),
    /// The request was sent but no answer came within this long (`toll serve --answer-timeout`).
    NoAnswer(Duration),
    /// The SOCKS proxy in front of the proxy (`--preproxy`) did not get toll through to it:
    /// unreachable itself, wanting or rejecting a password, or unable to reach the proxy.
    Preproxy(crate::socks::Failed),
}

/// Which step of reaching the proxy failed. `--retry` takes a name that did not resolve as
/// transient, and a refused connection with `--retry-connrefused` (as curl), and `toll serve`'s
/// `Proxy-Status` names the step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unreached {
    /// The proxy's name did not resolve.
    Name,
    /// The proxy's name did not resolve through `--doh-url` (curl's 6, not 5, then).
    Doh,
    /// The proxy refused the TCP connection.
    Refused,
    /// The `https://` proxy's certificate could not be verified.
    Certificate,
    /// `--proxy-crlfile` failed the `https://` proxy's certificate: revoked, no usable CRL of
    /// its issuer.
    Revocation,
    /// The `https://` proxy's public key is not the one `--proxy-pinnedpubkey` pins.
    PinnedKey,
    /// TLS with the `https://` proxy failed otherwise (it may not speak TLS on that port).
    Tls,
    /// Anything else: no route, a timeout from the kernel, the HTTP handshake.
    Other,
}

impl Unreached {
    /// Classifies the error of a TCP connection to the proxy (its name resolved on the way).
    pub fn of(e: &std::io::Error) -> Unreached {
        match e.kind() {
            std::io::ErrorKind::ConnectionRefused => Unreached::Refused,
            // std's getaddrinfo failure has no kind of its own, only this text.
            _ if e.to_string().contains("failed to lookup address") => Unreached::Name,
            _ => Unreached::Other,
        }
    }

    /// Classifies a failed TLS handshake with the proxy.
    pub fn of_tls(e: &std::io::Error) -> Unreached {
        match e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
            Some(r) if crate::pin::is_mismatch(r) => Unreached::PinnedKey,
            Some(
                rustls::Error::InvalidCertificate(
                    rustls::CertificateError::Revoked
                    | rustls::CertificateError::UnknownRevocationStatus
                    | rustls::CertificateError::ExpiredRevocationList
                    | rustls::CertificateError::ExpiredRevocationListContext { .. },
                )
                | rustls::Error::InvalidCertRevocationList(_),
            ) => Unreached::Revocation,
            Some(rustls::Error::InvalidCertificate(_)) => Unreached::Certificate,
            _ => Unreached::Tls,
        }
    }
}

/// The upstream side of a request that did not get through, for the app's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The proxy, as `scheme://host:port` (no credentials).
    pub proxy: String,
    /// Where the proxy setting came from (`-x/--proxy`, `https_proxy`, …).
    pub origin: String,
    /// `host:port` of a CONNECT, or the absolute URI of a request.
    pub target: String,
    pub kind: FailureKind,
    /// The proxy's last status, when it answered.
    pub status: Option<(u16, String)>,
    /// The schemes the proxy offered in its last 407, readable (`Digest (realm "Corp")`).
    pub offered: Vec<String>,
}

/// The status the relay gives reqwest for a failure (the app reads the details from `Failure`).
pub(super) fn failure_status(kind: &FailureKind) -> StatusCode {
    match kind {
        FailureKind::Denied => StatusCode::FORBIDDEN,
        FailureKind::Unreachable(..) | FailureKind::ProxyError(_) => StatusCode::BAD_GATEWAY,
        FailureKind::Timeout(_) | FailureKind::NoAnswer(_) => StatusCode::GATEWAY_TIMEOUT,
        FailureKind::Preproxy(f) => f.status,
        _ => StatusCode::PROXY_AUTHENTICATION_REQUIRED,
    }
}
