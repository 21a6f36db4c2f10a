//! The protocol, connection and TLS options' effects (`config::ConnConfig`): on the HTTP client
//! (TLS versions, CA directory, client certificate, `--connect-to`'s resolver override as
//! `elsewhere` makes it, `--unix-socket`, `-6`, keepalive, `--doh-url`'s resolver), on each hop (`--proto`/`--proto-redir` checks, `-6` against an IPv4 literal),
//! and on each request (`--http1.0`, `--proxy-header`).

use crate::config::{ConnConfig, Interface, RequestConfig, TlsVersion};
use crate::doh::{Doh, Family, Settings};
use crate::error::{Error, Exit, Result};
use crate::report::Reporter;
use crate::route::RouteEntry;
use crate::term::{redact_userinfo, sanitize};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

/// Applies the connection options to the client (`--connect-to` is
/// `elsewhere::Overridden`'s).
pub fn configure(mut b: reqwest::ClientBuilder, req: &RequestConfig) -> Result<reqwest::ClientBuilder> {
    let c = &req.curl.conn;
    if c.http10 {
        b = b.http1_only();
    }
    if c.no_keepalive {
        b = b.tcp_keepalive(None);
    } else if let Some(d) = c.keepalive {
        b = b.tcp_keepalive(d).tcp_keepalive_interval(d);
    }
    #[cfg(unix)]
    if let Some(path) = &c.unix_socket {
        b = b.unix_socket(path.clone());
    }
    #[cfg(not(unix))]
    if c.unix_socket.is_some() {
        return Err(Error::new(Exit::Usage, "--unix-socket needs a Unix system"));
    }
    if c.ipv6_only {
        b = b.dns_resolver(std::sync::Arc::new(Ipv6Only));
    }
    Ok(b)
}

/// `--doh-url`: the resolver of the run's own lookups (`None`: the system's). A URL that is not
/// https:// fails as curl's DoH transfer does (exit 6); `--doh-cert-status` is exit 4, as curl
/// built without OCSP support says: toll's TLS cannot check a certificate's OCSP status.
pub fn doh(req: &RequestConfig, reporter: Arc<dyn Reporter>) -> Result<Option<Arc<Doh>>> {
    let c = &req.curl.conn;
    let Some(d) = &c.doh else { return Ok(None) };
    if d.cert_status {
        return Err(Error::new(
            Exit::NotBuiltIn,
            "--doh-cert-status: toll's TLS cannot check the DoH server's OCSP status",
        )
        .hint(
            "drop --doh-cert-status: the DoH server's certificate is still verified (unless --doh-insecure)",
        ));
    }
    let url = url::Url::parse(&d.url).ok().filter(|u| u.scheme() == "https" && u.host().is_some());
    let url = url.ok_or_else(|| {
        Error::new(
            Exit::ResolveHost,
            format!(
                "--doh-url {}: not an https:// URL, so no name can be resolved",
                sanitize(&redact_userinfo(&d.url))
            ),
        )
        .hint("give the DoH server's URL, e.g. https://dns.example/dns-query")
    })?;
    let family = if req.curl.ip_family == crate::config::IpFamily::V4 {
        Family::V4
    } else if c.ipv6_only {
        Family::V6
    } else {
        Family::Any
    };
    // The lookup is part of connecting: curl bounds it by what is left of both limits.
    let limit = match (req.connect_timeout, req.max_time) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let tls = super::tls::doh_tls(req, d.insecure)?;
    let settings = Settings { url, tls, family, limit, resolve: req.curl.resolve.clone(), reporter };
    Doh::new(settings).map(|d| Some(Arc::new(d))).map_err(|e| Error::new(Exit::Internal, e))
}

/// `--interface`: the address connections leave from, checked once (a bind to it), so that an
/// address this machine does not have, or an interface it does not have, is exit 45 before
/// anything is sent. An interface's address is its first IPv4 one, else its IPv6 one.
pub fn local_address(c: &ConnConfig) -> Result<Option<IpAddr>> {
    let ip = match &c.interface {
        None => return Ok(None),
        Some(Interface::Address(ip)) => *ip,
        Some(Interface::Name(name)) => crate::netif::address_of(name).ok_or_else(|| {
            Error::new(Exit::Interface, format!("--interface {}: no such interface here", sanitize(name)))
                .hint("'ip address' lists the interfaces; or give one of the machine's addresses")
        })?,
    };
    std::net::UdpSocket::bind(SocketAddr::new(ip, 0)).map_err(|e| {
        Error::new(Exit::Interface, format!("--interface: cannot bind to {ip}: {e}"))
            .hint("give an address this machine has, or an interface's name")
    })?;
    Ok(Some(ip))
}

