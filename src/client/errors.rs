//! How a transfer that did not work is told: reqwest's errors and the relay's `Failure`s
//! classified into toll's exit codes, each message with its hint; route and proxy-setting errors.

use super::{ReadFailed, TooManyRedirects};
use crate::error::{Error, Exit};
use crate::proxy_env::ProxyError;
use crate::relay::{failure_error, Relay};
use crate::route::RouteError;
use crate::term::{display_url, sanitize};

/// Why a URL could not be routed: a bad proxy setting (usage) or a PAC problem (exit 3).
pub(super) fn route_error(e: RouteError) -> Error {
    match e {
        RouteError::Proxy(p) => usage_proxy(p),
        RouteError::Pac { .. } | RouteError::PacFetch { .. } => {
            Error::new(Exit::Pac, sanitize(&e.to_string()))
                .hint("check the PAC with 'toll pac PAC URL -v', or bypass it with -x PROXY")
        }
        RouteError::Setting { .. } | RouteError::Desktop { .. } => {
            Error::new(Exit::Usage, sanitize(&e.to_string())).hint("fix the setting, or give -x PROXY")
        }
    }
}

pub(super) fn usage_proxy(e: ProxyError) -> Error {
    Error::new(Exit::Usage, e.to_string()).hint("fix the proxy setting, e.g. -x http://proxy.example:3128")
}

/// Walks an error's sources for a TLS failure. `io::Error::source` skips the error it wraps,
/// so the walk also descends into `get_ref`.
pub(super) fn is_tls(e: &(dyn std::error::Error + 'static)) -> bool {
    tls_error(e).is_some()
}

/// The rustls error somewhere in `e`'s chain (inside an `io::Error` too).
fn tls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<rustls::Error>() {
            return Some(t);
        }
        if let Some(inner) = err.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            let inner: &(dyn std::error::Error + 'static) = inner;
            if let Some(t) = tls_error(inner) {
                return Some(t);
            }
        }
        cur = err.source();
    }
    None
}

/// hyper's "end of file before message length reached": the body ended before its
/// `Content-Length` (curl's 18, a partial file), not a connection error.
fn is_short_body(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof)
            || err.to_string().contains("end of file before message length reached")
        {
            return true;
        }
        cur = err.source();
    }
    false
}

pub(super) use crate::error::chain_text;

/// An answer that was not one: 52 when the connection closed before any of its head (curl's
/// The variable that gives a proxy for `url`'s scheme (`http_proxy` for http://, else
/// `https_proxy`).
fn proxy_variable(url: &str) -> &'static str {
    if url.get(..7).is_some_and(|s| s.eq_ignore_ascii_case("http://")) {
        "http_proxy"
    } else {
        "https_proxy"
    }
}

/// "empty reply from server"; over TLS, a close without `close_notify` is that too, as curl
/// with OpenSSL 3 takes it), 1 when it is not HTTP/1.x (curl's "HTTP/0.9 when not allowed":
/// another protocol, or none), 8 for a malformed header field or `Content-Length` (curl's
/// "weird server reply"). A head too large is not one of these.
pub(super) fn not_http(e: &(dyn std::error::Error + 'static), url: &str) -> Option<Error> {
    let h = find::<hyper::Error>(e)?;
    let eof = find::<std::io::Error>(e).is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof);
    if h.is_incomplete_message() || eof {
        let text = sanitize(&chain_text(e));
        return Some(
            Error::new(Exit::GotNothing, format!("{url} closed the connection without answering: {text}"))
                .hint("the server took the request and said nothing; check the URL's scheme and port (http:// to an https port?), or retry"),
        );
    }
    let h = Some(h).filter(|h| h.is_parse() && !h.is_parse_too_large())?;
    let text = sanitize(&h.to_string());
    Some(if h.is_parse_status() || text.contains("version") {
        Error::new(Exit::Unsupported, format!("{url} did not answer in HTTP/1.x ({text})"))
            .hint("check the URL's scheme and port (https:// for a TLS port?)")
    } else {
        Error::new(Exit::WeirdReply, format!("{url} sent an answer that is not valid HTTP ({text})"))
            .hint("the server is at fault; retry with -v to see its answer")
    })
}

