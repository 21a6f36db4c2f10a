//! The request target curl sends for a URL as it was written (`--path-as-is`: `/a/../b` is not
//! made `/b`), or as `--request-target` gives it, where that differs from the normalised URL's
//! path and query. Used for the URL arguments (`cli`) and, with `--path-as-is`, for the
//! `Location`s `-L` follows (`client`). Also the host names curl's URL parser refuses, for the
//! same two, and for the targets `toll serve` is asked for.

/// What curl 7.88's URL parser refuses in a host name (exit 3 there): the WHATWG parser the
/// `url` crate follows lets them through, and such a name would go to the resolver, a PAC or
/// a proxy. Looked for after the URL parser, so after its percent-decoding.
const NOT_IN_HOST_NAMES: &str = " \r\n\t/:#?!@{}[]\\$'\"^`*<>=;,+&()%";

/// The first character of `url`'s host name that curl would refuse there, if any (IP
/// addresses have none).
pub fn refused_host_char(url: &url::Url) -> Option<char> {
    match url.host()? {
        url::Host::Domain(name) => refused_in_name(name),
        _ => None,
    }
}

/// The first character of a host name (not an IP address) that curl would refuse there: for
/// names that come without a URL, as a CONNECT's target does to `toll serve`.
pub fn refused_in_name(name: &str) -> Option<char> {
    name.chars().find(|c| NOT_IN_HOST_NAMES.contains(*c))
}

/// The request target a URL is sent with when it is not its normalised path and query:
/// `--request-target`'s, or with `--path-as-is` the path as written in `raw` (the query the
/// normalised `url` has, which `-G` and `--url-query` may have added to). `None`: the usual one.
pub fn for_url(raw: &str, url: &url::Url, path_as_is: bool, given: Option<&str>) -> Option<String> {
    if let Some(t) = given {
        return Some(t.to_string());
    }
    if !path_as_is {
        return None;
    }
    let rest = raw.split_once("://").map_or(raw, |(_, r)| r);
    let rest = rest.split('#').next().unwrap_or_default();
    let (path, query) = match rest.find(['/', '?']) {
        Some(at) => rest[at..].split_once('?').map_or((&rest[at..], None), |(p, q)| (p, Some(q))),
        None => ("", None),
    };
    // curl 7.88 builds the URL anew when -G or --url-query add to its query: normalised then.
    if query != url.query() {
        return None;
    }
    let path = if path.is_empty() { "/" } else { path };
    let target = match query {
        Some(q) => format!("{}?{}", sendable(path), sendable(q)),
        None => sendable(path),
    };
    let usual = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    (target != usual).then_some(target)
}

/// `text` as a request line can carry it: bytes past ASCII percent-encoded in lower case, as
/// curl 7.88 sends them; so are a space, control characters and `<`, `>` and a backquote, which
/// an HTTP request target cannot hold (curl refuses a URL with a space, and sends the other three
/// as they are). Everything else — `%XX` escapes, `{`, `"`, `\` — goes as written.
fn sendable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b >= 0x80 || b <= 0x20 || b == 0x7f || matches!(b, b'<' | b'>' | b'`') {
            out.push_str(&format!("%{b:02x}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::for_url;

    fn t(raw: &str, as_is: bool, given: Option<&str>) -> Option<String> {
        let with_scheme = if raw.contains("://") { raw.to_string() } else { format!("http://{raw}") };
        for_url(raw, &url::Url::parse(&with_scheme).unwrap(), as_is, given)
    }

    #[test]
    fn the_target_is_given_only_where_it_differs() {
        assert_eq!(t("http://h/a/../b", true, None).as_deref(), Some("/a/../b"));
        assert_eq!(t("http://h/a/./b/../c?x=1#frag", true, None).as_deref(), Some("/a/./b/../c?x=1"));
        assert_eq!(t("h:8080/a/../b", true, None).as_deref(), Some("/a/../b"), "no scheme");
        assert_eq!(t("http://h/a/b?q", true, None), None, "nothing to keep");
        assert_eq!(t("http://h/a/../b", false, None), None);
        assert_eq!(t("http://h/x", false, Some("*")).as_deref(), Some("*"));
        // What a request line cannot hold is percent-encoded (bytes past ASCII as curl does).
        assert_eq!(t("http://h/ä/../{b}\"c\\d", true, None).as_deref(), Some("/%c3%a4/../{b}\"c\\d"));
        assert_eq!(t("http://h/a b<c>`d?e`f", true, None).as_deref(), Some("/a%20b%3cc%3e%60d?e%60f"));
        for target in [t("http://h/ä b\t<`>/..", true, None).unwrap(), t("http://h/x?`", true, None).unwrap()]
        {
            assert!(http::uri::PathAndQuery::try_from(target.as_str()).is_ok(), "{target}");
        }
        // A Location that is an absolute path.
        let url = url::Url::parse("http://h/b").unwrap();
        assert_eq!(for_url("/a/../b", &url, true, None).as_deref(), Some("/a/../b"));
    }
}
