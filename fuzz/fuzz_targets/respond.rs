//! The responding path with arbitrary challenges: header values (one per line) are parsed, and
//! every Basic or Digest challenge is answered with fixed credentials, then pre-emptively again,
//! through its remembered form, and judged as a follow-up 407 would be. Nothing may panic, and
//! every value toll would send must be a valid header value that does not carry the password
//! in the clear (Digest).
#![no_main]

#[path = "common.rs"]
mod common;

use common::{assert_header_safe, FixedEntropy};
use libfuzzer_sys::fuzz_target;
use toll::auth::{authenticator, choose, parse_challenges, RequestTarget, Scheme, SchemeSet};
use toll::secret::Credentials;

const PASSWORD: &str = "pa55-Wörd";

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let text = String::from_utf8_lossy(rest);
    let challenges = parse_challenges(text.split('\n'));
    let user = ["alice", "CORP\\bob", "jürgen@corp.example", "us\"er"][usize::from(selector & 3)];
    let creds = Credentials::new(user, PASSWORD);
    let target = if selector & 4 == 0 {
        RequestTarget {
            method: "GET",
            uri: "http://example.com/a?b=c",
            body: Some(b"body"),
            proxy_host: "proxy",
            service: "HTTP",
            delegation: Default::default(),
        }
    } else {
        RequestTarget {
            method: "CONNECT",
            uri: "example.com:443",
            body: None,
            proxy_host: "proxy",
            service: "HTTP",
            delegation: Default::default(),
        }
    };
    let rng = &mut FixedEntropy;
    let _ = choose(&challenges, SchemeSet::ANY);
    for c in &challenges {
        let Some(scheme @ (Scheme::Basic | Scheme::Digest)) = c.scheme else { continue };
        let mut auth = authenticator(scheme).expect("Basic and Digest are built in");
        let Ok(value) = auth.respond(c, &creds, &target, rng) else { continue };
        // The password may only show up where the proxy itself put it (an echoed parameter).
        let echoed = c.params.iter().any(|(_, p)| p.contains(PASSWORD));
        let check = |value: &str| {
            assert_header_safe("response", value);
            if scheme == Scheme::Digest {
                assert!(!value.contains(PASSWORD) || echoed, "password in the clear: {value:?}");
            }
        };
        check(value.expose());
        for _ in 0..2 {
            if let Some(Ok(v)) = auth.preemptive(&creds, &target, rng) {
                check(v.expose());
            }
        }
        let _ = auth.verdict(Some(c));
        let _ = auth.verdict(None);
        if let Some(memory) = auth.memory() {
            if let Some(mut restored) = memory.restore() {
                if let Some(Ok(v)) = restored.preemptive(&creds, &target, rng) {
                    check(v.expose());
                }
                restored.resume_count(7);
            }
        }
    }
});