/// Why no TLS version toll speaks (1.2, 1.3) fits `--tlsv1.x`/`--tls-max`, if none does.
fn tls_conflict(c: &ConnConfig) -> Option<String> {
    let min = c.tls_min.unwrap_or(TlsVersion::V1_2).max(TlsVersion::V1_2);
    let max = c.tls_max.unwrap_or(TlsVersion::V1_3);
    (min > max).then(|| match c.tls_min {
        Some(m) if m > max => format!("--tlsv{} asks for more than --tls-max {}", m.name(), max.name()),
        _ => format!("--tls-max {}: toll's TLS speaks only TLS 1.2 and 1.3", max.name()),
    })
}

/// The longest URL toll sends: `http::Uri`'s limit.
const MAX_URL: usize = u16::MAX as usize - 1;

/// Checks a hop before it is sent: `--proto` for the first URL, `--proto-redir` for a redirect
/// target (exit 1, curl's wording), a URL longer than [`MAX_URL`] (2), and TLS settings that
/// leave no version for https.
pub fn check_url(c: &ConnConfig, url: &url::Url, redirected: bool) -> Result<()> {
    if c.disallow_username && (!url.username().is_empty() || url.password().is_some()) {
        // The URL is not shown: its password would be.
        return Err(Error::new(
            Exit::LoginDenied,
            format!(
                "{} holds a user name, and --disallow-username-in-url forbids it",
                if redirected { "the URL of the redirect" } else { "the URL" }
            ),
        )
        .hint("give the credentials with -u (or --netrc) instead, or drop --disallow-username-in-url"));
    }
    let allowed = if redirected { c.redir_protocols } else { c.protocols };
    if !allowed.allows(url.scheme()) {
        let option = if redirected { "--proto-redir" } else { "--proto" };
        return Err(Error::new(
            Exit::Unsupported,
            format!("Protocol \"{}\" not supported or disabled by {option}", url.scheme()),
        )
        .hint(format!("allow it with {option}, or use a URL with an allowed scheme")));
    }
    // The HTTP library holds a request target (absolute, through a proxy) in at most 64 KiB;
    // a longer URL would fail as it is sent, as a broken transfer (56). Servers and proxies
    // refuse far shorter ones (414) anyway.
    if url.as_str().len() > MAX_URL {
        let which = if redirected { "the redirect's URL" } else { "the URL" };
        return Err(Error::new(
            Exit::Usage,
            format!("{which} is {} bytes long: toll sends URLs of up to {MAX_URL} bytes", url.as_str().len()),
        )
        .hint("send long data in the request body (-d, -F) rather than in the URL"));
    }
    if url.scheme() == "https" {
        if let Some(why) = tls_conflict(c) {
            return Err(Error::new(Exit::Tls, format!("no TLS version to use: {why}")));
        }
    }
    Ok(())
}

/// `-6` on a direct connection to an IPv4 address cannot connect (curl: exit 7); `-p` for an
/// http:// URL through an HTTP proxy needs the in-process tunnel (`tunnel_http`: the run has
/// one; options only the reqwest path carries out rule it out).
pub fn check_route(c: &ConnConfig, url: &url::Url, entry: &RouteEntry, tunnel_http: bool) -> Result<()> {
    if c.proxytunnel
        && !tunnel_http
        && url.scheme() == "http"
        && matches!(entry, RouteEntry::Proxy(s) if !s.is_socks())
    {
        return Err(Error::new(
            Exit::Usage,
            "-p/--proxytunnel with an http:// URL cannot be combined with \
             --http2-prior-knowledge, --http1.0, --unix-socket or --trace",
        )
        .hint("drop -p (the proxy still answers, as a proxy request) or the other option"));
    }
    if c.ipv6_only {
        // The proxy, when there is one, is what -6 connects to (curl: exit 7 for both).
        let ipv4 = match entry {
            RouteEntry::Direct => matches!(url.host(), Some(url::Host::Ipv4(_))).then(|| url.host_str()),
            RouteEntry::Proxy(s) => {
                s.host.parse::<std::net::Ipv4Addr>().is_ok().then_some(Some(s.host.as_str()))
            }
        };
        if let Some(ip) = ipv4.flatten() {
            return Err(Error::new(
                Exit::Connect,
                format!("-6/--ipv6: cannot connect to {ip}, an IPv4 address"),
            )
            .hint("drop -6, or use an IPv6 address or a host name"));
        }
    }
    Ok(())
}

