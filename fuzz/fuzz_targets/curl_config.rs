//! curl config files (`-K`) through [`toll::cli::parse_config`]: every argument produced is one
//! that a command line could hold (no NUL), and an error or a warning names the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match toll::cli::parse_config(&text, "fuzz.curlrc") {
        Ok(lines) => {
            for a in lines.iter().flat_map(|l| &l.args) {
                assert!(!a.contains('\u{0}'), "{a:?}");
            }
            for w in lines.iter().filter_map(|l| l.warning.as_ref()) {
                assert!(w.contains("fuzz.curlrc"), "{w}");
            }
        }
        Err(e) => {
            let m = e.to_string();
            assert!(m.contains("fuzz.curlrc"), "{m}");
        }
    }
});
