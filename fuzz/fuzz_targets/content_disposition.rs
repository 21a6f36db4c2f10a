//! `Content-Disposition` values (sent by a server) through [`toll::client::disposition_filename`]
//! and [`toll::output::safe_file_name`], as `-O -J` uses them. Checked beyond "no panic": a name
//! that survives is one plain, visible file name in the current directory — no path separator,
//! not `.`/`..` or hidden, no control or bidi character, at most 255 bytes — and it came from
//! the value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let value = String::from_utf8_lossy(data);
    let Some(raw) = toll::client::disposition_filename(&value) else { return };
    assert!(!raw.is_empty() && value.contains(raw.as_str()), "{raw:?} not from {value:?}");
    if let Some(name) = toll::output::safe_file_name(&raw) {
        assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
        assert!(!name.starts_with('.') && !name.trim().is_empty(), "{name:?}");
        assert!(name.len() <= 255, "{} bytes", name.len());
        assert!(!name.chars().any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')), "{name:?}");
        assert!(raw.ends_with(name.as_str()), "{name:?} is not the tail of {raw:?}");
    }
});