/// An HTTP/2 error as curl 7.88 reports it: 16 when the server ended the connection (a
/// GOAWAY: shutting down, or a connection error it saw), 92 for anything that ends one stream —
/// the server's RST_STREAM, or an answer the HTTP/2 library refused (a field HTTP/2 forbids,
/// a malformed status, a length the body does not match; nghttp2 refuses those per stream).
/// Not a TCP or TLS failure under HTTP/2 (`is_io`), which the other rules classify.
pub(super) fn http2_error(e: &(dyn std::error::Error + 'static), url: &str) -> Option<Error> {
    let h2 = find::<h2::Error>(e).filter(|h2| !h2.is_io())?;
    let whose = if url.is_empty() { String::new() } else { format!(" with {url}") };
    let reason = h2.reason().map_or_else(|| sanitize(&h2.to_string()), |r| format!("{r:?}"));
    Some(if h2.reason() == Some(h2::Reason::REFUSED_STREAM) {
        // The server did not process the request (RFC 9113 §8.7): curl 7.88 tries once more on
        // a new connection and then reports a receive error, 56.
        Error::new(Exit::Receive, format!("the server refused the HTTP/2 stream{whose} (REFUSED_STREAM)"))
            .hint("the server did not process the request; retry later")
    } else if h2.is_go_away() && h2.is_remote() {
        Error::new(Exit::Http2, format!("the server ended the HTTP/2 connection{whose} ({reason})"))
            .hint("the server is shutting down or saw an error; retry, or try --http1.1")
    } else if h2.is_reset() && h2.is_remote() {
        Error::new(Exit::Http2Stream, format!("the server reset the HTTP/2 stream{whose} ({reason})"))
            .hint("the server gave up on this request; retry, or try --http1.1")
    } else {
        let text = sanitize(&chain_text(e));
        Error::new(Exit::Http2Stream, format!("the answer{whose} breaks HTTP/2's rules: {text}"))
            .hint("the server is at fault; try --http1.1")
    })
}

/// Whether the connection closed (or was reset) before the answer's head was complete: not a
/// connection that could not be made, an answer that is not HTTP, or a timeout.
pub(super) fn closed_before_answer(e: &reqwest::Error) -> bool {
    !(e.is_connect() || e.is_timeout() || e.is_body() || e.is_decode()) && crate::relay::closed_under(e)
}

/// The server's HTTP/2 GOAWAY left this request's stream unprocessed (a stream above the last one
/// it names; RFC 9113 §6.8): it may be sent again, whatever its method, on a new connection —
/// as curl does, where a server that closes after so many requests failed toll's `-Z` batches.
pub(super) fn refused_by_goaway(e: &reqwest::Error) -> bool {
    !(e.is_body() || e.is_decode())
        && (find::<h2::Error>(e).is_some_and(|h2| h2.is_go_away() && h2.is_remote()) || alpn_canceled(e))
}

/// hyper-util's pool cancels a request waiting for a new connection when another connection to
/// the same host comes up as HTTP/2 ("ALPN upgraded to HTTP/2"): it was never sent, so sending
/// it again is safe (seen now and then with `-Z` to an HTTP/2 server under load).
fn alpn_canceled(e: &reqwest::Error) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if err.to_string() == "ALPN upgraded to HTTP/2" {
            return true;
        }
        cur = err.source();
    }
    false
}

/// A request body that could not be read while it was sent (26).
pub(super) fn read_failed(why: String) -> Error {
    Error::new(Exit::Read, why).hint("check the file or the program feeding standard input")
}

pub(super) fn find<'a, T: std::error::Error + 'static>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a T> {
    let mut cur: Option<&'a (dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
}

