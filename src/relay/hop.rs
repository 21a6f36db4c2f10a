//! Hop-by-hop fields (RFC 9110 §7.6.1): what one side of a connection says to the other only,
//! never to be passed on by an intermediary. The relay removes them from every request it
//! forwards, and `toll serve` from every response it passes back to its client, so that an
//! origin's `Connection: close` or `Keep-Alive`, or a proxy's `Proxy-Authentication-Info` meant
//! for toll, does not reach (or close the connection of) a client that is on another hop.

use http::header::{HeaderName, CONNECTION};
use http::HeaderMap;

/// Always hop-by-hop (RFC 9110 §7.6.1, RFC 9112 §9.6 `TE`, the non-standard `Proxy-Connection`
/// and `Keep-Alive`), plus the proxy authentication exchange, which is between toll and the
/// proxy (RFC 9110 §11.7.1–2, RFC 7615 §4). Not `Trailer` (RFC 2616 listed it by mistake): it
/// is end-to-end, and names the trailer fields the client's side may pass on (RFC 9110 §6.6.2).
const ALWAYS: [&str; 8] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "te",
    "upgrade",
    "proxy-authorization",
    "proxy-authenticate",
    "proxy-authentication-info",
];

/// Fields a `Connection` header may not take away: the message's framing and target, which the
/// HTTP library on each side owns (a sender naming them there is confused, not asking).
const FRAMING: [&str; 3] = ["content-length", "transfer-encoding", "host"];

/// A request on its way upstream: the hop-by-hop fields, the fields its `Connection` names,
/// and `Transfer-Encoding` (the HTTP client frames the body it sends again).
pub fn strip_request(h: &mut HeaderMap) {
    strip(h);
    h.remove(http::header::TRANSFER_ENCODING);
}

/// A response on its way back to a client: the hop-by-hop fields and the fields its
/// `Connection` names. The framing stays for the HTTP server to honour (a HEAD's or a 304's
/// `Content-Length` describes a body that is not sent) — except a `Content-Length` beside a
/// `Transfer-Encoding`, which the body was not read by and which an intermediary must remove
/// before passing the message on (RFC 9112 §6.3): the client's side would otherwise be framed
/// by a length the body does not have.
pub fn strip_response(h: &mut HeaderMap) {
    strip(h);
    if h.contains_key(http::header::TRANSFER_ENCODING) {
        h.remove(http::header::CONTENT_LENGTH);
    }
}

fn strip(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !FRAMING.contains(&t.as_str()))
        .filter_map(|t| HeaderName::from_bytes(t.as_bytes()).ok())
        .collect();
    for name in named {
        h.remove(name);
    }
    for name in ALWAYS {
        h.remove(HeaderName::from_static(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(fields: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (n, v) in fields {
            h.append(HeaderName::from_bytes(n.as_bytes()).unwrap(), v.parse().unwrap());
        }
        h
    }

    fn names(h: &HeaderMap) -> Vec<&str> {
        let mut v: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn fields_named_by_connection_go_with_it_and_framing_stays() {
        let mut h = map(&[
            ("connection", "close, X-Hop"),
            ("connection", "x-other , Content-Length"),
            ("x-hop", "1"),
            ("x-other", "2"),
            ("keep-alive", "timeout=5"),
            ("proxy-authentication-info", "nextnonce=\"n\""),
            ("content-length", "4"),
            ("trailer", "x-checksum"),
            ("x-end-to-end", "kept"),
        ]);
        strip_response(&mut h);
        assert_eq!(names(&h), ["content-length", "trailer", "x-end-to-end"]);
    }

    #[test]
    fn a_length_beside_a_transfer_coding_is_not_passed_on() {
        let mut h = map(&[("content-length", "100"), ("transfer-encoding", "chunked")]);
        strip_response(&mut h);
        assert_eq!(names(&h), ["transfer-encoding"]);
    }

    #[test]
    fn a_request_loses_its_proxy_credential_and_its_transfer_encoding() {
        let mut h = map(&[
            ("proxy-authorization", "Basic a2V5"),
            ("proxy-connection", "Keep-Alive"),
            ("te", "trailers"),
            ("upgrade", "websocket"),
            ("transfer-encoding", "chunked"),
            ("accept", "*/*"),
            ("connection", "not a name!, ,"),
        ]);
        strip_request(&mut h);
        assert_eq!(names(&h), ["accept"]);
    }
}
