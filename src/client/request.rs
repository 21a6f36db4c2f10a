//! Building what reqwest sends: the client (its proxy hook into the relay, hyper's lenient
//! head parsing, title-case names, timeouts, toll's TLS), each hop's request (the user's
//! headers, minus those that stay with the first origin, and the body), and the User-Agent a
//! request and a CONNECT carry.

use super::redirect::Hop;
use super::{
    body, conn, elsewhere, extras, install_crypto, resume, saving, socks_url, steady_heap, timing, tls,
};
use crate::config::{BodySource, RequestConfig};
use crate::error::{Error, Exit, Result};
use crate::relay::Relay;
use crate::route::choice::Chooser;
use crate::route::RouteEntry;
use crate::term::sanitize;
use std::sync::Arc;

/// The User-Agent to send; empty for none (`-A ''` or `-H 'User-Agent:'`, as in curl).
pub(super) fn user_agent(req: &RequestConfig) -> String {
    if req.curl.removed_headers.iter().any(|h| h == "user-agent") {
        return String::new();
    }
    req.user_agent.clone().unwrap_or_else(|| format!("toll/{}", env!("CARGO_PKG_VERSION")))
}

/// The User-Agent a CONNECT carries, as curl's: a `--proxy-header` one (the last), none with
/// `--proxy-header 'User-Agent:'`, else `-A`'s (empty with `-A ''`) or toll's own — `-H`
/// changes the requests' only, as in curl. Proxies that allow tunnels by client (many
/// corporate ones do) see who asks.
pub(super) fn connect_agent(req: &RequestConfig) -> Option<reqwest::header::HeaderValue> {
    let c = &req.curl.conn;
    let agent = match c.proxy_headers.iter().rfind(|(n, _)| n.eq_ignore_ascii_case("user-agent")) {
        Some((_, agent)) => agent.clone(),
        None if c.proxy_no_user_agent => return None,
        None => req.user_agent.clone().unwrap_or_else(|| format!("toll/{}", env!("CARGO_PKG_VERSION"))),
    };
    reqwest::header::HeaderValue::from_str(&agent).ok()
}

/// The largest response head toll takes over HTTP/2 (the header list, uncompressed): hyper's
/// default of 16 KiB refused heads curl takes (it allows some 300 KB), such as a large
/// `Content-Security-Policy` or many cookies.
pub(super) const H2_MAX_HEADER_LIST: u32 = 256 * 1024;

pub(super) fn build_client(
    req: &RequestConfig,
    relay: &Arc<Relay>,
    // The routes, and `-U` for a SOCKS proxy without a credential of its own (`socks_login`).
    (routes, socks_flag): (&Arc<Chooser>, Option<(String, Option<crate::secret::Secret>)>),
    wire_tap: bool,
    clock: &timing::Clock,
    doh: Option<Arc<crate::doh::Doh>>,
    overridden: &elsewhere::Overridden,
) -> Result<reqwest::Client> {
    let (r, s) = (relay.clone(), routes.clone());
    let proxy = reqwest::Proxy::custom(move |url| match s.chosen(url) {
        // Every hop is routed (and a route error reported) before it is sent; see `run`.
        None | Some(RouteEntry::Direct) => None,
        Some(RouteEntry::Proxy(spec)) if spec.is_socks() => socks_url(&spec, socks_flag.as_ref()),
        Some(RouteEntry::Proxy(spec)) => Some(r.proxy_url_for(&spec)),
    })
    .headers(conn::proxy_connect_headers(&req.curl.conn));
    install_crypto();
    steady_heap();
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .proxy(proxy)
        // toll follows redirects itself (`next_hop`): reqwest adds the relay's credential only
        // when a request is first executed and strips it on a cross-host redirect, and toll
        // decides which of the user's headers may travel to another origin.
        .redirect(reqwest::redirect::Policy::none())
        .http1_max_headers(crate::relay::MAX_HEADER_FIELDS)
        .http2_max_header_list_size(H2_MAX_HEADER_LIST)
        // Heads as lenient as curl's (`crate::relay::MAX_HEADER_FIELDS` says why).
        .http1_allow_spaces_after_header_name_in_responses(true)
        .http1_allow_obsolete_multiline_headers_in_responses(true)
        .http1_ignore_invalid_headers_in_responses(true)
        // Field names as curl writes its own (`Host`, `User-Agent`): HTTP/1 says case does not
        // matter, but some servers and devices read them case-sensitively.
        .http1_title_case_headers()
        .tls_danger_accept_invalid_certs(req.insecure)
        .connection_verbose(wire_tap)
        // -w's connection times (`-6` replaces the resolver with its own, untimed).
        .connector_layer(clock.layer())
        .dns_resolver(clock.resolver());
    let agent = user_agent(req);
    if !agent.is_empty() {
        b = b.user_agent(agent);
    }
    b = conn::configure(overridden.apply(extras::configure(b, &req.curl)), req)?;
    // After `-6`'s resolver, which it replaces: DoH asks only for AAAA records then.
    if let Some(doh) = doh {
        b = b.dns_resolver(clock.doh_resolver(doh));
    }
    // `--interface`, looked up once for the relay: connections to the server and to a SOCKS
    // proxy leave from it too (and this client's hop to the relay, on loopback, still connects
    // from the address).
    if let Some(ip) = relay.local_address() {
        b = b.local_address(ip);
    }
    if let Some(t) = req.max_time {
        b = b.timeout(t);
    }
    if let Some(t) = req.connect_timeout {
        b = b.connect_timeout(t);
    }
    let mut tls = tls::reqwest_tls(req)?;
    // HTTP/2 carries the host in `:authority`, which reqwest takes from the URL: a `Host` given
    // with -H would go beside it, and a server refuses the two when they differ (RFC 9113
    // §8.3.1; nginx answers 400). toll's own path makes it the `:authority`, as curl does;
    // where a request stays here (`--capath`, `-E`, TLS versions, SOCKS, …) it goes as HTTP/1.1.
    if host_given(req) && req.curl.http_version != crate::config::HttpVersion::Http2PriorKnowledge {
        b = b.http1_only();
        if !tls.alpn_protocols.is_empty() {
            tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        }
    }
    b = b.tls_backend_preconfigured(tls);
    b.build().map_err(|e| Error::new(Exit::Internal, format!("cannot set up the HTTP client: {e}")))
}