/// Per request: `--http1.0`'s version — not towards the relay, whose own HTTP/1.0 answer
/// would then say 1.0 where the proxy said 1.1 (the proxy gets HTTP/1.1 requests from it).
pub fn adjust_request(c: &ConnConfig, request: &mut reqwest::Request, via_relay: bool) {
    if c.http10 && !(via_relay && request.url().scheme() == "http") {
        *request.version_mut() = reqwest::Version::HTTP_10;
    }
}

/// `--proxy-header`s for reqwest's proxy settings: reqwest adds them to a request it sends to
/// an HTTP proxy in absolute form (http:// URLs) and to its CONNECT (the relay passes them on),
/// never to a server directly or inside a tunnel.
pub fn proxy_connect_headers(c: &ConnConfig) -> reqwest::header::HeaderMap {
    let mut map = reqwest::header::HeaderMap::new();
    for (name, value) in &c.proxy_headers {
        if let (Ok(n), Ok(v)) = (
            reqwest::header::HeaderName::from_bytes(name.as_bytes()),
            reqwest::header::HeaderValue::from_str(value),
        ) {
            map.append(n, v);
        }
    }
    map
}

/// `-6`: host names resolve to their IPv6 addresses only.
struct Ipv6Only;

impl reqwest::dns::Resolve for Ipv6Only {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            // curl resolves localhost itself (RFC 6761), whatever /etc/hosts says.
            if host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost") {
                let local = SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0));
                return Ok(Box::new(std::iter::once(local)) as reqwest::dns::Addrs);
            }
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.filter(SocketAddr::is_ipv6).collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no IPv6 address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// `-E`'s file, with `--key`'s after it: PEM text for toll's TLS settings (`tls::client_auth`).
/// An encrypted key is refused (exit 58): toll cannot decrypt keys.
pub fn identity_pem(cert: &Path, key: Option<&Path>) -> Result<Vec<u8>> {
    let read = |p: &Path, what: &str| {
        std::fs::read(p).map_err(|e| {
            Error::new(Exit::ClientCert, format!("cannot read the client {what} file {}: {e}", p.display()))
                .hint("check the file names after -E/--cert and --key")
        })
    };
    let mut pem = read(cert, "certificate")?;
    if let Some(k) = key {
        pem.push(b'\n');
        pem.extend(read(k, "key")?);
    }
    let text = String::from_utf8_lossy(&pem);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(Error::new(
            Exit::ClientCert,
            "the client key is encrypted, and toll cannot decrypt keys",
        )
        .hint("decrypt it once: openssl pkey -in KEY -out plain-key.pem (keep that file private)"));
    }
    Ok(pem)
}

