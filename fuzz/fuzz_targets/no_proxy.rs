//! `NO_PROXY` / `--noproxy` lists ([`toll::proxy_env::NoProxy`]) and matching. Input: two lists
//! and a URL, one per line. Checked beyond "no panic": a list is the union of its entries
//! (`a,b` matches what `a` or `b` matches), `*` matches every URL with a host, an empty list
//! matches nothing.
#![no_main]

#[path = "common.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use toll::proxy_env::NoProxy;
use url::Url;

const URLS: [&str; 6] = [
    "http://example.com/",
    "https://sub.example.com:8443/x",
    "http://10.1.2.3:8080/",
    "http://[::1]:3128/",
    "http://localhost./",
    "socks5h://[fd00::1]/",
];

fuzz_target!(|data: &[u8]| {
    let p = common::parts(data, 3);
    let (a, b) = (NoProxy::parse(&p[0]), NoProxy::parse(&p[1]));
    let both = NoProxy::parse(&format!("{},{}", p[0], p[1]));
    let star = NoProxy::parse(&format!("{} * ", p[0]));
    let extra = Url::parse(&p[2]).ok();
    for url in URLS.iter().map(|u| Url::parse(u).expect("fixed URL")).chain(extra) {
        let (ma, mb) = (a.matches(&url), b.matches(&url));
        assert_eq!(both.matches(&url), ma || mb, "{url} against {:?} / {:?}", p[0], p[1]);
        assert_eq!(star.matches(&url), url.host().is_some(), "{url}");
        if a.is_empty() {
            assert!(!ma, "{url}");
        }
        // The entry named as the one that matched (toll doctor's advice) matches on its own.
        assert_eq!(a.matched_by(&url).is_some(), ma, "{url}");
        if let Some(entry) = a.matched_by(&url) {
            assert!(NoProxy::parse(entry).matches(&url), "{url}: {entry:?}");
        }
    }
});