/// Whether the user gives the request's `Host` (`-H 'Host: name'`).
pub(super) fn host_given(req: &RequestConfig) -> bool {
    req.headers.iter().any(|(name, value)| name.eq_ignore_ascii_case("host") && !value.is_empty())
}

/// Reads a redirect's small body so its connection can be reused; a large one is dropped.
pub(super) async fn drain_small(resp: reqwest::Response) {
    drain_upto(resp, 64 * 1024).await
}

/// Reads and drops up to `left` bytes of `resp`'s body: read to its end, its connection can
/// carry the next request.
pub(super) async fn drain_upto(mut resp: reqwest::Response, mut left: usize) {
    while let Ok(Some(chunk)) = resp.chunk().await {
        match left.checked_sub(chunk.len()) {
            Some(l) => left = l,
            None => break,
        }
    }
}

/// Headers that carry the user's credentials for the first origin: kept from other origins,
/// unless --location-trusted (as curl keeps them).
const ORIGIN_BOUND: [&str; 3] = ["authorization", "cookie", "proxy-authorization"];

pub(super) async fn build_request(
    client: &reqwest::Client,
    req: &RequestConfig,
    hop: &Hop,
    again: bool,
) -> Result<reqwest::Request> {
    // reqwest turns a URL's user name and password into Basic credentials; `-u` wins over
    // them, as in curl, and `-H 'Authorization:'` sends none.
    let mut url = hop.url.clone();
    if req.origin_auth.is_some() || req.curl.removed_headers.iter().any(|h| h == "authorization") {
        let _ = url.set_username("");
        let _ = url.set_password(None);
    }
    let mut rb = client.request(hop.method.clone(), url);
    for (name, value) in &req.headers {
        let lower = name.to_ascii_lowercase();
        if lower == "proxy-authorization" {
            // reqwest would send it instead of the relay's key (the relay then refuses the
            // request), or inside a tunnel to the origin: proxy credentials go through -U.
            return Err(proxy_credentials_refused("-H", name));
        }
        if hop.cross_origin && !req.curl.location_trusted && ORIGIN_BOUND.contains(&lower.as_str()) {
            continue;
        }
        // A `Host` of the user's names the first URL's server: after a redirect to another host
        // it would send the request to the wrong site (curl drops it then too, whatever
        // --location-trusted says; another port or scheme on the same host keeps it).
        if lower == "host" && again && !same_host(&hop.url, &req.url) {
            continue;
        }
        if !hop.with_body && lower == "content-type" && req.curl.content_type_implied {
            continue;
        }
        rb = rb.header(name.as_str(), value.as_str());
    }
    for (name, value) in saving::request_headers(req)? {
        rb = rb.header(name, value);
    }
    let body = if hop.with_body { req.body.as_ref() } else { None };
    if again && body.is_some_and(|b| b.source == BodySource::Stdin) && !body::stdin_replayable() {
        return Err(Error::new(Exit::Read, "cannot send standard input again to the redirect target")
            .hint("save the body to a file and use --data-binary @FILE, or drop -L"));
    }
    if let Some(body) = body {
        rb = body::attach(rb, req, body, again).await?;
    }
    // After the body: standard input is read by then, and its length known.
    if let Some((name, value)) = resume::request_range(req, hop.with_body) {
        rb = rb.header(name, value);
    }
    rb.build().map_err(|e| Error::new(Exit::Usage, format!("cannot build the request: {e}")))
}

