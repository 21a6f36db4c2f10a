//! Where `-L` and `--follow` go after a redirect, and with which method and body, as curl
//! decides it.
//!
//! curl keeps two things apart that toll's request line merges: the request's *kind* (GET,
//! HEAD, a POST of `-d`/`-F`, a PUT of `-T`), which decides whether a 301, 302 or 303 turns
//! the request into a GET without its body, and `-X`'s method string, which is only what the
//! request line says. With `-L` (curl 7.88's only mode) the string is sent on every hop
//! (`-X PUT -d x` redirected by a 302 is a PUT without a body; by a 303 after `-X DELETE`,
//! still a DELETE); with curl 8.16's `--follow` it is dropped wherever the status turns the
//! request into a GET (RFC 9110 §15.4), and a 303 always does.

use crate::config::RequestConfig;
use crate::error::{Error, Exit, Result};

/// A response's `Location` as curl 7.88 reads it: bytes that are not ASCII percent-encoded (in
/// lower case, as curl writes them), `None` when there is none or it is empty (curl does not
/// follow an empty one; joined, it would point back at the same URL).
pub(super) fn location(resp: &reqwest::Response) -> Option<String> {
    let raw = resp.headers().get(reqwest::header::LOCATION)?.as_bytes();
    let mut text = String::with_capacity(raw.len());
    for &b in raw {
        if b.is_ascii() {
            text.push(b as char);
        } else {
            text.push_str(&format!("%{b:02x}"));
        }
    }
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// A URL as curl's URL API writes it back: an empty query or fragment (`/p?`, `/p#`) is
/// dropped. curl follows a `Location` of `/p?` to `/p`, and its `%{url_effective}` and
/// `%{redirect_url}` show no bare `?` or `#` (the first request still goes out as typed).
pub(super) fn without_empty_parts(mut url: url::Url) -> url::Url {
    if url.query() == Some("") {
        url.set_query(None);
    }
    if url.fragment() == Some("") {
        url.set_fragment(None);
    }
    url
}

/// The URL a response answered, with the fragment and the user name it was asked with (curl's
/// `%{url_effective}` keeps the first URL's or the last `Location`'s fragment; reqwest's
/// response URL has neither). `-w` prints its password as `***`.
#[derive(Clone)]
pub(crate) struct WithFragment(pub url::Url);

impl WithFragment {
    pub fn of(url: &url::Url) -> WithFragment {
        WithFragment(url.clone())
    }
}

/// The `Referer` the final request carried, for `-w '%{referer}'` (with `-e ';auto'` it is
/// the URL a redirect came from, not the option's text).
#[derive(Clone)]
pub(crate) struct SentReferer(pub String);

/// curl's request kinds (its `httpreq`): what a redirect may turn into a GET.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Get,
    Head,
    /// `-d`, `--json`, `-F`: the body goes with 307 and 308 (and 301–303 with `--post30x`).
    Post,
    /// `-T`: the body goes with everything but a 303.
    Put,
}

impl Kind {
    fn of(req: &RequestConfig) -> Kind {
        match (req.head_only, req.upload, req.body.is_some()) {
            (true, _, _) => Kind::Head,
            (false, true, _) => Kind::Put,
            (false, false, true) => Kind::Post,
            (false, false, false) => Kind::Get,
        }
    }

    fn method(self) -> reqwest::Method {
        match self {
            Kind::Get => reqwest::Method::GET,
            Kind::Head => reqwest::Method::HEAD,
            Kind::Post => reqwest::Method::POST,
            Kind::Put => reqwest::Method::PUT,
        }
    }
}

/// One request of the chain that `-L` follows: where, how, and whether the body and the
/// user's credentials-bearing headers still go along.
#[derive(Clone)]
pub(super) struct Hop {
    pub url: url::Url,
    pub method: reqwest::Method,
    kind: Kind,
    /// `method` is `-X`'s, not the kind's.
    custom: bool,
    pub with_body: bool,
    /// The chain has left the first URL's origin: `Authorization` and `Cookie` stay behind.
    pub cross_origin: bool,
    /// The request target when it is not the URL's normalised path and query: the first
    /// URL's (`--request-target`, `--path-as-is`), and with `--path-as-is` a redirect's path as
    /// its `Location` wrote it (an absolute URL or path; a relative one is resolved).
    pub target: Option<String>,
}

