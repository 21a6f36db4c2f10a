//! `Proxy-Authenticate` / `WWW-Authenticate` values → challenges ([`toll::auth::parse_challenges`]),
//! then the scheme choice. Input: header values, one per line.
//!
//! Checked beyond "no panic": what the parser promises about its output (scheme and parameter
//! names are tokens, names lower-cased, token68 alphabet), and that writing the challenges back
//! out canonically (one list, quoted values) parses to the same challenges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::auth::{choose, parse_challenges, Challenge, SchemeSet};

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn serialize(c: &Challenge) -> String {
    let mut s = c.scheme_name.clone();
    if let Some(t) = &c.token68 {
        s.push(' ');
        s.push_str(t);
    }
    for (i, (k, v)) in c.params.iter().enumerate() {
        s.push_str(if i == 0 { " " } else { ", " });
        let v = v.replace('\\', "\\\\").replace('"', "\\\"");
        s.push_str(&format!("{k}=\"{v}\""));
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let challenges = parse_challenges(text.split('\n'));
    for c in &challenges {
        assert!(!c.scheme_name.is_empty() && c.scheme_name.bytes().all(is_tchar), "{c:?}");
        if let Some(t) = &c.token68 {
            assert!(c.params.is_empty(), "{c:?}");
            let body = t.trim_end_matches('=');
            assert!(!body.is_empty(), "{c:?}");
            assert!(body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b)), "{c:?}");
        }
        for (k, _) in &c.params {
            assert!(!k.is_empty() && k.bytes().all(is_tchar), "{c:?}");
            assert_eq!(*k, k.to_ascii_lowercase(), "{c:?}");
        }
    }
    let _ = choose(&challenges, SchemeSet::ANY);
    if !challenges.is_empty() {
        let again: Vec<String> = challenges.iter().map(serialize).collect();
        let line = again.join(", ");
        assert_eq!(parse_challenges([line.as_str()]), challenges, "canonical form {line:?}");
    }
});