/// Whether `a` and `b` name the same host (names compare without case, as curl compares them).
fn same_host(a: &url::Url, b: &url::Url) -> bool {
    match (a.host_str(), b.host_str()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        _ => false,
    }
}

/// A `Proxy-Authorization` field given with `-H` or `--proxy-header` (`option`): toll answers
/// the proxy's challenges itself, with the credentials `-U`, the proxy URL, the environment or
/// the keyring give, so a fixed value is refused rather than dropped or sent elsewhere.
pub(super) fn proxy_credentials_refused(option: &str, name: &str) -> Error {
    Error::new(
        Exit::Usage,
        format!(
            "{option} {}: toll sends proxy credentials itself and does not take this header",
            sanitize(name)
        ),
    )
    .hint("give the proxy credentials with -U/--proxy-user user:password (or in the proxy URL)")
}

#[cfg(test)]
mod tests {
    use super::super::redirect::{
        next_hop,
        tests::{redirect, request},
    };
    use super::*;

    #[test]
    fn another_origin_gets_no_authorization_ever_after() {
        let req = request("http://a.example/", false);
        let away = next_hop(&req, &Hop::first(&req).unwrap(), &redirect(302, "https://b.example/")).unwrap();
        assert!(away.cross_origin);
        let back = next_hop(&req, &away, &redirect(302, "http://a.example/again")).unwrap();
        assert!(back.cross_origin, "once the chain left the origin, it stays untrusted");
        install_crypto();
        let client = reqwest::Client::new();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let built = rt.block_on(build_request(&client, &req, &back, true)).unwrap();
        assert!(built.headers().get("authorization").is_none());
        assert_eq!(built.headers().get("x-trace").unwrap(), "1");
        let home = rt.block_on(build_request(&client, &req, &Hop::first(&req).unwrap(), false)).unwrap();
        assert!(home.headers().get("authorization").is_some());
        // --location-trusted: curl 7.88 sends the user's `Authorization` and `Cookie` on.
        let mut trusting = req.clone();
        trusting.curl.location_trusted = true;
        let built = rt.block_on(build_request(&client, &trusting, &back, true)).unwrap();
        assert!(built.headers().get("authorization").is_some());
    }

    /// A `Host` of the user's goes to the first URL's host only (another port or scheme on it
    /// keeps it; `--location-trusted` does not take it to another host), as curl 7.88 does.
    #[test]
    fn the_users_host_stays_with_the_first_urls_host() {
        install_crypto();
        let client = reqwest::Client::new();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for trusted in [false, true] {
            let mut req = request("http://a.example/", false);
            req.headers.push(("Host".into(), "vhost.test".into()));
            req.curl.location_trusted = trusted;
            let first = Hop::first(&req).unwrap();
            let host = |hop: &Hop| {
                let built = rt.block_on(build_request(&client, &req, hop, true)).unwrap();
                built.headers().get("host").map(|h| h.to_str().unwrap().to_string())
            };
            assert_eq!(host(&first).as_deref(), Some("vhost.test"));
            let same = next_hop(&req, &first, &redirect(302, "https://A.example:8443/x")).unwrap();
            assert_eq!(host(&same).as_deref(), Some("vhost.test"));
            let away = next_hop(&req, &first, &redirect(302, "http://b.example/")).unwrap();
            assert_eq!(host(&away), None, "trusted: {trusted}");
        }
    }

    /// As curl 7.88: `-d`'s implied Content-Type goes with the body a 302 drops; one the user
    /// gave (`-H`, or `--json`'s) stays.
    #[test]
    fn a_dropped_body_takes_only_the_implied_content_type_along() {
        install_crypto();
        let client = reqwest::Client::new();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        for implied in [true, false] {
            let mut req = request("http://a.example/", true);
            req.headers.push(("Content-Type".into(), "application/x-www-form-urlencoded".into()));
            req.curl.content_type_implied = implied;
            let first = Hop::first(&req).unwrap();
            let built = rt.block_on(build_request(&client, &req, &first, false)).unwrap();
            assert!(built.headers().get("content-type").is_some());
            let get = next_hop(&req, &first, &redirect(302, "/next")).unwrap();
            let built = rt.block_on(build_request(&client, &req, &get, true)).unwrap();
            assert_eq!(built.headers().get("content-type").is_none(), implied);
        }
    }
}
