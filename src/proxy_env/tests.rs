//! Unit tests for `crate::proxy_env` (a separate file to keep `proxy_env.rs` readable).

use super::*;
use std::collections::HashMap;

fn url(s: &str) -> Url {
    Url::parse(s).unwrap()
}

fn spec(s: &str) -> ProxySpec {
    parse_proxy_url(s, "test").unwrap()
}

fn settings(explicit: Option<&str>, flag: Option<&str>, vars: &[(&str, &str)]) -> ProxySettings {
    let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    ProxySettings::new(explicit.map(|s| parse_proxy_url(s, "-x").unwrap()), flag, &|k| map.get(k).cloned())
}

/// `Some("origin host:port")` for a proxied route, `None` for direct.
fn via(s: &ProxySettings, u: &str) -> Option<String> {
    match s.route(&url(u)).unwrap() {
        Route::Direct => None,
        Route::Proxy(p) => Some(format!("{} {}", p.origin, p.host_port())),
    }
}

fn np(list: &str, u: &str) -> bool {
    NoProxy::parse(list).matches(&url(u))
}

#[test]
fn proxy_url_defaults_scheme_and_port() {
    let p = spec("proxy.corp");
    assert_eq!((p.scheme.as_str(), p.host.as_str(), p.port), ("http", "proxy.corp", 1080));
    assert_eq!(spec("https://proxy.corp").port, 443);
    assert_eq!(spec("socks5h://proxy.corp").port, 1080);
    assert_eq!(spec("socks4://proxy.corp").port, 1080);
    assert_eq!(spec("http://proxy.corp:3128/").port, 3128);
    assert_eq!(spec("proxy.corp:").port, 1080);
    assert_eq!(spec("HTTP://Proxy.Corp:8080").display_url(), "http://proxy.corp:8080");
    assert_eq!(spec("http://proxy.corp:8080/ignored/path?q").port, 8080);
    assert_eq!(spec("  proxy:1  ").port, 1);
    assert_eq!(spec("x").origin, "test");
}

#[test]
fn proxy_url_all_schemes_accepted() {
    for s in PROXY_SCHEMES {
        assert_eq!(spec(&format!("{s}://h:1")).scheme, s);
    }
    assert!(spec("socks5://h").is_socks());
}

#[test]
fn proxy_url_userinfo_is_percent_decoded() {
    let p = spec("http://al%40ice:p%3Ass%2Fw@proxy:3128");
    assert_eq!(p.user.as_deref(), Some("al@ice"));
    assert_eq!(p.password.as_ref().map(Secret::expose), Some("p:ss/w"));
    let p = spec("http://bob@proxy");
    assert_eq!((p.user.as_deref(), p.password.is_none()), (Some("bob"), true));
    let p = spec("http://bob:@proxy");
    assert_eq!(p.password.as_ref().map(Secret::expose), Some(""));
    // An unencoded ':' in the password: the first ':' splits.
    let p = spec("http://bob:a:b%40c@proxy:1");
    assert_eq!((p.user.as_deref(), p.password.unwrap().expose()), (Some("bob"), "a:b@c"));
    assert_eq!(p.host, "proxy");
    let p = spec("http://@proxy");
    assert!(p.user.is_none() && p.password.is_none());
}

#[test]
fn proxy_urls_with_an_ambiguous_host_are_refused() {
    for bad in [
        // The password went to 127.0.0.2 while the URL names 127.0.0.1.
        "http://u:pw@127.0.0.1:1/p@127.0.0.2",
        "u:pw@127.0.0.1:1/p@127.0.0.2",
        "http://127.0.0.1:1/@127.0.0.2",
        "http://u:p/w@proxy:3128",
        "http://u:p?w@proxy:3128",
        "http://u:p#w@proxy:3128",
        "socks5://u:p/w@proxy:1080",
        "http://bob:a:b@c@proxy:1",
        "http://a@b@proxy",
        // A URL parser reads host "domain" (it takes '\\' for '/'); toll would read "proxy".
        "http://DOMAIN\\user:pw@proxy:3128",
        "http://127.0.0.1\\@127.0.0.2:1",
    ] {
        match parse_proxy_url(bad, "-x") {
            Err(ProxyError::Invalid { reason, value, .. }) => {
                assert!(reason.contains("%40") && reason.contains("ambiguous"), "{bad:?}: {reason}");
                assert!(!value.contains("pw"), "{bad:?}: the password is masked: {value}");
            }
            other => panic!("{bad:?} was accepted: {other:?}"),
        }
    }
    // Encoded, they mean one thing.
    let p = spec("http://u:p%2Fw%40x@proxy:3128/ignored");
    assert_eq!((p.host.as_str(), p.port, p.password.unwrap().expose()), ("proxy", 3128, "p/w@x"));
    let p = spec("http://DOMAIN%5Cuser:pw@proxy:3128");
    assert_eq!((p.user.as_deref(), p.host.as_str()), (Some("DOMAIN\\user"), "proxy"));
}