impl Hop {
    /// This request without its body: a leg of a connection-bound handshake that cannot complete
    /// it (see `OriginAuthState::withholds_body`).
    pub fn without_body(&self) -> Hop {
        Hop { with_body: false, ..self.clone() }
    }

    /// The request the command line asks for.
    pub fn first(req: &RequestConfig) -> Result<Hop> {
        Ok(Hop {
            url: req.url.clone(),
            method: initial_method(req)?,
            kind: Kind::of(req),
            custom: req.custom_method,
            with_body: req.body.is_some(),
            cross_origin: false,
            target: req.curl.request_target.clone(),
        })
    }
}

/// The first request's method: `-X`'s, else the kind's.
pub(super) fn initial_method(req: &RequestConfig) -> Result<reqwest::Method> {
    let method = match (&req.method, req.head_only, &req.body) {
        (Some(m), _, _) => m.clone(),
        (None, true, _) => "HEAD".into(),
        (None, false, Some(_)) => "POST".into(),
        (None, false, None) => "GET".into(),
    };
    reqwest::Method::from_bytes(method.as_bytes())
        .map_err(|_| Error::new(Exit::Usage, format!("invalid method {method:?}")))
}

/// Where `-L` goes after `resp`, as curl does: 301 and 302 turn a POST into a GET, 303 turns
/// anything but a GET or HEAD into a GET (`--post301/2/3` keep a POST), 307 and 308 keep the
/// method and the body.
pub(super) fn next_hop(req: &RequestConfig, hop: &Hop, resp: &reqwest::Response) -> Option<Hop> {
    if !req.follow_redirects || !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = location(resp)?;
    let location = location.as_str();
    // A Location that is no http(s) URL, or names a host curl would refuse, is not followed.
    let url = hop.url.join(location).ok().filter(|u| matches!(u.scheme(), "http" | "https"))?;
    if crate::request_target::refused_host_char(&url).is_some() {
        return None;
    }
    let url = with_first_credentials(without_empty_parts(url), req);
    let t = &req.transfer;
    let per_spec = req.follow_per_spec;
    let to_get = match resp.status().as_u16() {
        301 => hop.kind == Kind::Post && !t.post301,
        302 => hop.kind == Kind::Post && !t.post302,
        // curl 7.88 leaves a GET alone (so `-X DELETE` stays); 8.16's `--follow` drops the
        // custom method whatever the kind.
        303 => !(hop.kind == Kind::Post && t.post303) && (hop.kind != Kind::Get || per_spec),
        _ => false,
    };
    let (kind, custom) = match to_get {
        // A HEAD stays a HEAD (curl keeps "no body" apart from the kind).
        true => (if hop.kind == Kind::Head { Kind::Head } else { Kind::Get }, hop.custom && !per_spec),
        false => (hop.kind, hop.custom),
    };
    let method = if custom { hop.method.clone() } else { kind.method() };
    let with_body = hop.with_body && !to_get;
    let cross_origin = hop.cross_origin || url.origin() != req.url.origin();
    let as_written = location.contains("://") || (location.starts_with('/') && !location.starts_with("//"));
    let target = if req.curl.path_as_is && as_written {
        crate::request_target::for_url(location, &url, true, None)
    } else {
        None
    };
    Some(Hop { url, method, kind, custom, with_body, cross_origin, target })
}

/// A redirect target's user name and password: never the `Location`'s own (a server does not
/// choose the credentials toll sends, to itself or to a third host; curl 7.88 ignores them
/// too), and the first URL's where they still go — its own origin, or with
/// `--location-trusted` every host — whatever the `Location` wrote there (a relative one
/// inherits them; `http://alice@same-host/` would have sent `alice:` with an empty password).
fn with_first_credentials(mut url: url::Url, req: &RequestConfig) -> url::Url {
    if req.curl.conn.disallow_username {
        // Kept for `--disallow-username-in-url` to refuse the hop (exit 67, as curl).
        return url;
    }
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if req.curl.location_trusted || url.origin() == req.url.origin() {
        let _ = url.set_username(req.url.username());
        let _ = url.set_password(req.url.password());
    }
    url
}

