//! How a request that did not get through the upstream proxy is described: the step that
//! failed ([`Unreached`]), what the proxy said ([`FailureKind`]), and the whole [`Failure`] the
//! app turns into a message and an exit code ([`failure_error`]; `toll serve` also into a
//! `Proxy-Status`); and rustls's certificate words put plainly ([`readable`]), for the proxy's
//! certificate here and the origin's in the client.

use crate::error::{Error, Exit};
use crate::term::sanitize;
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

/// Where to look for a proxy setting that came from `origin`: the PAC or the desktop's
/// settings say themselves (review W: a PAC's dead proxy hinted at -x and the variables).
fn setting(origin: &str) -> String {
    if origin.starts_with("PAC")
        || origin.contains("GNOME")
        || origin.contains("KDE")
        || origin.contains("macOS")
    {
        sanitize(origin)
    } else {
        "-x, https_proxy, http_proxy".to_string()
    }
}

/// The message for a request the relay could not get through the proxy: which proxy, what it
/// offered, which credential source was tried, and what most likely went wrong.
pub fn failure_error(f: Failure) -> Error {
    let proxy = format!("{} (from {})", f.proxy, f.origin);
    let offered = if f.offered.is_empty() {
        "no scheme".to_string()
    } else {
        f.offered.iter().map(|o| sanitize(o)).collect::<Vec<_>>().join(", ")
    };
    let target = sanitize(&crate::term::mask_url_password(&f.target));
    // A CONNECT's target is `host:port`, a request's an absolute URI.
    let http_connect = f.status.as_ref().map(|(code, _)| *code).filter(|_| !f.target.contains("://"));
    let mut e = match f.kind {
        FailureKind::Unreachable(why, Unreached::Certificate) => {
            Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}"))
                .hint("if the proxy's certificate comes from a private CA, pass it with --proxy-cacert FILE")
        }
        FailureKind::Unreachable(why, Unreached::Revocation) => {
            Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}")).hint(
                "--proxy-crlfile revokes the proxy's certificate, or holds no valid CRL of its issuer: check the CRL file",
            )
        }
        FailureKind::Unreachable(why, Unreached::PinnedKey) => Error::new(
            Exit::PinnedKey,
            format!("cannot reach proxy {proxy}: its public key does not match --proxy-pinnedpubkey ({why})"),
        )
        .hint("the proxy's key changed, or something between answered for it: check with 'toll doctor'"),
        FailureKind::Unreachable(why, Unreached::Tls) if wants_client_certificate(&why) => {
            Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}"))
                .hint("the proxy wants a client certificate it trusts: give it with --proxy-cert (and --proxy-key)")
        }
        FailureKind::Unreachable(why, Unreached::Tls) if why.contains("alert") && why.contains("HandshakeFailure") => {
            Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}")).hint(
                "the proxy refused the handshake: it may want a client certificate (--proxy-cert), or take none of \
                 the suites offered (--proxy-ciphers, --proxy-tls13-ciphers)",
            )
        }
        FailureKind::Unreachable(why, Unreached::Tls) => {
            Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}"))
                .hint("check that the proxy speaks TLS on that port: most proxies take http://, even for https:// URLs")
        }
        FailureKind::Unreachable(why, Unreached::Doh) => {
            Error::new(Exit::ResolveHost, format!("cannot reach proxy {proxy}: {why}"))
                .hint("check the proxy's name, and the DoH server (--doh-url): -v shows what it answered")
        }
        FailureKind::Unreachable(why, step) => {
            let e = Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}"))
                .hint(format!("check the proxy host and port ({}) and that it is running", setting(&f.origin)));
            // curl: 5 for a proxy's name that did not resolve, retried always; 7 for a refusal,
            // retried with --retry-connrefused.
            match step {
                Unreached::Name => e.retry_as(Exit::ResolveHost),
                Unreached::Refused => e.retry_as(Exit::Connect),
                Unreached::Certificate
                | Unreached::Doh
                | Unreached::Revocation
                | Unreached::PinnedKey
                | Unreached::Tls
                | Unreached::Other => e,
            }
        }
        FailureKind::NoChallenge => Error::new(
            Exit::AuthNoUsableScheme,
            format!("proxy {proxy} answered 407 for {target} without a Proxy-Authenticate challenge"),
        )
        .hint("the proxy is misconfigured: ask its administrator which authentication it expects"),
        FailureKind::NoUsableScheme { unusable } => Error::new(
            Exit::AuthNoUsableScheme,
            format!(
                "proxy {proxy} requires authentication toll cannot answer here (offered: {offered}){}",
                if unusable.is_empty() { String::new() } else { format!("; {}", sanitize(&unusable.join("; "))) }
            ),
        )
        .hint(
            "toll answers Negotiate (with a Kerberos ticket: run kinit), NTLM, Digest and Basic; check that \
             --proxy-basic/--proxy-digest/--proxy-ntlm/--proxy-negotiate do not exclude what is offered",
        ),
        FailureKind::NoCredentials { incomplete } => {
            let extra = if incomplete.is_empty() { String::new() } else { format!(" ({})", incomplete.join("; ")) };
            Error::new(
                Exit::AuthNoCredentials,
                format!("proxy {proxy} requires authentication (offered: {offered}) and no credentials are available{extra}"),
            )
            .hint(match offered.contains("Negotiate") {
                // The usual corporate proxy offers Negotiate and NTLM: a missing or expired
                // ticket is the likelier cause than a missing password.
                true => "get a Kerberos ticket (kinit), with which toll answers Negotiate without a password; \
                         or pass -U user:password, set TOLL_PROXY_USER and TOLL_PROXY_PASSWORD, or store it: toll auth login",
                false => "pass -U user:password, set TOLL_PROXY_USER and TOLL_PROXY_PASSWORD, or use http://user:password@proxy:port",
            })
        }
        FailureKind::Rejected { sources } => Error::new(
            Exit::AuthRejected,
            format!(
                "proxy {proxy} rejected the credentials from {} (offered: {offered}); each was sent once and not retried",
                sources.join(", then ")
            ),
        )
        .hint(format!(
            "likely causes, most likely first: a wrong or expired password; the proxy denies {target} to this user \
             even with valid credentials (Squid reports that with the same 407); a wrong proxy setting ({})",
            f.origin
        )),
        FailureKind::RestrictedDestination { user } => Error::new(
            Exit::ProxyDenied,
            format!("proxy {proxy} refused {target} for user {user:?}, whose credentials it accepted earlier in this run"),
        )
        .hint("most likely an access restriction for this destination: ask your proxy administrator; if the password \
               changed meanwhile, toll tries it once more for another destination, then stops sending it"),
        FailureKind::Denied => Error::new(Exit::ProxyDenied, format!("proxy {proxy} denied access to {target} (403 Forbidden)"))
            .hint("the proxy's policy blocks this destination: ask your proxy administrator"),
        FailureKind::Timeout(why) => Error::new(Exit::Timeout, format!("cannot reach proxy {proxy}: {why}"))
            .hint(format!("raise --connect-timeout, or check the proxy host and port ({})", setting(&f.origin))),
        FailureKind::NoAnswer(limit) => Error::new(Exit::Timeout, format!("proxy {proxy} did not answer for {target} within {limit:.0?}"))
            .hint("the proxy took the request but sent nothing back: retry, or ask the proxy administrator"),
        FailureKind::ProxyError(why) => Error::new(Exit::ProxyFailed, format!("proxy {proxy} failed for {target}: {}", sanitize(&why)))
            .hint("retry; if it persists, check the proxy setting or ask the proxy administrator"),
        FailureKind::Preproxy(socks) => preproxy_error(&proxy, socks),
    };
    e.http_connect = http_connect;
    e
}

