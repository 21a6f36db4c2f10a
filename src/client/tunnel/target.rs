//! Where a request on toll's own connections says it goes: the TLS server name, `Host` as
//! reqwest writes it, and the request-target — absolute for HTTP/2 and proxies, with
//! `--request-target`'s `*` as HTTP/2's `:path`, and a `Host` given with -H as its `:authority`.

use crate::error::{Error, Exit, Result};
use crate::term::{display_url, sanitize};
use http::header::HeaderValue;

/// The name TLS verifies (and sends as SNI when it is a DNS name).
pub(super) fn server_name(url: &url::Url) -> Result<rustls_pki_types::ServerName<'static>> {
    let name = match url.host() {
        Some(url::Host::Ipv4(a)) => rustls_pki_types::ServerName::IpAddress(std::net::IpAddr::V4(a).into()),
        Some(url::Host::Ipv6(a)) => rustls_pki_types::ServerName::IpAddress(std::net::IpAddr::V6(a).into()),
        Some(url::Host::Domain(d)) => rustls_pki_types::ServerName::try_from(d.to_string()).map_err(|e| {
            Error::new(Exit::Usage, format!("{} has no usable host name: {e}", display_url(url)))
        })?,
        None => return Err(Error::new(Exit::Usage, format!("{} has no host", display_url(url)))),
    };
    Ok(name)
}

/// `Host` as reqwest sends it: the port only when it is not the scheme's default.
pub(super) fn host_header(url: &url::Url) -> Result<HeaderValue> {
    let host = match url.host() {
        Some(url::Host::Ipv6(a)) => format!("[{a}]"),
        _ => url.host_str().unwrap_or_default().to_string(),
    };
    let value = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    HeaderValue::from_str(&value)
        .map_err(|_| Error::new(Exit::Usage, format!("bad host in {}", display_url(url))))
}

/// `uri` with `*` as its path: HTTP/2's `:path` for OPTIONS' asterisk form (an HTTP/1 request
/// line cannot carry it in absolute form).
pub(super) fn asterisk(uri: &http::Uri) -> Result<http::Uri> {
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(http::uri::PathAndQuery::from_static("*"));
    http::Uri::from_parts(parts)
        .map_err(|e| Error::new(Exit::Usage, format!("the request target * cannot be sent: {e}")))
}

/// `url`'s scheme and authority with `target` as the path and query (a target without a
/// leading `/`, such as `*`, gets one: an absolute URL has no other form).
pub(super) fn absolute(url: &url::Url, target: &str) -> Result<http::Uri> {
    let origin = url.origin().ascii_serialization();
    let sep = if target.starts_with('/') { "" } else { "/" };
    let text = format!("{origin}{sep}{target}");
    text.parse().map_err(|e: http::uri::InvalidUri| {
        Error::new(Exit::Usage, format!("the request target cannot be sent: {}", sanitize(&e.to_string())))
    })
}

/// `uri` with `host` (a `Host` field's value) as its authority: HTTP/2's `:authority`.
pub(super) fn with_authority(uri: &http::Uri, host: &HeaderValue) -> Result<http::Uri> {
    let refused = || {
        let shown = sanitize(&String::from_utf8_lossy(host.as_bytes()));
        Error::new(Exit::Usage, format!("the Host field '{shown}' cannot be HTTP/2's :authority"))
            .hint("give a host name or address, with a port if needed, or use --http1.1")
    };
    let authority = http::uri::Authority::try_from(host.as_bytes()).map_err(|_| refused())?;
    // No user name and password: `:authority` has none (RFC 9113 §8.3.1).
    if authority.as_str().contains('@') {
        return Err(refused());
    }
    let mut parts = uri.clone().into_parts();
    parts.authority = Some(authority);
    http::Uri::from_parts(parts).map_err(|_| refused())
}