#[test]
fn proxy_url_ipv6_literals() {
    let p = spec("[::1]:3128");
    assert_eq!((p.host.as_str(), p.port), ("::1", 3128));
    assert_eq!(p.host_port(), "[::1]:3128");
    assert_eq!(spec("https://[2001:DB8::1]").host, "2001:db8::1");
    assert_eq!(spec("https://[2001:db8::1]").port, 443);
}

#[test]
fn proxy_url_errors_name_the_origin_and_hide_the_password() {
    let e = parse_proxy_url("ftp://proxy", "https_proxy").unwrap_err();
    assert_eq!(e, ProxyError::UnsupportedScheme { origin: "https_proxy".into(), scheme: "ftp".into() });
    assert!(e.to_string().contains("https_proxy"), "{e}");
    for bad in [
        "",
        "http://",
        "http://:80",
        "proxy:0",
        "proxy:65536",
        "proxy:http",
        "proxy:+80",
        "::1:80",
        "[::1",
        "[nothex]:1",
        "[::1]x",
        "pro xy",
        "http://u:p@",
    ] {
        assert!(matches!(parse_proxy_url(bad, "-x"), Err(ProxyError::Invalid { .. })), "{bad:?}");
    }
    let e = parse_proxy_url("http://alice:s3cret@proxy:99999", "-x").unwrap_err().to_string();
    assert!(!e.contains("s3cret") && e.contains("alice:***@proxy:99999") && e.contains("-x"), "{e}");
    let e = parse_proxy_url("http://u:%ff@proxy", "-x").unwrap_err().to_string();
    assert!(e.contains("UTF-8"), "{e}");
}

