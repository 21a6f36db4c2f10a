//! What toll serve does to a request head it forwards, in `serve::plan`'s order: the client's
//! hop-by-hop fields go ([`toll::relay::hop::strip_request`]), `Max-Forwards` is counted down or
//! answered ([`toll::serve::max_forwards::check`]), and this server's `Via` is added
//! ([`toll::serve::via::Pseudonym`]). Never a panic; a TRACE or OPTIONS with a number of hops
//! left goes on with one fewer, at 0 it is answered here; after `add` there is one `Via` line and
//! it names this server (a request that comes back is always seen), whatever the earlier hops
//! wrote (obs-text, empty entries, commas in comments).
#![no_main]

use http::header::{HeaderName, HeaderValue, MAX_FORWARDS, VIA};
use http::{HeaderMap, Method, Version};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use toll::serve::via::Pseudonym;

fuzz_target!(|data: &[u8]| {
    static ME: OnceLock<Pseudonym> = OnceLock::new();
    let me = ME.get_or_init(Pseudonym::new);
    let Some((&selector, rest)) = data.split_first() else { return };
    let method = [Method::GET, Method::TRACE, Method::OPTIONS, Method::POST][usize::from(selector & 3)].clone();
    let version = if selector & 4 == 0 { Version::HTTP_11 } else { Version::HTTP_10 };
    let target = if selector & 8 == 0 { "http://origin.test/x" } else { "*" };
    // One field per line, `name: value`; lines that are no field are left out, as hyper would.
    let mut headers = HeaderMap::new();
    for line in rest.split(|&b| b == b'\n') {
        let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let Ok(req) = http::Request::builder().method(method.clone()).uri(target).version(version).body(()) else {
        return;
    };
    let (mut parts, ()) = req.into_parts();
    parts.headers = headers;

    toll::relay::hop::strip_request(&mut parts.headers);
    let hops_left = parts.headers.get(MAX_FORWARDS).and_then(|v| v.to_str().ok()).and_then(|v| {
        let v = v.trim();
        (!v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())).then(|| v.parse::<u64>().unwrap_or(u64::MAX))
    });
    let counted = method == Method::TRACE || method == Method::OPTIONS;
    let answered = toll::serve::max_forwards::check(&mut parts).is_some();
    let asks_the_server = method == Method::OPTIONS && target == "*";
    assert_eq!(answered, asks_the_server || (counted && hops_left == Some(0)), "{method} {hops_left:?}");
    if counted && !answered {
        if let Some(n) = hops_left {
            assert_eq!(parts.headers[MAX_FORWARDS], (n - 1).to_string().as_str());
        }
    }

    me.add(&mut parts.headers, version);
    assert_eq!(parts.headers.get_all(VIA).iter().count(), 1);
    assert!(me.seen_in(&parts.headers), "{:?}", parts.headers.get(VIA));
});
