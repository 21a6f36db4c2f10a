//! Digest parameters straight into the Digest engine, bypassing the header parser: any
//! parameter names and values (control characters, quotes, non-ASCII), any method, URI and body,
//! a remembered session with any count. The values toll would send must stay valid header
//! values (a proxy's CR LF must never be echoed into a request), and nothing may panic.
#![no_main]

#[path = "common.rs"]
mod common;

use common::{assert_header_safe, FixedEntropy};
use libfuzzer_sys::{arbitrary, fuzz_target};
use toll::auth::digest::{DigestAuth, DigestMemory};
use toll::auth::{Authenticator, Challenge, RequestTarget, Scheme};
use toll::secret::Credentials;

#[derive(Debug, arbitrary::Arbitrary)]
struct Input {
    params: Vec<(String, String)>,
    /// Indices into a list of the names Digest reads, so the fuzzer reaches them quickly.
    known: Vec<(u8, String)>,
    user: String,
    password: String,
    method: String,
    uri: String,
    body: Option<Vec<u8>>,
    cnonce: String,
    next_nc: u32,
    stale: Option<String>,
}

const NAMES: [&str; 10] =
    ["realm", "nonce", "opaque", "algorithm", "qop", "stale", "domain", "userhash", "charset", "nc"];

fn clean(s: &str) -> bool {
    !s.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f)
}

fuzz_target!(|input: Input| {
    let mut params = input.params;
    params.extend(input.known.into_iter().map(|(i, v)| (NAMES[usize::from(i) % NAMES.len()].to_owned(), v)));
    let challenge =
        Challenge { scheme: Some(Scheme::Digest), scheme_name: "Digest".into(), token68: None, params };
    let creds = Credentials::new(input.user.as_str(), input.password.as_str());
    let target = RequestTarget {
        method: &input.method,
        uri: &input.uri,
        body: input.body.as_deref(),
        proxy_host: "proxy",
        service: "HTTP",
        delegation: Default::default(),
    };
    // What the user controls (name, password, method, URI) is not the proxy's to corrupt; only
    // check what is sent when those are clean.
    let user_clean = clean(&input.user) && clean(&input.method) && clean(&input.uri) && clean(&input.cnonce);
    let check = |v: &str| {
        if user_clean {
            assert_header_safe("Digest response", v);
        }
    };
    let rng = &mut FixedEntropy;
    let cnonce = input.cnonce.clone();
    let mut auth = DigestAuth::with_cnonce_source(move || cnonce.clone());
    if let Ok(v) = auth.respond(&challenge, &creds, &target, rng) {
        check(v.expose());
        if let Some(Ok(v)) = auth.preemptive(&creds, &target, rng) {
            check(v.expose());
        }
        let _ = auth.memory();
    }
    let mut stale = challenge.clone();
    if let Some(s) = input.stale {
        stale.params.insert(0, ("stale".into(), s));
    }
    let _ = auth.verdict(Some(&stale));

    // A remembered session with this challenge. Counts up to 10 000 are replayed one by one
    // (DigestAuth::restore); fold the middle of the range down to keep executions fast while
    // still trying 0, the bounds and beyond.
    let next_nc = match input.next_nc {
        n @ (0..=64 | 9_990..) => n,
        n => n % 64,
    };
    let memory = DigestMemory { params: challenge.params.clone(), cnonce: input.cnonce, next_nc };
    if let Some(mut restored) = DigestAuth::restore(&memory) {
        if let Some(Ok(v)) = restored.preemptive(&creds, &target, rng) {
            check(v.expose());
        }
        restored.resume_count(next_nc.wrapping_add(3));
        let _ = restored.memory();
    }
});