/// Why `-L` cannot follow `resp`'s `Location` where [`next_hop`] found none to follow: a
/// scheme toll does not fetch is curl's 1 (curl 7.88: 1 for `javascript:` or `data:`, 7 for an
/// `ftp://` it tries), one that is no URL or names a host curl refuses is 8, the server's answer
/// being at fault (curl: 3; toll's 3 is the PAC's). `None` where there is nothing to follow: not
/// a redirect, no `-L`, no or an empty `Location` (curl ends there with the 3xx too).
pub(super) fn unfollowable(req: &RequestConfig, hop: &Hop, resp: &reqwest::Response) -> Option<Error> {
    if !req.follow_redirects || !matches!(resp.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
        return None;
    }
    let location = location(resp)?;
    let shown = crate::term::sanitize(&crate::term::mask_url_password(&location));
    let hint = "the server redirects where toll cannot follow: drop -L to get its answer as it is";
    let malformed = || {
        Some(
            Error::new(
                Exit::WeirdReply,
                format!("the redirect's Location is no URL toll can follow: {shown}"),
            )
            .hint(hint),
        )
    };
    let Ok(url) = hop.url.join(&location) else { return malformed() };
    if !matches!(url.scheme(), "http" | "https") {
        let scheme = crate::term::sanitize(url.scheme());
        return Some(
            Error::new(
                Exit::Unsupported,
                format!("Protocol \"{scheme}\" not supported: the redirect goes to {shown}"),
            )
            .hint(hint),
        );
    }
    if crate::request_target::refused_host_char(&url).is_some() {
        return malformed();
    }
    None
}

/// Where `-L` goes from `req`'s first request when it is answered `status` with `location`'s
/// bytes: the next URL, its method, whether the body goes along, whether the hop left the
/// first URL's origin (credentials stay behind then) and, with `--path-as-is`, the request
/// target as written. Public for its fuzz target (`fuzz_targets/redirect_hop.rs`): a
/// `Location` is untrusted.
pub fn first_redirect(
    req: &RequestConfig,
    status: u16,
    location: &[u8],
) -> Option<(url::Url, String, bool, bool, Option<String>)> {
    let resp = answer(status, location)?;
    let next = next_hop(req, &Hop::first(req).ok()?, &resp)?;
    Some((next.url, next.method.to_string(), next.with_body, next.cross_origin, next.target))
}

/// Why `-L` does not follow `req`'s first request answered `status` with `location`'s bytes
/// ([`unfollowable`]): the exit code and the message. Public for the same fuzz target.
pub fn refused_redirect(req: &RequestConfig, status: u16, location: &[u8]) -> Option<(u8, String)> {
    let resp = answer(status, location)?;
    let e = unfollowable(req, &Hop::first(req).ok()?, &resp)?;
    Some((e.exit.code(), e.message))
}

