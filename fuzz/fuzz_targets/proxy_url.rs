//! Proxy URLs (`-x`, `*_proxy`) through [`toll::proxy_env::parse_proxy_url`]. Checked beyond
//! "no panic": an accepted URL has a known scheme, a host and a port, and its printable form
//! (`display_url`) parses back to the same proxy; and a password never shows in an error message
//! or in the parsed value's `Debug`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::proxy_env::{parse_proxy_url, PROXY_SCHEMES};

const PASSWORD: &str = "Zq9-sekrit";

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    match parse_proxy_url(&s, "fuzz") {
        Ok(spec) => {
            assert!(PROXY_SCHEMES.contains(&spec.scheme.as_str()), "{spec:?}");
            assert!(!spec.host.is_empty() && spec.port != 0, "{spec:?}");
            let again = parse_proxy_url(&spec.display_url(), "fuzz").expect("display_url parses");
            assert_eq!((&again.scheme, &again.host, again.port), (&spec.scheme, &spec.host, spec.port));
            assert!(again.user.is_none() && again.password.is_none());
        }
        Err(e) => drop(e.to_string()),
    }
    // The same text as the host part after a userinfo with a password.
    if s.contains(PASSWORD) {
        return;
    }
    let with_password = format!("http://user:{PASSWORD}@{s}");
    match parse_proxy_url(&with_password, "fuzz") {
        Ok(spec) => assert!(!format!("{spec:?}").contains(PASSWORD), "{spec:?}"),
        Err(e) => assert!(!e.to_string().contains(PASSWORD), "{e}"),
    }
});