/// [`classify`] for a request that may have gone through the relay: there, a connect error
/// the relay did not explain is not "could not connect to the origin (direct connections)"
/// but a tunnel that the proxy opened (200) and that then broke before the origin's TLS
/// handshake completed (closed, or bytes that are not TLS): the proxy conversation failed.
pub(super) fn classify_sent(e: reqwest::Error, relay: &Relay, via_socks: bool, via_relay: bool) -> Error {
    if let Some(f) = relay.take_failure() {
        return failure_error(f);
    }
    let https = e.url().is_some_and(|u| u.scheme() == "https");
    if via_relay && https && e.is_connect() && !e.is_timeout() && !is_tls(&e) {
        let url = e.url().map(|u| sanitize(u.as_str())).unwrap_or_default();
        return Error::new(
            Exit::ProxyFailed,
            format!("the tunnel through the proxy broke before the TLS handshake with {url} completed: {}", chain_text(&e)),
        )
        .hint("the proxy accepted the CONNECT, then closed it or sent something that is not TLS; retry with -v, or ask the proxy administrator");
    }
    classify(e, relay, via_socks)
}

/// A SOCKS proxy that could not be reached, said as an HTTP proxy's is: named, a connect
/// timeout as exit 28 (the SOCKS layer keeps only "failed to create underlying connection", so
/// it is told by the time it took), and another failure retried as curl retries a refusal
/// (`--retry-connrefused`).
pub(super) fn socks_unreached(
    e: Error,
    spec: &crate::config::ProxySpec,
    took: std::time::Duration,
    connect_timeout: Option<std::time::Duration>,
) -> Error {
    if e.exit != Exit::ProxyUnreachable {
        return e;
    }
    let proxy = spec.display_url();
    let reason = e.message.strip_prefix("cannot reach the SOCKS proxy: ").unwrap_or(&e.message).to_string();
    if connect_timeout.is_some_and(|t| took + std::time::Duration::from_millis(50) >= t) {
        return Error::new(Exit::Timeout, format!("timed out connecting to SOCKS proxy {proxy}"))
            .hint("check that the proxy is up, or raise --connect-timeout");
    }
    Error::new(Exit::ProxyUnreachable, format!("cannot reach SOCKS proxy {proxy}: {reason}"))
        .hint("check the proxy host and port (-x, ALL_PROXY, the PAC) and that it is running")
        .retry_as(Exit::Connect)
}

