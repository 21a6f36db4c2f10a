//! The settings file (`$XDG_CONFIG_HOME/toll/config`) through [`toll::store::Settings::parse`]:
//! errors name a line that exists; accepted values fit on one line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use toll::store::{SavePolicy, Settings};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match Settings::parse(&text) {
        Ok(s) => {
            for v in [&s.save_credentials, &s.keyring, &s.pac, &s.wpad].into_iter().flatten() {
                assert!(!v.contains('\n'), "{v:?}");
                let _ = SavePolicy::parse(v);
            }
        }
        Err(e) => {
            let line: usize = e
                .strip_prefix("line ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("error without a line number: {e}"));
            assert!(line >= 1 && line <= text.lines().count(), "{e}");
        }
    }
});