/// A TLS alert that says the peer wants a (trusted) client certificate: TLS 1.3's
/// `certificate_required`, or what a server sends for an untrusted one. (A `handshake_failure`
/// may say that too, or that no suite suited: its hint names both.)
fn wants_client_certificate(why: &str) -> bool {
    ["CertificateRequired", "BadCertificate", "UnknownCA", "CertificateUnknown"]
        .iter()
        .any(|a| why.contains(a))
        && why.contains("alert")
}

/// `--preproxy`'s SOCKS proxy did not get toll through to the proxy: the exit codes of the same
/// failures with an HTTP proxy (curl has one code, 97, for all of them).
fn preproxy_error(proxy: &str, f: crate::socks::Failed) -> Error {
    let why = sanitize(&f.message);
    let login = |socks: &str| {
        format!(
            "put the user name and password in --preproxy (socks5://USER:PASSWORD@HOST:PORT), or store them with \
             'toll auth login {socks}'"
        )
    };
    match (&f.login, f.kind) {
        (Some(socks), _) if f.missing => {
            Error::new(Exit::AuthNoCredentials, format!("cannot reach proxy {proxy}: {why}"))
                .hint(login(socks))
        }
        (Some(socks), _) => {
            Error::new(Exit::AuthRejected, format!("cannot reach proxy {proxy}: {why}")).hint(login(socks))
        }
        (None, "connection_timeout") => {
            Error::new(Exit::Timeout, format!("cannot reach proxy {proxy}: {why}"))
                .hint("raise --connect-timeout, or check --preproxy and the proxy's host and port")
        }
        (None, "http_request_denied") => {
            Error::new(Exit::ProxyDenied, format!("cannot reach proxy {proxy}: {why}"))
                .hint("the SOCKS proxy's rules do not allow connections to this proxy: ask its administrator")
        }
        (None, "connection_refused" | "destination_unavailable" | "dns_error") => {
            Error::new(Exit::ProxyUnreachable, format!("cannot reach proxy {proxy}: {why}"))
                .hint("check --preproxy, and the proxy's host and port as the SOCKS proxy sees them")
        }
        (None, _) => Error::new(Exit::ProxyFailed, format!("cannot reach proxy {proxy}: {why}")).hint(
            "check that --preproxy names a SOCKS proxy of that version (socks4, socks4a, socks5, socks5h)",
        ),
    }
}

/// rustls's and webpki's words for a certificate with their debug names put plainly:
/// `Other(OtherError(CaUsedAsEndEntity))` says what that is, another `Other(OtherError(Name))` is
/// `Name`, and a presented `DnsName("a.example")` is `a.example` (transfers and `toll doctor`).
pub fn readable(text: &str) -> String {
    const CA_AS_SERVER: &str = "a CA's certificate presented as the server's own (a self-signed CA?)";
    let mut out = text.replace("Other(OtherError(CaUsedAsEndEntity))", CA_AS_SERVER);
    while let Some(at) = out.find("Other(OtherError(") {
        let rest = &out[at + "Other(OtherError(".len()..];
        let Some(end) = rest.find("))") else { break };
        out = format!("{}{}{}", &out[..at], &rest[..end], &rest[end + 2..]);
    }
    // rustls quotes a name (`DnsName("a.example")`) but not an address (`IpAddress(10.0.0.1)`).
    for kind in ["DnsName(", "IpAddress("] {
        while let Some(at) = out.find(kind) {
            let rest = &out[at + kind.len()..];
            let Some(end) = rest.find(')') else { break };
            let inner = &rest[..end];
            let inner = inner.strip_prefix('"').and_then(|i| i.strip_suffix('"')).unwrap_or(inner);
            out = format!("{}{}{}", &out[..at], inner, &rest[end + 1..]);
        }
    }
    out
}
