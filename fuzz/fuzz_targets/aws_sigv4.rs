//! `--aws-sigv4` ([`toll::auth::sigv4`]): the option's value and the request's parts (user
//! headers, path, query, host) are the user's. Never a panic; a signature that is made is one
//! header value (visible ASCII, whatever the host and headers hold), names the access key, and
//! lists its signed headers lower-case, sorted, without repeats, `host` among them.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::auth::sigv4::{sign, Request, Spec};
use toll::secret::Credentials;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\n');
    let Ok(spec) = Spec::parse(parts.next().unwrap_or("")) else { return };
    let host = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("");
    let query = parts.next();
    let headers: Vec<(String, String)> = parts
        .map(|l| match l.split_once(':') {
            Some((n, v)) => (n.to_string(), v.to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect();
    let creds = Credentials::new("AKID", "secret");
    let req = Request { method: "GET", host, path, query, headers: &headers, body: Some(data) };
    let Ok(signed) = sign(&spec, &creds, &req, "20261204T101010Z") else { return };
    let auth = signed.authorization.expose();
    assert!(auth.contains("Credential=AKID/"), "{auth}");
    let names = auth.split("SignedHeaders=").nth(1).and_then(|s| s.split(", Signature=").next()).unwrap();
    let list: Vec<&str> = names.split(';').collect();
    assert!(list.windows(2).all(|w| w[0] < w[1]), "{names}");
    assert!(list.contains(&"host"), "{names}");
    assert!(!names.bytes().any(|b| b.is_ascii_uppercase()), "{names}");
    assert!(auth.bytes().all(|b| (0x20..0x7f).contains(&b)), "{auth:?}");
});