pub(super) fn classify(e: reqwest::Error, relay: &Relay, via_socks: bool) -> Error {
    if let Some(f) = relay.take_failure() {
        return failure_error(f);
    }
    let text = chain_text(&e);
    let url = e.url().map(display_url).unwrap_or_default();
    if let Some(r) = find::<ReadFailed>(&e) {
        return read_failed(r.0.clone());
    }
    if let Some(d) = find::<crate::doh::LookupError>(&e) {
        return doh_error(d, &url);
    }
    if e.is_timeout() {
        return Error::new(Exit::Timeout, format!("timed out: {text}"))
            .hint("raise --max-time / --connect-timeout, or check the network");
    }
    if e.is_redirect() {
        if let Some(p) = find::<ProxyError>(&e) {
            return usage_proxy(p.clone());
        }
        if let Some(t) = find::<TooManyRedirects>(&e) {
            return Error::new(Exit::TooManyRedirects, format!("stopped after {} redirects at {url}", t.0))
                .hint("raise --max-redirs if the redirects are expected");
        }
    }
    if tls_error(&e).is_some_and(super::tls::is_pin_mismatch) {
        return super::tls::pin_mismatch(&url);
    }
    if let Some(cert @ (rustls::Error::InvalidCertificate(_) | rustls::Error::InvalidCertRevocationList(_))) =
        tls_error(&e)
    {
        return super::tls::bad_certificate(&url, &text, cert);
    }
    if is_tls(&e) {
        return Error::new(Exit::Tls, format!("TLS failure with {url}: {text}"))
            .hint(super::tls::failure_hint(tls_error(&e)));
    }
    if e.is_connect() {
        if let Some(d) = relay.take_doh_failure().filter(|_| via_socks) {
            return doh_error(&d, &url);
        }
        if via_socks && super::socks_login::is_rejection(&text) {
            return Error::new(
                Exit::AuthRejected,
                "the SOCKS proxy rejected the user name and password; they are not sent again in this run",
            )
            .hint("give the right password in the proxy URL or with -U");
        }
        // RFC 1928's "no acceptable method": with no credential offered (`socks_login`, which
        // says otherwise when one was), the proxy wants one.
        if via_socks && text.contains("does not support user/pass") {
            return Error::new(
                Exit::AuthNoCredentials,
                "the SOCKS proxy wants a user name and password, and none was given",
            )
            .hint("give them in the proxy URL (socks5h://user:password@host:port) or with -U");
        }
        if via_socks {
            return Error::new(Exit::ProxyUnreachable, format!("cannot reach the SOCKS proxy: {text}"))
                .hint("check -x / ALL_PROXY");
        }
        if text.contains("dns error") || text.contains("failed to lookup") {
            return Error::new(Exit::ResolveHost, format!("cannot resolve the host of {url}: {text}"))
                .hint(format!("check the URL; behind a proxy, set -x or {}", proxy_variable(&url)));
        }
        return Error::new(Exit::Connect, format!("cannot connect to {url}: {text}"))
            .hint(format!("check the URL and port; behind a proxy, set -x or {}", proxy_variable(&url)));
    }
    if let Some(err) = http2_error(&e, &url) {
        return err;
    }
    if (e.is_body() || e.is_decode()) && is_short_body(&e) {
        return Error::new(
            Exit::PartialFile,
            format!("the transfer broke off before the announced length: {text}"),
        )
        .hint("retry; with -o, the file is left as it was before this transfer (removed with --remove-on-error; with -C, what was appended stays)");
    }
    // A body that could not be read (reqwest calls some of those decode errors): the response's
    // URL is not in the error.
    if e.is_body() || e.is_decode() {
        return Error::new(Exit::Receive, format!("the transfer broke off: {text}")).hint(
            "retry; with -o, the file is left as it was before this transfer (with -C, what was appended stays)",
        );
    }
    if let Some(err) = not_http(&e, &url) {
        return err;
    }
    Error::new(Exit::Receive, format!("request to {url} failed: {text}"))
        .hint("retry with -v to see the conversation")
}

/// A `--doh-url` lookup that failed, for the server's name or a SOCKS proxy's: curl 7.88's 6
/// ("Could not resolve host") for both, 28 when it took too long.
fn doh_error(d: &crate::doh::LookupError, url: &str) -> Error {
    let text = sanitize(&d.to_string());
    if d.is_timeout() {
        return Error::new(Exit::Timeout, format!("{text} (for {url})"))
            .hint("raise --connect-timeout / --max-time, or check the DoH server (--doh-url)");
    }
    Error::new(Exit::ResolveHost, format!("cannot resolve {} for {url}: {text}", sanitize(d.name())))
        .hint("check the name, and the DoH server (--doh-url): -v shows what it answered")
}

/// The relay's own refusal (a request that did not carry this run's key, see
/// `relay::REFUSAL_MARKER`) is toll's error, never the origin's response.
pub(super) fn relay_refusal(resp: &reqwest::Response) -> Option<Error> {
    resp.headers().contains_key(crate::relay::REFUSAL_MARKER.as_str()).then(|| {
        Error::new(Exit::Internal, "the local relay refused the request: it did not carry this run's key")
            .hint("this is a bug in toll: please report it with the command line (without passwords)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hint_names_the_variable_for_the_urls_scheme() {
        assert_eq!(proxy_variable("http://127.0.0.1:1/"), "http_proxy");
        assert_eq!(proxy_variable("HTTP://h/"), "http_proxy");
        assert_eq!(proxy_variable("https://h/"), "https_proxy");
    }
}
