//! A PAC's answer through [`toll::pac::parse_result`]: accepted entries print as URLs that parse
//! back, hosts hold no control characters, and an error message never echoes raw control bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::pac::{parse_result, ProxyEntry};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse_result(&text) {
        Ok(entries) => {
            for e in entries {
                if let ProxyEntry::Proxy { host, .. } = &e {
                    assert!(!host.is_empty() && !host.chars().any(char::is_control), "{host:?}");
                    let shown = e.to_string();
                    assert!(url::Url::parse(&shown).is_ok(), "{shown:?} does not parse back");
                }
            }
        }
        Err(e) => {
            let m = e.to_string();
            assert!(!m.chars().any(|c| c.is_control() && c != '\t'), "{m:?}");
        }
    }
});
