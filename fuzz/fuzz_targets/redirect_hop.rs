//! Where `-L` goes after a redirect ([`toll::client::first_redirect`], `src/client/redirect.rs`):
//! the `Location` a server sends joined to the request's URL, with curl's method and body rules.
//! Input: a selector byte (status 301/302/303/307/308, a body or none, `-X` or none,
//! `--follow`, `--path-as-is`), a byte choosing the first URL, then the `Location` bytes.
//! Checked beyond "no panic": an empty or blank `Location` is not followed; a followed one is an
//! http(s) URL of visible ASCII (no byte a request line cannot carry), and with `--path-as-is`
//! its target as written is one too (an absolute path an `http::Uri` takes); a hop to another
//! origin is marked cross origin (so credentials stay behind); a 303 never keeps the body, a
//! 307/308 never drops it; without `-X` the method is GET, HEAD, POST or PUT. One not followed
//! is either nothing to follow or an error ([`toll::client::refused_redirect`]) with exit 1 or 8
//! and a message without control characters (but the tab `term::sanitize` keeps).
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::config::{Body, BodySource, RequestConfig};

const BASES: [&str; 4] =
    ["http://a.test/p/q?x=1", "https://a.test:8443/", "http://[::1]:8080/a/b/", "http://127.0.0.1/x#f"];

fuzz_target!(|data: &[u8]| {
    let [selector, base, location @ ..] = data else { return };
    let status = [301, 302, 303, 307, 308][usize::from(selector & 7) % 5];
    let base = url::Url::parse(BASES[usize::from(*base) % BASES.len()]).unwrap();
    let mut req =
        RequestConfig { follow_redirects: true, max_redirects: 50, ..RequestConfig::get(base.clone()) };
    if selector & 8 != 0 {
        req.body = Some(Body { source: BodySource::Bytes(b"a=1".to_vec()), strip_newlines: false });
        req.method = Some("POST".into());
    }
    if selector & 16 != 0 {
        req.method = Some("PATCH".into());
        req.custom_method = true;
    }
    req.follow_per_spec = selector & 32 != 0;
    req.curl.path_as_is = selector & 64 != 0;
    let refused = toll::client::refused_redirect(&req, status, location);
    let Some((url, method, with_body, cross_origin, target)) =
        toll::client::first_redirect(&req, status, location)
    else {
        // Not followed: either nothing to follow, or an error with curl's code for it (1 for
        // another scheme, 8 for no URL) whose text holds no control character.
        if let Some((code, message)) = refused {
            assert!(code == 1 || code == 8, "exit {code}: {message}");
            assert!(!message.chars().any(|c| c.is_control() && c != '\t'), "{message:?}");
            assert!(!location.trim_ascii().is_empty(), "a blank Location refused");
        }
        return;
    };
    assert!(refused.is_none(), "{url} is followed and refused");
    if let Some(t) = &target {
        assert!(req.curl.path_as_is, "a target as written without --path-as-is: {t:?}");
        assert!(t.starts_with('/') && t.bytes().all(|b| b.is_ascii_graphic()), "{t:?}");
        assert!(http::uri::PathAndQuery::try_from(t.as_str()).is_ok(), "a request line cannot carry {t:?}");
    }
    assert!(!location.trim_ascii().is_empty(), "a blank Location was followed");
    assert!(matches!(url.scheme(), "http" | "https"), "{url}");
    assert!(url.as_str().bytes().all(|b| b.is_ascii_graphic()), "{url:?}");
    assert!(url.origin() == base.origin() || cross_origin, "{url} left {base} unmarked");
    if req.body.is_some() {
        assert!(status != 303 || !with_body, "a 303 kept the body");
        assert!(!matches!(status, 307 | 308) || with_body, "a {status} dropped the body");
    } else {
        assert!(!with_body);
    }
    if !req.custom_method {
        assert!(["GET", "HEAD", "POST", "PUT"].contains(&method.as_str()), "{method}");
    }
});