/// The CA certificates of `--capath DIR`: every PEM certificate in the directory's files
/// (files that hold none are skipped, as OpenSSL's hashed links and other files may be there).
pub fn capath_certs(dir: &Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    let entries = std::fs::read_dir(dir).map_err(|e| super::bad_ca(dir, &e.to_string()))?;
    let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    let certs: Vec<_> = paths.iter().filter_map(|p| super::read_certs(p).ok()).flatten().collect();
    if certs.is_empty() {
        return Err(super::bad_ca(dir, "no PEM certificate in its files"));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Protocols;

    #[test]
    fn proto_and_proto_redir() {
        let mut c = ConnConfig::default();
        let https = url::Url::parse("https://h/").unwrap();
        let http = url::Url::parse("http://h/").unwrap();
        assert!(check_url(&c, &http, false).is_ok());
        c.protocols = Protocols { http: false, https: true };
        c.redir_protocols = Protocols { http: false, https: true };
        let e = check_url(&c, &http, false).unwrap_err();
        assert_eq!(
            (e.exit, e.message.as_str()),
            (Exit::Unsupported, "Protocol \"http\" not supported or disabled by --proto")
        );
        assert!(check_url(&c, &https, false).is_ok());
        assert!(check_url(&c, &http, true).unwrap_err().message.contains("--proto-redir"));
    }

    #[test]
    fn tls_versions_that_leave_nothing() {
        let mut c = ConnConfig::default();
        let https = url::Url::parse("https://h/").unwrap();
        c.tls_min = Some(TlsVersion::V1_0);
        assert!(tls_conflict(&c).is_none());
        c.tls_max = Some(TlsVersion::V1_1);
        assert!(tls_conflict(&c).unwrap().contains("only TLS 1.2 and 1.3"));
        assert_eq!(check_url(&c, &https, false).unwrap_err().exit, Exit::Tls);
        assert!(check_url(&c, &url::Url::parse("http://h/").unwrap(), false).is_ok());
        c.tls_min = Some(TlsVersion::V1_3);
        c.tls_max = Some(TlsVersion::V1_2);
        assert!(tls_conflict(&c).unwrap().contains("--tlsv1.3"));
    }

    #[test]
    fn disallow_username_in_url_refuses_any_userinfo() {
        let c = ConnConfig { disallow_username: true, ..Default::default() };
        for u in ["http://bob@h/", "http://bob:pw@h/", "http://:pw@h/"] {
            let url = url::Url::parse(u).unwrap();
            let e = check_url(&c, &url, false).unwrap_err();
            assert_eq!(e.exit, Exit::LoginDenied, "{u}");
            assert!(!e.message.contains("pw") && !e.message.contains("bob"), "{}", e.message);
            assert!(check_url(&c, &url, true).unwrap_err().message.contains("redirect"));
            assert!(check_url(&ConnConfig::default(), &url, false).is_ok(), "{u}: only with the option");
        }
        assert!(check_url(&c, &url::Url::parse("http://h/p?user=bob@x").unwrap(), false).is_ok());
    }

    /// A URL `http::Uri` cannot hold is a usage error before anything is sent (it was a broken
    /// transfer, 56); the longest it holds is sent.
    #[test]
    fn a_url_longer_than_the_http_library_takes_is_refused_first() {
        let c = ConnConfig::default();
        let url = |len: usize| {
            let head = "http://h/?";
            url::Url::parse(&format!("{head}{}", "a".repeat(len - head.len()))).unwrap()
        };
        assert!(check_url(&c, &url(MAX_URL), false).is_ok());
        assert!(http::Uri::try_from(url(MAX_URL).as_str()).is_ok());
        assert!(http::Uri::try_from(url(MAX_URL + 1).as_str()).is_err());
        let e = check_url(&c, &url(MAX_URL + 1), false).unwrap_err();
        assert_eq!(e.exit, Exit::Usage);
        assert!(e.message.contains("65535 bytes"), "{}", e.message);
    }

    #[test]
    fn ipv6_only_refuses_an_ipv4_literal_direct() {
        let c = ConnConfig { ipv6_only: true, ..Default::default() };
        let v4 = url::Url::parse("http://127.0.0.1:9/").unwrap();
        assert_eq!(check_route(&c, &v4, &RouteEntry::Direct, false).unwrap_err().exit, Exit::Connect);
        assert!(
            check_route(&c, &url::Url::parse("http://[::1]:9/").unwrap(), &RouteEntry::Direct, false).is_ok()
        );
        assert!(check_route(&ConnConfig::default(), &v4, &RouteEntry::Direct, false).is_ok());
    }

    #[test]
    fn ipv6_only_resolves_localhost_as_curl_does() {
        use reqwest::dns::Resolve;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        for name in ["localhost", "app.localhost"] {
            let addrs: Vec<SocketAddr> =
                rt.block_on(Ipv6Only.resolve(name.parse().unwrap())).unwrap().collect();
            assert_eq!(addrs, vec![SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 0))], "{name}");
        }
    }

    #[test]
    fn http10_and_proxy_headers() {
        let c = ConnConfig {
            http10: true,
            proxy_headers: vec![("X-P".into(), "1".into())],
            ..Default::default()
        };
        let mut r = reqwest::Request::new(reqwest::Method::GET, url::Url::parse("http://h/").unwrap());
        adjust_request(&c, &mut r, true);
        assert_eq!(r.version(), reqwest::Version::HTTP_11, "the relay answers in the request's version");
        adjust_request(&c, &mut r, false);
        assert_eq!(r.version(), reqwest::Version::HTTP_10);
        assert!(r.headers().get("x-p").is_none(), "proxy headers go through the proxy settings only");
        assert_eq!(proxy_connect_headers(&c).get("x-p").unwrap(), "1");
    }

    #[test]
    fn client_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let enc = dir.path().join("enc.pem");
        std::fs::write(
            &enc,
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n",
        )
        .unwrap();
        let use_cert = |cert: std::path::PathBuf| {
            let cert = crate::config::ClientCert { cert, key: None, password: None };
            super::super::tls::client_auth(&cert).map(|_| ()).unwrap_err().exit
        };
        assert_eq!(use_cert(enc), Exit::ClientCert);
        assert_eq!(use_cert(dir.path().join("missing.pem")), Exit::ClientCert);
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not pem").unwrap();
        assert_eq!(use_cert(junk), Exit::ClientCert);
        assert_eq!(capath_certs(dir.path()).unwrap_err().exit, Exit::CaCert);
    }
}