/// A bodiless answer with `status` and `location`'s bytes as its `Location`, if a field can
/// hold them.
fn answer(status: u16, location: &[u8]) -> Option<reqwest::Response> {
    let resp = http::Response::builder().status(status).header(http::header::LOCATION, location).body("");
    Some(resp.ok()?.into())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::config::{Body, BodySource};

    pub fn request(url: &str, body: bool) -> RequestConfig {
        RequestConfig {
            headers: vec![("Authorization".into(), "Bearer x".into()), ("X-Trace".into(), "1".into())],
            body: body.then(|| Body { source: BodySource::Bytes(b"a=1".to_vec()), strip_newlines: false }),
            follow_redirects: true,
            max_redirects: 50,
            ..RequestConfig::get(url::Url::parse(url).unwrap())
        }
    }

    pub fn redirect(status: u16, to: &str) -> reqwest::Response {
        http::Response::builder().status(status).header("location", to).body("").unwrap().into()
    }

    fn hops(req: &RequestConfig) -> Vec<(u16, String, bool)> {
        let hop = Hop::first(req).unwrap();
        [301, 302, 303, 307, 308]
            .into_iter()
            .map(|status| {
                let next = next_hop(req, &hop, &redirect(status, "/next")).unwrap();
                (status, next.method.to_string(), next.with_body)
            })
            .collect()
    }

    fn expect(rows: [(&str, bool); 5]) -> Vec<(u16, String, bool)> {
        [301, 302, 303, 307, 308].into_iter().zip(rows).map(|(s, (m, b))| (s, m.to_string(), b)).collect()
    }

    #[test]
    fn redirects_change_method_and_body_as_curl_does() {
        let req = request("http://a.example/form", true);
        let post = [("GET", false), ("GET", false), ("GET", false), ("POST", true), ("POST", true)];
        assert_eq!(hops(&req), expect(post));
        let next = next_hop(&req, &Hop::first(&req).unwrap(), &redirect(302, "/next")).unwrap();
        assert_eq!(next.url.as_str(), "http://a.example/next");
        assert!(!next.cross_origin);
        let hop = Hop::first(&req).unwrap();
        assert!(next_hop(&req, &hop, &redirect(200, "/x")).is_none());
        assert!(next_hop(&req, &hop, &redirect(302, "ftp://a.example/x")).is_none());
        // A host name curl's URL parser refuses goes to no resolver.
        assert!(next_hop(&req, &hop, &redirect(302, "http://a!b.example/x")).is_none());
        assert!(next_hop(&req, &hop, &redirect(302, "//a%26b/x")).is_none());
        let no_follow = RequestConfig { follow_redirects: false, ..request("http://a.example/", false) };
        assert!(next_hop(&no_follow, &Hop::first(&no_follow).unwrap(), &redirect(302, "/x")).is_none());
        let head = RequestConfig { head_only: true, ..request("http://a.example/", false) };
        assert!(hops(&head).iter().all(|(_, m, b)| m == "HEAD" && !b));
    }

    #[test]
    fn a_locations_user_and_password_are_never_used() {
        let req = request("http://alice:pw@a.example/p", false);
        let hop = Hop::first(&req).unwrap();
        let to = |loc: &str, req: &RequestConfig| {
            next_hop(req, &hop, &redirect(302, loc)).unwrap().url.to_string()
        };
        // The first URL's credentials stay with its origin, whatever the Location says there.
        assert_eq!(to("/d", &req), "http://alice:pw@a.example/d");
        assert_eq!(to("http://alice@a.example/d", &req), "http://alice:pw@a.example/d");
        assert_eq!(to("http://eve:evil@a.example/d", &req), "http://alice:pw@a.example/d");
        // Another origin: none, the Location's own neither.
        assert_eq!(to("http://eve:evil@b.example/d", &req), "http://b.example/d");
        assert_eq!(to("http://a.example:8080/d", &req), "http://a.example:8080/d");
        // --location-trusted: the first URL's go everywhere, still never the Location's.
        let mut trusted = request("http://alice:pw@a.example/p", false);
        trusted.curl.location_trusted = true;
        assert_eq!(to("http://eve:evil@b.example/d", &trusted), "http://alice:pw@b.example/d");
        let plain = request("http://a.example/p", false);
        let hop = Hop::first(&plain).unwrap();
        let next = next_hop(&plain, &hop, &redirect(302, "http://eve:evil@a.example/d")).unwrap();
        assert_eq!(next.url.as_str(), "http://a.example/d");
    }

    #[test]
    fn a_location_is_read_as_curl_reads_it() {
        let req = request("http://a.example/p#first", false);
        let hop = Hop::first(&req).unwrap();
        let raw = |v: &[u8]| -> reqwest::Response {
            let value = http::HeaderValue::from_bytes(v).unwrap();
            http::Response::builder().status(302).header("location", value).body("").unwrap().into()
        };
        assert!(next_hop(&req, &hop, &raw(b"")).is_none(), "an empty Location is not followed");
        assert!(next_hop(&req, &hop, &raw(b"  ")).is_none());
        let next = next_hop(&req, &hop, &raw(b"/\xc3\xa9?q=\xe9")).unwrap();
        assert_eq!(next.url.as_str(), "http://a.example/%c3%a9?q=%e9");
        // The first URL's fragment is not carried over; the Location's is kept.
        assert_eq!(next_hop(&req, &hop, &raw(b"/x")).unwrap().url.as_str(), "http://a.example/x");
        assert_eq!(next_hop(&req, &hop, &raw(b"/x#y")).unwrap().url.as_str(), "http://a.example/x#y");
    }

    /// With -L, a Location toll cannot follow fails the transfer, as curl's does (it gave the
    /// 3xx as the answer, exit 0: `-o` saved the redirect's page as the download).
    #[test]
    fn a_location_that_cannot_be_followed_is_an_error() {
        let req = request("http://a.example/p", false);
        let hop = Hop::first(&req).unwrap();
        let code = |location: &str| {
            let resp = redirect(302, location);
            assert!(next_hop(&req, &hop, &resp).is_none(), "{location}");
            unfollowable(&req, &hop, &resp).map(|e| e.exit)
        };
        assert_eq!(code("ftp://a.example/f"), Some(Exit::Unsupported));
        assert_eq!(code("javascript:alert(1)"), Some(Exit::Unsupported));
        assert_eq!(code("http://[bad/"), Some(Exit::WeirdReply));
        assert_eq!(code("http://a.example:99999/"), Some(Exit::WeirdReply));
        assert_eq!(code("http://a!b.example/"), Some(Exit::WeirdReply));
        assert_eq!(code(""), None, "an empty Location ends the chain, as in curl");
        let e = unfollowable(&req, &hop, &redirect(302, "ftp://joe:pw@a.example/")).unwrap();
        assert!(!e.message.contains("pw"), "{}", e.message);
        // Without -L, or a Location that is followed: nothing to say.
        let plain = RequestConfig { follow_redirects: false, ..req.clone() };
        assert!(unfollowable(&plain, &hop, &redirect(302, "ftp://a.example/")).is_none());
        assert!(unfollowable(&req, &hop, &redirect(302, "/next")).is_none());
    }

    /// As measured with curl 7.88 against an origin that echoes the method and the body.
    #[test]
    fn location_keeps_the_custom_method_and_drops_the_body_where_curl_does() {
        let custom = |m: &str, body: bool| RequestConfig {
            method: Some(m.into()),
            custom_method: true,
            ..request("http://a.example/", body)
        };
        // -X PUT -d y
        let put_data = [("PUT", false), ("PUT", false), ("PUT", false), ("PUT", true), ("PUT", true)];
        assert_eq!(hops(&custom("PUT", true)), expect(put_data));
        // -X DELETE: nothing turns a GET's kind into another, so the string stays everywhere.
        assert!(hops(&custom("DELETE", false)).iter().all(|(_, m, b)| m == "DELETE" && !b));
        // -T FILE (PUT by its kind): only a 303 makes it a GET.
        let upload =
            RequestConfig { method: Some("PUT".into()), upload: true, ..request("http://a.example/", true) };
        let put = [("PUT", true), ("PUT", true), ("GET", false), ("PUT", true), ("PUT", true)];
        assert_eq!(hops(&upload), expect(put));
        // -X POST -T FILE: a PUT's kind under POST's name.
        let posted = RequestConfig { upload: true, ..custom("POST", true) };
        let post = [("POST", true), ("POST", true), ("POST", false), ("POST", true), ("POST", true)];
        assert_eq!(hops(&posted), expect(post));
        // --post303 -X PUT -d q keeps the body on a 303; --post302 only on a 302.
        let mut kept = custom("PUT", true);
        kept.transfer.post303 = true;
        assert_eq!(hops(&kept)[2], (303, "PUT".to_string(), true));
        kept.transfer.post303 = false;
        kept.transfer.post302 = true;
        assert_eq!(hops(&kept)[1..3], [(302, "PUT".into(), true), (303, "PUT".into(), false)]);
    }

    /// curl 8.16's `--follow`: `-X` is dropped where the status makes the request a GET.
    #[test]
    fn follow_drops_the_custom_method_where_the_status_says_get() {
        let req = RequestConfig {
            method: Some("PUT".into()),
            custom_method: true,
            follow_per_spec: true,
            ..request("http://a.example/", true)
        };
        let rows = [("GET", false), ("GET", false), ("GET", false), ("PUT", true), ("PUT", true)];
        assert_eq!(hops(&req), expect(rows));
        let delete = RequestConfig { method: Some("DELETE".into()), body: None, ..req.clone() };
        let rows =
            [("DELETE", false), ("DELETE", false), ("GET", false), ("DELETE", false), ("DELETE", false)];
        assert_eq!(hops(&delete), expect(rows));
        // Once dropped, it stays dropped: a 307 after the 303 keeps the GET.
        let hop = Hop::first(&delete).unwrap();
        let get = next_hop(&delete, &hop, &redirect(303, "/a")).unwrap();
        assert_eq!(next_hop(&delete, &get, &redirect(307, "/b")).unwrap().method, reqwest::Method::GET);
    }
}
