//! The order of a request's header fields, as curl 7.88 sends them: `Host` first (RFC 9112
//! §3.2: a client SHOULD send it first, and some servers and filters expect it there), then
//! the fields curl makes itself in its fixed order (credentials, `Range`, `User-Agent`,
//! `Accept`, `Accept-Encoding`, `Referer`, `Cookie`, `If-Modified-Since`), then the user's
//! own `-H` fields in the order given (a `-H` that replaces one of curl's fields takes the
//! user's place, as in curl), then the body's framing (`Content-Length`, `Content-Type`,
//! `Expect`).
//!
//! The fields come from several places (the command line, the cookie engine, `-u`, `-C`), and
//! the HTTP library would add `Host`, `User-Agent` and `Accept` last; [`arrange`] puts them in
//! place once, just before a request is sent. `Host` is added only where the request surely
//! goes as HTTP/1 ([`arrange`]'s `host`): over HTTP/2 the authority travels as `:authority`,
//! and a `Host` field there is not what curl sends; where it may go either way, the HTTP/1
//! path adds `Host` itself when it does ([`host_first`] on toll's own path; last on reqwest's).

use http::header::{
    HeaderMap, HeaderName, HeaderValue, ACCEPT, CONTENT_LENGTH, HOST, TRANSFER_ENCODING, USER_AGENT,
};

/// What [`arrange`] needs to know about the transfer.
#[derive(Clone, Debug, Default)]
pub struct Arrangement {
    /// The names (lower case) of the fields the user gave (`-H`, and `--json`'s, which curl's
    /// tool adds as the user's): they keep the user's place and order.
    pub given: Vec<String>,
    /// The `User-Agent` to add where the request has none; empty for none.
    pub user_agent: String,
    /// Whether to add `Accept: */*` where the request has none (not after `-H 'Accept:'`).
    pub accept: bool,
}

/// Where a field goes: lower first; fields of one rank keep their order.
fn rank(name: &HeaderName, given: bool) -> u8 {
    const OWN: u8 = 20;
    match name.as_str() {
        "host" => 0,
        _ if given => OWN,
        "proxy-authorization" => 1,
        "authorization" => 2,
        "range" | "content-range" => 3,
        "user-agent" => 4,
        "accept" => 5,
        "te" => 6,
        "accept-encoding" => 7,
        "referer" => 8,
        "proxy-connection" => 9,
        "transfer-encoding" => 10,
        "cookie" => 11,
        "if-modified-since" | "if-unmodified-since" => 12,
        "content-length" => 30,
        "content-type" => 31,
        "expect" => 32,
        // Fields toll adds that curl's tool adds as the user's would (`--etag-compare`'s
        // `If-None-Match`, `--oauth2-bearer`'s … are ranked above): among the user's.
        _ => OWN,
    }
}

/// Puts `request`'s fields in curl's order, adding the `User-Agent` and `Accept` the HTTP
/// library would add last, and `Host` when `host` says the request goes as HTTP/1.
pub fn arrange(mut request: reqwest::Request, how: &Arrangement, host: bool) -> reqwest::Request {
    let with_host = host.then(|| host_value(request.url())).flatten();
    let length = request.body().and_then(|b| b.as_bytes()).map(<[u8]>::len).filter(|&n| n > 0);
    let headers = request.headers_mut();
    if let Some(h) = with_host {
        headers.entry(HOST).or_insert(h);
    }
    if !how.user_agent.is_empty() && !headers.contains_key(USER_AGENT) {
        if let Ok(v) = HeaderValue::from_str(&how.user_agent) {
            headers.insert(USER_AGENT, v);
        }
    }
    if how.accept && !headers.contains_key(ACCEPT) {
        headers.insert(ACCEPT, HeaderValue::from_static("*/*"));
    }
    // The library would add a buffered body's length after every other field; curl puts it
    // before the body's type.
    if let (Some(n), false) = (length, headers.contains_key(TRANSFER_ENCODING)) {
        headers.entry(CONTENT_LENGTH).or_insert_with(|| HeaderValue::from(n));
    }
    order(headers, &how.given);
    request
}

/// Moves `Host` before the other fields, which keep their order (where the HTTP/1 path adds
/// `Host` itself, after [`arrange`]).
pub fn host_first(headers: &mut HeaderMap) {
    if headers.keys().next() != Some(&HOST) && headers.contains_key(HOST) {
        sort(headers, |name| u8::from(name != HOST));
    }
}

/// Sorts `headers` by [`rank`], stably.
pub fn order(headers: &mut HeaderMap, given: &[String]) {
    sort(headers, |name| rank(name, given.iter().any(|g| g == name.as_str())));
}

fn sort(headers: &mut HeaderMap, key: impl Fn(&HeaderName) -> u8) {
    let mut fields: Vec<(HeaderName, HeaderValue)> = Vec::with_capacity(headers.len());
    let mut last: Option<HeaderName> = None;
    for (name, value) in headers.drain() {
        // `drain` names a field's first value only.
        if let Some(n) = name {
            last = Some(n);
        }
        if let Some(n) = &last {
            fields.push((n.clone(), value));
        }
    }
    fields.sort_by_key(|(n, _)| key(n));
    for (name, value) in fields {
        headers.append(name, value);
    }
}

