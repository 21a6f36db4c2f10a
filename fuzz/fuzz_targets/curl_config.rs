//! curl config files (`-K`) through [`toll::cli::parse_config`]: every argument produced is one
//! that a command line could hold (no NUL), and an error names a line that exists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match toll::cli::parse_config(&text, "fuzz.curlrc") {
        Ok(args) => {
            for a in args {
                assert!(!a.contains('\u{0}'), "{a:?}");
            }
        }
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains("fuzz.curlrc"), "{m}");
        }
    }
});