#[test]
fn spec_debug_does_not_leak_the_password() {
    let shown = format!("{:?}", spec("http://u:hunter2@proxy"));
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn explicit_proxy_wins_over_environment() {
    let s = settings(Some("http://x:1"), None, &[("https_proxy", "http://e:2"), ("all_proxy", "e:3")]);
    assert_eq!(via(&s, "https://a/").as_deref(), Some("-x x:1"));
    assert_eq!(via(&s, "http://a/").as_deref(), Some("-x x:1"));
}

#[test]
fn https_urls_use_https_proxy_then_uppercase_then_all_proxy() {
    let s = settings(None, None, &[("https_proxy", "l:1"), ("HTTPS_PROXY", "u:2"), ("all_proxy", "a:3")]);
    assert_eq!(via(&s, "https://h/").as_deref(), Some("https_proxy l:1"));
    let s = settings(None, None, &[("HTTPS_PROXY", "u:2"), ("all_proxy", "a:3")]);
    assert_eq!(via(&s, "https://h/").as_deref(), Some("HTTPS_PROXY u:2"));
    let s = settings(None, None, &[("http_proxy", "h:4"), ("ALL_PROXY", "A:3")]);
    assert_eq!(via(&s, "https://h/").as_deref(), Some("ALL_PROXY a:3"));
    let s = settings(None, None, &[("all_proxy", "a:3"), ("ALL_PROXY", "b:3")]);
    assert_eq!(via(&s, "https://h/").as_deref(), Some("all_proxy a:3"));
    let s = settings(None, None, &[("http_proxy", "h:4")]);
    assert_eq!(via(&s, "https://h/"), None);
}

#[test]
fn http_urls_use_http_proxy_and_uppercase_only_outside_cgi() {
    let s = settings(None, None, &[("http_proxy", "l:1"), ("HTTP_PROXY", "u:2")]);
    assert_eq!(via(&s, "http://h/").as_deref(), Some("http_proxy l:1"));
    let s = settings(None, None, &[("HTTP_PROXY", "u:2")]);
    assert_eq!(via(&s, "http://h/").as_deref(), Some("HTTP_PROXY u:2"));
    let s = settings(None, None, &[("HTTP_PROXY", "u:2"), ("REQUEST_METHOD", "GET")]);
    assert_eq!(via(&s, "http://h/"), None);
    let s = settings(None, None, &[("HTTP_PROXY", "u:2"), ("REQUEST_METHOD", "GET"), ("all_proxy", "a:3")]);
    assert_eq!(via(&s, "http://h/").as_deref(), Some("all_proxy a:3"));
    let s = settings(None, None, &[("http_proxy", "l:1"), ("REQUEST_METHOD", "POST")]);
    assert_eq!(via(&s, "http://h/").as_deref(), Some("http_proxy l:1"));
    let s = settings(None, None, &[("https_proxy", "s:1")]);
    assert_eq!(via(&s, "http://h/"), None);
}

#[test]
fn empty_variables_count_as_unset() {
    let s = settings(None, None, &[("https_proxy", "  "), ("HTTPS_PROXY", "u:2"), ("no_proxy", "")]);
    assert_eq!(via(&s, "https://h/").as_deref(), Some("HTTPS_PROXY u:2"));
    let s = settings(None, None, &[("no_proxy", ""), ("NO_PROXY", "h"), ("all_proxy", "a:1")]);
    assert_eq!(via(&s, "https://h/"), None);
    assert_eq!(s.no_proxy().1, Some("NO_PROXY"));
}

#[test]
fn no_environment_means_direct() {
    let s = settings(None, None, &[]);
    assert_eq!(via(&s, "https://h/"), None);
    assert_eq!(via(&s, "http://h/"), None);
    assert!(s.no_proxy().0.is_empty());
}

#[test]
fn malformed_env_proxy_errors_only_when_needed() {
    let s = settings(None, None, &[("https_proxy", "ftp://bad"), ("http_proxy", "good:1")]);
    assert_eq!(via(&s, "http://h/").as_deref(), Some("http_proxy good:1"));
    let e = s.route(&url("https://h/")).unwrap_err();
    assert!(e.to_string().contains("https_proxy"), "{e}");
    let s = settings(None, Some("h"), &[("https_proxy", "ftp://bad")]);
    assert_eq!(via(&s, "https://h/"), None);
    // A malformed variable is not skipped in favour of all_proxy: the user meant it.
    let s = settings(None, None, &[("https_proxy", "h:bad"), ("all_proxy", "a:1")]);
    assert!(
        matches!(s.route(&url("https://x/")), Err(ProxyError::Invalid { origin, .. }) if origin == "https_proxy")
    );
}

#[test]
fn no_proxy_applies_to_env_and_explicit_proxies() {
    let s = settings(None, None, &[("https_proxy", "p:1"), ("no_proxy", "internal.corp")]);
    assert_eq!(via(&s, "https://api.internal.corp/"), None);
    assert_eq!(via(&s, "https://example.com/").as_deref(), Some("https_proxy p:1"));
    let s = settings(Some("x:1"), None, &[("NO_PROXY", "internal.corp")]);
    assert_eq!(via(&s, "https://internal.corp/"), None);
    assert_eq!(via(&s, "https://example.com/").as_deref(), Some("-x x:1"));
}

#[test]
fn lowercase_no_proxy_wins_and_flag_overrides_both() {
    let vars = [("all_proxy", "p:1"), ("no_proxy", "a.com"), ("NO_PROXY", "b.com")];
    let s = settings(None, None, &vars);
    assert_eq!(via(&s, "http://a.com/"), None);
    assert!(via(&s, "http://b.com/").is_some());
    let s = settings(None, Some("c.com"), &vars);
    assert!(via(&s, "http://a.com/").is_some());
    assert_eq!(via(&s, "http://c.com/"), None);
    assert_eq!(s.no_proxy().1, Some("--noproxy"));
    // `--noproxy ""` clears the environment's exceptions.
    let s = settings(None, Some(""), &vars);
    assert!(via(&s, "http://a.com/").is_some());
    let s = settings(Some("x:1"), Some("*"), &vars);
    assert_eq!(via(&s, "http://anything/"), None);
}

#[test]
fn no_proxy_star() {
    assert!(np("*", "http://example.com/"));
    assert!(np("*", "http://10.1.2.3/"));
    assert!(np(" * ", "http://[::1]/"));
    assert!(np("a.com,*", "http://b.com/"));
    assert!(!np("*.", "http://b.com/"), "'*.' is not a wildcard");
}

#[test]
fn no_proxy_domain_suffix_at_label_boundary() {
    for list in ["example.com", ".example.com", "*.example.com", "example.com.", "EXAMPLE.COM"] {
        assert!(np(list, "http://example.com/"), "{list}");
        assert!(np(list, "https://a.example.com/"), "{list}");
        assert!(np(list, "https://a.b.Example.com/"), "{list}");
        assert!(!np(list, "http://badexample.com/"), "{list}");
        assert!(!np(list, "http://example.com.evil/"), "{list}");
        assert!(!np(list, "http://example.org/"), "{list}");
    }
    assert!(np("example.com", "http://example.com./"), "trailing dot on the host");
    assert!(!np("a.example.com", "http://example.com/"));
    assert!(!np("com.example", "http://example.com/"));
}

#[test]
fn no_proxy_separators() {
    let list = " a.com,b.com  c.com ,, d.com\t";
    for host in ["a.com", "b.com", "c.com", "d.com"] {
        assert!(np(list, &format!("http://{host}/")), "{host}");
    }
    assert!(!np(list, "http://e.com/"));
    assert!(!np("", "http://e.com/"));
    assert!(!np(" , ,", "http://e.com/"));
}

#[test]
fn no_proxy_localhost_is_not_special() {
    assert!(!np("example.com", "http://localhost/"));
    assert!(!np("localhost", "http://127.0.0.1/"), "no resolution");
    assert!(!np("127.0.0.1", "http://localhost/"));
    assert!(np("localhost", "http://localhost:8080/"));
    assert!(np("localhost", "http://LOCALHOST/"));
}

#[test]
fn no_proxy_ip_literals() {
    assert!(np("10.1.2.3", "http://10.1.2.3/"));
    assert!(!np("10.1.2.3", "http://10.1.2.4/"));
    assert!(np("::1", "http://[::1]:8080/"));
    assert!(np("[::1]", "http://[::1]/"));
    assert!(np("[0:0::1]", "http://[::1]/"), "IPv6 compared as addresses");
    assert!(!np("::1", "http://[::2]/"));
    assert!(!np("::1", "http://127.0.0.1/"));
    // Domain entries never match IP hosts and IP entries never match names.
    assert!(!np("1.2", "http://1.2.3.4/") && !np("3.4", "http://1.2.3.4/"));
    assert!(!np("10.0.0.1", "http://10.0.0.1.nip.io/"));
}

#[test]
fn no_proxy_cidr() {
    assert!(np("10.0.0.0/8", "http://10.200.3.4/"));
    assert!(!np("10.0.0.0/8", "http://11.0.0.1/"));
    assert!(np("192.168.1.77/24", "http://192.168.1.5/"), "host bits ignored");
    assert!(np("0.0.0.0/0", "http://8.8.8.8/"));
    assert!(!np("0.0.0.0/0", "http://[::1]/"));
    assert!(np("::1/128", "http://[::1]/"));
    assert!(np("fd00::/8", "http://[fd12:3456::1]/"));
    assert!(!np("fd00::/8", "http://[fe80::1]/"));
    assert!(np("[fd00::]/8", "http://[fd12::1]/"));
    assert!(np("[fd00::/8]", "http://[fd12::1]/"));
    assert!(!np("10.0.0.0/33,fd00::/129", "http://10.0.0.1/"), "invalid prefixes are ignored");
}

#[test]
fn no_proxy_ports() {
    assert!(np("example.com:8080", "http://example.com:8080/"));
    assert!(np("example.com:8080", "http://a.example.com:8080/"));
    assert!(!np("example.com:8080", "http://example.com/"));
    assert!(np("example.com:443", "https://example.com/"), "default port counts");
    assert!(!np("example.com:443", "http://example.com/"));
    assert!(np("10.0.0.1:80", "http://10.0.0.1/"));
    assert!(!np("10.0.0.1:81", "http://10.0.0.1/"));
    assert!(np("[::1]:8080", "http://[::1]:8080/"));
    assert!(!np("[::1]:8080", "http://[::1]:8081/"));
    assert!(!np("example.com:notaport", "http://example.com/"), "malformed entry ignored");
}

#[test]
fn no_proxy_garbage_is_ignored_not_fatal() {
    let list = "[::1,a/b,*.,.,@x,[]:1,good.com";
    assert!(np(list, "http://good.com/"));
    assert!(!np(list, "http://a/"));
    assert!(!np(list, "http://x/"));
}

#[test]
fn route_for_other_schemes_uses_all_proxy_only() {
    let s = settings(None, None, &[("http_proxy", "h:1"), ("all_proxy", "a:2")]);
    assert_eq!(via(&s, "ftp://h/").as_deref(), Some("all_proxy a:2"));
    assert_eq!(via(&s, "ws://h/").as_deref(), Some("http_proxy h:1"));
}

#[test]
fn route_is_per_url_and_does_not_read_the_environment() {
    let calls = std::cell::Cell::new(0);
    let env = |k: &str| {
        calls.set(calls.get() + 1);
        (k == "https_proxy").then(|| "p:1".to_string())
    };
    let s = ProxySettings::new(None, Some("direct.com"), &env);
    let before = calls.get();
    assert_eq!(via(&s, "https://x.com/").as_deref(), Some("https_proxy p:1"));
    assert_eq!(via(&s, "https://direct.com/"), None);
    assert_eq!(via(&s, "http://x.com/"), None);
    assert_eq!(calls.get(), before);
}

#[test]
fn the_password_span_of_a_typed_proxy_url() {
    let span = |s: &'static str| password_span(s).map(|r| &s[r]);
    assert_eq!(span("http://u:pw@proxy:3128"), Some("pw"));
    assert_eq!(span("u:p%40w@proxy"), Some("p%40w"));
    assert_eq!(span("http://u:a:b@c@proxy"), Some("a:b@c"));
    assert_eq!(span("http://u@proxy"), None);
    assert_eq!(span("http://u:@proxy"), None);
    assert_eq!(span("http://proxy:3128"), None);
}

/// An address is written one way however it was typed: the keyring entry `toll auth login`
/// stored for `[::1]:3128` or `127.0.0.1:3128` is found for `-x http://[0:0::1]:3128` or
/// `-x 127.1:3128`.
#[test]
fn addresses_are_written_one_way() {
    assert_eq!(spec("http://[0:0::1]:3128").display_url(), "http://[::1]:3128");
    assert_eq!(spec("[::FFFF:127.0.0.1]:3128").host, "::ffff:127.0.0.1");
    for typed in ["127.1:3128", "http://2130706433:3128", "0x7f.0.0.1:3128", "127.000.000.001:3128"] {
        assert_eq!(spec(typed).display_url(), "http://127.0.0.1:3128", "{typed}");
    }
    assert_eq!(spec("Proxy.Corp:8080").host, "proxy.corp");
    assert_eq!(spec("proxy4.corp:8080").host, "proxy4.corp");
}

#[test]
fn the_entry_that_matched_is_named_as_written() {
    let by = |list: &str, u: &str| NoProxy::parse(list).matched_by(&url(u)).map(str::to_owned);
    assert_eq!(by("fd00::/8, ::/0", "http://[::1]:8080/"), Some("::/0".into()));
    assert_eq!(by("intranet,.Example.COM", "http://a.example.com/"), Some(".Example.COM".into()));
    assert_eq!(by("a,*", "http://b/"), Some("*".into()));
    assert_eq!(by("a", "http://b/"), None);
}