/// `Host` as the HTTP library writes it: the host, with the port when it is not the
/// scheme's default.
fn host_value(url: &url::Url) -> Option<HeaderValue> {
    let host = match url.host()? {
        url::Host::Ipv6(a) => format!("[{a}]"),
        h => h.to_string(),
    };
    let text = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host,
    };
    HeaderValue::from_str(&text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &reqwest::Request) -> Vec<String> {
        r.headers().iter().map(|(n, v)| format!("{n}: {}", v.to_str().unwrap())).collect()
    }

    fn request(url: &str, fields: &[(&str, &str)], body: Option<&'static str>) -> reqwest::Request {
        let mut r = reqwest::Request::new(reqwest::Method::POST, url.parse().unwrap());
        for (n, v) in fields {
            r.headers_mut().append(HeaderName::from_bytes(n.as_bytes()).unwrap(), v.parse().unwrap());
        }
        *r.body_mut() = body.map(reqwest::Body::from);
        r
    }

    fn how(given: &[&str]) -> Arrangement {
        Arrangement {
            given: given.iter().map(|s| s.to_string()).collect(),
            user_agent: "curl/7.88.1".into(),
            accept: true,
        }
    }

    /// Measured with curl 7.88 against a server that prints the fields in the order received:
    /// `curl -H 'X-H: 1' -b c=1 -e http://r/ -u a:b -r 0-3 --compressed -z DATE -d xy
    /// -H 'X-B: 2' URL`.
    #[test]
    fn curls_own_fields_come_first_in_curls_order_then_the_users_then_the_body() {
        let r = request(
            "http://127.0.0.1:8080/p",
            &[
                ("x-h", "1"),
                ("x-b", "2"),
                ("referer", "http://r/"),
                ("cookie", "c=1"),
                ("accept-encoding", "deflate, gzip, br, zstd"),
                ("content-type", "application/x-www-form-urlencoded"),
                ("if-modified-since", "DATE"),
                ("content-range", "bytes 0-3/2"),
                ("authorization", "Basic YTpi"),
            ],
            Some("xy"),
        );
        let r = arrange(r, &how(&["x-h", "x-b"]), true);
        assert_eq!(
            names(&r),
            [
                "host: 127.0.0.1:8080",
                "authorization: Basic YTpi",
                "content-range: bytes 0-3/2",
                "user-agent: curl/7.88.1",
                "accept: */*",
                "accept-encoding: deflate, gzip, br, zstd",
                "referer: http://r/",
                "cookie: c=1",
                "if-modified-since: DATE",
                "x-h: 1",
                "x-b: 2",
                "content-length: 2",
                "content-type: application/x-www-form-urlencoded",
            ]
        );
    }

    /// `curl -d x -H 'Content-Type: application/json' -H 'X-A: 1' -H 'Accept: a/b' -A ua1
    /// -H 'Host: h.example' URL`: the user's `Host` still first, their `Accept` and
    /// `Content-Type` in their place, no second `Accept`.
    #[test]
    fn the_users_own_versions_of_curls_fields_keep_the_users_place() {
        let r = request(
            "http://127.0.0.1:8080/p",
            &[("content-type", "application/json"), ("x-a", "1"), ("accept", "a/b"), ("host", "h.example")],
            Some("x"),
        );
        let mut how = how(&["content-type", "x-a", "accept", "host"]);
        how.user_agent = "ua1".into();
        let r = arrange(r, &how, true);
        assert_eq!(
            names(&r),
            [
                "host: h.example",
                "user-agent: ua1",
                "content-type: application/json",
                "x-a: 1",
                "accept: a/b",
                "content-length: 1",
            ]
        );
    }

    #[test]
    fn host_only_where_the_request_surely_goes_as_http_1_and_nothing_taken_out_comes_back() {
        let r = request("https://[::1]:8443/", &[("x-a", "1")], None);
        let how = Arrangement { given: vec!["x-a".into()], user_agent: String::new(), accept: false };
        assert_eq!(names(&arrange(r, &how, false)), ["x-a: 1"]);
        let r = request("https://[::1]:8443/", &[], None);
        assert_eq!(names(&arrange(r, &how, true)), ["host: [::1]:8443"]);
        let r = request("http://example.com:80/", &[("a", "1"), ("a", "2"), ("b", "3")], None);
        assert_eq!(names(&arrange(r, &how, true)), ["host: example.com", "a: 1", "a: 2", "b: 3"]);
    }

    #[test]
    fn host_first_keeps_the_others_in_their_order() {
        let mut h = HeaderMap::new();
        for (n, v) in [("b", "1"), ("a", "2"), ("b", "3"), ("host", "x")] {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        host_first(&mut h);
        let got: Vec<_> = h.iter().map(|(n, v)| format!("{n}={}", v.to_str().unwrap())).collect();
        assert_eq!(got, ["host=x", "b=1", "b=3", "a=2"]);
    }
}
